package check

import (
	"fmt"
	"strconv"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"oscore-lab/oscore"
)

// serverCases are the checks of an OSCORE server (RFC 8613, RFC 7641,
// RFC 7959, RFC 9175). They run in this order: the Partial IV 0 case needs
// a fresh context and comes first, the 5-byte Partial IV moves the target's
// replay window above 2^32 and comes last.
func serverCases() []*Case {
	cs := []*Case{{
		ID: "server-piv-zero", Section: "RFC 8613 6.1, 7.2.1", Level: MUST,
		Requirement: "Sender Sequence Number 0, sent as the one-byte Partial IV 0x00, is accepted",
		Run:         serverPIVZero,
	}}
	for _, alg := range oscore.AEADAlgs() {
		level := SHOULD
		if alg == oscore.AESCCM16_64_128 {
			level = MUST // mandatory to implement (RFC 8613 3.2)
		}
		cs = append(cs, &Case{
			ID: "server-aead-" + strconv.Itoa(int(alg)), Section: "RFC 8613 3.2, 5.3, 8.2", Level: level,
			Requirement: fmt.Sprintf("a request protected with %v is verified and answered with a response the client verifies", alg),
			Run:         func(t *T) { serverAEAD(t, alg) },
		})
	}
	cs = append(cs, []*Case{
		{ID: "server-kid-context", Section: "RFC 8613 5.1, 6.1, 8.2", Level: MUST,
			Requirement: "a request carrying a kid context is verified with the context of that ID Context",
			Run:         serverKIDContext},
		{ID: "server-unknown-kid", Section: "RFC 8613 8.2", Level: MUST,
			Requirement: "a request with a kid the server has no context for is not processed (4.01 Security context not found)",
			Run:         serverUnknownKID},
		{ID: "server-corrupted-tag", Section: "RFC 8613 8.2", Level: MUST,
			Requirement: "a request whose authentication tag does not verify is not processed (4.00 Decryption failed)",
			Run:         serverCorruptedTag},
		{ID: "server-option-reserved-bits", Section: "RFC 8613 6.1, 8.2", Level: MUST,
			Requirement: "an OSCORE option with a reserved flag bit set is refused (4.02 Failed to decode COSE)",
			Run: func(t *T) {
				serverBadOption(t, func(v []byte) []byte { v[0] |= 0x80; return v })
			}},
		{ID: "server-option-piv-length-6", Section: "RFC 8613 6.1, 8.2", Level: MUST,
			Requirement: "an OSCORE option with Partial IV length n=6 (reserved) is refused (4.02 Failed to decode COSE)",
			Run:         func(t *T) { serverBadOption(t, pivLength6) }},
		{ID: "server-option-no-kid", Section: "RFC 8613 6.1, 8.2", Level: MUST,
			Requirement: "a request whose OSCORE option carries no kid is refused (4.02 Failed to decode COSE, or 4.01 Security context not found)",
			Run:         serverNoKID},
		{ID: "server-replay", Section: "RFC 8613 7.4, 8.2", Level: MUST,
			Requirement: "a request with a Partial IV already received is not processed (4.01 Replay detected)",
			Run:         serverReplay},
		{ID: "server-window-oldest", Section: "RFC 8613 3.2.2, 7.4", Level: SHOULD,
			Requirement: "the oldest sequence number still inside the replay window is accepted",
			Run:         func(t *T) { serverWindowEdge(t, true) }},
		{ID: "server-window-reordered", Section: "RFC 8613 7.4", Level: SHOULD,
			Requirement: "over UDP the sliding window accepts a number just below the highest one received (reordering)",
			Run:         serverWindowReordered},
		{ID: "server-window-outside", Section: "RFC 8613 3.2.2, 7.4", Level: MUST,
			Requirement: "the newest sequence number just left of the replay window is refused (4.01 Replay detected)",
			Run:         func(t *T) { serverWindowEdge(t, false) }},
		{ID: "server-error-max-age", Section: "RFC 8613 8.2", Level: SHOULD,
			Requirement: "an OSCORE error response carries an outer Max-Age 0, so that no cache serves it",
			Run:         serverErrorMaxAge},
		{ID: "server-class-e-inner", Section: "RFC 8613 4.1, 4.1.1", Level: MUST,
			Requirement: "Class E options of a response (Content-Format, ETag, ...) travel only inside the ciphertext",
			Run:         serverClassE},
		{ID: "server-outer-code-post", Section: "RFC 8613 4.2", Level: MUST,
			Requirement: "a response to a request without Observe has outer code 2.04 Changed",
			Run:         serverOuterPOST},
		{ID: "server-outer-code-fetch", Section: "RFC 8613 4.2, 4.1.3.5", Level: MUST,
			Requirement: "a response to an Observe registration (outer FETCH) has outer code 2.05 Content",
			Run:         serverOuterFETCH},
		{ID: "server-observe-piv", Section: "RFC 8613 4.1.3.5.2, 8.3; RFC 7641 4.2", Level: MUST,
			Requirement: "notifications after the first carry their own Partial IV, in increasing order, and verify",
			Run:         serverObservePIV},
		{ID: "server-block2-inner", Section: "RFC 8613 4.1.3.4.1; RFC 7959 2.2", Level: MUST,
			Requirement: "a response in blocks carries Block2 as an inner option only, block by block end to end",
			Run:         serverBlock2},
		{ID: "server-echo", Section: "RFC 9175 2.3, 2.4; RFC 8613 B.1.2", Level: MUST,
			Requirement: "after an Echo challenge (4.01 with Echo), the same request repeated with that Echo inside is served",
			Run:         serverEcho},
		{ID: "server-response-piv", Section: "RFC 8613 5.4, 8.3, 8.4", Level: MUST,
			Requirement: "a response protected with the server's own Partial IV verifies with the server's nonce and the request's kid and Partial IV in the AAD",
			Run:         serverResponsePIV},
		{ID: "server-proxy-scheme-refused", Section: "RFC 7252 5.7.2, 5.10.2; draft-ietf-core-oscore-capable-proxies 2.4 step 2", Level: MUST,
			Requirement: "a server that is not a forward-proxy answers a request with Proxy-Scheme 5.05 Proxying Not Supported",
			Run:         serverProxySchemeRefused},
		{ID: "server-piv-5-bytes", Section: "RFC 8613 6.1, 7.2.1", Level: MUST,
			Requirement: "a 5-byte Partial IV (sequence number of 2^32 or more) is accepted",
			Run:         serverPIV5},
	}...)
	for _, c := range cs {
		c.Role = RoleServer
	}
	return cs
}

