package edhoc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	coapNet "github.com/plgd-dev/go-coap/v3/net"
	"github.com/plgd-dev/go-coap/v3/net/responsewriter"
	"github.com/plgd-dev/go-coap/v3/options"
	"github.com/plgd-dev/go-coap/v3/udp"
	udpClient "github.com/plgd-dev/go-coap/v3/udp/client"

	"oscore-lab/oscore"
)

// edhocServer is a CoAP server that answers EDHOC requests of the
// forward flow as Responder (RFC 9528 A.2.1) and EDHOC + OSCORE requests
// (RFC 9668 3.3.1), and serves GET /alarm_status under the context EDHOC
// gives it. It is the test's own minimal peer on real UDP.
type edhocServer struct {
	cfg      Config
	mu       sync.Mutex
	sessions map[string]*Responder      // by C_R
	contexts map[string]*oscore.Context // by Recipient ID = C_R
	seen     [][]byte                   // request payloads as received
}

func (s *edhocServer) handle(w *responsewriter.ResponseWriter[*udpClient.Conn], r *pool.Message) {
	m, err := detach(r)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = append(s.seen, m.Payload)
	var out message.Message
	if m.Options.HasOption(oscore.OptOSCORE) {
		out = s.oscoreRequest(m)
	} else {
		out = s.edhocRequest(m)
	}
	w.Message().SetCode(out.Code)
	w.Message().ResetOptionsTo(out.Options)
	if len(out.Payload) > 0 {
		w.Message().SetBody(bytes.NewReader(out.Payload))
	}
}

func edhocReply(code codes.Code, payload []byte) message.Message {
	var opts message.Options
	buf := make([]byte, 4)
	opts, _, _ = opts.SetContentFormat(buf, message.MediaType(ContentFormatEDHOC))
	return message.Message{Code: code, Options: opts, Payload: payload}
}

// edhocRequest runs RFC 9528 A.2.1: true || message_1, or C_R || message_3.
func (s *edhocServer) edhocRequest(m message.Message) message.Message {
	first, cR, msg, err := ParseRequestPayload(m.Payload)
	if err != nil {
		return edhocReply(codes.BadRequest, fail("A.2", err).Message())
	}
	fail4 := func(err error) message.Message {
		var e *Error
		if errors.As(err, &e) {
			return edhocReply(codes.BadRequest, e.Message())
		}
		return edhocReply(codes.InternalServerError, fail("A.2", err).Message())
	}
	if first {
		r, err := NewResponder(s.cfg)
		if err != nil {
			return fail4(err)
		}
		if err := r.ReadMessage1(msg); err != nil {
			return fail4(err)
		}
		m2, err := r.WriteMessage2()
		if err != nil {
			return fail4(err)
		}
		s.sessions[string(s.cfg.ConnID)] = r
		return edhocReply(codes.Changed, m2)
	}
	r, ok := s.sessions[string(cR)]
	if !ok {
		return fail4(errors.New("no session for C_R"))
	}
	if err := r.ReadMessage3(msg); err != nil {
		return fail4(err)
	}
	ctx, err := r.OSCORE("CTX_C_S")
	if err != nil {
		return fail4(err)
	}
	s.contexts[string(ctx.RecipientID())] = ctx
	return message.Message{Code: codes.Changed}
}

// oscoreRequest handles an OSCORE request; with the EDHOC option it first
// runs RFC 9668 3.3.1 steps 1 to 7.
func (s *edhocServer) oscoreRequest(m message.Message) message.Message {
	if m.Options.HasOption(OptionEDHOC) {
		ov, _ := m.Options.GetBytes(oscore.OptOSCORE)
		o, err := oscore.ParseOption(ov)
		if err != nil {
			return edhocReply(codes.BadRequest, fail("RFC 9668 3.3.1", err).Message())
		}
		m3, ct, err := SplitCombinedPayload(m.Payload)
		if err != nil {
			return edhocReply(codes.BadRequest, fail("RFC 9668 3.3.1", err).Message())
		}
		r, ok := s.sessions[string(o.KID)]
		if !ok {
			return edhocReply(codes.BadRequest, fail("RFC 9668 3.3.1", errors.New("no session for the kid")).Message())
		}
		if err := r.ReadMessage3(m3); err != nil {
			return edhocReply(codes.BadRequest, fail("RFC 9668 3.3.1", err).Message())
		}
		ctx, err := r.OSCORE("CTX_C_S")
		if err != nil {
			return edhocReply(codes.InternalServerError, fail("RFC 9668 3.3.1", err).Message())
		}
		s.contexts[string(ctx.RecipientID())] = ctx
		m.Payload = ct
		m.Options = m.Options.Remove(OptionEDHOC)
	}
	inner, bind, _, err := oscore.UnprotectRequest(m, func(kid, _ []byte) (*oscore.Context, error) {
		return s.contexts[string(kid)], nil
	})
	if err != nil {
		return message.Message{Code: codes.Unauthorized}
	}
	var resp message.Message
	if p, _ := inner.Options.Path(); inner.Code == codes.GET && p == "/alarm_status" {
		resp = message.Message{Code: codes.Content, Payload: []byte("0")}
	} else {
		resp = message.Message{Code: codes.NotFound}
	}
	out, _, err := oscore.ProtectResponse(bind, resp, oscore.ProtectOptions{})
	if err != nil {
		return message.Message{Code: codes.InternalServerError}
	}
	return out
}

