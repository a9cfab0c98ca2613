package check

import (
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"oscore-lab/internal/nodes"
	"oscore-lab/internal/peerctx"
	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
)

const labSecret = "0102030405060708090a0b0c0d0e0f10"

// labServerScenario is a lab with one server S on a real UDP socket and
// one context per AEAD, plus one with an ID Context and one whose
// responses carry the server's own Partial IV. C only names the suite's
// side of each context.
func labServerScenario() *scenario.Scenario {
	s := &scenario.Scenario{Name: "check-lab-server", Nodes: []scenario.Node{
		{ID: "C", Role: scenario.RoleClient},
		{ID: "S", Role: scenario.RoleServer},
	}}
	// Each context gives S its own Sender ID or keys: two senders sharing
	// (Master Secret, Master Salt, ID Context, Sender ID) are refused
	// (RFC 8613 3.3).
	add := func(name, alg, cid, sid string, idc *string, respPIV bool) {
		s.Contexts = append(s.Contexts, scenario.Context{Name: name, Alg: alg, IDContext: idc, ResponsePIV: respPIV,
			MasterSecret: labSecret, MasterSalt: "9e7ca92223786340",
			A: scenario.Endpoint{Node: "C", SenderID: cid, RecipientID: sid},
			B: scenario.Endpoint{Node: "S", SenderID: sid, RecipientID: cid}})
	}
	add("main", "10", "", "01", nil, false)
	for i, alg := range oscore.AEADAlgs()[1:] {
		add("alg-"+alg.String(), fmt.Sprint(int(alg)), fmt.Sprintf("a%d", i), "01", nil, false)
	}
	idc := "37cbf3210017a2d3"
	add("kid-context", "10", "b0", "01", &idc, false)
	add("response-piv", "10", "b1", "02", nil, true)
	return s
}