func (t *T) get(cs *ctxState, path string, seq int64, mutate func(*message.Message), opts ...message.Option) *exchange {
	return t.do(cs, request(codes.GET, path, opts...), seq, mutate)
}

func serverPIVZero(t *T) {
	cs := t.main()
	if cs == nil {
		return
	}
	if cs.used || cs.pc.SenderSeq != 0 {
		t.Skip("needs a fresh context: the sender sequence number starts at %d", cs.oc.SenderSeq())
		return
	}
	x := t.get(cs, t.cfg.Resource, 0, nil)
	if x.challenged != nil {
		// A protected challenge proves the request verified; the server
		// then served its repetition.
		if t.wantSuccess(x, "the request repeated with Echo") {
			t.Pass("Partial IV 0x00 verified (answered with an Echo challenge, RFC 8613 B.1.2), then served: %s", x.describe())
		}
		return
	}
	if t.wantSuccess(x, "GET "+t.cfg.Resource+" with Partial IV 0x00") {
		t.Pass("Partial IV 0x00 accepted: %s", x.describe())
	}
}

func serverAEAD(t *T, alg oscore.AEADAlg) {
	for _, cs := range t.targetContexts() {
		if cs.oc.AEAD() != alg {
			continue
		}
		x := t.get(cs, t.cfg.Resource, -1, nil)
		if t.wantSuccess(x, fmt.Sprintf("GET %s with context %s", t.cfg.Resource, cs.pc.Name)) {
			t.Pass("context %s: %s", cs.pc.Name, x.describe())
		}
		return
	}
	t.Skip("no context with %v in the context file", alg)
}

