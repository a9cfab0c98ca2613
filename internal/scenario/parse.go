package scenario

import (
	"encoding/json"
	"strconv"
)

// maxScenarioBytes bounds what Parse reads; real scenarios are a few KiB.
const maxScenarioBytes = 4 << 20

// Parse decodes and validates a scenario file. Errors are *Error values
// naming the offending field, e.g.
//
//	scenario: nodes[2].role: unknown role "prox" (want client, proxy, server or external)
func Parse(data []byte) (*Scenario, error) {
	if len(data) > maxScenarioBytes {
		return nil, errAt("", "file is larger than "+strconv.Itoa(maxScenarioBytes>>20)+" MiB")
	}
	if err := checkShape(data); err != nil {
		return nil, err
	}
	var s Scenario
	if err := json.Unmarshal(data, &s); err != nil {
		// checkShape accepted the document, so this is unexpected; report it
		// as a whole-document error rather than losing it.
		return nil, errAt("", "invalid JSON: "+err.Error())
	}
	canonicalize(&s)
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}
