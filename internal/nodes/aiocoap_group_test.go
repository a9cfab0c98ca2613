package nodes

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
	"oscore-lab/oscore/group"
)

// interopMember is one member of the interop group: its node id, Sender
// ID, deterministic Ed25519 seed and credential.
type interopMember struct {
	id, kid string // kid as hex
	seed    []byte
	cred    []byte
}

// interopGroup is an Ed25519 group (AES-CCM-16-64-128 as Group Encryption
// and AEAD Algorithm, HKDF SHA-256: aiocoap's defaults) with lab members
// C, S1, S2 and the aiocoap member A.
type interopGroup struct {
	params  group.Params
	members []interopMember
}

func newInteropGroup(t *testing.T) *interopGroup {
	t.Helper()
	g := &interopGroup{params: group.Params{MasterSecret: []byte("interop master secret 32 bytes!!"), MasterSalt: []byte{0x9e, 0x7c, 0xa9, 0x22},
		GroupID: []byte{0x57, 0xab, 0x2e}, GroupEnc: oscore.AESCCM16_64_128, Sig: group.EdDSA, AEAD: oscore.AESCCM16_64_128, KeyAgreement: group.ECDHSSHKDF256,
		GMCred: []byte{0xa1, 0x02, 0x62, 0x47, 0x4d}}} // a stand-in Group Manager credential, the same bytes on both sides
	for i, m := range []struct{ id, kid string }{{"C", "01"}, {"S1", "11"}, {"S2", "12"}, {"A", "a1"}} {
		seed := bytes.Repeat([]byte{byte(0x61 + i)}, 32)
		k, err := group.NewEd25519Key(seed)
		if err != nil {
			t.Fatal(err)
		}
		cred, err := group.MakeCCS(m.id, k.Public())
		if err != nil {
			t.Fatal(err)
		}
		g.members = append(g.members, interopMember{id: m.id, kid: m.kid, seed: seed, cred: cred})
	}
	return g
}

func (g *interopGroup) member(id string) interopMember {
	for _, m := range g.members {
		if m.id == id {
			return m
		}
	}
	panic("no member " + id)
}

// context is the lab's Group Security Context of member id.
func (g *interopGroup) context(t *testing.T, id string) *group.Context {
	t.Helper()
	me := g.member(id)
	k, err := group.NewEd25519Key(me.seed)
	if err != nil {
		t.Fatal(err)
	}
	p := g.params
	p.SenderID, _ = hex.DecodeString(me.kid)
	p.SenderKey, p.SenderCred = k, me.cred
	c, err := group.NewContext("GRP", p)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range g.members {
		if m.id != id {
			kid, _ := hex.DecodeString(m.kid)
			if _, err := c.AddRecipient(kid, m.cred); err != nil {
				t.Fatal(err)
			}
		}
	}
	return c
}

// aiocoapConfig is the script's input for the aiocoap member A.
func (g *interopGroup) aiocoapConfig(role string, extra map[string]any) []byte {
	a := g.member("A")
	peers := map[string]string{}
	for _, m := range g.members {
		if m.id != "A" {
			peers[m.kid] = hex.EncodeToString(m.cred)
		}
	}
	cfg := map[string]any{"role": role, "gid": hex.EncodeToString(g.params.GroupID), "secret": hex.EncodeToString(g.params.MasterSecret),
		"salt": hex.EncodeToString(g.params.MasterSalt), "gm_cred": hex.EncodeToString(g.params.GMCred), "sender_id": a.kid,
		"seed": hex.EncodeToString(a.seed), "cred": hex.EncodeToString(a.cred), "peers": peers}
	for k, v := range extra {
		cfg[k] = v
	}
	b, _ := json.Marshal(cfg)
	return b
}

// aiocoapCommand runs testdata/aiocoap_group.py with the aiocoap checkout
// named by AIOCOAP_SRC on its path; without AIOCOAP_SRC the test skips
// (docs/interop.md says how the checkout is built). AIOCOAP_PYTHON names
// the interpreter (default python3), which needs cbor2, cryptography and
// filelock.
func aiocoapCommand(t *testing.T, ctx context.Context, cfg []byte) *exec.Cmd {
	t.Helper()
	src := os.Getenv("AIOCOAP_SRC")
	if src == "" {
		t.Skip("AIOCOAP_SRC is not set: no aiocoap checkout to run against")
	}
	py := os.Getenv("AIOCOAP_PYTHON")
	if py == "" {
		py = "python3"
	}
	script, err := filepath.Abs("testdata/aiocoap_group.py")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, py, script)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+src)
	cmd.Stdin = bytes.NewReader(cfg)
	cmd.Stderr = &testWriter{t: t}
	return cmd
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Logf("aiocoap: %s", strings.TrimSpace(string(p)))
	return len(p), nil
}