func serverKIDContext(t *T) {
	for _, cs := range t.targetContexts() {
		if cs.pc.Params.IDContext == nil {
			continue
		}
		kc := *cs // the same context, its ID Context always sent as kid context
		kc.pc.SendKIDContext = true
		x := t.get(&kc, t.cfg.Resource, -1, nil)
		if t.wantSuccess(x, fmt.Sprintf("GET %s with kid context %x", t.cfg.Resource, cs.pc.Params.IDContext)) {
			t.Pass("context %s: %s", cs.pc.Name, x.describe())
		}
		return
	}
	t.Skip("no context with an ID Context in the context file")
}

func serverUnknownKID(t *T) {
	stranger := t.stranger()
	if stranger == nil {
		return
	}
	x := t.do(stranger, request(codes.GET, t.cfg.Resource), -1, nil)
	t.wantRefused(x, codes.Unauthorized, "Security context not found")
}

func serverCorruptedTag(t *T) {
	cs := t.main()
	if cs == nil {
		return
	}
	x := t.get(cs, t.cfg.Resource, -1, corruptTag)
	t.wantRefused(x, codes.BadRequest, "Decryption failed")
}

// corruptTag flips a bit of the last byte of the ciphertext, which is
// part of the authentication tag (RFC 8613 5.3, RFC 5116).
func corruptTag(m *message.Message) {
	p := append([]byte(nil), m.Payload...)
	p[len(p)-1] ^= 0x01
	m.Payload = p
}

// serverNoKID sends a request without kid. RFC 8613 8.2 puts a failed
// decoding (4.02) and a failed context lookup (4.01) in one step; a
// missing kid can be read as either, so both codes pass.
func serverNoKID(t *T) {
	x := t.badOption(dropKID)
	if x != nil && x.got && !x.protected() && x.resp.msg.Code == codes.Unauthorized {
		t.Pass("answered %s (no kid read as no context)", x.describe())
		return
	}
	if x != nil {
		t.wantRefused(x, codes.BadOption, "Failed to decode COSE")
	}
}

// serverBadOption sends a request whose OSCORE option value edit returns.
func serverBadOption(t *T, edit func([]byte) []byte) {
	if x := t.badOption(edit); x != nil {
		t.wantRefused(x, codes.BadOption, "Failed to decode COSE")
	}
}

// badOption sends a request whose OSCORE option value edit returns.
func (t *T) badOption(edit func([]byte) []byte) *exchange {
	cs := t.main()
	if cs == nil {
		return nil
	}
	return t.get(cs, t.cfg.Resource, -1, func(m *message.Message) {
		for i := range m.Options {
			if m.Options[i].ID == optOSCORE {
				m.Options[i].Value = edit(append([]byte(nil), m.Options[i].Value...))
			}
		}
	})
}

// optionParts splits an OSCORE option value (RFC 8613 6.1) into flags,
// Partial IV, kid context field (with its length byte) and kid.
func optionParts(v []byte) (flags byte, piv, kidCtx, kid []byte) {
	if len(v) == 0 {
		return 0, nil, nil, nil
	}
	flags, rest := v[0], v[1:]
	n := min(int(flags&7), len(rest))
	piv, rest = rest[:n], rest[n:]
	if flags&0x10 != 0 && len(rest) > 0 {
		l := min(1+int(rest[0]), len(rest))
		kidCtx, rest = rest[:l], rest[l:]
	}
	return flags, piv, kidCtx, rest
}

// pivLength6 rewrites the Partial IV to 6 bytes with n=6.
func pivLength6(v []byte) []byte {
	flags, piv, kidCtx, kid := optionParts(v)
	out := []byte{flags&^7 | 6}
	if len(piv) > 6 {
		piv = piv[len(piv)-6:]
	}
	out = append(out, make([]byte, 6-len(piv))...)
	out = append(out, piv...)
	return append(append(out, kidCtx...), kid...)
}

