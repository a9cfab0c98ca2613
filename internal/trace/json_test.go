package trace

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func exportJSON(t *testing.T, tr *Trace, secrets bool) []byte {
	t.Helper()
	var b bytes.Buffer
	must(t, WriteJSON(&b, tr, secrets))
	return b.Bytes()
}

// Export, import, export gives the same bytes, redacted or not.
func TestJSONRoundTrip(t *testing.T) {
	for _, secrets := range []bool{false, true} {
		tr := buildFixture(t)
		// An empty ID Context differs from an absent one (RFC 8613 3.1).
		tr.Contexts = append(tr.Contexts, ContextInfo{Name: "CTX_EMPTY_ID_CONTEXT", IDContext: NullHex{}})
		first := exportJSON(t, tr, secrets)
		back, err := ReadJSON(bytes.NewReader(first))
		must(t, err)
		second := exportJSON(t, back, secrets)
		if !bytes.Equal(first, second) {
			t.Fatalf("includeSecrets=%v: round trip changed the file:\n%s\n---\n%s", secrets, first, second)
		}
		if len(back.Events) != len(tr.Events) || !back.Events[4].Time.Equal(tr.Events[4].Time) {
			t.Fatalf("events not restored")
		}
		// The renderers give the same output from the imported trace.
		var a, b bytes.Buffer
		must(t, WriteText(&a, tr))
		must(t, WriteText(&b, back))
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Fatalf("text rendering differs after import:\n%s\n---\n%s", a.Bytes(), b.Bytes())
		}
	}
}

func TestJSONRedaction(t *testing.T) {
	tr := buildFixture(t)
	out := exportJSON(t, tr, false)
	back, err := ReadJSON(bytes.NewReader(out))
	must(t, err)
	cs, cp := back.Contexts[0], back.Contexts[1]
	if !cs.Demo || !bytes.Equal(cs.MasterSecret, demoSecret) {
		t.Errorf("demo context redacted: %+v", cs)
	}
	if cp.Demo || cp.MasterSecret != nil || cp.Fingerprint != Fingerprint(secretCP) || !strings.HasPrefix(cp.Fingerprint, "sha256:") {
		t.Errorf("private context not redacted to its fingerprint: %+v", cp)
	}
	if bytes.Contains(out, []byte("6e6f742d612d64656d6f2d6b65792121")) {
		t.Error("the private master secret leaked into the redacted file")
	}
	keys := map[string]int{}
	for _, e := range back.Events {
		if e.Layer_ != nil && e.Layer_.Report != nil && e.Layer_.Report.Details != nil && e.Layer_.Report.Key.Key != nil {
			keys[e.Layer_.Report.Context]++
		}
	}
	if keys["CTX_C_P"] != 0 || keys["CTX_C_S"] == 0 {
		t.Errorf("derived keys in the redacted file by context: %v", keys)
	}
	// The caller's trace is untouched.
	if tr.Contexts[1].MasterSecret == nil {
		t.Error("WriteJSON redacted the caller's trace")
	}
	for _, e := range tr.Events {
		if e.Layer_ != nil && e.Layer_.Report.Context == "CTX_C_P" && e.Layer_.Report.Complete().Key.Key == nil {
			t.Fatal("WriteJSON cleared a key in the caller's report")
		}
	}

	all := exportJSON(t, tr, true)
	if !bytes.Contains(all, []byte(`"master_secret":"6e6f742d612d64656d6f2d6b65792121"`)) {
		t.Error("includeSecrets did not include the private secret")
	}
}

func TestJSONEnvelopeIsTheDesignContract(t *testing.T) {
	out := exportJSON(t, buildFixture(t), false)
	var m map[string]json.RawMessage
	must(t, json.Unmarshal(out, &m))
	for _, k := range []string{"format", "version", "scenario", "nodes", "contexts", "events"} {
		if _, ok := m[k]; !ok {
			t.Errorf("missing top-level %q", k)
		}
	}
	var evs []map[string]any
	must(t, json.Unmarshal(m["events"], &evs))
	var dg map[string]any
	for _, e := range evs {
		if e["type"] == "datagram" {
			dg = e
			break
		}
	}
	for _, k := range []string{"seq", "time", "from", "to", "bytes", "exchange", "hop", "dir"} {
		if _, ok := dg[k]; !ok {
			t.Errorf("datagram event lacks %q: %v", k, dg)
		}
	}
	var ctxs []map[string]any
	must(t, json.Unmarshal(m["contexts"], &ctxs))
	for _, k := range []string{"name", "alg", "hkdf", "master_secret", "master_salt", "id_context", "fingerprint", "endpoints"} {
		if _, ok := ctxs[1][k]; !ok {
			t.Errorf("context lacks %q", k)
		}
	}
	if ctxs[1]["master_secret"] != nil || ctxs[1]["id_context"] != nil {
		t.Errorf("redacted secret / absent id context should be null: %v", ctxs[1])
	}
}

func TestReadJSONErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{``, "not a JSON trace file"},
		{`[1,2]`, "not a JSON trace file"},
		{`{"version":1}`, `no "format" field`},
		{`{"format":"har","version":1}`, `format "har", want "oscore-lab-trace"`},
		{`{"format":"oscore-lab-trace"}`, `no "version" field`},
		{`{"format":"oscore-lab-trace","version":2}`, "version 2 is newer than this build reads (version 1)"},
		{`{"format":"oscore-lab-trace","version":0}`, "version 0 is not valid"},
		{`{"format":"oscore-lab-trace","version":1,"events":[{"type":"bogus"}]}`, `events[0] (seq 0): unknown event type "bogus"`},
		{`{"format":"oscore-lab-trace","version":1,"events":[{"seq":3,"type":"datagram","from":"C","to":"P"}]}`, "events[0] (seq 3): datagram event without bytes"},
		{`{"format":"oscore-lab-trace","version":1,"events":[{"type":"datagram","bytes":"zz"}]}`, "bad trace file"},
		{`{"format":"oscore-lab-trace","version":1,"events":[{"type":"layer","layer_event":{"action":"peeled"}}]}`, `layer action "peeled"`},
		{`{"format":"oscore-lab-trace","version":1,"nodes":[{"id":"C"},{"id":"C"}]}`, `duplicate id "C"`},
		{`{"format":"oscore-lab-trace","version":1,"contexts":[{"name":"X","master_secret":"abc"}]}`, "bad trace file"},
	} {
		_, err := ReadJSON(strings.NewReader(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "trace: ") {
			t.Errorf("ReadJSON(%s) = %v, want an error containing %q", c.in, err, c.want)
		}
	}
}

func FuzzReadJSON(f *testing.F) {
	var b bytes.Buffer
	if err := WriteJSON(&b, buildFixture(f), false); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	f.Add([]byte(`{"format":"oscore-lab-trace","version":1,"events":[{"type":"datagram","from":"C","to":"P","bytes":"40"}]}`))
	// An empty ID Context is not an absent one (RFC 8613 3.1).
	f.Add([]byte(`{"format":"oscore-lab-trace","version":1,"contexts":[{"name":"X","id_context":""},{"name":"Y","id_context":null}]}`))
	f.Add([]byte(groupSideStateTrace))
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := ReadJSON(bytes.NewReader(data))
		if err != nil {
			return
		}
		// Whatever imports must render without panicking.
		var out bytes.Buffer
		_ = WriteText(&out, tr)
		_ = WriteMermaid(&out, tr)
		_ = WriteASCII(&out, tr)
		_ = WritePcapng(&out, tr)
		_, _ = WriteWiresharkContexts(&out, tr, true)
		// What imports writes back in a form that reads and writes
		// again to the same bytes, with secrets or redacted.
		for _, secrets := range []bool{true, false} {
			var first, second bytes.Buffer
			if err := WriteJSON(&first, tr, secrets); err != nil {
				t.Fatalf("an imported trace does not write (secrets %v): %v", secrets, err)
			}
			back, err := ReadJSON(bytes.NewReader(first.Bytes()))
			if err != nil {
				t.Fatalf("a written trace does not read back (secrets %v): %v\n%s", secrets, err, first.Bytes())
			}
			if err := WriteJSON(&second, back, secrets); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(first.Bytes(), second.Bytes()) {
				t.Fatalf("read then write is not byte-stable (secrets %v):\n%s\n%s", secrets, first.Bytes(), second.Bytes())
			}
		}
	})
}

func TestWritersAcceptEmptyAndNilTraces(t *testing.T) {
	for _, tr := range []*Trace{nil, {}} {
		var b bytes.Buffer
		must(t, WriteText(&b, tr))
		must(t, WriteMermaid(&b, tr))
		must(t, WriteASCII(&b, tr))
		must(t, WritePcapng(&b, tr))
		_, err := WriteWiresharkContexts(&b, tr, true)
		must(t, err)
	}
	if err := WriteJSON(&bytes.Buffer{}, nil, false); err == nil {
		t.Error("WriteJSON(nil) succeeded")
	}
	var b bytes.Buffer
	must(t, WriteJSON(&b, &Trace{}, false))
	back, err := ReadJSON(&b)
	must(t, err)
	if back.Format != FormatName || back.Version != FormatVersion {
		t.Errorf("envelope not written for an empty trace: %+v", back)
	}
}

// groupSideStateTrace holds a Group OSCORE layer event whose side state
// has a window per recipient (docs/trace-format.md "The side state").
const groupSideStateTrace = `{"format":"oscore-lab-trace","version":1,"events":[{"type":"layer","node":"S1","dir":"request","layer_event":{"action":"removed","report":{"context":"GRP","action":"unprotect","message":"request","kid":"01","partial_iv":"01","seq":1},"state":{"sender_seq":1,"window":0,"highest":-1,"recipients":[{"kid":"01","window":32,"highest":1,"seen":[1,0]},{"kid":"52","window":32,"highest":-1}]}}}]}`

// TestGroupSideStateRoundTrip: a group side state reads, and writes back
// to the same bytes, redacted or not: it holds no key to take away.
func TestGroupSideStateRoundTrip(t *testing.T) {
	tr, err := ReadJSON(strings.NewReader(groupSideStateTrace))
	if err != nil {
		t.Fatal(err)
	}
	st := tr.Events[0].Layer_.State
	if st == nil || len(st.Recipients) != 2 || st.Recipients[0].KID != "01" || st.Recipients[0].Highest != 1 || len(st.Recipients[0].Seen) != 2 || st.Recipients[1].Highest != -1 {
		t.Fatalf("read side state %+v", st)
	}
	for _, secrets := range []bool{true, false} {
		var first, second bytes.Buffer
		if err := WriteJSON(&first, tr, secrets); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(first.String(), `"recipients":[{"kid":"01","window":32,"highest":1,"seen":[1,0]},{"kid":"52","window":32,"highest":-1}]`) {
			t.Errorf("written (secrets %v) without the recipient windows:\n%s", secrets, first.Bytes())
		}
		back, err := ReadJSON(bytes.NewReader(first.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if err := WriteJSON(&second, back, secrets); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first.Bytes(), second.Bytes()) {
			t.Errorf("secrets %v: not byte-stable:\n%s\n%s", secrets, first.Bytes(), second.Bytes())
		}
	}
}
