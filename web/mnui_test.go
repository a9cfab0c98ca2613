package web

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"oscore-lab/internal/scenario"
)

// groupObservationButton is the composer's control that runs the loaded
// scenario's multicast_notifications.
const groupObservationButton = `[data-testid="run-group-observation"]`

// TestBrowserRunGroupObservation: a scenario without a group observation
// offers no control for one; mn-proxy-goscore-cp does, and clicking it
// runs the observation in the live lab: both clients' checks hold, the
// diagram draws the notification sent once to the group and relayed by P
// to C1 and C2, each registration and the notification is an exchange of
// its own that a #ex=..&step=.. link addresses, and the inspector opens a
// relayed copy.
func TestBrowserRunGroupObservation(t *testing.T) {
	tl := newTestLab(t, "draft-b1")
	ctx := newTab(t)
	openLab(t, ctx, tl.srv.URL)
	if evalJS[bool](t, ctx, `!!document.querySelector('[data-testid="group-observation"]') && !document.querySelector('[data-testid="group-observation"]').hidden`) {
		t.Errorf("draft-b1 has no multicast_notifications, yet the page offers a group observation")
	}
	loadBuiltin(t, ctx, "mn-proxy-goscore-cp")
	waitJS(t, ctx, "the group observation control", `!document.querySelector('[data-testid="group-observation"]').hidden`)
	if got := evalJS[string](t, ctx, `document.querySelector('`+groupObservationButton+`').textContent`); got != "Run group observation" {
		t.Errorf("the control reads %q", got)
	}
	if got := evalJS[string](t, ctx, `document.querySelector('[data-testid="group-observation"]').textContent`); !strings.Contains(got, "C1, C2 register through P") {
		t.Errorf("the control's explanation reads %q", got)
	}

	run(t, ctx, chromedp.Click(groupObservationButton))
	waitJS(t, ctx, "the group observation's result", `document.querySelector('[data-testid="mn-result"]').dataset.ok !== undefined && !document.querySelector('`+groupObservationButton+`').disabled`)
	if ok := evalJS[string](t, ctx, `document.querySelector('[data-testid="mn-result"]').dataset.ok`); ok != "1" {
		t.Fatalf("group observation failed: %s", evalJS[string](t, ctx, `document.querySelector('[data-testid="mn-result"]').textContent`))
	}
	res := evalJS[string](t, ctx, `document.querySelector('[data-testid="mn-result"]').textContent`)
	for _, w := range []string{"C1: ok", "C2: ok", "observer counters: ok"} {
		if !strings.Contains(res, w) {
			t.Errorf("the result %q lacks %q", res, w)
		}
	}

	waitJS(t, ctx, "two relayed notifications", `document.querySelectorAll('[data-testid="fan-relay"]').length === 2`)
	relays := evalJS[[]string](t, ctx, `[...document.querySelectorAll('[data-testid="seq-row"][data-leg="relay"]')].map(r => r.dataset.to).sort()`)
	if strings.Join(relays, " ") != "C1 C2" {
		t.Errorf("relayed notifications go to %q, want C1 C2", relays)
	}
	if got := evalJS[string](t, ctx, `document.querySelector('[data-testid="mcast-send"]').textContent`); !strings.Contains(got, "multicast notification") || !strings.Contains(got, "2 relayed") {
		t.Errorf("the datagram to the group is tagged %q", got)
	}

	// Each registration is its own exchange, apart from the notification's.
	exOf := func(sel string) string {
		return evalJS[string](t, ctx, fmt.Sprintf(`(() => { const r = document.querySelector(%q); return r ? r.dataset.exchange : ''; })()`, sel))
	}
	reg1 := exOf(`[data-testid="seq-row"][data-kind="datagram"][data-from="C1"][data-to="P"]`)
	reg2 := exOf(`[data-testid="seq-row"][data-kind="datagram"][data-from="C2"][data-to="P"]`)
	notif := exOf(`[data-testid="seq-row"][data-leg="send"]`)
	relay := exOf(`[data-testid="seq-row"][data-leg="relay"]`)
	if reg1 == "" || reg2 == "" || notif == "" || reg1 == reg2 || reg1 == notif || reg2 == notif || relay != notif {
		t.Errorf("exchanges: C1's registration %q, C2's %q, the notification %q, its relay %q; want three distinct, the relay in the notification's", reg1, reg2, notif, relay)
	}

	// The inspector opens a relayed notification.
	run(t, ctx, chromedp.Click(`[data-testid="seq-row"][data-leg="relay"][data-to="C2"] .arrow`))
	waitJS(t, ctx, "the relayed notification in the inspector", `document.querySelector('[data-testid="insp-multicast"][data-leg="relay"]')`)
	if got := evalJS[string](t, ctx, `document.querySelector('[data-testid="insp-summary"]').textContent`); !strings.Contains(got, "C2") {
		t.Errorf("the inspector's summary %q does not name C2", got)
	}
	// Its steps name each layer's depth: the C-P layer over the group's.
	steps := evalJS[string](t, ctx, `document.querySelector('[data-testid="inspector"]').textContent`)
	if strings.Contains(steps, "(layer ?)") || !strings.Contains(steps, "CTX_C2_P (layer 2)") || !strings.Contains(steps, "myGroup (layer 1)") {
		t.Errorf("the inspector's steps do not give the layers' depths (CTX_C2_P 2 over myGroup 1): %q", steps)
	}

	audit(t, ctx, "group observation", `[data-testid="group-observation"]`, 12)
	audit(t, ctx, "group observation result", `[data-testid="mn-result"]`, 12)
	screenshot(t, ctx, "group-observation.png")

	// A deep link addresses the notification's exchange.
	deep := newTab(t)
	openLab(t, deep, tl.srv.URL+"/#ex="+notif+"&step=1")
	waitJS(t, deep, "the replay at the notification's first step", `oscoreLab.replay && oscoreLab.replay.active && oscoreLab.replay.position().exchange === `+notif+` && oscoreLab.replay.position().exStep === 1`)
}

