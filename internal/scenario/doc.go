// Package scenario is the lab's configuration model: nodes, security
// contexts, links and steps, parsed from JSON with errors that name the
// offending field, plus the built-in scenarios embedded in the binary.
package scenario
