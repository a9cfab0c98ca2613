package scenario

import (
	"strings"
	"testing"
)

// TestOnionLayerOrders: validation refuses onion layers that no path can
// peel (draft 2.3, A.7): an order where an outer layer belongs to a proxy
// farther along, a layer for a proxy that the proxy before it cannot reach
// (not a forward-proxy), or one that the proxy before it sends elsewhere
// (its upstream).
func TestOnionLayerOrders(t *testing.T) {
	base, ok := Builtin("usecase-privacy-chain-onion")
	if !ok {
		t.Fatal("no usecase-privacy-chain-onion")
	}
	if err := base.Validate(); err != nil {
		t.Fatalf("the built-in: %v", err)
	}
	cases := []struct {
		name string
		edit func(s *Scenario)
		want string
	}{
		{"outer layer farther along", func(s *Scenario) {
			s.Steps[0].Contexts = []string{"CTX_C_S", "CTX_C_P2", "CTX_C_P3", "CTX_C_P1"}
		}, `steps[0].contexts[2]: context "CTX_C_P3" (with P3) is applied outside "CTX_C_P2"`},
		{"proxy before is no forward-proxy", func(s *Scenario) {
			s.Nodes[2].Forward = false
			s.Nodes[2].Reverse = []ReverseRoute{{Host: "p3.example", To: "P3"}}
		}, `steps[0].contexts[1]: context "CTX_C_P3" puts a layer for P3, but P2 before it is not a forward-proxy`},
		{"proxy before sends elsewhere", func(s *Scenario) {
			s.Nodes[1].Upstream = "P3"
		}, `steps[0].contexts[2]: context "CTX_C_P2" puts a layer for P2, but P1 before it forwards to its upstream P3`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := base.Clone()
			tc.edit(s)
			err := s.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
