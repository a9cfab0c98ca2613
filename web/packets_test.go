package web

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"oscore-lab/internal/trace"
)

// openPackets opens the packet list and waits until it shows want rows.
func openPackets(t *testing.T, ctx context.Context, want int) {
	t.Helper()
	run(t, ctx, chromedp.Click(`[data-testid="packets-toggle"]`))
	waitJS(t, ctx, fmt.Sprintf("%d packets listed", want), fmt.Sprintf(`document.querySelector('[data-testid="pk-count"]').textContent === '%d' && document.querySelectorAll('[data-testid="pk-row"]').length > 0`, want))
}

// setFilter types a display filter and applies it (Enter).
func setFilter(t *testing.T, ctx context.Context, text string) {
	t.Helper()
	evalJS[bool](t, ctx, fmt.Sprintf(`(() => { const i = document.querySelector('[data-testid="pk-filter"]'); i.value = %q; i.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter'})); return true; })()`, text))
}

// applied waits until the list shows the filter text.
func applied(t *testing.T, ctx context.Context, text string) {
	t.Helper()
	waitJS(t, ctx, "the filter "+text, fmt.Sprintf(`document.querySelector('[data-view="packets"]').dataset.applied === %q`, text))
}

// shownSeqs lists the sequence numbers of the rows the list holds (all
// of them while fewer than a screenful match).
func shownSeqs(t *testing.T, ctx context.Context) []int {
	t.Helper()
	return evalJS[[]int](t, ctx, `[...document.querySelectorAll('[data-testid="pk-row"]')].map(r => Number(r.dataset.seq)).sort((a, b) => a - b)`)
}

func datagramEvents(bus *trace.Bus) []trace.Event {
	var out []trace.Event
	for _, e := range bus.Recent() {
		if e.Type == trace.TypeDatagram {
			out = append(out, e)
		}
	}
	return out
}

func seqsOf(evs []trace.Event, keep func(trace.Event) bool) []int {
	out := []int{}
	for _, e := range evs {
		if keep(e) {
			out = append(out, int(e.Seq))
		}
	}
	return out
}

