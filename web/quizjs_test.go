package web

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"oscore-lab/oscore"
)

// TestBrowserQuizExplainsEveryRulePath checks the quiz's reveal
// (static/js/quiz.js) against the option-protection rule it explains
// (oscore.ProtectionRule, draft 2.2): for every path through the nine
// steps that the rule can take, on every outer option it runs for, the
// reveal words each step with the draft's own question and answer, never
// with a generic "go to Step N", and ends on the class the rule chose.
func TestBrowserQuizExplainsEveryRulePath(t *testing.T) {
	type path struct {
		Steps []int  `json:"steps"`
		Class string `json:"cls"`
	}
	seen := map[string]bool{}
	var paths []path
	for _, opt := range []uint16{3, 7, 9, 16, 35, 39} { // Uri-Host, Uri-Port, OSCORE, Hop-Limit, Proxy-Uri, Proxy-Scheme
		for bits := range 1 << 7 {
			r := oscore.ProtectionRule(oscore.RuleInput{Option: opt, AddedBySender: bits&1 != 0, XIsConsumer: bits&2 != 0,
				XIsNextConsumer: bits&4 != 0, XIsNextHop: bits&8 != 0, NextHopIsNextConsumer: bits&16 != 0,
				XNeedsBeforeRemoval: bits&32 != 0, HasProxyScheme: bits&64 != 0})
			if len(r.Steps) == 0 {
				t.Fatalf("option %d: the rule took no steps", opt)
			}
			p := path{Steps: r.Steps, Class: r.Class.String()}
			key := fmt.Sprint(p)
			if !seen[key] {
				seen[key] = true
				paths = append(paths, p)
			}
		}
	}
	if len(paths) < 8 {
		t.Fatalf("only %d distinct paths through the rule", len(paths))
	}

	ctx := modulePage(t)
	js, _ := json.Marshal(paths)
	got := evalJS[string](t, ctx, fmt.Sprintf(`(async () => {
		const { quizStepWords } = await import('/static/js/quiz.js');
		return JSON.stringify(%s.map(({ steps, cls }) => quizStepWords(steps, 'OPT', cls)));
	})()`, js))
	var words []string
	if err := json.Unmarshal([]byte(got), &words); err != nil || len(words) != len(paths) {
		t.Fatalf("JavaScript results: %v (%d for %d paths)", err, len(words), len(paths))
	}
	for i, p := range paths {
		w := words[i]
		parts := strings.Split(w, " → ")
		if len(parts) != len(p.Steps) {
			t.Errorf("path %v: %d parts in %q", p.Steps, len(parts), w)
			continue
		}
		for k, s := range p.Steps {
			if !strings.HasPrefix(parts[k], fmt.Sprintf("Step %d: ", s)) {
				t.Errorf("path %v, step %d: %q", p.Steps, s, parts[k])
			}
		}
		if strings.Contains(w, "go to Step") {
			t.Errorf("path %v: a step without the draft's words: %q", p.Steps, w)
		}
		last := parts[len(parts)-1]
		if !strings.Contains(last, "Class "+p.Class+" — ") {
			t.Errorf("path %v: ends %q; want Class %s with its reason", p.Steps, last, p.Class)
		}
	}
	t.Logf("%d paths through the rule, each explained step by step", len(paths))
}
