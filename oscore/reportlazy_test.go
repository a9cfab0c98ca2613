package oscore

import (
	"bytes"
	"encoding/json"
	"sync"
	"testing"
)

// fourReports runs a request and a response through one layer (the
// response with or without its own Partial IV) and returns the four reports.
func fourReports(t *testing.T, responsePIV bool) []*Report {
	t.Helper()
	cli, srv := pair(t, AESCCM16_64_128, 0)
	req := withOption(getRequest("/a/b"), 65000, []byte{1, 2}) // an unregistered option too
	preq, cb, r1, err := ProtectRequest(cli, req, ProtectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, sb, r2, err := UnprotectRequest(preq, recipientLookup(srv))
	if err != nil {
		t.Fatal(err)
	}
	presp, r3, err := ProtectResponse(sb, contentResponse("hi"), ProtectOptions{ResponsePIV: responsePIV})
	if err != nil {
		t.Fatal(err)
	}
	_, r4, err := UnprotectResponse(cb, presp)
	if err != nil {
		t.Fatal(err)
	}
	return []*Report{r1, r2, r3, r4}
}

// TestReportDerivedFields checks every field Complete builds against an
// independent computation from the recorded values (RFC 8613 5.2, 5.4).
func TestReportDerivedFields(t *testing.T) {
	for _, own := range []bool{false, true} {
		for i, r := range fourReports(t, own) {
			if r.Details != nil {
				t.Errorf("report %d: derived fields set before first use", i)
			}
			r.Complete()
			ov, err := ParseOption(r.OptionValue)
			if err != nil || r.Option != ov.String() {
				t.Errorf("report %d: option %q, want %q (%v)", i, r.Option, ov.String(), err)
			}
			want := aadReport(AEADAlg(r.AAD.Alg), r.AAD.RequestKID, r.AAD.RequestPIV)
			if !bytes.Equal(r.AAD.AAD, want.AAD) || !bytes.Equal(r.AAD.AADArray, want.AADArray) ||
				!bytes.Equal(r.AAD.ExternalAAD, want.ExternalAAD) || r.AAD.Diag != want.Diag {
				t.Errorf("report %d: AAD %+v, want %+v", i, r.AAD, want)
			}
			padded := append(append([]byte{}, r.Nonce.PaddedIDPIV...), r.Nonce.PaddedPIV...)
			for j := range padded {
				padded[j] ^= r.Nonce.CommonIV[j]
			}
			if !bytes.Equal(padded, r.Nonce.Nonce) || len(r.Nonce.PaddedPIV) != pivPadLen {
				t.Errorf("report %d: padded parts %x %x do not give nonce %x", i, r.Nonce.PaddedIDPIV, r.Nonce.PaddedPIV, r.Nonce.Nonce)
			}
			for _, o := range r.Options {
				if o.Text != optionText(o.Number, o.Value) || o.Name != OptionName(o.Number) {
					t.Errorf("report %d: row %d %q %q", i, o.Number, o.Name, o.Text)
				}
			}
		}
	}
}

// TestReportCompleteConcurrent: several readers complete and encode the
// same report at once (run with -race) and all see the same bytes.
func TestReportCompleteConcurrent(t *testing.T) {
	for _, r := range fourReports(t, true) {
		var wg sync.WaitGroup
		out := make([][]byte, 8)
		for i := range out {
			wg.Go(func() {
				b, err := json.Marshal(r)
				if err != nil {
					t.Error(err)
				}
				out[i] = b
				_ = r.Complete().Option
			})
		}
		wg.Wait()
		for i := range out {
			if !bytes.Equal(out[i], out[0]) {
				t.Fatalf("reader %d saw\n%s\nreader 0 saw\n%s", i, out[i], out[0])
			}
		}
	}
}

// TestReportCopyBeforeComplete: a copy taken before first use completes
// to the same report, and so does the original afterwards.
func TestReportCopyBeforeComplete(t *testing.T) {
	for _, r := range fourReports(t, false) {
		cp := *r
		got, err := json.Marshal(&cp)
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) || r.Option == "" || r.AAD.Diag == "" {
			t.Fatalf("copy\n%s\noriginal\n%s", got, want)
		}
	}
}

// TestReportJSONRoundTrip: a report decoded from JSON is complete and
// encodes to the same bytes, with and without HTML escaping.
func TestReportJSONRoundTrip(t *testing.T) {
	for _, r := range fourReports(t, true) {
		checkReport(t, r)
		b1, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var raw bytes.Buffer
		enc := json.NewEncoder(&raw)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(raw.Bytes(), []byte(`<< [1,`)) || bytes.Contains(b1, []byte(`<<`)) {
			t.Errorf("HTML escaping not left to the caller's encoder:\n%s\n%s", raw.Bytes(), b1)
		}
	}
}

// TestReportRedactCopy: a redacted copy stays redacted when it is encoded
// (encoding completes it), and the original keeps its key.
func TestReportRedactCopy(t *testing.T) {
	for _, r := range fourReports(t, false) {
		cp := *r
		cp.Redact()
		b, err := json.Marshal(&cp)
		if err != nil || bytes.Contains(b, []byte(`"key":"`)) {
			t.Errorf("%s %s: redacted copy encodes a key (%v): %s", r.Action, r.Message, err, b)
		}
		if r.Complete().Key.Key == nil {
			t.Errorf("%s %s: redacting a copy cleared the original's key", r.Action, r.Message)
		}
	}
}
