// Package static holds the browser assets (plain ES modules, CSS), embedded so
// the lab works with no network at all.
package static

import "embed"

// FS is the embedded asset tree, served under /static/.
//
//go:embed *.css *.js
var FS embed.FS