// TestAiocoapGroupClient: aiocoap, as the group member A, protects a GET
// in group mode and sends it to the lab's group G (members S1, S2 behind
// the fan-out link); both lab members verify A's countersignature and
// answer in group mode, and aiocoap verifies both responses.
func TestAiocoapGroupClient(t *testing.T) {
	g := newInteropGroup(t)
	bus := trace.NewBus(0)
	var gm []GroupMember
	for _, id := range []string{"S1", "S2"} {
		s, err := StartGroupServer(bus, id, g.context(t, id), map[string]string{"temp": "21." + id[1:]})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		gm = append(gm, s.Member())
	}
	link, err := NewGroupLink(bus, "G", "A", gm)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { link.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := aiocoapCommand(t, ctx, g.aiocoapConfig("client", map[string]any{"target": link.Addr().String(), "path": "temp", "token": "4a17", "wait": 3}))
	outb, err := cmd.Output()
	if err != nil {
		t.Fatalf("aiocoap client: %v\n%s", err, outb)
	}
	t.Logf("aiocoap client printed:\n%s", outb)
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(outb)), "\n") {
		var r struct{ Kid, Code, Payload, Refused string }
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("aiocoap printed %q: %v", line, err)
		}
		if r.Refused != "" {
			t.Errorf("aiocoap refused a response: %s", r.Refused)
		}
		if r.Kid != "" {
			got[r.Kid] = r.Code + " " + r.Payload
		}
	}
	if got["11"] != "2.05 Content 21.1" || got["12"] != "2.05 Content 21.2" || len(got) != 2 {
		t.Errorf("aiocoap verified %v, want S1 (kid 11) 21.1 and S2 (kid 12) 21.2", got)
	}
	removed := 0
	for _, e := range bus.Recent() {
		if e.Type == trace.TypeLayer && e.Layer_.Action == trace.LayerRemoved && e.Layer_.Report.Group != nil &&
			hex.EncodeToString(e.Layer_.Report.KID) == "a1" && strings.Contains(e.Layer_.Report.Group.Verification, "countersignature verified") {
			removed++
		}
	}
	if removed != 2 {
		t.Errorf("%d lab members verified aiocoap's countersignature, want 2", removed)
	}
	if t.Failed() {
		logLayerFailures(t, bus)
	}
}

// TestAiocoapGroupServer: the lab's client C sends one group-mode request
// to a group of the lab's S1 and aiocoap's A; A verifies it and answers,
// and C verifies both responses, each attributed to its member. As
// "server", A protects its response with the group context (group mode);
// as "site", aiocoap's own server stack (OscoreSiteWrapper) answers, in
// pairwise mode (RFC 10021 8.3).
func TestAiocoapGroupServer(t *testing.T) {
	for _, tc := range []struct{ role, mode string }{{"server", "group"}, {"site", "pairwise"}} {
		t.Run(tc.role, func(t *testing.T) {
			g := newInteropGroup(t)
			bus := trace.NewBus(0)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := aiocoapCommand(t, ctx, g.aiocoapConfig(tc.role, map[string]any{"resources": map[string]string{"temp": "19.5 from aiocoap"}}))
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			lines := bufio.NewScanner(stdout)
			var hello struct {
				Listening int
				Version   string
			}
			if !lines.Scan() || json.Unmarshal(lines.Bytes(), &hello) != nil || hello.Listening == 0 {
				t.Fatalf("aiocoap did not start: %q", lines.Text())
			}
			t.Logf("aiocoap %s listening on %d", hello.Version, hello.Listening)
			s1, err := StartGroupServer(bus, "S1", g.context(t, "S1"), map[string]string{"temp": "21.1"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s1.Close() })
			link, err := NewGroupLink(bus, "G", "C", []GroupMember{s1.Member(), {ID: "A", Addr: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: hello.Listening}}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { link.Close() })
			conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			req := message.Message{Code: codes.GET, Token: message.Token{0x7b, 0x01}, MessageID: 9}
			req.Options = req.Options.Add(message.Option{ID: message.URIPath, Value: []byte("temp")})
			out, err := GroupRequest(ctx, bus, GroupCall{Client: "C", Conn: conn, To: link.Addr(), Context: g.context(t, "C"),
				Members: map[string]string{"11": "S1", "a1": "A"}, Wait: 5 * time.Second, Enough: 2}, req)
			if err != nil {
				t.Fatal(err)
			}
			if err := out.Check([]string{"S1", "A"}); err != nil {
				logLayerFailures(t, bus)
				t.Fatal(err)
			}
			for _, r := range out.Responses {
				t.Logf("%s from %s: %s %q, %s mode: %s", r.Member, r.From, r.Code, r.Payload, r.Report.Group.Mode, r.Report.Group.Verification)
				if r.Member == "A" && (r.Code != "2.05" || r.Payload != "19.5 from aiocoap" || r.Report.Group.Mode != tc.mode) {
					t.Errorf("aiocoap's response: %s %q in %s mode, want 2.05 in %s mode", r.Code, r.Payload, r.Report.Group.Mode, tc.mode)
				}
			}
			if lines.Scan() {
				t.Logf("aiocoap printed: %s", lines.Text())
				if strings.Contains(lines.Text(), "refused") {
					t.Errorf("aiocoap refused the lab's request: %s", lines.Text())
				}
			}
		})
	}
}

// logLayerFailures logs every layer a lab node failed to remove, with why.
func logLayerFailures(t *testing.T, bus *trace.Bus) {
	for _, e := range bus.Recent() {
		if e.Type == trace.TypeLayer && e.Layer_.Action == trace.LayerFailed {
			r := e.Layer_.Report
			var g oscore.GroupReport
			if r != nil && r.Group != nil {
				g = *r.Group
			}
			t.Logf("%s failed: %s; aad %s; key %s", e.Node, e.Note, g.AADDiag, g.Key.Which)
		}
	}
}