// TestBrowserGroupObservationErrors: when the running lab has no group
// observation any more (its scenario changed behind a page that still
// shows mn-proxy-goscore-cp), the control says the server's error plainly;
// while the server is unreachable the control is off.
func TestBrowserGroupObservationErrors(t *testing.T) {
	rl := newRestartableLab(t, "mn-proxy-goscore-cp")
	ctx := newTab(t)
	openLab(t, ctx, rl.srv.URL)
	waitJS(t, ctx, "the group observation control", `!document.querySelector('[data-testid="group-observation"]').hidden`)
	b1, _ := scenario.Builtin("draft-b1")
	if err := rl.running().Load(b1); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, chromedp.Click(groupObservationButton))
	waitJS(t, ctx, "the error", `document.querySelector('[data-testid="mn-result"]').dataset.ok === '0'`)
	if got := evalJS[string](t, ctx, `document.querySelector('[data-testid="mn-result"]').textContent`); !strings.Contains(got, "the scenario has no multicast_notifications") {
		t.Errorf("the control reports %q", got)
	}
	if !evalJS[bool](t, ctx, `document.querySelector('[data-testid="mn-result"]').classList.contains('bad') && document.querySelector('[data-testid="status"]').classList.contains('bad')`) {
		t.Errorf("the error is not marked as one")
	}
	audit(t, ctx, "group observation", `[data-testid="group-observation"]`, 12)
	audit(t, ctx, "group observation error", `[data-testid="mn-result"]`, 12)

	rl.stop()
	waitJS(t, ctx, "the unreachable banner", `!document.querySelector('[data-testid="offline-banner"]').hidden`)
	if !evalJS[bool](t, ctx, `!!document.querySelector('`+groupObservationButton+`').closest('[inert]')`) {
		t.Errorf("the group observation control is usable while the server is unreachable")
	}
}
