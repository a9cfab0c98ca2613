package group

import (
	"bytes"
	"errors"
	"testing"

	"oscore-lab/oscore"
)

// rfc8613Pair is an RFC 8613 context pair between a and b.
func rfc8613Pair(t testing.TB, name string, a, b byte) (*oscore.Context, *oscore.Context) {
	t.Helper()
	mk := func(s, r byte) *oscore.Context {
		c, err := oscore.NewContext(name, oscore.Params{MasterSecret: []byte(name + " secret"), SenderID: []byte{s}, RecipientID: []byte{r}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	return mk(a, b), mk(b, a)
}

func fixed(c *oscore.Context) oscore.ContextLookup {
	return func(kid, _ []byte) (*oscore.Context, error) {
		if bytes.Equal(kid, c.RecipientID()) {
			return c, nil
		}
		return nil, nil
	}
}

// TestGroupLayerUnderProxyLayer: the client protects a group-mode request
// end to end and then for its proxy with an RFC 8613 context
// (draft-ietf-core-oscore-capable-proxies A.1, RFC 10021 end to end); the
// proxy removes only its layer, the server the group layer; the response
// takes both layers back in reverse order (draft 2.5, 2.6).
func TestGroupLayerUnderProxyLayer(t *testing.T) {
	_, cli, srv := crossChecked(t)
	cp, pc := rfc8613Pair(t, "C-P", 0xc1, 0xb1)
	req, cb, reps, err := ProtectRequestLayers(getTemp(), []Layer{{Group: cli}, {OSCORE: cp}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if reps[0].Complete().Group == nil || reps[1].Complete().Group != nil || len(cb) != 2 || cb[0].Group == nil || cb[1].OSCORE == nil {
		t.Fatalf("bindings %+v", cb)
	}
	// The proxy: its layer only.
	atProxy, pb, _, err := oscore.UnprotectRequest(req, fixed(pc))
	if err != nil {
		t.Fatal(err)
	}
	if ov, _ := oscore.ParseOption(optionOf(t, atProxy)); !ov.Group {
		t.Fatal("the proxy does not see the group layer's option")
	}
	// The server: the group layer.
	got, sb, _, err := UnprotectRequestLayers(atProxy, nil, lookupOf(srv), 0)
	if err != nil || len(sb) != 1 || sb[0].Group == nil || string(got.Options[0].Value) != "temp" {
		t.Fatalf("server: %v, %d layers", err, len(sb))
	}
	resp, _, err := ProtectResponseLayers(content215(), sb, []ResponseOptions{{Group: ProtectOptions{Mode: PairwiseMode}}})
	if err != nil {
		t.Fatal(err)
	}
	resp, _, err = oscore.ProtectResponse(pb, resp, oscore.ProtectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	back, rreps, err := UnprotectResponseLayers(resp, cb)
	if err != nil || string(back.Payload) != "21.5" || len(rreps) != 2 || rreps[1].Complete().Group.Mode != "pairwise" {
		t.Fatalf("client: %v", err)
	}
}

// TestLayersAnyOrder: an RFC 8613 end-to-end layer inside a Group OSCORE
// layer, both removed by one endpoint (draft 1: layers nest in any order);
// a response that lost its outer layer is refused.
func TestLayersAnyOrder(t *testing.T) {
	_, cli, srv := crossChecked(t)
	cs, sc := rfc8613Pair(t, "C-S", 0x01, 0x02)
	req, cb, _, err := ProtectRequestLayers(getTemp(), []Layer{{OSCORE: cs}, {Group: cli, GroupOptions: ProtectOptions{Mode: PairwiseMode, To: []byte{0x52}}}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, sb, _, err := UnprotectRequestLayers(req, fixed(sc), lookupOf(srv), 0)
	if err != nil || len(sb) != 2 || sb[0].Group == nil || sb[1].OSCORE == nil || string(got.Options[0].Value) != "temp" {
		t.Fatalf("server: %v (%d layers)", err, len(sb))
	}
	resp, _, err := ProtectResponseLayers(content215(), sb, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := UnprotectResponseLayers(resp, cb); err != nil {
		t.Fatal(err)
	}
	inner, _, _ := ProtectResponseLayers(content215(), sb[1:], nil)
	if _, _, err := UnprotectResponseLayers(inner, cb); !errors.Is(err, oscore.ErrResponseNotVerified) {
		t.Fatalf("response without the group layer: %v", err)
	}
	if _, _, _, err := ProtectRequestLayers(getTemp(), []Layer{{Group: cli}, {Group: cli}, {Group: cli}}, 2); !errors.Is(err, oscore.ErrLayerLimit) {
		t.Fatalf("layer limit: %v", err)
	}
}
