package nodes

import (
	"bytes"
	"encoding/hex"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"

	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
)

// leg is what one figure of the draft's appendix B shows for one leg: the
// token, the outer options of the request, the kid of its outer OSCORE
// option, and for each layer its sender applied there, the options inside
// it. Hop-Limit is left out: the figures do not show it, while the lab's
// proxies insert it (RFC 8768 3); TestHopLimitPlacement checks where it goes.
type leg struct {
	token string
	outer []string
	kid   string
	inner map[string][]string // context -> option names inside that layer
	// respInner lists, per context applied to the response on this leg, the
	// options inside it ("OSCORE" when an inner layer's option is escalated).
	respInner map[string][]string
}

var appendixB = []struct {
	name string
	legs []leg
}{
	{"draft-b1", []leg{
		{token: "8c", outer: []string{"OSCORE"}, kid: "20",
			inner:     map[string][]string{"CTX_C_S": {"Uri-Path"}, "CTX_C_P": {"Uri-Host", "OSCORE", "Proxy-Scheme"}},
			respInner: map[string][]string{"CTX_C_P": {"OSCORE"}}},
		{token: "7b", outer: []string{"Uri-Host", "OSCORE"}, kid: "5f",
			respInner: map[string][]string{"CTX_C_S": {}}},
	}},
	{"draft-b2", []leg{
		{token: "8c", outer: []string{"Uri-Host", "OSCORE", "Proxy-Scheme"}, kid: "5f",
			inner: map[string][]string{"CTX_C_S": {"Uri-Path"}}},
		{token: "7b", outer: []string{"Uri-Host", "OSCORE"}, kid: "d4",
			inner:     map[string][]string{"CTX_P_S": {"OSCORE"}},
			respInner: map[string][]string{"CTX_C_S": {}, "CTX_P_S": {"OSCORE"}}},
	}},
	{"draft-b3", []leg{
		{token: "8c", outer: []string{"OSCORE"}, kid: "20",
			inner:     map[string][]string{"CTX_C_S": {"Uri-Path"}, "CTX_C_P": {"Uri-Host", "OSCORE", "Proxy-Scheme"}},
			respInner: map[string][]string{"CTX_C_P": {"OSCORE"}}},
		{token: "7b", outer: []string{"Uri-Host", "OSCORE"}, kid: "d4",
			inner:     map[string][]string{"CTX_P_S": {"OSCORE"}},
			respInner: map[string][]string{"CTX_C_S": {}, "CTX_P_S": {"OSCORE"}}},
	}},
	{"draft-b6", []leg{
		{token: "8c", outer: []string{"OSCORE"}, kid: "20",
			inner:     map[string][]string{"CTX_C_S": {"Uri-Path"}, "CTX_C_P1": {"Uri-Host", "OSCORE", "Proxy-Scheme"}},
			respInner: map[string][]string{"CTX_C_P1": {"OSCORE"}}},
		{token: "7b", outer: []string{"OSCORE"}, kid: "d4",
			inner:     map[string][]string{"CTX_P1_P2": {"Uri-Host", "OSCORE", "Proxy-Scheme"}},
			respInner: map[string][]string{"CTX_P1_P2": {"OSCORE"}}},
		{token: "6a", outer: []string{"Uri-Host", "OSCORE"}, kid: "77",
			inner:     map[string][]string{"CTX_P2_S": {"OSCORE"}},
			respInner: map[string][]string{"CTX_C_S": {}, "CTX_P2_S": {"OSCORE"}}},
	}},
	{"draft-b7", []leg{
		{token: "8c", outer: []string{"Uri-Host", "OSCORE"}, kid: "20",
			inner:     map[string][]string{"CTX_C_P": {"Uri-Path"}},
			respInner: map[string][]string{"CTX_C_P": {}}},
		{token: "7b", outer: []string{"OSCORE"}, kid: "d4",
			inner:     map[string][]string{"CTX_P_S": {"Uri-Path"}},
			respInner: map[string][]string{"CTX_P_S": {}}},
	}},
	{"draft-b8", []leg{
		{token: "8c", outer: []string{"OSCORE"}, kid: "20",
			inner:     map[string][]string{"CTX_C_S": {"Uri-Path"}, "CTX_C_P": {"OSCORE", "Uri-Path"}},
			respInner: map[string][]string{"CTX_C_P": {"OSCORE"}}},
		{token: "7b", outer: []string{"OSCORE"}, kid: "d4",
			inner:     map[string][]string{"CTX_P_S": {"OSCORE"}},
			respInner: map[string][]string{"CTX_C_S": {}, "CTX_P_S": {"OSCORE"}}},
	}},
}