// TestBrowserPacketList: the packet list of a draft-b3 exchange has one row
// per datagram with Wireshark's columns; the display filter selects by
// node, kid, Partial IV, option, code and event type exactly as the trace
// says, and an unreadable filter turns red with its error and changes
// nothing.
func TestBrowserPacketList(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	tl.sendFirstStep(t)
	dgs := datagramEvents(tl.bus)
	all := tl.bus.Recent()
	ctx := newTab(t)
	openLab(t, ctx, tl.srv.URL)
	waitJS(t, ctx, "the events", `oscoreLab.store.events.length === `+itoa(len(all)))
	openPackets(t, ctx, len(dgs))

	// The first row: C -> P, its bytes' length, its OSCORE kid and Partial IV
	// (CTX_C_P outside: kid 20, Partial IV 31 = 0x1f), time since the first
	// event, no delta.
	cells := evalJS[[]string](t, ctx, `[...document.querySelector('[data-testid="pk-row"]').children].map(c => c.textContent)`)
	if len(cells) != 8 {
		t.Fatalf("first row has %d cells: %q", len(cells), cells)
	}
	first := dgs[0]
	if cells[0] != itoa(int(first.Seq)) || cells[3] != "C" || cells[4] != "P" || cells[6] != itoa(len(first.Bytes)) {
		t.Errorf("first row %q, want No. %d, C -> P, %d bytes", cells, first.Seq, len(first.Bytes))
	}
	us := first.Time.Sub(all[0].Time).Microseconds()
	if want := fmt.Sprintf("%d.%06d", us/1e6, us%1e6); cells[1] != want || cells[2] != "" {
		t.Errorf("first row time %q delta %q, want %s and none", cells[1], cells[2], want)
	}
	if !strings.Contains(cells[7], "kid 20 PIV 1f") || !strings.Contains(cells[7], "MID") || !strings.Contains(cells[5], "CTX_C_P › CTX_C_S") {
		t.Errorf("first row protocol %q info %q, want CTX_C_P › CTX_C_S and kid 20 PIV 1f with its MID", cells[5], cells[7])
	}
	second := evalJS[[]string](t, ctx, `[...document.querySelectorAll('[data-testid="pk-row"]')[1].children].map(c => c.textContent)`)
	d := dgs[1].Time.Sub(dgs[0].Time).Microseconds()
	if want := fmt.Sprintf("%d.%06d", d/1e6, d%1e6); second[2] != want {
		t.Errorf("second row delta %q, want %s", second[2], want)
	}

	eq := func(a, b []int) bool { return fmt.Sprint(a) == fmt.Sprint(b) }
	for _, tc := range []struct {
		filter string
		want   []int
	}{
		{"node==S", seqsOf(dgs, func(e trace.Event) bool { return e.From == "S" || e.To == "S" })},
		{"src==P && dst==S", seqsOf(dgs, func(e trace.Event) bool { return e.From == "P" && e.To == "S" })},
		{"link==C-P && dir==response", seqsOf(dgs, func(e trace.Event) bool { return e.Link == "C-P" && e.Dir == "response" })},
		// CTX_P_S: kid d4, Partial IV 53 = 0x35, on the P-S request only.
		{"kid==d4 && piv==35", seqsOf(dgs, func(e trace.Event) bool { return e.From == "P" && e.To == "S" })},
		{"piv==0x001f", seqsOf(dgs, func(e trace.Event) bool { return e.From == "C" })},
		{"kid==20", seqsOf(dgs, func(e trace.Event) bool { return e.From == "C" })},
		{"kid!=5f", seqsOf(dgs, func(e trace.Event) bool { return e.Dir == "response" })}, // every request carries CTX_C_S (kid 5f); a response names no kid
		// Proxy-Scheme travels inside CTX_C_P on C -> P only (the proxy consumes it).
		{"opt:Proxy-Scheme", seqsOf(dgs, func(e trace.Event) bool { return e.From == "C" })},
		{"code==2.05 && node==C", seqsOf(dgs, func(e trace.Event) bool { return e.To == "C" })},
		{"code==GET && !(node==C)", seqsOf(dgs, func(e trace.Event) bool { return e.From == "P" && e.To == "S" })},
		{"type==decision && node==S", seqsOf(all, func(e trace.Event) bool { return e.Type == trace.TypeDecision && e.Node == "S" })},
		{"layer || error", seqsOf(all, func(e trace.Event) bool { return e.Type == trace.TypeLayer || e.Type == trace.TypeError })},
	} {
		setFilter(t, ctx, tc.filter)
		applied(t, ctx, tc.filter)
		if got := shownSeqs(t, ctx); !eq(got, tc.want) {
			t.Errorf("filter %q shows %v, want %v", tc.filter, got, tc.want)
		}
		if bad := evalJS[bool](t, ctx, `document.querySelector('[data-testid="pk-filter"]').classList.contains('bad')`); bad {
			t.Errorf("filter %q marked bad", tc.filter)
		}
	}
	screenshot(t, ctx, "packet-list.png")

	// Delta is since the row shown above, so it follows the filter.
	setFilter(t, ctx, "src==P")
	applied(t, ctx, "src==P")
	fromP := []trace.Event{}
	for _, e := range dgs {
		if e.From == "P" {
			fromP = append(fromP, e)
		}
	}
	deltas := evalJS[[]string](t, ctx, `[...document.querySelectorAll('[data-testid="pk-row"]')].sort((a, b) => a.dataset.seq - b.dataset.seq).map(r => r.children[2].textContent)`)
	for i := 1; i < len(fromP) && i < len(deltas); i++ {
		d := fromP[i].Time.Sub(fromP[i-1].Time).Microseconds()
		if want := fmt.Sprintf("%d.%06d", d/1e6, d%1e6); deltas[i] != want {
			t.Errorf("with src==P, row %d's delta is %q, want %s (since the row above)", i, deltas[i], want)
		}
	}

	// An unreadable filter: red, its error shown, the rows as they were.
	before := shownSeqs(t, ctx)
	for _, tc := range []struct{ filter, says string }{
		{"node==", "expected a value"},
		{"kid==zz", "hex"},
		{"code==9.99", "unknown code"},
		{"nod==P", "unknown field"},
		{`node=="P" &&`, "at the end"},
		{strings.Repeat("(", 40) + "node==P" + strings.Repeat(")", 40), "nested deeper"},
	} {
		setFilter(t, ctx, tc.filter)
		waitJS(t, ctx, "the error of "+tc.filter, `!document.querySelector('[data-testid="pk-filter-error"]').hidden`)
		msg := evalJS[string](t, ctx, `document.querySelector('[data-testid="pk-filter-error"]').textContent`)
		red := evalJS[bool](t, ctx, `document.querySelector('[data-testid="pk-filter"]').classList.contains('bad') && getComputedStyle(document.querySelector('[data-testid="pk-filter"]')).backgroundColor === 'rgb(255, 227, 224)'`)
		if !strings.Contains(msg, tc.says) || !red {
			t.Errorf("filter %q: error %q (red %v), want one saying %q", tc.filter, msg, red, tc.says)
		}
		if got := shownSeqs(t, ctx); !eq(got, before) {
			t.Errorf("an unreadable filter %q changed the rows to %v", tc.filter, got)
		}
	}
	// Typed, the filter applies after a pause, and clearing it shows all.
	run(t, ctx, chromedp.SetValue(`[data-testid="pk-filter"]`, "x"), chromedp.SendKeys(`[data-testid="pk-filter"]`, "\b"))
	waitJS(t, ctx, "the filter cleared", `document.querySelector('[data-testid="pk-filter-error"]').hidden && document.querySelector('[data-testid="pk-count"]').textContent === '`+itoa(len(dgs))+`'`)
}

