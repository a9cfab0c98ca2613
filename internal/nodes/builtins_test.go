package nodes

import (
	"testing"

	"oscore-lab/internal/scenario"
)

// TestBuiltinScenarios runs every built-in scenario's steps and requires
// each expectation to hold.
func TestBuiltinScenarios(t *testing.T) {
	for _, s := range scenario.List() {
		t.Run(s.Name, func(t *testing.T) {
			for _, r := range runBuiltin(t, s) {
				if !r.OK {
					t.Errorf("step %q: %s (code %s payload %q layers %v)", r.Step, r.Problem, r.Code, r.Payload, r.Layers)
				}
			}
		})
	}
}