// TestAppendixB runs the draft's examples over real loopback UDP and checks
// every leg against its figure: outer options and kid from the datagram on
// the wire, the options inside each layer from the layer reports, and the
// client's 2.05 "0".
func TestAppendixB(t *testing.T) {
	for _, tc := range appendixB {
		t.Run(tc.name, func(t *testing.T) {
			s := builtinScenario(t, tc.name)
			lab, bus := startLab(t, s)
			r := send(t, lab, s.Steps[0])
			if r.Code != "2.05" || r.Payload != "0" || !r.OK {
				t.Fatalf("result %+v", r)
			}
			if want := s.Steps[0].Contexts; !slices.Equal(r.Layers, want) {
				t.Errorf("client removed %v, want %v", r.Layers, want)
			}
			dg := datagrams(bus, r.Exchange)
			layers := eventsOf(bus, trace.TypeLayer, r.Exchange)
			for hop, want := range tc.legs {
				req, resp := legDatagrams(t, dg, hop)
				m := decode(t, req.Bytes)
				if got := hex.EncodeToString(m.Token); got != want.token {
					t.Errorf("leg %d: token %s, want %s", hop, got, want.token)
				}
				if got := optionNames(m.Options); !slices.Equal(got, want.outer) {
					t.Errorf("leg %d: outer options %v, want %v", hop, got, want.outer)
				}
				ov, _ := m.Options.GetBytes(9)
				parsed, err := oscore.ParseOption(ov)
				if err != nil || hex.EncodeToString(parsed.KID) != want.kid {
					t.Errorf("leg %d: outer kid %x (%v), want %s", hop, parsed.KID, err, want.kid)
				}
				rm := decode(t, resp.Bytes)
				if rm.Code.String() != "Changed" || !rm.Options.HasOption(9) || !bytes.Equal(rm.Token, m.Token) {
					t.Errorf("leg %d: response %v token %x options %v, want 2.04 with OSCORE", hop, rm.Code, rm.Token, optionNames(rm.Options))
				}
				checkLayers(t, hop, "request", layers, want.inner)
				checkLayers(t, hop, "response", layers, want.respInner)
			}
			if len(dg) != 2*len(tc.legs) {
				t.Errorf("%d datagrams, want %d", len(dg), 2*len(tc.legs))
			}
		})
	}
}

// legDatagrams finds the request and the response of one leg.
func legDatagrams(t *testing.T, dg []trace.Event, hop int) (req, resp trace.Event) {
	t.Helper()
	var got []trace.Event
	for _, e := range dg {
		if e.Hop == hop {
			got = append(got, e)
		}
	}
	if len(got) != 2 || got[0].Dir != trace.DirRequest || got[1].Dir != trace.DirResponse {
		t.Fatalf("leg %d: datagrams %+v", hop, got)
	}
	return got[0], got[1]
}

// checkLayers compares the options inside each layer applied on a leg.
func checkLayers(t *testing.T, hop int, dir string, layers []trace.Event, want map[string][]string) {
	t.Helper()
	got := map[string][]string{}
	for _, e := range layers {
		if e.Hop != hop || e.Dir != dir || e.Layer_.Action != trace.LayerApplied {
			continue
		}
		rep := e.Layer_.Report
		var inner []string
		for _, o := range rep.Complete().Options {
			if strings.Contains(o.Where, "inner") && o.Number != 16 {
				inner = append(inner, o.Name)
			}
		}
		if inner == nil {
			inner = []string{}
		}
		got[rep.Context] = inner
	}
	if len(want) == 0 && len(got) == 0 {
		return
	}
	keys := func(m map[string][]string) []string {
		var k []string
		for x := range m {
			k = append(k, x)
		}
		sort.Strings(k)
		return k
	}
	if !slices.Equal(keys(got), keys(want)) {
		t.Errorf("leg %d %s: layers %v, want %v", hop, dir, got, want)
		return
	}
	for ctx, w := range want {
		if !slices.Equal(got[ctx], w) {
			t.Errorf("leg %d %s: inside %s %v, want %v", hop, dir, ctx, got[ctx], w)
		}
	}
}

// optionNames lists the option names of a message in wire order, without
// Hop-Limit.
func optionNames(opts message.Options) []string {
	var out []string
	for _, o := range opts {
		if o.ID != 16 {
			out = append(out, oscore.OptionName(uint16(o.ID)))
		}
	}
	return out
}

// TestDeterministicRuns: with tokens, MIDs and sequence numbers pinned by
// the scenario, two runs put exactly the same bytes on the wire.
func TestDeterministicRuns(t *testing.T) {
	for _, tc := range appendixB {
		var runs [2][][]byte
		for i := range runs {
			s := builtinScenario(t, tc.name)
			lab, bus := startLab(t, s)
			r := send(t, lab, s.Steps[0])
			for _, d := range datagrams(bus, r.Exchange) {
				runs[i] = append(runs[i], d.Bytes)
			}
			lab.Close()
		}
		if len(runs[0]) != len(runs[1]) {
			t.Fatalf("%s: %d vs %d datagrams", tc.name, len(runs[0]), len(runs[1]))
		}
		for j := range runs[0] {
			if !bytes.Equal(runs[0][j], runs[1][j]) {
				t.Errorf("%s: datagram %d differs:\n%x\n%x", tc.name, j, runs[0][j], runs[1][j])
			}
		}
	}
}
