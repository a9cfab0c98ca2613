package scenario

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// base is a small valid scenario; each error case edits it with one textual
// replacement so the table reads as "this change gives that message".
const base = `{
 "name": "t",
 "nodes": [
  {"id": "C", "role": "client"},
  {"id": "P", "role": "proxy", "forward": true},
  {"id": "S", "role": "server", "authority": "example.com"}
 ],
 "contexts": [
  {"name": "CTX_C_S", "a": {"node": "C", "sender_id": "5f", "recipient_id": "01"},
   "b": {"node": "S", "sender_id": "01", "recipient_id": "5f"}, "master_secret": "00112233445566778899aabbccddeeff"},
  {"name": "CTX_C_P", "a": {"node": "C", "sender_id": "20", "recipient_id": "02"},
   "b": {"node": "P", "sender_id": "02", "recipient_id": "20"}, "master_secret": "ffeeddccbbaa99887766554433221100"}
 ],
 "links": [{"a": "C", "b": "P"}],
 "steps": [
  {"from": "C", "method": "GET", "uri": "coap://example.com/alarm_status", "route": ["P"],
   "contexts": ["CTX_C_S", "CTX_C_P"], "token": "8c", "mid": 7, "expect": {"code": "2.05", "payload": "0", "timeout": "2s"}}
 ]
}`

func edit(t *testing.T, old, new string) []byte {
	t.Helper()
	if strings.Count(base, old) != 1 {
		t.Fatalf("edit %q must match the base exactly once", old)
	}
	return []byte(strings.Replace(base, old, new, 1))
}