// TestBrowserPacketBytesAndFields: selecting a packet shows its fields and
// bytes; clicking a byte of the kid picks the kid field, clicking the
// Token field picks exactly the token's bytes; the inspector follows the
// selection; pcapng and the Wireshark contexts download from the list.
func TestBrowserPacketBytesAndFields(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	tl.sendFirstStep(t)
	dgs := datagramEvents(tl.bus)
	ctx := newTab(t)
	openLab(t, ctx, tl.srv.URL)
	openPackets(t, ctx, len(dgs))
	first := dgs[0]
	run(t, ctx, chromedp.Click(fmt.Sprintf(`[data-testid="pk-row"][data-seq="%d"]`, first.Seq)))
	waitJS(t, ctx, "the packet's bytes", `document.querySelector('[data-testid="pk-detail"] > [data-testid="bytes-view"] [data-testid="hex"]') !== null`)
	if sel := evalJS[int](t, ctx, `oscoreLab.store.selected`); sel != int(first.Seq) {
		t.Errorf("the store selected %d, want %d (the inspector follows the list)", sel, first.Seq)
	}
	if n := evalJS[int](t, ctx, `document.querySelectorAll('[data-testid="pk-detail"] > [data-testid="bytes-view"] [data-testid="hex"] .b').length`); n != len(first.Bytes) {
		t.Errorf("hex view has %d bytes, want %d", n, len(first.Bytes))
	}
	// The kid 0x20 is the OSCORE option's last byte: find it from the field list.
	pick := func(selector string) {
		t.Helper()
		run(t, ctx, chromedp.Click(selector))
	}
	kidAt := evalJS[int](t, ctx, `(() => { const f = [...document.querySelectorAll('[data-testid="pk-detail"] > [data-testid="bytes-view"] [data-testid="byte-field"]')].find(x => x.querySelector('b').textContent === 'kid'); return f ? Number(f.querySelector('.rng').textContent.split('–')[0]) : -1; })()`)
	if kidAt < 0 || first.Bytes[kidAt] != 0x20 {
		t.Fatalf("no kid field at the byte 0x20 (at %d)", kidAt)
	}
	pick(fmt.Sprintf(`[data-testid="pk-detail"] > [data-testid="bytes-view"] [data-testid="hex"] .b[data-i="%d"]`, kidAt))
	got := evalJS[string](t, ctx, `[...document.querySelectorAll('[data-testid="pk-detail"] > [data-testid="bytes-view"] [data-testid="byte-field"].picked')].map(f => f.querySelector('b').textContent).join()`)
	if got != "kid" {
		t.Errorf("clicking byte %d picked the field(s) %q, want kid", kidAt, got)
	}
	pick(`[data-testid="pk-detail"] > [data-testid="bytes-view"] [data-testid="byte-field"]:nth-child(4)`)
	name := evalJS[string](t, ctx, `document.querySelector('[data-testid="pk-detail"] > [data-testid="bytes-view"] [data-testid="byte-field"]:nth-child(4) b').textContent`)
	picked := evalJS[[]int](t, ctx, `[...document.querySelectorAll('[data-testid="pk-detail"] > [data-testid="bytes-view"] [data-testid="hex"] .b.picked')].map(b => Number(b.dataset.i))`)
	tkl := int(first.Bytes[0] & 0x0f)
	if name != "Token" || fmt.Sprint(picked) != fmt.Sprint(seqRange(4, 4+tkl)) {
		t.Errorf("clicking the field %q picked bytes %v, want the token's %v", name, picked, seqRange(4, 4+tkl))
	}

	for _, tc := range []struct{ testid, path, ctype string }{
		{"pk-pcapng", "/api/export.pcapng", "application/x-pcapng"},
		{"pk-wireshark", "/api/oscore_contexts", "text/plain"},
	} {
		res := evalJS[string](t, ctx, fmt.Sprintf(`(async () => { const a = document.querySelector('[data-testid="%s"]'); if (!a || !a.hasAttribute('download') || a.getAttribute('href') !== '%s') return 'no link'; const r = await fetch(a.href); const b = new Uint8Array(await r.arrayBuffer()); return r.status + ' ' + r.headers.get('Content-Type') + ' ' + b.length; })()`, tc.testid, tc.path))
		if !strings.HasPrefix(res, "200 "+tc.ctype) || strings.HasSuffix(res, " 0") {
			t.Errorf("%s: %s, want 200 %s with a body", tc.testid, res, tc.ctype)
		}
	}
	screenshot(t, ctx, "packet-bytes.png")
}