// suiteContexts turns the scenario's contexts into the suite's side.
func suiteContexts(t *testing.T, s *scenario.Scenario) []peerctx.Context {
	t.Helper()
	var out []peerctx.Context
	for _, c := range s.Contexts {
		p := oscore.Params{MasterSecret: mustHex(t, c.MasterSecret), MasterSalt: mustHex(t, c.MasterSalt),
			SenderID: mustHex(t, c.A.SenderID), RecipientID: mustHex(t, c.A.RecipientID)}
		if c.IDContext != nil {
			p.IDContext = mustHex(t, *c.IDContext)
		}
		if c.Alg != "" {
			alg, err := oscore.ParseAEADAlg(c.Alg)
			if err != nil {
				t.Fatal(err)
			}
			p.AEAD = alg
		}
		out = append(out, peerctx.Context{Name: c.Name, Peer: peerctx.PeerTarget, Params: p, SendKIDContext: c.IDContext != nil})
	}
	return out
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// startLab loads s and returns the address of node id.
func startLab(t *testing.T, s *scenario.Scenario, id string) string {
	t.Helper()
	lab := nodes.NewLab(trace.NewBus(0))
	t.Cleanup(func() { lab.Close() })
	if err := lab.Load(s); err != nil {
		t.Fatal(err)
	}
	for _, n := range lab.Nodes() {
		if n.ID == id {
			return n.Addr
		}
	}
	t.Fatalf("no node %s", id)
	return ""
}

func runSuite(t *testing.T, cfg Config) *Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func reportText(r *Report) string {
	var b strings.Builder
	WriteText(&b, r)
	return b.String()
}

// knownGaps are cases the lab server itself does not pass yet, each for a
// gap being closed elsewhere; the test expects exactly these results so
// that closing a gap shows up here.
var knownGaps = map[string]string{
	// The lab server sends no Echo challenge yet (RFC 9175 Echo in the lab
	// server is in progress), so the case has nothing to check.
	"server-echo": Skip,
}

// TestLabServerPassesEveryCase runs the whole server suite against the
// lab's own server: every case passes, apart from the known gaps.
func TestLabServerPassesEveryCase(t *testing.T) {
	s := labServerScenario()
	addr := startLab(t, s, "S")
	rep := runSuite(t, Config{Target: addr, Role: RoleServer, Contexts: suiteContexts(t, s), Seq: -1})
	wantAll(t, rep, RoleServer)
}

// originSocket opens the suite's origin server socket ahead of the run, so
// the scenario can name its address as an external node.
func originSocket(t *testing.T) (*net.UDPConn, string) {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, c.LocalAddr().String()
}

// labProxyScenario is a lab forward-proxy P in front of the suite's origin
// O. With oscore, P shares CTX_C_P with the suite and protects what it
// forwards to O with CTX_P_O (draft 2.3), which the suite holds as O.
func labProxyScenario(origin string, withOSCORE bool) *scenario.Scenario {
	s := &scenario.Scenario{Name: "check-lab-proxy", Nodes: []scenario.Node{
		{ID: "C", Role: scenario.RoleClient},
		{ID: "P", Role: scenario.RoleProxy, Forward: true},
		{ID: "O", Role: scenario.RoleExternal, Addr: origin},
	}}
	if withOSCORE {
		s.Nodes[1].NextHopContexts = map[string]string{"O": "CTX_P_O"}
		s.Nodes[1].Allow = map[string][]string{"CTX_C_P": {"*"}} // CTX_C_P2 is known but may not forward
		s.Contexts = []scenario.Context{
			{Name: "CTX_C_P", MasterSecret: labSecret, A: scenario.Endpoint{Node: "C", SenderID: "c0", RecipientID: "70"},
				B: scenario.Endpoint{Node: "P", SenderID: "70", RecipientID: "c0"}},
			{Name: "CTX_C_P2", MasterSecret: labSecret, MasterSalt: "0b", A: scenario.Endpoint{Node: "C", SenderID: "c2", RecipientID: "72"},
				B: scenario.Endpoint{Node: "P", SenderID: "72", RecipientID: "c2"}},
			{Name: "CTX_P_O", MasterSecret: labSecret, MasterSalt: "0a", A: scenario.Endpoint{Node: "P", SenderID: "71", RecipientID: "0f"},
				B: scenario.Endpoint{Node: "O", SenderID: "0f", RecipientID: "71"}},
		}
	}
	return s
}

// proxySuiteContexts: CTX_C_P from the client's side, CTX_P_O from O's.
func proxySuiteContexts(t *testing.T, s *scenario.Scenario) []peerctx.Context {
	cs := suiteContexts(t, s)
	for i, c := range s.Contexts {
		if c.Name == "CTX_C_P2" {
			cs[i].Peer = peerctx.PeerUnauthorised
		}
		if c.B.Node == "O" {
			cs[i].Peer = peerctx.PeerOrigin
			cs[i].Params.SenderID, cs[i].Params.RecipientID = mustHex(t, c.B.SenderID), mustHex(t, c.B.RecipientID)
		}
	}
	return cs
}

func TestLabForwardProxyPassesEveryCase(t *testing.T) {
	conn, addr := originSocket(t)
	s := labProxyScenario(addr, false)
	target := startLab(t, s, "P")
	rep := runSuite(t, Config{Target: target, Role: RoleForwardProxy, OriginConn: conn, Seq: -1})
	wantAll(t, rep, RoleForwardProxy)
}

func TestLabOSCOREProxyPassesEveryCase(t *testing.T) {
	conn, addr := originSocket(t)
	s := labProxyScenario(addr, true)
	target := startLab(t, s, "P")
	rep := runSuite(t, Config{Target: target, Role: RoleOSCOREProxy, OriginConn: conn, Contexts: proxySuiteContexts(t, s), Seq: -1})
	wantAll(t, rep, RoleOSCOREProxy)
}

// wantAll wants every case of role to pass, apart from the known gaps.
func wantAll(t *testing.T, rep *Report, role string) {
	t.Helper()
	for _, c := range rep.Cases {
		want := Pass
		if g, ok := knownGaps[c.ID]; ok {
			want = g
		}
		if c.Result != want {
			t.Errorf("%s: %s (%s), want %s", c.ID, c.Result, c.Reason, want)
		}
	}
	if len(rep.Cases) != len(CasesFor(role)) {
		t.Errorf("%d cases ran, want %d", len(rep.Cases), len(CasesFor(role)))
	}
	if t.Failed() {
		t.Log(reportText(rep))
	}
}

// TestLabReverseProxyPassesEveryCase: a lab reverse-proxy routing on the
// Uri-Host of the suite's origin.
func TestLabReverseProxyPassesEveryCase(t *testing.T) {
	conn, addr := originSocket(t)
	host, _, _ := net.SplitHostPort(addr)
	s := &scenario.Scenario{Name: "check-lab-reverse", Nodes: []scenario.Node{
		{ID: "C", Role: scenario.RoleClient},
		{ID: "R", Role: scenario.RoleProxy, Reverse: []scenario.ReverseRoute{{Host: host, To: "O"}}},
		{ID: "O", Role: scenario.RoleExternal, Addr: addr},
	}}
	target := startLab(t, s, "R")
	rep := runSuite(t, Config{Target: target, Role: RoleReverseProxy, OriginConn: conn, Seq: -1})
	wantAll(t, rep, RoleReverseProxy)
}

// TestLabServerWithEchoPassesEveryCase: a lab server with require_echo
// challenges the first request of each context (RFC 8613 B.1.2); the suite
// answers the challenges and every case passes, server-echo included.
func TestLabServerWithEchoPassesEveryCase(t *testing.T) {
	s := labServerScenario()
	s.Nodes[1].RequireEcho = true
	addr := startLab(t, s, "S")
	rep := runSuite(t, Config{Target: addr, Role: RoleServer, Contexts: suiteContexts(t, s), Seq: -1})
	for _, c := range rep.Cases {
		if c.Result != Pass {
			t.Errorf("%s: %s (%s), want pass", c.ID, c.Result, c.Reason)
		}
	}
	if t.Failed() {
		t.Log(reportText(rep))
	}
}

// TestProgressReportsEachCase: Progress sees every case as it ends, in
// run order, with the trace so far holding that case's exchange.
func TestProgressReportsEachCase(t *testing.T) {
	s := labServerScenario()
	addr := startLab(t, s, "S")
	var seen []CaseResult
	rep := runSuite(t, Config{Target: addr, Role: RoleServer, Contexts: suiteContexts(t, s), Seq: -1,
		Progress: func(c CaseResult, tr *trace.Trace) {
			seen = append(seen, c)
			last := 0
			for _, e := range tr.Events {
				last = max(last, e.Exchange)
			}
			if last != c.Exchange {
				t.Errorf("%s (exchange %d): the trace so far ends at exchange %d", c.ID, c.Exchange, last)
			}
		}})
	if len(seen) != len(rep.Cases) {
		t.Fatalf("Progress saw %d cases, the report has %d", len(seen), len(rep.Cases))
	}
	for i := range seen {
		if seen[i] != rep.Cases[i] {
			t.Errorf("case %d: Progress saw %+v, the report has %+v", i, seen[i], rep.Cases[i])
		}
	}
}
