package multicast

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The tp_info example of MN 4.2.1.1 (SRV 2001:db8::ab, default port; GRP
// ff35:30:2001:db8::23 port 61616; Token 7b): as printed, with the
// authority flat, and as the CDDL nests it.
const (
	tpInfoExampleFlat   = "8382205020010db80000000000000000000000ab832050ff35003020010db8000000000000002319f0b0417b"
	tpInfoExampleNested = "838220815020010db80000000000000000000000ab82208250ff35003020010db8000000000000002319f0b0417b"
)

func TestTPInfoExample(t *testing.T) {
	for _, form := range []string{tpInfoExampleFlat, tpInfoExampleNested} {
		tp, err := DecodeTPInfo(unhex(t, form))
		if err != nil {
			t.Fatalf("%s: %v", form, err)
		}
		srv, ok := tp.Server.AddrPort()
		if !ok || srv != netip.MustParseAddrPort("[2001:db8::ab]:5683") || tp.Server.HasPort {
			t.Errorf("tpi_server %v (port given %v)", srv, tp.Server.HasPort)
		}
		grp, ok := tp.Client.AddrPort()
		if !ok || grp != netip.MustParseAddrPort("[ff35:30:2001:db8::23]:61616") {
			t.Errorf("tpi_client %v", grp)
		}
		if !bytes.Equal(tp.Token, []byte{0x7b}) || !tp.HasDetails {
			t.Errorf("tpi_token %x", tp.Token)
		}
		enc, err := tp.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(enc) != tpInfoExampleNested {
			t.Errorf("encoded\n %x\nwant the nested form\n %s", enc, tpInfoExampleNested)
		}
	}
}

// TestInformativeRoundTrip: the lab's informative response (loopback
// addresses) encodes to the expected bytes and decodes back.
func TestInformativeRoundTrip(t *testing.T) {
	nnb := uint64(3)
	in := Informative{
		TPInfo: &TPInfo{Server: CRIFor(netip.MustParseAddrPort("127.0.0.1:5690")), Client: CRIFor(netip.MustParseAddrPort("127.0.0.1:61616")),
			Token: []byte{0x7b}, HasDetails: true},
		PhReq: []byte{0x01, 0x60}, LastNotif: []byte{0x45, 0x60, 0xff, '1', '2', '3', '4'}, NextNotBefore: &nnb,
		JoinURI: "coap://myGM/ace-group/myGroup", SecGp: "myGroup",
	}
	b, err := in.Encode()
	if err != nil {
		t.Fatal(err)
	}
	wantTP := "83" + "8220" + "82447f000001" + "19163a" + "8220" + "82447f000001" + "19f0b0" + "417b"
	if !strings.HasPrefix(hex.EncodeToString(b), "a6"+"00"+wantTP+"01420160"+"0247456"+"0ff31323334"+"0303") {
		t.Errorf("encoding %x", b)
	}
	out, err := DecodeInformative(b)
	if err != nil {
		t.Fatal(err)
	}
	if out.TPInfo == nil || out.TPInfo.Diag() != in.TPInfo.Diag() || !bytes.Equal(out.PhReq, in.PhReq) ||
		!bytes.Equal(out.LastNotif, in.LastNotif) || *out.NextNotBefore != 3 || out.JoinURI != in.JoinURI || out.SecGp != "myGroup" {
		t.Errorf("round trip: %s", out.Diag())
	}
	if d := out.Diag(); !strings.Contains(d, "[-1, [h'7f000001', 5690]]") {
		t.Errorf("diag %s", d)
	}
}

// TestInformativeRefusals: each malformed payload is refused with an error.
func TestInformativeRefusals(t *testing.T) {
	for name, h := range map[string]string{
		"not a map":            "80",
		"ph_req as text":       "a10161ff",
		"tp_info as bstr":      "a10041ff",
		"tp_info two items":    "a1008282208144" + "7f00000182208144" + "7f000001",
		"positive scheme-id":   "a100818201" + "8144" + "7f000001",
		"port out of range":    "a10081822082447f0000011a00010000",
		"5-byte ip":            "a10081822081457f00000102",
		"token of 9 bytes":     "a100838220814" + "47f000001" + "822081447f000001" + "49" + "010203040506070809",
		"duplicate key":        "a2014100014100",
		"next_not_before neg":  "a10320",
		"indefinite map":       "bf01410000ff",
		"tagged ending":        "a104c11a5f000000",
		"join_uri as int":      "a10501",
		"srv_cred as int":      "a10e01",
		"trailing bytes":       "a0a0",
		"key of type bytes":    "a1410001",
		"ending NaN":           "a104f97e00",
		"truncated":            "a10142",
		"cri path given":       "a10081832081447f00000180",
		"zone on ipv4":         "a1008182208244" + "7f000001" + "617a",
		"host label not text":  "a100818220820102",
		"userinfo not text":    "a10081822083f4017f",
		"tp_info none":         "a10080",
		"nesting too deep":     "a1" + "18" + "63" + strings.Repeat("81", 10) + "00",
		"informative too long": "a1" + "01" + "5a00002001" + strings.Repeat("00", 8193),
	} {
		if _, err := DecodeInformative(unhex(t, h)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestMessageInfo: the transport-independent form of MN 4.2.2 round trips
// and matches its definition byte for byte.
func TestMessageInfo(t *testing.T) {
	m := message.Message{Code: codes.Content, Token: []byte{0x7b}, MessageID: 7, Type: message.Confirmable, Payload: []byte("1234")}
	m.Options = m.Options.Add(message.Option{ID: message.Observe, Value: []byte{0x0a}})
	m.Options = m.Options.Add(message.Option{ID: message.MaxAge, Value: []byte{0x3c}})
	b, err := EncodeMessageInfo(m)
	if err != nil {
		t.Fatal(err)
	}
	// 2.05 | Observe (6) = 0a | Max-Age (14, delta 8) = 3c | ff "1234"
	if want := "45" + "610a" + "813c" + "ff31323334"; hex.EncodeToString(b) != want {
		t.Errorf("got %x want %s", b, want)
	}
	back, err := DecodeMessageInfo(b, []byte{0x7b})
	if err != nil {
		t.Fatal(err)
	}
	if back.Code != codes.Content || string(back.Payload) != "1234" || !bytes.Equal(back.Token, []byte{0x7b}) || len(back.Options) != 2 {
		t.Errorf("rebuilt %+v", back)
	}
	for name, h := range map[string]string{"empty": "", "code 0.00": "00", "bad option": "45f0", "marker without payload": "45ff"} {
		if _, err := DecodeMessageInfo(unhex(t, h), nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestListenOption(t *testing.T) {
	if _, err := DecodeListenOption(unhex(t, tpInfoExampleNested)); err != nil {
		t.Error(err)
	}
	for name, h := range map[string]string{"too short": "8120", "no details": "818220814" + "47f000001"} {
		if _, err := DecodeListenOption(unhex(t, h)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