func seqRange(from, to int) []int {
	out := []int{}
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// TestBrowserPacketReplay: "Replay this datagram" on the first request of
// rfc8613-c4-c7 sends its exact bytes again; the copy shows in the list
// with the server's refusal (replay detected, 4.01) as its receiver's
// reaction.
func TestBrowserPacketReplay(t *testing.T) {
	tl := newTestLab(t, "rfc8613-c4-c7")
	tl.sendFirstStep(t)
	dgs := datagramEvents(tl.bus)
	ctx := newTab(t)
	openLab(t, ctx, tl.srv.URL)
	openPackets(t, ctx, len(dgs))
	req := dgs[0]
	run(t, ctx, chromedp.Click(fmt.Sprintf(`[data-testid="pk-row"][data-seq="%d"]`, req.Seq)))
	waitJS(t, ctx, "the first request's reaction", `document.querySelector('[data-testid="pk-reaction"]') !== null`)
	if r := evalJS[string](t, ctx, `document.querySelector('[data-testid="pk-reaction"]').textContent`); !strings.Contains(r, "S delivered GET") {
		t.Errorf("the original request's reaction %q, want S delivered GET", r)
	}
	run(t, ctx, chromedp.Click(`[data-testid="pk-replay"]`))
	var again trace.Event
	waitEvent(t, tl.bus, "the replayed copy", func(e trace.Event) bool {
		if e.Seq > req.Seq && e.Type == trace.TypeDatagram && hex.EncodeToString(e.Bytes) == hex.EncodeToString(req.Bytes) {
			again = e
			return true
		}
		return false
	})
	row := fmt.Sprintf(`[data-testid="pk-row"][data-seq="%d"]`, again.Seq)
	waitJS(t, ctx, "the copy in the list", `document.querySelector('`+row+`') !== null`)
	run(t, ctx, chromedp.Click(row))
	waitJS(t, ctx, "the copy's reaction", `(document.querySelector('[data-testid="pk-reaction"]') || {}).textContent?.includes('4.01')`)
	r := evalJS[string](t, ctx, `document.querySelector('[data-testid="pk-reaction"]').textContent`)
	f := evalJS[string](t, ctx, `(document.querySelector('[data-testid="pk-fault"]') || {}).textContent || ''`)
	if !strings.Contains(r, "S refused it") || !strings.Contains(strings.ToLower(r), "replay") || !strings.Contains(f, "replay") {
		t.Errorf("the copy's reaction %q and fault %q, want S refusing a replay with 4.01", r, f)
	}
}

// TestBrowserCorruptedPacket: a corrupt fault on C -> P flips a byte of
// the ciphertext; the packet list marks the datagram, names the fault
// and shows P's reaction (decryption failed, 4.00) linked to its event,
// and the datagram stays in its exchange.
func TestBrowserCorruptedPacket(t *testing.T) {
	tl := newTestLab(t, "draft-b1")
	if code, body := do(t, "POST", tl.srv.URL+"/api/links/C-P/faults", `[{"kind":"corrupt","dir":"a->b","match":1,"byte":30}]`, nil); code != 200 {
		t.Fatalf("POST faults = %d %s", code, body)
	}
	st := tl.lab.Scenario().Steps[0]
	if res, _ := tl.send(st); res.Code != "4.00" {
		t.Fatalf("the corrupted request got %q, want 4.00", res.Code)
	}
	var bad trace.Event
	for _, e := range tl.bus.Recent() {
		if e.Type == trace.TypeDatagram && e.Link == "C-P" && e.From == "C" && bad.Seq == 0 {
			bad = e
		}
	}
	ctx := newTab(t)
	openLab(t, ctx, tl.srv.URL)
	openPackets(t, ctx, len(datagramEvents(tl.bus)))
	setFilter(t, ctx, "exchange==1 && src==C")
	applied(t, ctx, "exchange==1 && src==C")
	waitJS(t, ctx, "the exchange's request", `document.querySelector('[data-testid="pk-row"][data-seq="`+itoa(int(bad.Seq))+`"]') !== null`)
	row := `[data-testid="pk-row"][data-seq="` + itoa(int(bad.Seq)) + `"]`
	if !evalJS[bool](t, ctx, `document.querySelector('`+row+`').classList.contains('faulted')`) {
		t.Error("the corrupted datagram's row is not marked")
	}
	run(t, ctx, chromedp.Click(row))
	waitJS(t, ctx, "the reaction", `document.querySelector('[data-testid="pk-reaction"]') !== null`)
	f := evalJS[string](t, ctx, `(document.querySelector('[data-testid="pk-fault"]') || {}).textContent || ''`)
	r := evalJS[string](t, ctx, `document.querySelector('[data-testid="pk-reaction"]').textContent`)
	if !strings.Contains(f, "corrupt") || !strings.Contains(f, "byte 30 flipped") {
		t.Errorf("fault line %q, want the corrupt fault", f)
	}
	if !strings.Contains(r, "P refused it") || !strings.Contains(r, "decryption failed") || !strings.Contains(r, "4.00") {
		t.Errorf("reaction %q, want P refusing it: decryption failed -> 4.00", r)
	}
	// The picture in docs/teaching.md: go test ./web -run TestBrowserCorruptedPacket -update-screenshot
	png := screenshot(t, ctx, "packet-list-corrupt.png")
	if *updateScreenshot {
		if err := os.WriteFile(filepath.Join("..", "docs", "packet-list.png"), png, 0o644); err != nil {
			t.Errorf("docs/packet-list.png: %v", err)
		}
	}
	// The reaction links to the event that says so.
	run(t, ctx, chromedp.Click(`[data-testid="pk-reaction"] .pk-jump`))
	waitJS(t, ctx, "the error event selected", `(document.querySelector('[data-testid="pk-detail"] .pk-title') || {}).textContent?.includes('error')`)
}

// TestBrowserPacketFilterHostile: thousands of generated filters, from
// plausible to garbage, never throw: each reads or gives an error with a
// column, and a filter that reads never throws on any event of a real
// trace or on events with every field of the wrong type.
func TestBrowserPacketFilterHostile(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	tl.sendFirstStep(t)
	ctx := newTab(t)
	openLab(t, ctx, tl.srv.URL)
	waitJS(t, ctx, "the events", `oscoreLab.store.events.length === `+itoa(len(tl.bus.Recent())))
	res := evalJS[map[string]any](t, ctx, `(async () => {
		const { compileFilter, factsOf } = await import('/static/js/pfilter.js');
		const store = oscoreLab.store;
		const facts = store.events.map((ev) => factsOf(ev, store.bySeq.get(ev.seq)));
		for (const ev of [{ seq: 1, type: 'datagram' }, { seq: 2, type: 'layer', layer_event: { report: { context: 7, kid: {}, partial_iv: [], options: 'x', plaintext: 'zz' } } },
			{ seq: 3, type: 'error', error: { code: 5, protected_by: 'CTX' } }, { seq: 4, type: 'decision', decision: null }, { seq: 5 }]) facts.push(factsOf(ev, undefined));
		const atoms = ['node', 'src', 'dst', 'ctx', 'kid', 'piv', 'code', 'opt:Uri-Host', 'opt:', 'opt:9', 'type', 'exchange', 'hop', 'len', 'mid', 'seq', 'token', 'link', 'dir',
			'==', '!=', '<', '<=', '>', '>=', '=', '&&', '||', '!', '(', ')', 'and', 'or', 'not', 'P', 'C-P', '2.05', 'GET', 'Content', '0x2a', '5f', 'zz', '"', '"a b"', '"\\"', '\\',
			'decision', 'datagram', 'oscore', 'coap', '99999999999999999999', '-1', '1e3', '&', '|', '<script>', '\u0000', '\u202e', '💥', ' ', '  ', '\t'];
		let seed = 7;
		const rnd = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
		let read = 0, refused = 0;
		const problems = [];
		for (let k = 0; k < 3000; k++) {
			let s = '';
			const len = 1 + rnd(12);
			if (k % 2) for (let j = 0; j < len; j++) s += atoms[rnd(atoms.length)] + (rnd(3) ? '' : ' ');
			else for (let j = 0; j < 1 + rnd(4); j++) s += (j ? [' && ', ' || ', ' and !'][rnd(3)] : '') + atoms[rnd(19)] + ['==', '!=', '<', '>='][rnd(4)] + atoms[30 + rnd(10)];
			if (k % 500 === 0) s = '('.repeat(200 + k) + 'node==P' + ')'.repeat(200 + k);
			if (k % 700 === 1) s = 'node==P && '.repeat(200);
			let f;
			try { f = compileFilter(s); } catch (e) { problems.push('compile threw on ' + JSON.stringify(s) + ': ' + e); continue; }
			if (f.error) {
				refused++;
				if (typeof f.error !== 'string' || !f.error.startsWith('filter: ') || !(f.at >= 0)) problems.push('bad error for ' + JSON.stringify(s) + ': ' + JSON.stringify(f));
				continue;
			}
			read++;
			for (const x of facts) {
				try { const v = f.test(x); if (typeof v !== 'boolean') { problems.push('non-boolean from ' + JSON.stringify(s)); break; } }
				catch (e) { problems.push('test threw on ' + JSON.stringify(s) + ': ' + e); break; }
			}
		}
		return { read, refused, problems: problems.slice(0, 10) };
	})()`)
	t.Logf("generated filters: %v read, %v refused", res["read"], res["refused"])
	if p, _ := res["problems"].([]any); len(p) > 0 {
		t.Errorf("problems: %v", p)
	}
	if r, _ := res["read"].(float64); r < 100 {
		t.Errorf("only %v generated filters read: the generator says little", r)
	}
	// On the page: a filter with markup in it is shown as text.
	run(t, ctx, chromedp.Click(`[data-testid="packets-toggle"]`))
	setFilter(t, ctx, `node==<img src=x onerror=alert(1)>`)
	waitJS(t, ctx, "the error", `!document.querySelector('[data-testid="pk-filter-error"]').hidden`)
	if n := evalJS[int](t, ctx, `document.querySelectorAll('[data-testid="pk-filter-error"] *').length`); n != 0 {
		t.Errorf("the filter error holds %d elements", n)
	}
}

// TestBrowserPacketListTenThousand: with 10,000 events, the packet list
// paints within 1 s of being opened, keeps only the rows on screen in the
// DOM, filters all of them quickly and answers a click within 50 ms.
func TestBrowserPacketListTenThousand(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	tmpl := exchangeTemplate(t, tl)
	total := len(tmpl)
	for k := 2; total < 10000; k++ {
		total += publishCopy(tl.bus, tmpl, k)
	}
	dgs := len(datagramEvents(tl.bus))
	ctx := newTab(t)
	openLab(t, ctx, tl.srv.URL)
	waitJS(t, ctx, "all events", `oscoreLab.store.events.length === `+itoa(total))
	var paint float64
	for attempt := 1; attempt <= 2; attempt++ {
		if attempt == 2 {
			run(t, ctx, chromedp.Click(`[data-testid="packets-close"]`))
		}
		paint = evalJS[float64](t, ctx, `new Promise((done) => {
			const t0 = performance.now();
			document.querySelector('[data-testid="packets-toggle"]').click();
			const wait = () => (window.__pkPaint && window.__pkPaint.t > t0 && document.querySelectorAll('[data-testid="pk-row"]').length > 0) ? requestAnimationFrame(() => done(performance.now() - t0)) : requestAnimationFrame(wait);
			wait();
		})`)
		t.Logf("open %d: %d events, %d datagrams listed in %.0f ms", attempt, total, dgs, paint)
		if paint < 1000 {
			break
		}
	}
	if paint >= 1000 {
		t.Errorf("the packet list of 10,000 events painted in %.0f ms twice in a row, want under 1000", paint)
	}
	if got := evalJS[string](t, ctx, `document.querySelector('[data-testid="pk-count"]').textContent`); got != itoa(dgs) {
		t.Errorf("%s rows, want %d datagrams", got, dgs)
	}
	if n := evalJS[int](t, ctx, `document.querySelectorAll('[data-testid="pk-row"]').length`); n > 120 {
		t.Errorf("%d rows in the DOM: not virtualised", n)
	}
	// Filtering every event: the first pass computes each event's facts
	// (cold), a filter after that reuses them (warm).
	for _, f := range []string{"node==P && kid==20", "opt:Uri-Host && code==2.05", "type==decision && node==S"} {
		var ms [2]float64
		for pass := range ms {
			setFilter(t, ctx, "len==0")
			applied(t, ctx, "len==0")
			setFilter(t, ctx, f)
			applied(t, ctx, f)
			ms[pass] = evalJS[float64](t, ctx, `window.__pkFilterMs`)
		}
		t.Logf("filter %q over %d events: %.1f ms first, %.1f ms again, %s shown", f, total, ms[0], ms[1], evalJS[string](t, ctx, `document.querySelector('[data-testid="pk-count"]').textContent`))
		if ms[0] > 500 || ms[1] > 150 {
			t.Errorf("filter %q took %.0f ms first and %.0f ms again over 10,000 events, want under 500 and 150", f, ms[0], ms[1])
		}
	}
	setFilter(t, ctx, "")
	applied(t, ctx, "")
	// Clicks: each selects a packet and draws its fields, bytes and reaction.
	var clicks []float64
	for i := 0; i < 10; i++ {
		ms := evalJS[float64](t, ctx, fmt.Sprintf(`(() => { const rows = document.querySelectorAll('[data-testid="pk-row"]'); rows[%d %% rows.length].click(); return window.__pkClickMs; })()`, i*3))
		waitJS(t, ctx, "the inspector following", `oscoreLab.store.selected === Number(document.querySelector('[data-testid="pk-row"].sel').dataset.seq)`)
		t.Logf("click %d: %.1f ms; the inspector and sequence diagram followed in %.1f ms", i, ms, evalJS[float64](t, ctx, `window.__pkFollowMs`))
		clicks = append(clicks, ms)
	}
	sort.Float64s(clicks)
	// One slow click of ten says more about a loaded machine than about
	// the page; two say the page is slow.
	if clicks[8] > 50 {
		t.Errorf("clicks took %v ms, want all but one under 50", clicks)
	}
	screenshot(t, ctx, "packet-list-10k.png")

	// Scrolled to the end, the list follows new events; scrolled up, it stays.
	evalJS[bool](t, ctx, `(() => { const sc = document.querySelector('[data-testid="pk-scroll"]'); sc.scrollTop = sc.scrollHeight; return true; })()`)
	total += publishCopy(tl.bus, tmpl, 5000)
	waitJS(t, ctx, "the new events", `oscoreLab.store.events.length === `+itoa(total))
	waitJS(t, ctx, "the list at its new end", `(() => { const sc = document.querySelector('[data-testid="pk-scroll"]'); return sc.scrollTop + sc.clientHeight >= sc.scrollHeight - 22 && [...document.querySelectorAll('[data-testid="pk-row"]')].some(r => Number(r.dataset.seq) > `+itoa(total-len(tmpl))+`); })()`)
	evalJS[bool](t, ctx, `(() => { document.querySelector('[data-testid="pk-scroll"]').scrollTop = 0; return true; })()`)
	total += publishCopy(tl.bus, tmpl, 5001)
	waitJS(t, ctx, "more events", `oscoreLab.store.events.length === `+itoa(total))
	if top := evalJS[float64](t, ctx, `document.querySelector('[data-testid="pk-scroll"]').scrollTop`); top != 0 {
		t.Errorf("scrolled to the top, the list moved to %.0f px on new events", top)
	}
}

// clickEveryPacket opens the packet list on every event type, clicks every
// row and, in each detail, a byte, a field and the links, then closes the
// list: the hostile-trace tests run it on each trace they import.
func clickEveryPacket(t *testing.T, ctx context.Context) {
	t.Helper()
	n := evalJS[int](t, ctx, `(async () => {
		const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
		document.querySelector('[data-testid="packets-toggle"]').click();
		const f = document.querySelector('[data-testid="pk-filter"]');
		f.value = 'datagram || layer || decision || delivery || error || fault || exchange || notice || kid==5f || opt:Uri-Host || code==2.05 || piv==0';
		f.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' }));
		await frame();
		const sc = document.querySelector('[data-testid="pk-scroll"]');
		let clicked = 0;
		for (let y = 0; y <= sc.scrollHeight; y += sc.clientHeight) {
			sc.scrollTop = y;
			await frame();
			for (const row of sc.querySelectorAll('[data-testid="pk-row"]')) {
				row.click();
				clicked++;
				const d = document.querySelector('[data-testid="pk-detail"]');
				d.querySelector('[data-testid="hex"] .b')?.click();
				d.querySelector('[data-testid="byte-field"]:last-child')?.click();
			}
		}
		document.querySelector('[data-testid="packets-close"]').click();
		return clicked;
	})()`)
	if n == 0 {
		t.Error("the packet list showed no row of the trace")
	}
}

// TestBrowserPacketListOffline: in an exported HTML file opened with no
// server, the packet list shows every datagram, filters and picks bytes;
// the server's downloads and the replay, which need the lab, are absent.
func TestBrowserPacketListOffline(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	tl.sendFirstStep(t)
	dgs := datagramEvents(tl.bus)
	var page strings.Builder
	if err := WriteStandaloneTrace(context.Background(), &page, (&server{lab: tl.lab, bus: tl.bus}).buildTrace(), false); err != nil {
		t.Fatal(err)
	}
	srv, other := serveOnly(t, page.String())
	ctx := newTab(t)
	run(t, ctx, chromedp.Navigate(srv.URL+"/trace.html"))
	waitJS(t, ctx, "the page", `document.body.dataset.ready === '1'`)
	openPackets(t, ctx, len(dgs))
	setFilter(t, ctx, "src==P")
	applied(t, ctx, "src==P")
	if got, want := shownSeqs(t, ctx), seqsOf(dgs, func(e trace.Event) bool { return e.From == "P" }); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("src==P shows %v, want %v", got, want)
	}
	run(t, ctx, chromedp.Click(`[data-testid="pk-row"]`))
	waitJS(t, ctx, "the packet's bytes", `document.querySelector('[data-testid="pk-detail"] [data-testid="hex"]') !== null`)
	if n := evalJS[int](t, ctx, `document.querySelectorAll('[data-testid="pk-replay"], [data-testid="pk-pcapng"], [data-testid="pk-wireshark"]').length`); n != 0 {
		t.Errorf("the offline file offers %d server-only controls", n)
	}
	if *other != 0 {
		t.Errorf("the file made %d requests", *other)
	}
}

