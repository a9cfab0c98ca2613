// Package web serves the browser lab: chi routes, templ components, the
// embedded static assets and a WebSocket that streams trace events.
package web
