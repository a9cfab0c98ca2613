package nodes

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"oscore-lab/internal/scenario"
)

// wrongExpectation turns one step's expectation into one that the step's
// real outcomes (base: its repetitions in an unchanged run) cannot meet, and
// returns the Problem the lab must report for each outcome ("" when any
// stated problem will do). ok is false when the kind does not apply to the
// step (a payload cannot be wrong where no response comes).
type wrongExpectation func(st *scenario.Step, base []Result) (problem func(Result) string, ok bool)

// otherCode is a valid CoAP code that none of the results carries.
func otherCode(base []Result) string {
	for _, c := range []string{"4.04", "2.05", "5.03"} {
		if !slices.ContainsFunc(base, func(r Result) bool { return r.Code == c }) {
			return c
		}
	}
	panic("unreachable: three codes cannot all be taken by one step")
}

func answered(base []Result) bool {
	return !slices.ContainsFunc(base, func(r Result) bool { return r.Code == "" })
}

var wrongExpectations = map[string]wrongExpectation{
	"code": func(st *scenario.Step, base []Result) (func(Result) string, bool) {
		if !answered(base) {
			return nil, false
		}
		e := expectOf(st)
		e.Code = otherCode(base)
		return func(r Result) string { return fmt.Sprintf("expected code %s, got %s %q", e.Code, r.Code, r.Payload) }, true
	},
	"payload": func(st *scenario.Step, base []Result) (func(Result) string, bool) {
		if !answered(base) || slices.ContainsFunc(base, func(r Result) bool { return r.Code != base[0].Code }) {
			return nil, false
		}
		e := expectOf(st)
		e.Code = base[0].Code // the code holds, so the payload is what fails
		wrong := "not " + base[0].Payload
		e.Payload = &wrong
		return func(r Result) string { return fmt.Sprintf("expected payload %q, got %q", wrong, r.Payload) }, true
	},
	// A group step: the first member expected to answer is expected a
	// payload it did not send (one repetition: group steps do not repeat).
	"responses": func(st *scenario.Step, base []Result) (func(Result) string, bool) {
		if st.To == "" || len(base) != 1 {
			return nil, false
		}
		for i, w := range st.Expect.Responses {
			if w.NoResponse || w.Refused {
				continue
			}
			for _, r := range base[0].Responses {
				if r.Member == w.From && r.Refused == "" {
					wrong := "not " + r.Payload
					st.Expect.Responses[i].Payload = &wrong
					return func(Result) string {
						return fmt.Sprintf("%s: expected payload %q, got %q", w.From, wrong, r.Payload)
					}, true
				}
			}
		}
		return nil, false
	},
	"no_response": func(st *scenario.Step, base []Result) (func(Result) string, bool) {
		if st.To != "" {
			return nil, false // a group step states silence per member, in responses
		}
		e := expectOf(st)
		if e.NoResponse {
			// Expecting a response where none comes fails with the reason
			// none came.
			e.NoResponse = false
			return func(Result) string { return "" }, true
		}
		if !answered(base) {
			return nil, false
		}
		*e = scenario.Expect{NoResponse: true, Timeout: e.Timeout}
		return func(r Result) string { return fmt.Sprintf("expected no response, got %s", r.Code) }, true
	},
}

func expectOf(st *scenario.Step) *scenario.Expect {
	if st.Expect == nil {
		st.Expect = &scenario.Expect{}
	}
	return st.Expect
}

// runBuiltin runs every step of a scenario in a fresh lab.
func runBuiltin(t *testing.T, s *scenario.Scenario) []Result {
	t.Helper()
	lab, _ := startLab(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := lab.RunSteps(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lab.Close()
	return res
}

// TestBuiltinWrongExpectations runs every built-in scenario again with
// each step's expectation made wrong in one way at a time (code, payload,
// no_response): every step must then fail, with the message that names
// what was expected and what came. It is the other direction of
// TestBuiltinScenarios: a verdict that always says yes fails here.
func TestBuiltinWrongExpectations(t *testing.T) {
	for _, s := range scenario.List() {
		t.Run(s.Name, func(t *testing.T) {
			base := runBuiltin(t, builtinScenario(t, s.Name))
			for kind, wrong := range wrongExpectations {
				t.Run(kind, func(t *testing.T) {
					sc := builtinScenario(t, s.Name)
					var want []func(Result) string // nil: step left as it was
					var applies bool
					for i := range sc.Steps {
						st := &sc.Steps[i]
						from := stepResultIndex(sc, i)
						reps := base[from : from+max(st.Repeat, 1)]
						p, ok := wrong(st, reps)
						if !ok {
							p = nil
						}
						applies = applies || ok
						for range reps {
							want = append(want, p)
						}
					}
					if !applies {
						t.Skipf("no step of %s can be made wrong in its %s", s.Name, kind)
					}
					got := runBuiltin(t, sc)
					if len(got) != len(want) {
						t.Fatalf("%d results, want %d", len(got), len(want))
					}
					for i, r := range got {
						if want[i] == nil {
							continue
						}
						switch p := want[i](r); {
						case r.OK:
							t.Errorf("step %q passed with a wrong %s expectation (code %s payload %q)", r.Step, kind, r.Code, r.Payload)
						case p != "" && r.Problem != p:
							t.Errorf("step %q: problem %q, want %q", r.Step, r.Problem, p)
						case r.Problem == "":
							t.Errorf("step %q failed with no problem stated", r.Step)
						}
					}
				})
			}
		})
	}
}

// stepResultIndex is the index in RunSteps' results of step i's first
// repetition.
func stepResultIndex(sc *scenario.Scenario, i int) int {
	n := 0
	for _, st := range sc.Steps[:i] {
		n += max(st.Repeat, 1)
	}
	return n
}
