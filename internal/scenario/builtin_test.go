package scenario

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// wantBuiltins is the set the project promises (RFC 8613 Appendix C, the
// draft's Appendix B figures and Appendix A use cases, the error table).
var wantBuiltins = []string{
	"draft-b1", "draft-b2", "draft-b3", "draft-b4", "draft-b5", "draft-b6", "draft-b7", "draft-b8",
	"edhoc-rfc9529-1", "edhoc-rfc9529-2",
	"error-group-forged-response", "error-hop-limit", "error-layer-limit", "error-mn-forged-notification", "error-nonce-reuse", "error-proxying-not-supported", "error-replay",
	"error-unauthorised-client", "error-unprotected-response", "error-unrecognised-option", "error-wrong-key",
	"freshness-echo",
	"goscore-layout",
	"gp-early-stop", "gp-errors", "gp-forward", "gp-goscore", "gp-late", "gp-observe", "gp-reverse-1", "gp-reverse-3",
	"group-direct", "group-pairwise",
	"mn-goscore", "mn-plain", "mn-proxy", "mn-proxy-goscore", "mn-proxy-goscore-cp",
	"rfc8613-c4-c7", "rfc8613-c5", "rfc8613-c6", "rfc8613-c8",
	"usecase-firewall-entry", "usecase-lwm2m-forward", "usecase-lwm2m-gateway",
	"usecase-privacy-chain", "usecase-privacy-chain-onion", "usecase-proxy-access-control",
}

func TestBuiltinsLoadAndAreComplete(t *testing.T) {
	if _, err := builtins(); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range List() {
		names = append(names, s.Name)
		if s.Title == "" || s.Section == "" || len(s.Explanation) < 200 {
			t.Errorf("%s: needs a title, a section and a paragraph of explanation", s.Name)
		}
		if !strings.Contains(s.Section, "RFC ") && !strings.Contains(s.Section, "draft-ietf-core-") {
			t.Errorf("%s: section %q names no RFC or draft", s.Name, s.Section)
		}
		if len(s.Steps) == 0 && s.MulticastNotifications == nil {
			t.Errorf("%s: no steps", s.Name)
		}
		for i, st := range s.Steps {
			if st.Name == "" || st.Expect == nil || (st.Expect.Code == "" && !st.Expect.NoResponse && !st.Expect.Refused && len(st.Expect.Responses) == 0) {
				t.Errorf("%s: steps[%d] needs a name and an expected code (or no_response, refused, or responses per member)", s.Name, i)
			}
		}
	}
	if !slices.Equal(names, wantBuiltins) {
		t.Fatalf("List() = %v\nwant      %v", names, wantBuiltins)
	}
}

func TestBuiltinSecretsAreDistinct(t *testing.T) {
	owner := map[string]string{}
	for _, s := range List() {
		for _, c := range s.Contexts {
			rfc := strings.HasPrefix(s.Name, "rfc8613-")
			if rfc != (c.MasterSecret == "0102030405060708090a0b0c0d0e0f10") {
				t.Errorf("%s %s: only the RFC 8613 scenarios use the RFC demo secret", s.Name, c.Name)
			}
			if rfc || c.EDHOC != nil && c.MasterSecret == "" {
				continue // EDHOC gives the secret when the scenario runs
			}
			if prev, dup := owner[c.MasterSecret]; dup {
				t.Errorf("%s %s: master secret already used by %s", s.Name, c.Name, prev)
			}
			owner[c.MasterSecret] = s.Name + " " + c.Name
		}
	}
}

func TestBuiltinReturnsCopies(t *testing.T) {
	a, ok := Builtin("draft-b1")
	if !ok {
		t.Fatal("draft-b1 missing")
	}
	a.Nodes[0].ID = "changed"
	a.Steps[0].Expect.Code = "5.00"
	b, _ := Builtin("draft-b1")
	if b.Nodes[0].ID != "C" || b.Steps[0].Expect.Code != "2.05" {
		t.Fatal("editing a returned built-in changed the stored one")
	}
	if _, ok := Builtin("no-such"); ok {
		t.Fatal("Builtin found a scenario that does not exist")
	}
}

func TestLoad(t *testing.T) {
	s, err := Load("rfc8613-c8")
	if err != nil || s.Name != "rfc8613-c8" {
		t.Fatalf("Load(built-in) = %v, %v", s, err)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "mine.json")
	data, _ := json.Marshal(s)
	if err := os.WriteFile(good, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if s2, err := Load(good); err != nil || !reflect.DeepEqual(s, s2) {
		t.Fatalf("Load(file) = %v, %v", s2, err)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"name": "x", "nodes": [{"id": "C", "role": "prox"}]}`), 0o600)
	_, err = Load(bad)
	want := `scenario: ` + bad + `: nodes[0].role: unknown role "prox" (want client, proxy, server or external)`
	if err == nil || err.Error() != want {
		t.Fatalf("Load(bad) = %v\nwant %s", err, want)
	}
	_, err = Load(filepath.Join(dir, "missing"))
	if err == nil || !strings.Contains(err.Error(), "neither a built-in scenario") {
		t.Fatalf("Load(missing) = %v", err)
	}
}

// TestBuiltinsRoundTrip checks that what Parse returns marshals back to a
// document that parses to the same value: the types lose nothing.
func TestBuiltinsRoundTrip(t *testing.T) {
	for _, s := range List() {
		data, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse(data)
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		if !reflect.DeepEqual(s, again) {
			t.Fatalf("%s: round trip changed the scenario", s.Name)
		}
	}
}
