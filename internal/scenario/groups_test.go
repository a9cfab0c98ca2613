package scenario

import (
	"os"
	"strings"
	"testing"
)

// groupBase is a valid scenario with a group; each error case edits it
// once (testdata/group-basic.json, also run by internal/nodes).
func groupBase(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/group-basic.json")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseGroupBase(t *testing.T) {
	s, err := Parse([]byte(groupBase(t)))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Groups) != 1 || len(s.GroupContexts) != 1 || s.Steps[0].To != "G" || len(s.Steps[0].Expect.Responses) != 2 {
		t.Fatalf("decoded wrongly: %+v", s)
	}
	c, err := s.GroupContexts[0].NewMemberContext("S2")
	if err != nil {
		t.Fatal(err)
	}
	if c.Recipient([]byte{0x01}) == nil || c.Recipient([]byte{0x11}) == nil || string(c.SenderID()) != "\x12" {
		t.Fatal("S2's context lacks a Recipient Context or its Sender ID")
	}
}

// TestGroupDemoKeysStable: a member without "key" gets the same key on
// every run (traces repeat), different per member and per context.
func TestGroupDemoKeysStable(t *testing.T) {
	s, err := Parse([]byte(groupBase(t)))
	if err != nil {
		t.Fatal(err)
	}
	gc := &s.GroupContexts[0]
	cred := func(i int) string {
		p, err := gc.MemberParams(&gc.Members[i])
		if err != nil {
			t.Fatal(err)
		}
		return string(p.SenderCred)
	}
	if cred(0) != cred(0) || cred(0) == cred(1) {
		t.Fatal("demonstration keys not stable or not distinct")
	}
	gc.Name = "OTHER"
	other := cred(0)
	gc.Name = "GRP"
	if other == cred(0) {
		t.Fatal("the context name does not enter the demonstration key")
	}
}

