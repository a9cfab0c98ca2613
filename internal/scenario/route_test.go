package scenario

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// TestRouteAgreesWithForwarding: a step's route and the forward-proxies'
// upstreams must describe the same path, or validation names the hop and
// the fix; ValidateStep says the same of a step sent on its own.
func TestRouteAgreesWithForwarding(t *testing.T) {
	for _, c := range []struct {
		name      string
		upstreams [3]string // of P1, P2, P3
		route     []string
		path      string
		want      string
	}{
		{"chain by upstream", [3]string{"P2", "P3", ""}, []string{"P1", "P2", "P3"}, "", ""},
		{"route through a proxy nobody forwards to", [3]string{"", "", ""}, []string{"P1", "P2"}, "steps[0].route[1]", `P1 forwards to the node the URI's host names, not to P2: give P1 "upstream": "P2"`},
		{"upstream elsewhere", [3]string{"P3", "", ""}, []string{"P1", "P2"}, "steps[0].route[1]", `P1 forwards to its upstream P3, not to P2: set its "upstream" to "P2"`},
		{"route stops short", [3]string{"P2", "", ""}, []string{"P1"}, "steps[0].route[0]", "add P2 to the route after P1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := &Scenario{Name: "route", Nodes: []Node{{ID: "C", Role: RoleClient}}}
			for i, up := range c.upstreams {
				s.Nodes = append(s.Nodes, Node{ID: "P" + string(rune('1'+i)), Role: RoleProxy, Forward: true, Upstream: up})
			}
			s.Nodes = append(s.Nodes, Node{ID: "S", Role: RoleServer, Authority: "example.com"})
			st := Step{From: "C", Method: "GET", URI: "coap://example.com/hello", Route: c.route}
			s.Steps = []Step{st}
			data, _ := json.Marshal(s)
			_, err := Parse(data)
			var se *Error
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want == "":
				return
			case !errors.As(err, &se) || se.Path != c.path || !strings.Contains(se.Reason, c.want):
				t.Fatalf("got %v, want %s: ...%s", err, c.path, c.want)
			}
			s.Steps = nil
			err = s.ValidateStep(&st)
			if !errors.As(err, &se) || se.Path != strings.Replace(c.path, "steps[0]", "step", 1) || !strings.Contains(se.Reason, c.want) {
				t.Fatalf("ValidateStep: %v", err)
			}
		})
	}
}