// dropKID removes the k flag and the kid.
func dropKID(v []byte) []byte {
	flags, piv, kidCtx, _ := optionParts(v)
	out := append([]byte{flags &^ 0x08}, piv...)
	return append(out, kidCtx...)
}

func serverReplay(t *T) {
	cs := t.main()
	if cs == nil {
		return
	}
	first := t.get(cs, t.cfg.Resource, -1, nil)
	if !t.wantSuccess(first, "the original request") {
		return
	}
	seq := int64(pivValue(first.bind.PIV()))
	x := t.get(cs, t.cfg.Resource, seq, nil)
	t.wantRefused(x, codes.Unauthorized, "Replay detected")
}

// serverWindowEdge moves the window to a fresh top H, then sends H-(W-1),
// the oldest number inside a window of W, or H-W, the newest outside it.
func serverWindowEdge(t *T, inside bool) {
	cs := t.main()
	if cs == nil {
		return
	}
	w := int64(cs.oc.Params().ReplayWindow)
	top := int64(cs.oc.SenderSeq()) + w + 2
	x := t.get(cs, t.cfg.Resource, top, nil)
	if !t.wantSuccess(x, fmt.Sprintf("the request with sequence number %d", top)) {
		return
	}
	if inside {
		x = t.get(cs, t.cfg.Resource, top-(w-1), nil)
		if t.wantSuccess(x, fmt.Sprintf("sequence number %d (window %d below %d)", top-(w-1), w, top)) {
			t.Pass("sequence number %d accepted after %d (window of %d): %s", top-(w-1), top, w, x.describe())
		}
		return
	}
	x = t.get(cs, t.cfg.Resource, top-w, nil)
	t.wantRefused(x, codes.Unauthorized, "Replay detected")
}

// serverWindowReordered sends a fresh top H, then H-1, as a reordered
// pair of datagrams would arrive.
func serverWindowReordered(t *T) {
	cs := t.main()
	if cs == nil {
		return
	}
	top := int64(cs.oc.SenderSeq()) + 2
	x := t.get(cs, t.cfg.Resource, top, nil)
	if !t.wantSuccess(x, fmt.Sprintf("the request with sequence number %d", top)) {
		return
	}
	x = t.get(cs, t.cfg.Resource, top-1, nil)
	if t.wantSuccess(x, fmt.Sprintf("sequence number %d after %d", top-1, top)) {
		t.Pass("sequence number %d accepted after %d: %s", top-1, top, x.describe())
	}
}

func serverErrorMaxAge(t *T) {
	cs := t.main()
	if cs == nil {
		return
	}
	x := t.get(cs, t.cfg.Resource, -1, corruptTag)
	switch {
	case !x.got:
		t.Skip("no error response to look at (the target stays silent on a corrupted tag)")
	case x.protected():
		t.Fail("the error response is protected: %s", x.describe())
	default:
		v, err := x.resp.msg.Options.GetUint32(optMaxAge)
		switch {
		case err != nil:
			t.Fail("%s without an outer Max-Age", x.describe())
		case v != 0:
			t.Fail("%s with outer Max-Age %d, want 0", x.describe(), v)
		default:
			t.Pass("%s with outer Max-Age 0", x.describe())
		}
	}
}

func serverClassE(t *T) {
	cs := t.main()
	if cs == nil {
		return
	}
	x := t.get(cs, t.cfg.Resource, -1, nil)
	if !x.got || !x.protected() {
		t.Fail("want a protected response, got %s", x.describe())
		return
	}
	for _, o := range x.resp.msg.Options {
		if oscore.OriginalClass(uint16(o.ID)) == oscore.ClassE {
			t.Fail("outer %s (Class E) in the response", oscore.OptionName(uint16(o.ID)))
			return
		}
	}
	if !x.verified {
		t.Fail("%s", x.describe())
		return
	}
	var inner []string
	for _, o := range x.inner.Options {
		inner = append(inner, oscore.OptionName(uint16(o.ID)))
	}
	t.Pass("no Class E option outside; inner options %v", inner)
}