func TestParseGroupErrors(t *testing.T) {
	for _, c := range []struct{ old, new, want string }{
		{`{"node": "S1"}, {"node": "S2", "leisure": "30ms"}`, `{"node": "S1"}, {"node": "S3"}`, `scenario: groups[0].members[1].node: unknown node "S3"`},
		{`"members": [{"node": "S1"}, {"node": "S2", "leisure": "30ms"}]`, `"members": []`, `scenario: groups[0].members: missing (group G needs at least one member)`},
		{`{"node": "S1"}, {"node": "S2", "leisure": "30ms"}`, `{"node": "C"}`, `scenario: groups[0].members[0].node: node "C" is a client; group members are servers`},
		{`{"node": "S1"}, {"node": "S2", "leisure": "30ms"}`, `{"node": "S1"}, {"node": "S1"}`, `scenario: groups[0].members[1].node: S1 is a member of G twice`},
		{`"leisure": "30ms"`, `"leisure": "6s"`, `scenario: groups[0].members[1].leisure: "6s" is longer than a member waits (at most 5s)`},
		{`"id": "G"`, `"id": "S1"`, `scenario: groups[0].id: "S1" is a node id already (groups and nodes share one name space)`},
		{`"context": "GRP"`, `"context": "GRX"`, `scenario: groups[0].context: unknown group context "GRX"`},
		{`{"node": "S2", "sender_id": "12"}`, `{"node": "S2", "sender_id": "11"}`, `scenario: group_contexts[0].members[2].sender_id: Sender ID "11" is S1's already (Sender IDs are unique in a group, RFC 10021 2.2)`},
		{`{"node": "S2", "sender_id": "12"}`, `{"node": "S2", "sender_id": "1213141516171819"}`, `scenario: group_contexts[0].members[2]: context "GRP": Sender ID of 8 bytes is longer than 7 (RFC 10021 2.2)`},
		{`{"node": "S2", "sender_id": "12"}`, `{"node": "S2", "sender_id": "12", "key": "0102"}`, `scenario: group_contexts[0].members[2]: Ed25519 seed of 2 bytes, want 32`},
		{`{"node": "S2", "sender_id": "12"}`, `{"node": "S9", "sender_id": "12"}`, `scenario: group_contexts[0].members[2].node: unknown node "S9"`},
		{`,
       {"node": "S2", "sender_id": "12"}`, ``, `scenario: groups[0].members[1].node: S2 is not a member of group context GRP, which the group uses`},
		{`"gid": "57ab2e", `, ``, `scenario: group_contexts[0].gid: missing (the Gid, hex; RFC 10021 2.1.3)`},
		{`"gid": "57ab2e", `, `"gid": "57ab2e", "sig_alg": "RSA", `, `scenario: group_contexts[0].sig_alg: unknown algorithm "RSA" (want EdDSA or ES256)`},
		{`{"node": "S1"}, {"node": "S2"`, `{"node": "S1", "impersonate": "S1"}, {"node": "S2"`, `scenario: groups[0].members[0].impersonate: "S1" is not another member of group context GRP`},
		{`{"node": "S1"}, {"node": "S2"`, `{"node": "S1", "impersonate": "X"}, {"node": "S2"`, `scenario: groups[0].members[0].impersonate: "X" is not another member of group context GRP`},
		{`"to": "G"`, `"to": "H"`, `scenario: steps[0].to: unknown group "H"`},
		{`"to": "G"`, `"to": "G", "mode": "broadcast"`, `scenario: steps[0].mode: unknown mode "broadcast" (want group or pairwise)`},
		{`"to": "G"`, `"to": "G", "mode": "pairwise"`, `scenario: steps[0].member: missing (a pairwise request is protected for one member, RFC 10021 8.3)`},
		{`"to": "G"`, `"to": "G", "mode": "pairwise", "member": "C"`, `scenario: steps[0].member: "C" is not a member of group G`},
		{`"to": "G"`, `"to": "G", "member": "S1"`, `scenario: steps[0].member: only pairwise requests are for one member`},
		{`"to": "G"`, `"to": "G", "type": "CON"`, `scenario: steps[0].type: a group request is NON (RFC 7252 8.1)`},
		{`"to": "G"`, `"to": "G", "route": ["S1"]`, `scenario: steps[0].route[0]: node "S1" is a server, not a proxy`},
		{`"to": "G"`, `"to": "G", "proxy_style": "reverse"`, `scenario: steps[0].proxy_style: a step to a group without a route goes straight to the group's address`},
		{`"to": "G"`, `"to": "G", "multicast_timeout": 5`, `scenario: steps[0].multicast_timeout: only a group step through a proxy (a route) carries Multicast-Timeout`},
		{`"to": "G"`, `"to": "G", "early_stop_after": 1`, `scenario: steps[0].early_stop_after: only a group step through a proxy (a route) sends an Early Stop`},
		{`"to": "G"`, `"to": "G", "observe": "register"`, `scenario: steps[0].observe: a step to a group observes only through a proxy`},
		{`"to": "G"`, `"to": "G", "route": ["S1", "S2"]`, `scenario: steps[0].route: a group step names the one proxy the client talks to; a chain continues through that proxy's upstream`},
		{`"to": "G"`, `"to": "G", "route": ["S1"], "mode": "pairwise", "member": "S1"`, `scenario: steps[0].mode: a group step through a proxy is sent in group mode`},
		{`"to": "G"`, `"to": "G", "route": ["S1"], "multicast_timeout": -1`, `scenario: steps[0].multicast_timeout: -1 is not a Multicast-Timeout (0 to 4294967295 s)`},
		{`"to": "G"`, `"to": "G", "reply_from": "S1"`, `scenario: steps[0].reply_from: a follow-up goes to one member, not to a group`},
		{`"expect": {`, `"expect": {"multicast_timeout": 0, `, `scenario: steps[0].expect.multicast_timeout: only a group step through a proxy can get an answer of the proxy`},
		{`"to": "G"`, `"mode": "group"`, `scenario: steps[0].mode: only steps to a group ("to") have a mode or a member`},
		{`{"from": "S1", "code": "2.05", "payload": "21.1"}`, `{"from": "C", "code": "2.05"}`, `scenario: steps[0].expect.responses[0].from: "C" is not a member of group G`},
		{`{"from": "S1", "code": "2.05", "payload": "21.1"}`, `{"from": "S2"}`, `scenario: steps[0].expect.responses[1].from: S2 is expected twice`},
		{`{"from": "S1", "code": "2.05", "payload": "21.1"}`, `{"from": "S1", "code": "2.05", "no_response": true}`, `scenario: steps[0].expect.responses[0]: a member expected silent or refused cannot be expected a code or payload`},
		{`"expect": {`, `"expect": {"code": "2.05", `, `scenario: steps[0].expect: a step to a group states what each member answers in responses, not code, payload, no_response or refused`},
		{`"steps": [`, `"links": [{"a": "G", "b": "C"}], "steps": [`, `scenario: links[0].b: "C" is not a member of group G (a group's link goes to one of its members)`},
		{`"steps": [`, `"links": [{"a": "G", "b": "S1", "faults": [{"kind": "corrupt"}]}], "steps": [`, `scenario: links[0].faults[0].kind: a group's link drops or delays, not "corrupt"`},
		{`"steps": [`, `"links": [{"a": "S1", "b": "G"}], "steps": [`, `scenario: links[0].a: a group's link names the group as a ("a": "G", "b": the member)`},
	} {
		base := groupBase(t)
		if strings.Count(base, c.old) != 1 {
			t.Fatalf("edit %q must match the base exactly once", c.old)
		}
		_, err := Parse([]byte(strings.Replace(base, c.old, c.new, 1)))
		if err == nil || err.Error() != c.want {
			t.Errorf("%s -> %s:\n got %v\nwant %s", c.old, c.new, err, c.want)
		}
	}
}
