package web

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"sync"
	"testing"
	"time"

	"oscore-lab/internal/nodes"
	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
)

// Some things are computed twice, in the browser for the live views and in
// Go for the exports: the parsing of datagrams and OSCORE plaintexts (the
// inspector's byte view, static/js/coap.js, against the text, pcapng and
// Wireshark views) and each datagram's layer stack (the sequence view's
// chips, static/js/store.js, against the exports). These tests run both
// sides over the same inputs in Chromium, the bytes and traces of every
// built-in scenario and mutations of them, and require the same answers.
// Whatever Go accepts, JavaScript must parse to the same fields, with byte
// ranges that tile the input; whatever Go refuses, JavaScript must call
// malformed.

// modulePage opens the lab's page in Chromium, so that its ES modules can
// be imported and run by the expressions a test evaluates.
func modulePage(t *testing.T) context.Context {
	t.Helper()
	ctx := newTab(t)
	tl := newTestLab(t, "draft-b3")
	openLab(t, ctx, tl.srv.URL)
	return ctx
}

// parsedCoap is what both parsers must agree on.
type parsedCoap struct {
	OK      bool        `json:"ok"`
	Type    string      `json:"type,omitempty"`
	Code    string      `json:"code,omitempty"`
	MID     int         `json:"mid,omitempty"`
	Token   string      `json:"token,omitempty"`
	Options []parsedOpt `json:"options,omitempty"`
	Payload *string     `json:"payload,omitempty"` // hex; nil without a payload marker
	Tiles   *bool       `json:"tiles,omitempty"`   // JavaScript only: the fields cover the input exactly
}

type parsedOpt struct {
	N int    `json:"n"`
	V string `json:"v"`
}

type parsedInput struct {
	Hex  string `json:"h"`
	Mode string `json:"mode"` // "udp" or "plain"
}

var coapTypes = [4]string{"CON", "NON", "ACK", "RST"}

func codeText(c uint8) string { return fmt.Sprintf("%d.%02d", c>>5, c&0x1f) }

// goCoap is the Go parsers' reading of one input.
func goCoap(in parsedInput) parsedCoap {
	b, _ := hex.DecodeString(in.Hex)
	var opts []trace.Option
	var payload []byte
	out := parsedCoap{OK: true}
	if in.Mode == "udp" {
		d, err := trace.ParseDatagram(b)
		if err != nil {
			return parsedCoap{}
		}
		out.Type, out.Code, out.MID, out.Token = coapTypes[d.Type], codeText(d.Code), int(d.MID), hex.EncodeToString(d.Token)
		opts, payload = d.Options, d.Payload
	} else {
		code, o, p, err := trace.ParsePlaintext(b)
		if err != nil {
			return parsedCoap{}
		}
		out.Code = codeText(code)
		opts, payload = o, p
	}
	for _, o := range opts {
		out.Options = append(out.Options, parsedOpt{N: int(o.Number), V: hex.EncodeToString(o.Value)})
	}
	if payload != nil {
		h := hex.EncodeToString(payload)
		out.Payload = &h
	}
	return out
}

// parsedOSCORE is what both OSCORE option parsers must agree on.
type parsedOSCORE struct {
	OK         bool    `json:"ok"`
	Group      bool    `json:"group,omitempty"`
	PIV        string  `json:"piv,omitempty"`
	KID        *string `json:"kid,omitempty"`
	KIDContext *string `json:"kidContext,omitempty"`
}

func goOSCORE(h string) parsedOSCORE {
	b, _ := hex.DecodeString(h)
	o, err := oscore.ParseOption(b)
	if err != nil {
		return parsedOSCORE{}
	}
	out := parsedOSCORE{OK: true, Group: o.Group, PIV: hex.EncodeToString(o.PartialIV)}
	if o.KID != nil {
		k := hex.EncodeToString(o.KID)
		out.KID = &k
	}
	if o.KIDContext != nil {
		k := hex.EncodeToString(o.KIDContext)
		out.KIDContext = &k
	}
	return out
}

// scenarioBytes runs every step of every built-in scenario once (Observe
// steps aside) and returns the distinct datagrams and OSCORE plaintexts the
// lab recorded; the tests share one run.
func scenarioBytes(t *testing.T) (datagrams, plaintexts []string) {
	t.Helper()
	runCorpus(t)
	return corpus.datagrams, corpus.plaintexts
}

