package nodes

import "context"

// RunSteps sends every step of the current scenario in order (each Repeat
// times, at least once); Result.OK says whether the step's expectations
// held, Result.Problem why not. It stops early only when ctx ends.
func (l *Lab) RunSteps(ctx context.Context) ([]Result, error) {
	sc := l.topo.Load().sc
	var out []Result
	for _, st := range sc.Steps {
		for i := 0; i < max(st.Repeat, 1); i++ {
			if err := ctx.Err(); err != nil {
				return out, err
			}
			if i == 1 {
				st.Seq = nil // pins apply to the first sending; the repeats go on from there
			}
			r, _ := l.Send(ctx, st)
			out = append(out, r)
		}
	}
	if sc.MulticastNotifications != nil {
		out = append(out, l.runMulticast(ctx, sc)...)
	}
	return out, nil
}
