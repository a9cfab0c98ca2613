package main

import (
	"context"
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

func cmdRun(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", "run [-scenario NAME|FILE] [-format text|json|mermaid|ascii] [-o FILE] [-pcap FILE] [-wireshark FILE] [-include-secrets]", stderr)
	name := fs.String("scenario", defaultScenario, "built-in scenario name or scenario file")
	format := fs.String("format", "text", "output format: text, json, mermaid or ascii")
	out := fs.String("o", "", "write the output to FILE instead of standard output")
	pcap := fs.String("pcap", "", "also write every datagram to a pcapng FILE (Wireshark, tshark)")
	wireshark := fs.String("wireshark", "", "also write a Wireshark oscore_contexts FILE for the outer layer of each hop")
	secrets := fs.Bool("include-secrets", false, "include master secrets and keys in JSON output (redacted to a fingerprint by default)")
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

	bus := trace.NewBus(0)
	lab := nodes.NewLab(bus)
	if err := lab.Load(s); err != nil {
		lab.Close()
		return fmt.Errorf("starting scenario %s: %w", s.Name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	results, runErr := lab.RunSteps(ctx)
	cancel()
	tr := lab.Trace()
	lab.Close()

	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	if err := render(w, tr, *secrets); err != nil {
		return err
	}
	if *pcap != "" {
		if err := writeFile(*pcap, func(w io.Writer) error { return trace.WritePcapng(w, tr) }); err != nil {
			return err
		}
	}
	if *wireshark != "" {
		var skipped []string
		if err := writeFile(*wireshark, func(w io.Writer) (err error) {
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
func loadScenario(name string) (*scenario.Scenario, error) {
	s, err := scenario.Load(name)
	if err != nil {
		return nil, usageError{err}
	}
	return s, nil
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
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
