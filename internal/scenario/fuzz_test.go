package scenario

import (
	"encoding/json"
	"io/fs"
	"os"
	"path"
	"reflect"
	"testing"
)

// FuzzParse feeds Parse arbitrary bytes, seeded with every built-in and the
// error table's inputs. Parse must never panic, must fail only with a
// *Error, and whatever it accepts must survive a marshal/parse round trip.
func FuzzParse(f *testing.F) {
	entries, err := fs.ReadDir(builtinFS, "builtin")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		data, err := builtinFS.ReadFile(path.Join("builtin", e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(base))
	if group, err := os.ReadFile("testdata/group-basic.json"); err == nil {
		f.Add(group)
	}
	f.Add([]byte(`{"name":"x","nodes":[{"id":"C","role":"client"}],"steps":[{"from":"C","method":"GET","uri":"coap://[::1]:5683/a"}]}`))
	f.Add([]byte(`{"name":"x","nodes":[{"id":"S","role":"server","resources":["a=text:b"]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T %v is not a *scenario.Error", err, err)
			}
			return
		}
		again, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("accepted scenario does not marshal: %v", err)
		}
		s2, err := Parse(again)
		if err != nil {
			t.Fatalf("accepted scenario fails after a round trip: %v\n%s", err, again)
		}
		if !reflect.DeepEqual(s, s2) {
			t.Fatalf("round trip changed the scenario:\n%s", again)
		}
	})
}

// Inputs the fuzzer found, kept as named tests.
func TestFuzzFindings(t *testing.T) {
	tests := []struct{ name, in, err string }{
		{
			// An empty map decoded as non-nil but marshalled as absent, so a
			// round trip changed the value; Parse now canonicalizes. The
			// control character in the name is refused as well.
			name: "empty map and control character in name",
			in:   `{"name":"\b","nodes":[{"id":"A","role":"client"},{"id":"B","role":"proxy","forward":true,"next_hop_contexts":{}}]} `,
			err:  `scenario: name: "\b" is not a scenario name (letters, digits, '.', '_' or '-', at most 64)`,
		},
		{
			name: "empty map is canonicalized",
			in:   `{"name":"x","nodes":[{"id":"A","role":"client"},{"id":"B","role":"proxy","forward":true,"next_hop_contexts":{},"reverse":[]}]}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse([]byte(tc.in))
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("got %v\nwant %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Nodes[1].NextHopContexts != nil || s.Nodes[1].Reverse != nil {
				t.Fatal("empty collections must parse as nil")
			}
		})
	}
}