func serverOuterPOST(t *T) {
	cs := t.main()
	if cs == nil {
		return
	}
	x := t.get(cs, t.cfg.Resource, -1, nil)
	if !x.protected() {
		t.Fail("want a protected response, got %s", x.describe())
		return
	}
	if x.resp.msg.Code != codes.Changed {
		t.Fail("outer code %s, want 2.04", codeText(x.resp.msg.Code))
		return
	}
	t.Pass("outer 2.04 for %s", x.describe())
}

// observe registers with the observable resource; it skips the case when
// the target does not offer one.
func (t *T) observe(cs *ctxState) *exchange {
	x := t.get(cs, t.cfg.Observe, -1, nil, message.Option{ID: optObserve})
	if x.verified && x.inner.Code == codes.NotFound {
		t.Skip("%s is not found on the target (set -observe)", t.cfg.Observe)
		return nil
	}
	return x
}

func (t *T) deregister(cs *ctxState, x *exchange) {
	m := request(codes.GET, t.cfg.Observe, uintOpt(optObserve, 1))
	m.Token = x.bind.Token()
	pm, b, err := t.protect(cs, m, -1, oscore.ProtectOptions{})
	if err != nil {
		return
	}
	t.send(pm, b)
}

func serverOuterFETCH(t *T) {
	cs := t.main()
	if cs == nil {
		return
	}
	x := t.observe(cs)
	if x == nil {
		return
	}
	defer t.deregister(cs, x)
	if !x.protected() {
		t.Fail("want a protected response to the registration, got %s", x.describe())
		return
	}
	if x.resp.msg.Code != codes.Content {
		t.Fail("outer code %s, want 2.05 (%s)", codeText(x.resp.msg.Code), x.describe())
		return
	}
	t.Pass("outer 2.05 for %s", x.describe())
}

func serverObservePIV(t *T) {
	cs := t.main()
	if cs == nil {
		return
	}
	x := t.observe(cs)
	if x == nil {
		return
	}
	defer t.deregister(cs, x)
	if !t.wantSuccess(x, "the registration") {
		return
	}
	if !x.inner.Options.HasOption(optObserve) {
		t.Skip("the target did not accept the registration (no Observe in the response)")
		return
	}
	last := int64(-1)
	if _, piv, _, _ := optionParts(optionValue(x.resp.msg)); piv != nil {
		last = int64(pivValue(piv))
	}
	for i := 0; i < 2; i++ {
		n, err := t.cl.await(x.bind.Token(), 3*t.cfg.Timeout)
		if err != nil {
			t.Fail("notification %d: %v", i+1, err)
			return
		}
		_, piv, _, _ := optionParts(optionValue(n.msg))
		if piv == nil {
			t.Fail("notification %d has no Partial IV of its own", i+1)
			return
		}
		if int64(pivValue(piv)) <= last {
			t.Fail("notification %d has Partial IV %d, not above %d", i+1, pivValue(piv), last)
			return
		}
		last = int64(pivValue(piv))
		y := &exchange{bind: x.bind, resp: n, got: true}
		t.verify(y)
		if !y.verified {
			t.Fail("notification %d: %s", i+1, y.describe())
			return
		}
	}
	t.Pass("two notifications with increasing Partial IVs (last %d), both verified", last)
}

func optionValue(m message.Message) []byte {
	v, _ := m.Options.GetBytes(optOSCORE)
	return v
}

func pivValue(piv []byte) uint64 {
	var n uint64
	for _, c := range piv {
		n = n<<8 | uint64(c)
	}
	return n
}

// maxBlockBody bounds what the block case fetches.
const maxBlockBody = 64 << 10

