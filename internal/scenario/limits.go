package scenario

import (
	"fmt"
	"time"
)

// Limits on what one scenario may ask of the lab. A scenario file is at most
// maxScenarioBytes, but a small file can still name thousands of nodes (each
// a socket, a go-coap server and links of two more sockets each) or
// millions of requests; these bounds keep the cost of any valid scenario
// within what a laptop serves in seconds (docs/scenarios.md, "Limits").
// The built-in scenarios use a small fraction of each.
const (
	MaxNodes    = 64   // nodes, so also the longest route and upstream chain
	MaxContexts = 256  // security contexts
	MaxLinks    = 256  // entries of links
	MaxFaults   = 64   // faults on one link
	MaxSteps    = 1000 // steps
	MaxSends    = 20000
	// MaxSends bounds the requests all steps send together (each step
	// sends max(repeat, 1)).
	MaxResources = 64 // resources of one server
	// MaxStepBytes bounds a step's payload, URI and option values
	// together. Block-wise transfer is off, so a request must fit one UDP
	// datagram (at most 65,507 bytes) with every layer on its way: a layer
	// adds at most 290 bytes (tag, code, payload marker and an OSCORE
	// option with a 5-byte Partial IV, a 7-byte kid and a 255-byte kid
	// context) and a node applies at most 64 (layer_limit), so 32 KiB of
	// the step's own bytes leaves room for all of them.
	MaxStepBytes = 32 << 10
	// MaxGroups and MaxGroupContexts bound the groups and group contexts;
	// MaxGroupMembers bounds one group (each member costs the group link
	// one socket per client that sends to it, and a copy of every group
	// datagram). A group context's members are distinct nodes, so at most
	// MaxNodes.
	MaxGroups        = 16
	MaxGroupContexts = 16
	MaxGroupMembers  = 32
	// maxLeisure bounds a member's fixed wait before it answers a group
	// request (RFC 7252 8.2 takes the Leisure from the group's size; five
	// seconds is its default).
	maxLeisure = 5 * time.Second
)

// limits checks the counts above before anything is indexed or resolved.
func (v *validator) limits() error {
	s := v.s
	for _, c := range []struct {
		path string
		n    int
		max  int
		what string
	}{
		{"nodes", len(s.Nodes), MaxNodes, "nodes"},
		{"contexts", len(s.Contexts), MaxContexts, "contexts"},
		{"links", len(s.Links), MaxLinks, "links"},
		{"steps", len(s.Steps), MaxSteps, "steps"},
		{"groups", len(s.Groups), MaxGroups, "groups"},
		{"group_contexts", len(s.GroupContexts), MaxGroupContexts, "group contexts"},
	} {
		if c.n > c.max {
			return errAt(c.path, fmt.Sprintf("%d %s is more than the lab runs (at most %d)", c.n, c.what, c.max))
		}
	}
	for i := range s.Nodes {
		if n := len(s.Nodes[i].Resources); n > MaxResources {
			return errAt(field(index("nodes", i), "resources"), fmt.Sprintf("%d resources is more than the lab serves (at most %d)", n, MaxResources))
		}
	}
	for i := range s.Links {
		if n := len(s.Links[i].Faults); n > MaxFaults {
			return errAt(field(index("links", i), "faults"), fmt.Sprintf("%d faults is more than a link takes (at most %d)", n, MaxFaults))
		}
	}
	sends := 0
	for i := range s.Steps {
		sends += max(s.Steps[i].Repeat, 1)
		if sends > MaxSends {
			return errAt(field(index("steps", i), "repeat"), fmt.Sprintf("the steps up to here send %d requests, more than a scenario may (at most %d; each step sends max(repeat, 1))", sends, MaxSends))
		}
	}
	return nil
}

// stepBytes is what MaxStepBytes bounds: the payload, the URI and the
// option values of a step.
func stepBytes(st *Step) int {
	n := len(st.Payload) + len(st.URI)
	for _, o := range st.Options {
		n += len(o.Value)/2 + len(o.Text)
	}
	return n
}
