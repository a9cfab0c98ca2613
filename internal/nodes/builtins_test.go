package nodes

import (
	"context"
	"testing"
	"time"

	"oscore-lab/internal/scenario"
)

// TestBuiltinScenarios runs every built-in scenario's steps and requires
// each expectation to hold.
func TestBuiltinScenarios(t *testing.T) {
	for _, s := range scenario.List() {
		t.Run(s.Name, func(t *testing.T) {
			lab, _ := startLab(t, s)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			res, err := lab.RunSteps(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				if !r.OK {
					t.Errorf("step %q: %s (code %s payload %q layers %v)", r.Step, r.Problem, r.Code, r.Payload, r.Layers)
				}
			}
		})
	}
}