// serverBlock2 fetches the block resource in 64-byte blocks, or in the
// smaller size the server picks (RFC 7959 2.2: the next request then asks
// for the block at the same byte offset in that size).
func serverBlock2(t *T) {
	cs := t.main()
	if cs == nil {
		return
	}
	var body []byte
	szx, blocks := uint32(2), 0 // SZX 2: 64-byte blocks
	for len(body) < maxBlockBody {
		num := uint32(len(body)) / (16 << szx)
		x := t.get(cs, t.cfg.Block, -1, nil, uintOpt(optBlock2, num<<4|szx))
		if !x.got || !x.protected() {
			t.Fail("block %d: want a protected response, got %s", num, x.describe())
			return
		}
		if x.resp.msg.Options.HasOption(optBlock2) {
			t.Fail("block %d: Block2 outside the ciphertext", num)
			return
		}
		if !t.wantSuccess(x, fmt.Sprintf("block %d", num)) {
			return
		}
		v, err := x.inner.Options.GetUint32(optBlock2)
		if err != nil {
			if blocks == 0 {
				t.Skip("%s fits one response (no inner Block2); set -block to a longer resource", t.cfg.Block)
			} else {
				t.Fail("block %d: no inner Block2", num)
			}
			return
		}
		if got := v & 7; got < szx {
			szx = got
		}
		if (v>>4)*(16<<(v&7)) != uint32(len(body)) {
			t.Fail("asked for the block at byte %d, got block %d of %d bytes", len(body), v>>4, 16<<(v&7))
			return
		}
		body = append(body, x.inner.Payload...)
		blocks++
		if v&8 == 0 {
			t.Pass("%d bytes in %d inner blocks of %d bytes, Block2 never outside", len(body), blocks, 16<<szx)
			return
		}
	}
	t.Fail("more than %d bytes; stopped", maxBlockBody)
}

func serverEcho(t *T) {
	if len(t.env.echoes) > 0 {
		t.Pass("earlier in this run: %s", t.env.echoes[0])
		return
	}
	cs := t.main()
	if cs == nil {
		return
	}
	x := t.do(cs, request(codes.GET, t.cfg.Resource), -1, nil)
	switch {
	case x.challenged == nil:
		t.Skip("the target sent no Echo challenge in this run (%s)", x.describe())
	case t.wantSuccess(x, "the request repeated with Echo"):
		t.Pass("%s", t.env.echoes[0])
	}
}

func serverResponsePIV(t *T) {
	seen := 0
	for _, cs := range t.targetContexts() {
		x := t.get(cs, t.cfg.Resource, -1, nil)
		if !x.protected() {
			continue
		}
		if _, piv, _, _ := optionParts(optionValue(x.resp.msg)); piv == nil {
			continue
		}
		seen++
		if !x.verified {
			t.Fail("context %s: %s", cs.pc.Name, x.describe())
			return
		}
	}
	if seen == 0 {
		t.Skip("the target's responses reuse the request nonce; none carried a Partial IV of its own")
		return
	}
	t.Pass("%d responses with the server's own Partial IV verified", seen)
}

func serverPIV5(t *T) {
	cs := t.main()
	if cs == nil {
		return
	}
	seq := max(int64(cs.oc.SenderSeq()), 1<<32)
	x := t.get(cs, t.cfg.Resource, seq, nil)
	if !t.wantSuccess(x, fmt.Sprintf("sequence number %d", seq)) {
		return
	}
	if len(x.bind.PIV()) != 5 {
		t.Fail("the suite sent a %d-byte Partial IV", len(x.bind.PIV()))
		return
	}
	t.Pass("Partial IV %x accepted: %s", x.bind.PIV(), x.describe())
}

func serverProxySchemeRefused(t *T) {
	cs := t.main()
	if cs == nil {
		return
	}
	host, port := t.targetHost()
	opts := []message.Option{{ID: optURIHost, Value: []byte(host)}, {ID: optProxyScheme, Value: []byte("coap")}}
	if n, err := strconv.Atoi(port); err == nil {
		opts = append(opts, uintOpt(optURIPort, uint32(n)))
	}
	x := t.get(cs, t.cfg.Resource, -1, nil, opts...)
	code := x.resp.msg.Code
	if x.verified {
		code = x.inner.Code
	}
	switch {
	case !x.got:
		t.Fail("no response: %v", x.err)
	case code != codes.ProxyingNotSupported:
		t.Fail("answered %s, want 5.05", x.describe())
	default:
		t.Pass("answered %s", x.describe())
	}
}