func TestParseBase(t *testing.T) {
	s, err := Parse([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Nodes) != 3 || len(s.Contexts) != 2 || *s.Steps[0].MID != 7 || *s.Steps[0].Expect.Payload != "0" {
		t.Fatalf("decoded wrongly: %+v", s)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ old, new, want string }{
		// shape: unknown and duplicate fields, wrong JSON types, syntax
		{`"role": "server"`, `"role": "prox"`, `scenario: nodes[2].role: unknown role "prox" (want client, proxy, server or external)`},
		{`"forward": true`, `"forward": true, "fowrard": true`, `scenario: nodes[1].fowrard: unknown field (did you mean "forward"?)`},
		{`"name": "t",`, `"name": "t", "Name": "u",`, `scenario: Name: unknown field (did you mean "name"?)`},
		{`"name": "t",`, `"name": "t", "name": "u",`, `scenario: name: duplicate field`},
		{`"timeout": "2s"`, `"timeout": "2s", "colour": 1`, `scenario: steps[0].expect.colour: unknown field`},
		{`"forward": true`, `"forward": "yes"`, `scenario: nodes[1].forward: want true or false, got a string`},
		{`"forward": true`, `"forward": true, "require_echo": true`, `scenario: nodes[1].require_echo: only servers require Echo (this node is a proxy)`},
		{`"forward": true`, `"forward": true, "sources": ["127.0.0.1"]`, `scenario: nodes[1].sources: only external nodes have sources (the addresses an outside peer sends from)`},
		{`{"id": "S", "role": "server", "authority": "example.com"}`, `{"id": "S", "role": "server", "authority": "example.com"}, {"id": "E", "role": "external", "addr": "127.0.0.1:5683", "sources": ["127.0.0.1", "localhost"]}`, `scenario: nodes[3].sources[1]: "localhost" is not an address, address:port or prefix (host names are not resolved)`},
		{`"mid": 7`, `"mid": "7"`, `scenario: steps[0].mid: want an integer, got a string`},
		{`"mid": 7`, `"mid": 7.5`, `scenario: steps[0].mid: want an integer, got 7.5`},
		{`"mid": 7`, `"mid": 99999999999999999999`, `scenario: steps[0].mid: 99999999999999999999 is out of range`},
		{`"route": ["P"]`, `"route": "P"`, `scenario: steps[0].route: want an array, got a string`},
		{`"route": ["P"]`, `"route": [1]`, `scenario: steps[0].route[0]: want a string, got the number 1`},
		{`"nodes": [`, `"nodes": {"x": 1}, "n2": [`, `scenario: nodes: want an array, got an object`},
		{`"name": "t",`, `"name": null,`, `scenario: name: want a string, got null`},
		{`"links": [{"a": "C", "b": "P"}],`, `"links": [{"a": "C", "b": "P"}],,`, `scenario: invalid JSON at line 14, column 34: invalid character ',' looking for beginning of object key string`},
		{`"links": [{"a": "C", "b": "P"}],`, `"links": [{"a": "C", "b": "P", "faults": [{"kind": "drop", "weird key": 1}]}],`, `scenario: links[0].faults[0]["weird key"]: unknown field`},
		// nodes
		{`{"id": "P", "role": "proxy"`, `{"id": "C", "role": "proxy"`, `scenario: nodes[1].id: duplicate node id "C"`},
		{`{"id": "P", "role": "proxy"`, `{"id": "1P", "role": "proxy"`, `scenario: nodes[1].id: "1P" is not a node id (a letter, then up to 31 letters, digits, _ or -)`},
		{`"authority": "example.com"}`, `"authority": "example.com", "forward": true}`, `scenario: nodes[2].forward: only proxies have forward (this node is a server)`},
		{`"forward": true`, `"forward": true, "upstream": "S"`, `scenario: nodes[1].upstream: node "S" is a server, not a proxy`},
		{`"forward": true`, `"forward": true, "next_hop_contexts": {"S": "CTX_C_S"}`, `scenario: nodes[1].next_hop_contexts.S: context "CTX_C_S" is between C and S, not P and S`},
		{`"forward": true`, `"forward": true, "allow": {"CTX_NOPE": ["S"]}`, `scenario: nodes[1].allow.CTX_NOPE: unknown context "CTX_NOPE"`},
		{`"forward": true`, `"forward": true, "allow": {"CTX_C_P": ["S", "C"]}`, `scenario: nodes[1].allow.CTX_C_P[1]: node "C" is a client and receives no requests`},
		{`"forward": true`, `"forward": true, "reverse": [{"to": "S"}]`, `scenario: nodes[1].reverse[0]: a reverse route needs host, path_prefix or both`},
		{`"forward": true`, `"forward": true, "reverse": [{"host": "dev.example", "to": "X"}]`, `scenario: nodes[1].reverse[0].to: unknown node "X"`},
		{`"forward": true`, `"forward": true, "reverse": [{"host": "dev.example", "to": "S", "contexts": ["CTX_NOPE"]}]`, `scenario: nodes[1].reverse[0].contexts[0]: unknown context "CTX_NOPE"`},
		{`"forward": true`, `"forward": true, "reverse": [{"host": "dev.example", "to": "S", "contexts": ["CTX_C_S"]}]`, `scenario: nodes[1].reverse[0].contexts[0]: P holds no side of context "CTX_C_S"`},
		{`"forward": true`, `"forward": true, "layer_limit": -1`, `scenario: nodes[1].layer_limit: -1 is out of range (0 for the default 4, or 1 to 64)`},
		{`"forward": true`, `"forward": true, "listen": "127.0.0.1"`, `scenario: nodes[1].listen: "127.0.0.1" is not host:port`},
		{`"authority": "example.com"}`, `"authority": "example.com", "resources": ["tv1=hello", "tv1"]}`, `scenario: nodes[2].resources[1]: resource /tv1 listed twice`},
		{`"authority": "example.com"}`, `"authority": "example.com", "resources": ["a//b=text:x"]}`, `scenario: nodes[2].resources[0]: "a//b" has an empty path segment (no leading, trailing or double slash)`},
		{`{"id": "C", "role": "client"}`, `{"id": "C", "role": "external"}`, `scenario: nodes[0].addr: missing (an external node needs the address:port of the outside endpoint)`},
		// contexts
		{`"sender_id": "5f", "recipient_id": "01"`, `"sender_id": "5f", "recipient_id": "01", "nodes": 1`, `scenario: contexts[0].a.nodes: unknown field (did you mean "node"?)`},
		{`"b": {"node": "S", "sender_id": "01"`, `"b": {"node": "Q", "sender_id": "01"`, `scenario: contexts[0].b.node: unknown node "Q"`},
		{`"a": {"node": "C", "sender_id": "5f"`, `"a": {"node": "C", "sender_id": "5g"`, `scenario: contexts[0].a.sender_id: "5g" is not hex (want digits 0-9 and a-f, no 0x prefix)`},
		{`"a": {"node": "C", "sender_id": "5f"`, `"a": {"node": "C", "sender_id": "5"`, `scenario: contexts[0].a.sender_id: "5" is not hex (odd number of digits)`},
		{`"a": {"node": "C", "sender_id": "5f"`, `"a": {"node": "C", "sender_id": "0102030405060708"`, `scenario: contexts[0].a.sender_id: 8 bytes is longer than the 7 bytes AES-CCM-16-64-128 allows (RFC 8613 section 3.3: nonce length - 6)`},
		{`"master_secret": "00112233445566778899aabbccddeeff"`, `"master_secret": "00112233445566778899aabbccddeeff", "alg": "A128GCM", "a": 1`, `scenario: contexts[0].a: duplicate field`},
		{`"b": {"node": "S", "sender_id": "01", "recipient_id": "5f"}, "master_secret": "00112233445566778899aabbccddeeff"}`,
			`"b": {"node": "S", "sender_id": "01", "recipient_id": "5f"}, "master_secret": "00112233445566778899aabbccddeeff", "alg": "11"}`, ``},
		{`"master_secret": "00112233445566778899aabbccddeeff"`, `"master_secret": "00112233445566778899aabbccddeeff", "alg": "12"`, `scenario: contexts[0].alg: unknown AEAD algorithm "12" (want one of 10 AES-CCM-16-64-128, 11 AES-CCM-16-64-256, 30 AES-CCM-16-128-128, 31 AES-CCM-16-128-256, 1 A128GCM, 2 A192GCM, 3 A256GCM, 24 ChaCha20/Poly1305)`},
		{`"master_secret": "00112233445566778899aabbccddeeff"`, `"master_secret": "00112233445566778899aabbccddeeff", "hkdf": "MD5"`, `scenario: contexts[0].hkdf: unknown HKDF algorithm "MD5" (want SHA-256 or SHA-512)`},
		{`"master_secret": "00112233445566778899aabbccddeeff"`, `"master_secret": ""`, `scenario: contexts[0].master_secret: missing (hex, e.g. 16 bytes)`},
		{`"master_secret": "00112233445566778899aabbccddeeff"`, `"master_secret": "00112233445566778899aabbccddeeff", "seq": {"P": 1}`, `scenario: contexts[0].seq.P: node "P" is not an end of this context`},
		{`"master_secret": "00112233445566778899aabbccddeeff"`, `"master_secret": "00112233445566778899aabbccddeeff", "seq": {"C": 1099511627776}`, `scenario: contexts[0].seq.C: 1099511627776 is larger than 2^40-1 (RFC 8613 section 7.2.1)`},
		{`"master_secret": "00112233445566778899aabbccddeeff"`, `"master_secret": "00112233445566778899aabbccddeeff", "send_id_context": true`, `scenario: contexts[0].send_id_context: there is no id_context to send`},
		{`{"name": "CTX_C_P"`, `{"name": "CTX_C_P", "a": {"node": "C", "sender_id": "5f", "recipient_id": "02"}, "b": {"node": "P", "sender_id": "02", "recipient_id": "5f"}, "master_secret": "00112233445566778899aabbccddeeff"}, {"name": "CTX_X"`,
			`scenario: contexts[1].a.sender_id: C of context "CTX_C_P" has the Master Secret, Master Salt, ID Context and Sender ID of C of context "CTX_C_S": both would use the same key and nonces (RFC 8613 section 3.3)`},
		{`"b": {"node": "S", "sender_id": "01", "recipient_id": "5f"}`, `"b": {"node": "S", "sender_id": "01", "recipient_id": "5e"}`, `scenario: contexts[0].b.recipient_id: "5e" must equal a.sender_id "5f"`},
		{`"b": {"node": "S", "sender_id": "01", "recipient_id": "5f"}`, `"b": {"node": "C", "sender_id": "01", "recipient_id": "5f"}`, `scenario: contexts[0].b.node: both ends of the context are node "C"`},
		{`{"name": "CTX_C_P"`, `{"name": "CTX_C_S"`, `scenario: contexts[1].name: duplicate context name "CTX_C_S"`},
		// links
		{`"links": [{"a": "C", "b": "P"}]`, `"links": [{"a": "C", "b": "P"}, {"a": "P", "b": "C"}]`, `scenario: links[1]: duplicate link between P and C`},
		{`"links": [{"a": "C", "b": "P"}]`, `"links": [{"a": "C", "b": "P", "faults": [{"kind": "delay", "delay": "fast"}]}]`, `scenario: links[0].faults[0].delay: "fast" is not a duration (want e.g. "50ms" or "2s")`},
		{`"links": [{"a": "C", "b": "P"}]`, `"links": [{"a": "C", "b": "P", "faults": [{"kind": "melt"}]}]`, `scenario: links[0].faults[0].kind: unknown fault "melt" (want drop, delay, duplicate, corrupt, replay or strip)`},
		{`"links": [{"a": "C", "b": "P"}]`, `"links": [{"a": "C", "b": "P", "faults": [{"kind": "drop", "payload": "1"}]}]`, `scenario: links[0].faults[0].payload: only strip faults answer with a code and payload`},
		{`"links": [{"a": "C", "b": "P"}]`, `"links": [{"a": "C", "b": "P", "faults": [{"kind": "strip", "code": "0.01"}]}]`, `scenario: links[0].faults[0].code: "0.01" is not a response code (c.dd, class 2 to 5)`},
		{`"links": [{"a": "C", "b": "P"}]`, `"links": [{"a": "C", "b": "P", "faults": [{"kind": "replay", "match": 1, "replay_of": 1}]}]`, `scenario: links[0].faults[0].replay_of: must name an earlier datagram than match (1 <= replay_of < match)`},
		// steps
		{`"from": "C"`, `"from": "S"`, `scenario: steps[0].from: node "S" is a server; steps are sent by clients`},
		{`"from": "C"`, `"from": "Z"`, `scenario: steps[0].from: unknown node "Z"`},
		{`"route": ["P"]`, `"route": ["S"]`, `scenario: steps[0].route[0]: node "S" is a server, not a proxy`},
		{`"contexts": ["CTX_C_S", "CTX_C_P"]`, `"contexts": ["CTX_C_S", "CTX_X"]`, `scenario: steps[0].contexts[1]: unknown context "CTX_X"`},
		{`"method": "GET"`, `"method": "get"`, `scenario: steps[0].method: unknown method "get" (want GET, POST, PUT, DELETE, FETCH, PATCH, iPATCH)`},
		{`"uri": "coap://example.com/alarm_status"`, `"uri": "http://example.com/"`, `scenario: steps[0].uri: "http://example.com/": scheme must be coap`},
		{`"uri": "coap://example.com/alarm_status"`, `"uri": "coaps://example.com/"`, `scenario: steps[0].uri: "coaps://example.com/": coaps needs DTLS (RFC 7252 9), which the lab does not speak; use coap, protected by OSCORE`},
		{`"uri": "coap://example.com/alarm_status", "route": ["P"],`, `"uri": "coap://nowhere.example/x",`, `scenario: steps[0].uri: no node answers to "nowhere.example" (set authority or listen on the target node, or give a route)`},
		{`"token": "8c"`, `"token": "0x8c"`, `scenario: steps[0].token: "0x8c" is not hex (want digits 0-9 and a-f, no 0x prefix)`},
		{`"token": "8c"`, `"token": "000102030405060708"`, `scenario: steps[0].token: 9 bytes is longer than a token may be (8, RFC 7252 section 3)`},
		{`"mid": 7`, `"mid": 70000`, `scenario: steps[0].mid: 70000 is not a message ID (0 to 65535)`},
		{`"timeout": "2s"`, `"timeout": "2 seconds"`, `scenario: steps[0].expect.timeout: "2 seconds" is not a duration (want e.g. "50ms" or "2s")`},
		{`"code": "2.05"`, `"code": "205"`, `scenario: steps[0].expect.code: "205" is not a CoAP code (want c.dd such as 2.05)`},
		{`"code": "2.05"`, `"code": "2.05", "refused": true`, `scenario: steps[0].expect.refused: a step that expects its response refused cannot expect a code, a payload or no response`},
		{`"mid": 7,`, `"mid": 7, "seq": [{"context": "CTX_C_S", "node": "P", "value": 3}],`, `scenario: steps[0].seq[0].context: context "CTX_C_S" is between C and S, not held by P`},
		{`"mid": 7,`, `"mid": 7, "options": [{"number": 9}],`, `scenario: steps[0].options[0].number: the OSCORE option is added by the contexts, not by hand`},
		{`"mid": 7,`, `"mid": 7, "hop_tokens": ["7b", "6a"],`, `scenario: steps[0].hop_tokens: 2 tokens for 1 later legs`},
		{`"mid": 7,`, `"mid": 7, "proxy_style": "onion",`, `scenario: steps[0].proxy_style: unknown proxy style "onion" (want proxy-scheme, proxy-uri or reverse)`},
		// document level
		{`"name": "t",`, `"name": "",`, `scenario: name: missing (give the scenario a short name)`},
		{"\n}", "\n} {}", `scenario: trailing data after the scenario object`},
	}
	for _, tc := range tests {
		t.Run(tc.new, func(t *testing.T) {
			_, err := Parse(edit(t, tc.old, tc.new))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want %q, got success", tc.want)
			}
			if err.Error() != tc.want {
				t.Fatalf("\n got %s\nwant %s", err, tc.want)
			}
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("error %T is not *scenario.Error", err)
			}
		})
	}
}

func TestParseWholeDocumentErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{``, `scenario: unexpected end of JSON`},
		{`[]`, `scenario: want an object, got an array`},
		{`{"name": "x"`, `scenario: unexpected end of JSON`},
		{`{"name": "x", "nodes": []}`, `scenario: nodes: missing (a scenario needs at least one node)`},
		{`{"name": "x", "nodes": [{"id": "C"}]}`, `scenario: nodes[0].role: unknown role "" (want client, proxy, server or external)`},
		{strings.Repeat("[", 100), `scenario: want an object, got an array`},
		{`{"name": "x", "nodes": [{"id": "S", "role": "server", "resources": [` + strings.Repeat(`[`, 50) + `]}]}`, `scenario: nodes[0].resources[0]: want a string, got an array`},
	}
	for _, tc := range tests {
		_, err := Parse([]byte(tc.in))
		if err == nil || err.Error() != tc.want {
			t.Errorf("Parse(%.30q):\n got %v\nwant %s", tc.in, err, tc.want)
		}
	}
}

func TestParseResource(t *testing.T) {
	tests := []struct {
		in   string
		want Resource
		err  string
	}{
		{"hello", Resource{Path: "hello", Target: "hello"}, ""},
		{"tv1=hello", Resource{Path: "tv1", Target: "hello"}, ""},
		{"3303/0/5700=text:21.5", Resource{Path: "3303/0/5700", Text: "21.5", IsText: true}, ""},
		{"cfg=text:a=b", Resource{Path: "cfg", Text: "a=b", IsText: true}, ""},
		{"a/b", Resource{}, `"a/b": built-in resources have one-segment names; use "a/b=NAME" for an alias`},
		{"=hello", Resource{}, `empty resource path`},
		{"x=a/b", Resource{}, `"x=a/b": "a/b" is not a built-in resource name (or use text:VALUE)`},
		{"a b", Resource{}, `"a b": path segments take no spaces, control characters, =, ? or #`},
	}
	for _, tc := range tests {
		got, err := ParseResource(tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("ParseResource(%q) error %v, want %s", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseResource(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

// TestParseListenLoopbackOnly: a node listens on loopback or not at all.
func TestParseListenLoopbackOnly(t *testing.T) {
	for listen, ok := range map[string]bool{
		"127.0.0.1:5683": true, "127.0.0.2:0": true, "[::1]:5683": true, "localhost:5683": true,
		"0.0.0.0:5683": false, "[::]:5683": false, "192.0.2.7:5683": false, "example.com:5683": false,
	} {
		_, err := Parse(edit(t, `{"id": "S", "role": "server", "authority": "example.com"}`,
			`{"id": "S", "role": "server", "authority": "example.com", "listen": "`+listen+`"}`))
		if ok && err != nil || !ok && (err == nil || !strings.Contains(err.Error(), "nodes[2].listen: ") || !strings.Contains(err.Error(), "not a loopback address")) {
			t.Errorf("listen %s: %v", listen, err)
		}
	}
}

func TestParseLayerOrder(t *testing.T) {
	tests := []struct{ old, new, want string }{
		{`"contexts": ["CTX_C_S", "CTX_C_P"]`, `"contexts": ["CTX_C_P", "CTX_C_S"]`,
			`scenario: steps[0].contexts[1]: context "CTX_C_S" (with S) is applied outside "CTX_C_P", but S lies farther along the path; list the contexts innermost (end-to-end) first`},
		{`{"id": "S", "role": "server", "authority": "example.com"}`, `{"id": "S", "role": "server", "authority": "example.com"}, {"id": "T", "role": "server", "authority": "t.example"}`, ``},
		// The end-to-end context's other end must be the node the URI names.
		{`"uri": "coap://example.com/alarm_status"`, `"uri": "coap://[::1]/alarm_status"`,
			`scenario: steps[0].uri: no node answers to "::1", so context "CTX_C_S" cannot reach S: give S "listen": "[::1]:5683"`},
		{`"uri": "coap://example.com/alarm_status"`, `"uri": "coap://example.org/alarm_status"`,
			`scenario: steps[0].uri: no node answers to "example.org", so context "CTX_C_S" cannot reach S: give S "authority": "example.org"`},
	}
	for _, tc := range tests {
		_, err := Parse(edit(t, tc.old, tc.new))
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || err.Error() != tc.want) {
			t.Errorf("%s:\n got %v\nwant %s", tc.new, err, tc.want)
		}
	}
	// A context with a node that is neither on the route nor the target.
	doc := strings.Replace(base, `{"id": "S", "role": "server", "authority": "example.com"}`,
		`{"id": "S", "role": "server", "authority": "example.com"}, {"id": "T", "role": "server", "authority": "t.example"}`, 1)
	doc = strings.Replace(doc, `"b": {"node": "S", "sender_id": "01", "recipient_id": "5f"}`, `"b": {"node": "T", "sender_id": "01", "recipient_id": "5f"}`, 1)
	_, err := Parse([]byte(doc))
	want := `scenario: steps[0].contexts[0]: context "CTX_C_S" is shared with T, which is neither on the route nor the target S`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

func TestParseResolvesFixedPorts(t *testing.T) {
	ok := edit(t, `"uri": "coap://example.com/alarm_status", "route": ["P"],
   "contexts": ["CTX_C_S", "CTX_C_P"]`, `"uri": "coap://127.0.0.1:5699/alarm_status", "contexts": ["CTX_C_S"]`)
	ok = []byte(strings.Replace(string(ok), `"authority": "example.com"`, `"listen": "127.0.0.1:5699"`, 1))
	if _, err := Parse(ok); err != nil {
		t.Fatal(err)
	}
	bad := []byte(strings.Replace(string(ok), `127.0.0.1:5699/alarm`, `127.0.0.1:5698/alarm`, 1))
	want := `scenario: steps[0].uri: no node answers to "127.0.0.1:5698" (set authority or listen on the target node, or give a route)`
	if _, err := Parse(bad); err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}

func TestParseSource(t *testing.T) {
	for _, tc := range []struct {
		in       string
		contains []string
		not      []string
		err      bool
	}{
		{in: "127.0.0.1:5683", contains: []string{"127.0.0.1:5683"}, not: []string{"127.0.0.1:5684", "127.0.0.2:5683"}},
		{in: "127.0.0.1", contains: []string{"127.0.0.1:1", "127.0.0.1:65535"}, not: []string{"127.0.0.2:1"}},
		{in: "10.0.0.0/8", contains: []string{"10.1.2.3:5683"}, not: []string{"11.0.0.1:5683"}},
		{in: "10.1.2.3/8", contains: []string{"10.200.0.1:9"}},
		{in: "[2001:db8::1]:5683", contains: []string{"[2001:db8::1]:5683"}, not: []string{"[2001:db8::2]:5683"}},
		{in: "::ffff:127.0.0.1", contains: []string{"127.0.0.1:7"}},
		{in: "::ffff:10.0.0.0/104", contains: []string{"10.9.9.9:7"}},
		{in: "localhost", err: true},
		{in: "localhost:5683", err: true},
		{in: "127.0.0.1:0", err: true},
		{in: "fe80::1%eth0", err: true},
		{in: "10.0.0.0/33", err: true},
		{in: "::ffff:0:0/90", err: true},
		{in: "", err: true},
	} {
		src, err := ParseSource(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("ParseSource(%q): error %v, want error %v", tc.in, err, tc.err)
			continue
		}
		for _, a := range tc.contains {
			if !src.Contains(netip.MustParseAddrPort(a)) {
				t.Errorf("%q does not contain %s", tc.in, a)
			}
		}
		for _, a := range tc.not {
			if src.Contains(netip.MustParseAddrPort(a)) {
				t.Errorf("%q contains %s", tc.in, a)
			}
		}
	}
}