// TestBrowserCorruptedVersionIgnored: a request whose version byte a fault
// flips is not CoAP its receiver reads, which ignores it silently (RFC 7252
// 3); the packet list keeps it in its exchange and says that the receiver
// recorded nothing, and why.
func TestBrowserCorruptedVersionIgnored(t *testing.T) {
	tl := newTestLab(t, "draft-b1")
	if code, body := do(t, "POST", tl.srv.URL+"/api/links/C-P/faults", `[{"kind":"corrupt","dir":"a->b","match":1,"byte":0}]`, nil); code != 200 {
		t.Fatalf("POST faults = %d %s", code, body)
	}
	if res, err := tl.send(tl.lab.Scenario().Steps[0]); err != nil || res.Code != "2.05" {
		t.Fatalf("the retransmission should succeed: %+v %v", res, err)
	}
	var bad trace.Event
	for _, e := range tl.bus.Recent() {
		if e.Type == trace.TypeDatagram && e.Link == "C-P" && e.From == "C" {
			bad = e
			break
		}
	}
	if bad.Bytes[0]>>6 == 1 {
		t.Fatalf("the first request was not corrupted: %x", bad.Bytes[:4])
	}
	ctx := newTab(t)
	openLab(t, ctx, tl.srv.URL)
	openPackets(t, ctx, len(datagramEvents(tl.bus)))
	setFilter(t, ctx, "exchange==1 && src==C")
	applied(t, ctx, "exchange==1 && src==C")
	if got := shownSeqs(t, ctx); len(got) < 2 || got[0] != int(bad.Seq) {
		t.Errorf("exchange 1's requests from C are %v, want the corrupted %d and its retransmission", got, bad.Seq)
	}
	run(t, ctx, chromedp.Click(`[data-testid="pk-row"][data-seq="`+itoa(int(bad.Seq))+`"]`))
	waitJS(t, ctx, "the reaction", `document.querySelector('[data-testid="pk-reaction"]') !== null`)
	r := evalJS[string](t, ctx, `document.querySelector('[data-testid="pk-reaction"]').textContent`)
	if !strings.Contains(r, "P recorded no reaction") || !strings.Contains(r, "CoAP version") || !strings.Contains(r, "RFC 7252") {
		t.Errorf("reaction %q, want P recording nothing for a datagram of another CoAP version", r)
	}
}

// serveOnly serves page at /trace.html and nothing else, counting the
// requests for anything else (a file that must need no server).
func serveOnly(t *testing.T, page string) (*httptest.Server, *int) {
	t.Helper()
	other := new(int)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/trace.html" {
			*other++
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, page)
	}))
	t.Cleanup(srv.Close)
	return srv, other
}

// TestBrowserPacketListEDHOC: an EDHOC handshake's datagrams name their
// EDHOC message in the Protocol column, as the sequence diagram's chips do.
func TestBrowserPacketListEDHOC(t *testing.T) {
	tl := newTestLab(t, "edhoc-rfc9529-1")
	tl.sendFirstStep(t)
	ctx := newTab(t)
	openLab(t, ctx, tl.srv.URL)
	openPackets(t, ctx, len(datagramEvents(tl.bus)))
	protos := evalJS[[]string](t, ctx, `[...document.querySelectorAll('[data-testid="pk-row"]')].map(r => r.children[5].textContent)`)
	joined := strings.Join(protos, "\n")
	for _, m := range []string{"EDHOC message_1", "EDHOC message_2", "EDHOC message_3"} {
		if !strings.Contains(joined, m) {
			t.Errorf("no row's protocol names %s: %q", m, protos)
		}
	}
}
