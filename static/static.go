// Package static holds the browser assets (plain ES modules, CSS), embedded so
// the lab works with no network at all.
package static

import (
	"embed"
	"io/fs"
)

// FS is the embedded asset tree, served under /static/: lab.css and the ES
// modules under js/ (app.js is the entry point).
//
//go:embed *.css js/*.js
var FS embed.FS

// Modules lists the ES modules under js/ ("js/app.js", ...), sorted, so
// the page can preload them all at once instead of discovering them import
// by import.
func Modules() []string {
	names, _ := fs.Glob(FS, "js/*.js")
	return names
}
