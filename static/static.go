// Package static holds the browser assets (plain ES modules, CSS), embedded so
// the lab works with no network at all.
package static

import "embed"

// FS is the embedded asset tree, served under /static/: lab.css and the ES
// modules under js/ (app.js is the entry point).
//
//go:embed *.css js/*.js
var FS embed.FS