// scenarioTraces returns the trace of each built-in scenario's run.
func scenarioTraces(t *testing.T) []*trace.Trace {
	t.Helper()
	runCorpus(t)
	return corpus.traces
}

var corpus struct {
	once                  sync.Once
	datagrams, plaintexts []string
	traces                []*trace.Trace
	err                   error
}

func runCorpus(t *testing.T) {
	t.Helper()
	corpus.once.Do(func() { corpus.datagrams, corpus.plaintexts, corpus.traces, corpus.err = runScenarios() })
	if corpus.err != nil {
		t.Fatal(corpus.err)
	}
}

func runScenarios() (datagrams, plaintexts []string, traces []*trace.Trace, err error) {
	seen := map[string]bool{}
	for _, sc := range scenario.List() {
		bus := trace.NewBus(0)
		lab := nodes.NewLab(bus)
		if err := lab.Load(sc); err != nil {
			lab.Close()
			return nil, nil, nil, fmt.Errorf("loading %s: %v", sc.Name, err)
		}
		for _, st := range sc.Steps {
			if st.Observe != "" {
				continue
			}
			st.Expect = nil
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			lab.Send(ctx, st) // failures are part of the corpus too
			cancel()
		}
		traces = append(traces, lab.Trace())
		lab.Close()
		for _, e := range bus.Recent() {
			var h, mode string
			switch {
			case e.Type == trace.TypeDatagram && len(e.Bytes) > 0:
				h, mode = hex.EncodeToString(e.Bytes), "udp"
			case e.Type == trace.TypeLayer && e.Layer_ != nil && e.Layer_.Report != nil && len(e.Layer_.Report.Plaintext) > 0:
				h, mode = hex.EncodeToString(e.Layer_.Report.Plaintext), "plain"
			default:
				continue
			}
			if seen[mode+h] {
				continue
			}
			seen[mode+h] = true
			if mode == "udp" {
				datagrams = append(datagrams, h)
			} else {
				plaintexts = append(plaintexts, h)
			}
		}
	}
	if len(datagrams) < 20 || len(plaintexts) < 10 {
		return nil, nil, nil, fmt.Errorf("the built-in scenarios gave %d datagrams and %d plaintexts; the corpus needs more", len(datagrams), len(plaintexts))
	}
	return datagrams, plaintexts, traces, nil
}

// mutations returns b's truncations and, at every position, a few byte
// changes that hit the header, option and marker encodings.
func mutations(b []byte) [][]byte {
	var out [][]byte
	for n := range len(b) {
		out = append(out, b[:n])
	}
	for i := range b {
		for _, f := range []func(byte) byte{
			func(v byte) byte { return v ^ 0x01 }, func(v byte) byte { return v ^ 0x40 },
			func(v byte) byte { return v | 0xf0 }, func(v byte) byte { return v | 0x0f },
			func(byte) byte { return 0xff }, func(byte) byte { return 0xdd }, func(byte) byte { return 0xe0 },
		} {
			c := append([]byte(nil), b...)
			c[i] = f(c[i])
			out = append(out, c)
		}
	}
	return out
}

// craftedCoap are inputs for rules the lab's own traffic never breaks.
var craftedCoap = []parsedInput{
	{"", "udp"}, {"40", "udp"}, {"400100", "udp"},
	{"00010001", "udp"}, {"80010001", "udp"}, {"c0010001", "udp"}, // versions 0, 2, 3
	{"49010001", "udp"},                          // token length 9
	{"4101000111", "udp"}, {"42010001aa", "udp"}, // token and truncated token
	{"40010001ff", "udp"}, {"40010001ff00", "udp"}, // payload marker without and with payload
	{"40010001f0", "udp"}, {"400100010f", "udp"}, // nibble 15 in delta and length
	{"40010001d0", "udp"}, {"40010001e000", "udp"}, // truncated extended deltas
	{"40010001e0fef2", "udp"}, {"40010001e0fef2e0fef2", "udp"}, // option numbers 65,535 and over
	{"60000001", "udp"}, {"60000001ff00", "udp"}, {"61000001aa", "udp"}, {"6000000140", "udp"}, // Empty messages
	{"", "plain"}, {"01", "plain"}, {"01ff", "plain"}, {"45ff30", "plain"}, {"01b3616263", "plain"}, {"01b361", "plain"},
}

