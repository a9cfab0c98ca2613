// Package scenario is the lab's configuration model: nodes, security
// contexts, links and steps, parsed from JSON with errors that name the
// offending field, plus the built-in scenarios embedded in the binary.
//
// Parse decodes and validates a file; Load takes a built-in name or a file
// path; Builtin and List return copies of the embedded scenarios
// (builtin/*.json). Every refusal is a *Error whose text reads
// "scenario: nodes[2].role: unknown role ...". docs/scenarios.md documents
// the format field by field and scenario.schema.json is its JSON Schema.
package scenario