func detach(r *pool.Message) (message.Message, error) {
	var body []byte
	if r.Body() != nil {
		var err error
		if body, err = io.ReadAll(r.Body()); err != nil {
			return message.Message{}, err
		}
	}
	m := message.Message{Code: r.Code(), Payload: body}
	for _, o := range r.Options() {
		m.Options = append(m.Options, message.Option{ID: o.ID, Value: append([]byte(nil), o.Value...)})
	}
	return m, nil
}

// wirePair starts the server on loopback and dials it.
func wirePair(t *testing.T, cfg Config) (*edhocServer, *udpClient.Conn) {
	t.Helper()
	oscore.RegisterGoCoapOptions() // go-coap must know options 9 and 21 (critical)
	srv := &edhocServer{cfg: cfg, sessions: map[string]*Responder{}, contexts: map[string]*oscore.Context{}}
	l, err := coapNet.NewListenUDP("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := udp.NewServer(options.WithHandlerFunc(srv.handle), options.WithBlockwise(false, 0, 0))
	go s.Serve(l)
	t.Cleanup(s.Stop)
	cc, err := udp.Dial(l.LocalAddr().(*net.UDPAddr).String(), options.WithBlockwise(false, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return srv, cc
}

// post sends a CON request with the given options and payload and returns
// the response detached.
func post(t *testing.T, cc *udpClient.Conn, path string, cf int, opts message.Options, payload []byte) message.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req := cc.AcquireMessage(ctx)
	defer cc.ReleaseMessage(req)
	req.SetCode(codes.POST)
	req.SetToken(message.Token{1, 2, 3, byte(len(payload))})
	req.ResetOptionsTo(opts)
	if path != "" {
		if err := req.SetPath(path); err != nil {
			t.Fatal(err)
		}
	}
	if cf >= 0 {
		req.SetContentFormat(message.MediaType(cf))
	}
	req.SetBody(bytes.NewReader(payload))
	resp, err := cc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	m, err := detach(resp)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestForwardFlowOnTheWire runs RFC 9529 trace 2 over real UDP with
// go-coap, as RFC 9528 A.2.1 frames it: the refused suite 6 (4.00 with
// error 2), the retry, message_2 and message_3, checking each CoAP payload
// byte for byte; the context EDHOC yields then protects a GET.
func TestForwardFlowOnTheWire(t *testing.T) {
	v := loadVectors(t)
	tr := v.Traces[1]
	ci, cr := tr.configs(t)
	srv, cc := wirePair(t, cr)
	pay := func(k string) []byte { return unhex(t, tr.Payloads[k].(map[string]any)["payload"].(string)) }

	ini, err := NewInitiator(ci)
	if err != nil {
		t.Fatal(err)
	}
	m1, _ := ini.WriteMessage1()
	resp := post(t, cc, WellKnownPath, ContentFormatCIDEDHOC, nil, RequestPayload(true, nil, m1))
	var pe *PeerError
	if err := ini.ReadMessage2(resp.Payload); resp.Code != codes.BadRequest || !errors.As(err, &pe) {
		t.Fatalf("suite 6: %v %x %v", resp.Code, resp.Payload, err)
	}
	if err := ini.Retry(); err != nil {
		t.Fatal(err)
	}
	m1, _ = ini.WriteMessage1()
	resp = post(t, cc, WellKnownPath, ContentFormatCIDEDHOC, nil, RequestPayload(true, nil, m1))
	if resp.Code != codes.Changed || !bytes.Equal(resp.Payload, pay("response_2")) {
		t.Fatalf("response_2 %v %x", resp.Code, resp.Payload)
	}
	if cf, err := resp.Options.ContentFormat(); err != nil || cf != ContentFormatEDHOC {
		t.Fatalf("response_2 Content-Format %v %v", cf, err)
	}
	if err := ini.ReadMessage2(resp.Payload); err != nil {
		t.Fatal(err)
	}
	m3, _ := ini.WriteMessage3()
	_, cR := ini.ConnIDs()
	if resp = post(t, cc, WellKnownPath, ContentFormatCIDEDHOC, nil, RequestPayload(false, cR, m3)); resp.Code != codes.Changed {
		t.Fatalf("response to message_3: %v %x", resp.Code, resp.Payload)
	}
	srv.mu.Lock()
	seen := srv.seen
	srv.mu.Unlock()
	if len(seen) != 3 || !bytes.Equal(seen[1], pay("request_1")) || !bytes.Equal(seen[2], pay("request_3")) {
		t.Fatalf("request payloads on the wire %x", seen)
	}
	ctx, err := ini.OSCORE("CTX_C_S")
	if err != nil {
		t.Fatal(err)
	}
	getAlarm(t, cc, ctx, false, nil)
}

// getAlarm sends GET /alarm_status under ctx, as a combined request with
// message3 when it is given, and checks the protected answer.
func getAlarm(t *testing.T, cc *udpClient.Conn, ctx *oscore.Context, combined bool, message3 []byte) {
	t.Helper()
	var opts message.Options
	buf := make([]byte, 64)
	opts, _, _ = opts.SetPath(buf, "/alarm_status")
	prot, bind, _, err := oscore.ProtectRequest(ctx, message.Message{Code: codes.GET, Options: opts}, oscore.ProtectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	payload := prot.Payload
	if combined {
		payload = CombinedPayload(message3, prot.Payload)
		prot.Options = prot.Options.Add(message.Option{ID: OptionEDHOC})
	}
	resp := post(t, cc, "", -1, prot.Options, payload)
	plain, _, err := oscore.UnprotectResponse(bind, resp)
	if err != nil {
		t.Fatalf("response %v %x: %v", resp.Code, resp.Payload, err)
	}
	if plain.Code != codes.Content || string(plain.Payload) != "0" {
		t.Fatalf("alarm_status: %v %q", plain.Code, plain.Payload)
	}
}

// TestCombinedRequestOnTheWire runs message_1 and message_2 over UDP,
// then sends message_3 inside the first OSCORE request (RFC 9668 3.2.1);
// the server takes message_3 off the payload, derives its context and
// answers the GET under it.
func TestCombinedRequestOnTheWire(t *testing.T) {
	for _, s := range []Suite{Suite0, Suite2} {
		ci, cr := pairConfigs(t, s, MethodDHDH)
		_, cc := wirePair(t, cr)
		ini, _ := NewInitiator(ci)
		m1, _ := ini.WriteMessage1()
		resp := post(t, cc, WellKnownPath, ContentFormatCIDEDHOC, nil, RequestPayload(true, nil, m1))
		if err := ini.ReadMessage2(resp.Payload); err != nil {
			t.Fatal(err)
		}
		m3, _ := ini.WriteMessage3()
		ctx, err := ini.OSCORE("CTX_C_S")
		if err != nil {
			t.Fatal(err)
		}
		getAlarm(t, cc, ctx, true, m3)
		getAlarm(t, cc, ctx, false, nil) // the context stays in use
	}
}

// TestEDHOCErrorOnTheWire answers a message_1 with a suite the server
// lacks by 4.00 carrying error 2 with Content-Format 64 (RFC 9528 A.2.3).
func TestEDHOCErrorOnTheWire(t *testing.T) {
	ci, cr := pairConfigs(t, Suite0, MethodDHDH)
	cr.Suites = []Suite{Suite2}
	_, cc := wirePair(t, cr)
	ini, _ := NewInitiator(ci)
	m1, _ := ini.WriteMessage1()
	resp := post(t, cc, WellKnownPath, ContentFormatCIDEDHOC, nil, RequestPayload(true, nil, m1))
	cf, _ := resp.Options.ContentFormat()
	if resp.Code != codes.BadRequest || cf != ContentFormatEDHOC || !bytes.Equal(resp.Payload, []byte{0x02, 0x02}) {
		t.Fatalf("got %v cf %v %x", resp.Code, cf, resp.Payload)
	}
	var pe *PeerError
	if err := ini.ReadMessage2(resp.Payload); !errors.As(err, &pe) {
		t.Fatal(err)
	}
}