func TestBrowserCoapParserAgreesWithGo(t *testing.T) {
	datagrams, plaintexts := scenarioBytes(t)
	var inputs []parsedInput
	add := func(b []byte, mode string) { inputs = append(inputs, parsedInput{hex.EncodeToString(b), mode}) }
	// Each input, and the mutations of the first few of each kind.
	addAll := func(hexes []string, mode string, mutated int) {
		for i, h := range hexes {
			b, _ := hex.DecodeString(h)
			add(b, mode)
			if i < mutated {
				for _, m := range mutations(b) {
					add(m, mode)
				}
			}
		}
	}
	addAll(datagrams, "udp", 40)
	addAll(plaintexts, "plain", 20)
	inputs = append(inputs, craftedCoap...)
	r := rand.New(rand.NewPCG(7, 8))
	for range 2000 {
		b := make([]byte, r.IntN(24))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		if len(b) > 0 {
			b[0] = b[0]&0x3f | 0x40 // mostly version 1, so that the parsers get past the header
		}
		add(b, []string{"udp", "plain"}[r.IntN(2)])
	}

	ctx := modulePage(t)

	const batch = 4000
	accepted, refused := 0, 0
	for start := 0; start < len(inputs); start += batch {
		part := inputs[start:min(start+batch, len(inputs))]
		js, _ := json.Marshal(part)
		got := evalJS[string](t, ctx, fmt.Sprintf(`(async () => {
			const { parseCoap } = await import('/static/js/coap.js');
			const { hexToBytes, bytesToHex } = await import('/static/js/util.js');
			return JSON.stringify(%s.map(({ h, mode }) => {
				const b = hexToBytes(h);
				const p = parseCoap(b, mode);
				if (p.error) return { ok: false };
				let at = 0, tiles = true;
				for (const f of [...p.fields].sort((x, y) => x.start - y.start)) {
					if (f.start !== at || f.end < f.start) tiles = false;
					at = f.end;
				}
				if (at !== b.length) tiles = false;
				return {
					ok: true, type: p.type || undefined, code: p.code, mid: p.mid || undefined,
					token: p.token || undefined,
					options: p.options.length ? p.options.map((o) => ({ n: o.number, v: o.value })) : undefined,
					payload: p.payload === null ? undefined : bytesToHex(p.payload), tiles,
				};
			}));
		})()`, js))
		var jsOut []parsedCoap
		if err := json.Unmarshal([]byte(got), &jsOut); err != nil || len(jsOut) != len(part) {
			t.Fatalf("JavaScript results: %v (%d for %d inputs)", err, len(jsOut), len(part))
		}
		bad := 0
		for i, in := range part {
			j, g := jsOut[i], goCoap(in)
			if j.OK && !*j.Tiles {
				t.Errorf("%s %s: the fields do not tile the input", in.Mode, in.Hex)
			}
			j.Tiles = nil
			if !reflect.DeepEqual(j, g) {
				jb, _ := json.Marshal(j)
				gb, _ := json.Marshal(g)
				t.Errorf("%s %s:\n JavaScript %s\n Go         %s", in.Mode, in.Hex, jb, gb)
				if bad++; bad == 20 {
					t.Fatal("stopping after 20 differences")
				}
			}
			if g.OK {
				accepted++
			} else {
				refused++
			}
		}
		if t.Failed() {
			return
		}
	}
	t.Logf("%d inputs: %d well-formed, %d malformed, same reading in both", len(inputs), accepted, refused)
	if accepted < 1000 || refused < 1000 {
		t.Errorf("the corpus is lopsided: %d accepted, %d refused", accepted, refused)
	}
}

