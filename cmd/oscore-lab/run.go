package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"oscore-lab/internal/nodes"
	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
)

// runTimeout bounds a headless run, so a scenario whose peer never answers
// still ends with a clear error instead of hanging.
const runTimeout = 60 * time.Second

// runAckTimeout is RFC 7252's ACK_TIMEOUT (4.8): a headless run renders
// what crossed the wire, and with the lab's 250 ms a machine slowed by
// load would add retransmissions that no scenario asked for.
const runAckTimeout = 2 * time.Second

func cmdRun(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", "run [-scenario NAME|FILE] [-format text|json|mermaid|ascii] [-o FILE] [-pcap FILE] [-wireshark FILE] [-include-secrets] [-random-ids] [-state FILE [-state-step K]]", stderr)
	randomIDs := fs.Bool("random-ids", false, "random tokens and first Message ID (crypto/rand) instead of ones seeded by the scenario's name, the same on every run")
	name := fs.String("scenario", defaultScenario, "built-in scenario name or scenario file")
	format := fs.String("format", "text", "output format: text, json, mermaid or ascii")
	out := fs.String("o", "", "write the output to FILE instead of standard output")
	pcap := fs.String("pcap", "", "also write every datagram to a pcapng FILE (Wireshark, tshark)")
	wireshark := fs.String("wireshark", "", "also write a Wireshark oscore_contexts FILE for the outer layer of each hop")
	secrets := fs.Bool("include-secrets", false, "include master secrets and keys in JSON output (redacted to a fingerprint by default)")
	state, step := stateFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	render, ok := renderers[*format]
	if !ok {
		return usagef("unknown -format %q (want text, json, mermaid or ascii)", *format)
	}
	s, err := loadScenario(*name)
	if err != nil {
		return err
	}
	// Every output file is opened before the run: one that cannot be
	// written is bad usage (exit 2), found before anything is printed.
	files := map[string]*os.File{}
	for _, o := range []struct{ flag, path string }{{"o", *out}, {"pcap", *pcap}, {"wireshark", *wireshark}} {
		if o.path == "" {
			continue
		}
		f, err := os.Create(o.path)
		if err != nil {
			for _, f := range files {
				f.Close()
			}
			return usagef("-%s: %v", o.flag, err)
		}
		files[o.flag] = f
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()

	bus := trace.NewBus(0)
	lab := nodes.NewLab(bus)
	lab.RandomIDs(*randomIDs)
	lab.SetAckTimeout(runAckTimeout)
	if err := useState(lab, *state, *step); err != nil {
		return err
	}
	if err := lab.Load(s); err != nil {
		lab.Close()
		return fmt.Errorf("starting scenario %s: %w", s.Name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	results, runErr := lab.RunSteps(ctx)
	cancel()
	tr := lab.Trace()
	if err := lab.Close(); err != nil {
		return err
	}

	w := stdout
	if f := files["o"]; f != nil {
		w = f
	}
	if err := render(w, tr, *secrets); err != nil {
		return err
	}
	if f := files["pcap"]; f != nil {
		if err := writeFile(f, func(w io.Writer) error { return trace.WritePcapng(w, tr) }); err != nil {
			return err
		}
	}
	if f := files["wireshark"]; f != nil {
		var skipped []string
		if err := writeFile(f, func(w io.Writer) (err error) {
			skipped, err = trace.WriteWiresharkContexts(w, tr, *secrets)
			return err
		}); err != nil {
			return err
		}
		for _, s := range skipped {
			fmt.Fprintf(stderr, "wireshark: not listed: %s\n", s)
		}
		if cmd := trace.TsharkCommand(orDefault(*pcap, "trace.pcapng"), tr, *secrets); cmd != "" {
			fmt.Fprintf(stderr, "decrypt the outer layer of each hop (Wireshark cannot reach the inner layers) with:\n  %s\n", cmd)
		} else {
			fmt.Fprintln(stderr, "wireshark: no context can be listed (see above); -include-secrets lists contexts whose secret is redacted")
		}
	}

	if runErr != nil {
		return runErr
	}
	failed := 0
	for _, r := range results {
		if !r.OK {
			failed++
			fmt.Fprintf(stderr, "step %q: %s\n", r.Step, r.Problem)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d steps failed their expectations", failed, len(results))
	}
	return nil
}

// renderers maps -format values to trace exporters.
var renderers = map[string]func(io.Writer, *trace.Trace, bool) error{
	"text":    func(w io.Writer, t *trace.Trace, _ bool) error { return trace.WriteText(w, t) },
	"json":    func(w io.Writer, t *trace.Trace, secrets bool) error { return trace.WriteJSON(w, t, secrets) },
	"mermaid": func(w io.Writer, t *trace.Trace, _ bool) error { return trace.WriteMermaid(w, t) },
	"ascii":   func(w io.Writer, t *trace.Trace, _ bool) error { return trace.WriteASCII(w, t) },
}

// loadScenario resolves a built-in name or a file; an invalid scenario is a
// usage error (exit 2) whose message names the offending field.
// stateFlags declares -state and -state-step (RFC 8613 7.5.1, B.1.1).
func stateFlags(fs *flag.FlagSet) (*string, *uint64) {
	state := fs.String("state", "", "keep each context's sender sequence number and replay window in FILE across runs (RFC 8613 B.1.1)")
	step := fs.Uint64("state-step", nodes.DefaultStateStep, "with -state: write FILE once every K messages a context protects (RFC 8613 B.1.1)")
	return state, step
}

func useState(lab *nodes.Lab, path string, step uint64) error {
	if path == "" {
		return nil
	}
	if step < 1 {
		return usagef("-state-step must be at least 1")
	}
	return lab.UseState(path, step)
}

func loadScenario(name string) (*scenario.Scenario, error) {
	s, err := scenario.Load(name)
	if err != nil {
		return nil, usageError{err}
	}
	return s, nil
}

// writeFile writes one output file opened before the run and closes it,
// so that a failed close (a full disk) is reported.
func writeFile(f *os.File, write func(io.Writer) error) error {
	if err := write(f); err != nil {
		return err
	}
	return f.Close()
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