func TestBrowserOSCOREOptionParserAgreesWithGo(t *testing.T) {
	datagrams, _ := scenarioBytes(t)
	var values []string
	seen := map[string]bool{}
	for _, h := range datagrams {
		b, _ := hex.DecodeString(h)
		d, err := trace.ParseDatagram(b)
		if err != nil {
			continue
		}
		for _, o := range d.Options {
			if o.Number == 9 && !seen[hex.EncodeToString(o.Value)] {
				seen[hex.EncodeToString(o.Value)] = true
				for _, m := range append(mutations(o.Value), o.Value) {
					values = append(values, hex.EncodeToString(m))
				}
			}
		}
	}
	if len(seen) < 5 {
		t.Fatalf("only %d distinct OSCORE options in the built-in scenarios", len(seen))
	}
	// Every flag byte with tails of several lengths (RFC 8613 6.1).
	for f := range 256 {
		for _, tail := range []string{"", "01", "0102", "010203", "0102030405", "01020304050607", "02aabb", "0205", "05aabbccddee0001"} {
			values = append(values, fmt.Sprintf("%02x%s", f, tail))
		}
	}

	ctx := modulePage(t)
	js, _ := json.Marshal(values)
	got := evalJS[string](t, ctx, fmt.Sprintf(`(async () => {
		const { parseOSCOREOption } = await import('/static/js/coap.js');
		const { hexToBytes } = await import('/static/js/util.js');
		return JSON.stringify(%s.map((h) => {
			const o = parseOSCOREOption(hexToBytes(h));
			if (o.error) return { ok: false };
			return { ok: true, group: o.g || undefined, piv: o.piv || undefined, kid: o.kid ?? undefined, kidContext: o.kidContext ?? undefined };
		}));
	})()`, js))
	var jsOut []parsedOSCORE
	if err := json.Unmarshal([]byte(got), &jsOut); err != nil || len(jsOut) != len(values) {
		t.Fatalf("JavaScript results: %v (%d for %d values)", err, len(jsOut), len(values))
	}
	ok, bad := 0, 0
	for i, h := range values {
		j, g := jsOut[i], goOSCORE(h)
		if !reflect.DeepEqual(j, g) {
			jb, _ := json.Marshal(j)
			gb, _ := json.Marshal(g)
			t.Errorf("OSCORE option %s:\n JavaScript %s\n Go         %s", h, jb, gb)
			if bad++; bad == 20 {
				t.Fatal("stopping after 20 differences")
			}
		}
		if g.OK {
			ok++
		}
	}
	t.Logf("%d OSCORE option values, %d well-formed, same reading in both", len(values), ok)
}

// TestBrowserLayerStacksAgreeWithGo: the sequence view's layer chips come
// from the layer events (static/js/store.js pushes a layer when it is
// applied and pops it when it is removed); the text, ASCII and Mermaid
// exports recover each datagram's layers from its bytes
// (trace.DatagramLayers). For every datagram of every built-in scenario both
// must name the same contexts, outermost first.
//
// testdata/outside-peer.json is a run with a peer outside the lab (a
// client of the test's own, internal/nodes/outside_test.go): it applied
// two layers that only the lab nodes' removals record, and both sides
// must find them from those.
func TestBrowserLayerStacksAgreeWithGo(t *testing.T) {
	traces := scenarioTraces(t)
	f, err := os.Open("testdata/outside-peer.json")
	if err != nil {
		t.Fatal(err)
	}
	outside, err := trace.ReadJSON(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	traces = append(traces, outside)
	ctx := modulePage(t)
	stacks, nested := 0, 0
	for _, tr := range traces {
		var buf bytes.Buffer
		if err := trace.WriteJSON(&buf, tr, false); err != nil {
			t.Fatal(err)
		}
		got := evalJS[string](t, ctx, fmt.Sprintf(`(async () => {
			const { createStore } = await import('/static/js/store.js');
			const st = createStore();
			st.loadTrace(%s);
			const out = {};
			for (const r of st.rows) {
				if (r.kind === 'datagram' && r.layers.length) out[r.seq] = r.layers.slice().reverse().map((e) => e.ctx);
			}
			return JSON.stringify(out);
		})()`, buf.String()))
		var js map[uint64][]string
		if err := json.Unmarshal([]byte(got), &js); err != nil {
			t.Fatalf("%s: JavaScript results: %v", tr.Scenario.Name, err)
		}
		want := trace.DatagramLayers(tr)
		for _, e := range tr.Events {
			if e.Type != trace.TypeDatagram {
				continue
			}
			if !reflect.DeepEqual(js[e.Seq], want[e.Seq]) {
				t.Errorf("%s, datagram %d (%s -> %s, %s): JavaScript %v, Go %v", tr.Scenario.Name, e.Seq, e.From, e.To, e.Dir, js[e.Seq], want[e.Seq])
			}
			if len(want[e.Seq]) > 0 {
				stacks++
			}
			if len(want[e.Seq]) > 1 {
				nested++
			}
			if tr == outside && e.Hop == 0 && e.Dir == trace.DirRequest && len(want[e.Seq]) != 2 {
				t.Errorf("the peer's request %d: Go finds layers %v, want its two", e.Seq, want[e.Seq])
			}
		}
	}
	t.Logf("%d scenarios: %d datagrams with layers, %d of them nested, same stacks in both", len(traces), stacks, nested)
	if nested < 10 {
		t.Errorf("only %d datagrams with nested layers", nested)
	}
}
