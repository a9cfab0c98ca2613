package main

import (
	"bytes"
	"context"

	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"oscore-lab/internal/check"
	"oscore-lab/internal/peerctx"
	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
	"oscore-lab/web"
)

const checkSynopsis = `check -target udp://HOST:PORT -role server|forward-proxy|oscore-proxy|reverse-proxy
          [-context FILE|-context-aiocoap DIR|-context-libcoap FILE] [-resource /path]
          [-format text|json|junit|html] [-o FILE] [-only ID,...] [-trace FILE] [-seq N]
          [-origin-listen HOST:PORT] [-origin-addr HOST:PORT]`

// checkTimeout bounds a whole run of the suite.
const checkTimeout = 10 * time.Minute

func cmdCheck(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("check", checkSynopsis, stderr)
	target := fs.String("target", "", "the implementation under test, udp://HOST:PORT")
	role := fs.String("role", "", "what the target is: "+strings.Join(check.Roles, ", "))
	ctxFile := fs.String("context", "", "the lab's JSON context file (docs/conformance.md)")
	aiocoapDir := fs.String("context-aiocoap", "", "an aiocoap OSCORE credentials directory (settings.json, sequence.json)")
	libcoapFile := fs.String("context-libcoap", "", "a libcoap OSCORE configuration file, coap-oscore-conf(5)")
	resource := fs.String("resource", "/hello", "a resource that answers GET with 2.05")
	observe := fs.String("observe", "/counter", "an observable resource (RFC 7641)")
	block := fs.String("block", "/large", "a resource longer than 64 bytes, served in blocks (RFC 7959)")
	originListen := fs.String("origin-listen", "127.0.0.1:0", "proxies: where the suite's own origin server listens")
	originAddr := fs.String("origin-addr", "", "proxies: the origin's HOST:PORT the requests name (default: its socket's address)")
	format := fs.String("format", "text", "report format: "+strings.Join(check.Formats, ", "))
	out := fs.String("o", "", "write the report to FILE instead of standard output")
	only := fs.String("only", "", "run only these case IDs, comma-separated")
	traceFile := fs.String("trace", "", "also write the run's trace (JSON v1; exchange N is case N) to FILE")
	seq := fs.Int64("seq", -1, "first Sender Sequence Number for every context (the target's replay window outlives a run; the report says the next one)")
	timeout := fs.Duration("timeout", 2*time.Second, "how long to wait for each response")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := checkConfig(*target, *role, *ctxFile, *aiocoapDir, *libcoapFile)
	if err != nil {
		return err
	}
	cfg.Resource, cfg.Observe, cfg.Block, cfg.Timeout, cfg.Seq = *resource, *observe, *block, *timeout, *seq
	cfg.OriginListen, cfg.OriginAddr = *originListen, *originAddr
	if *seq > oscore.MaxSequenceNumber {
		return usagef("-seq %d: above 2^40-1", *seq)
	}
	if !slices.Contains(check.Formats, *format) {
		return usagef("unknown -format %q (want %s)", *format, strings.Join(check.Formats, ", "))
	}
	if *only != "" {
		cfg.Only = strings.Split(*only, ",")
		if err := check.CheckOnly(cfg.Role, cfg.Only); err != nil {
			return usagef("-only: %v", err)
		}
	}
	// Output files are opened before the run: an unwritable one is bad usage.
	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return usageError{err}
		}
		defer f.Close()
		w = f
	}
	var tf *os.File
	if *traceFile != "" {
		if tf, err = os.Create(*traceFile); err != nil {
			return usageError{err}
		}
		defer tf.Close()
	}

	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()
	rep, err := check.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if err := writeCheckReport(ctx, w, rep, *format); err != nil {
		return err
	}
	if tf != nil {
		if err := trace.WriteJSON(tf, rep.Trace, false); err != nil {
			return err
		}
	}
	if !rep.OK() {
		return fmt.Errorf("%d MUST case(s) failed", rep.Summary.MustFailed)
	}
	return nil
}

// checkConfig validates the target, the role and the one context source.
func checkConfig(target, role, ctxFile, aiocoapDir, libcoapFile string) (check.Config, error) {
	var cfg check.Config
	hostPort, ok := strings.CutPrefix(target, "udp://")
	if target == "" {
		return cfg, usagef("-target udp://HOST:PORT is required")
	}
	if !ok {
		return cfg, usagef("-target %q: want udp://HOST:PORT", target)
	}
	if _, _, err := net.SplitHostPort(hostPort); err != nil {
		return cfg, usagef("-target %q: %v", target, err)
	}
	if !slices.Contains(check.Roles, role) {
		return cfg, usagef("-role %q: want one of %s", role, strings.Join(check.Roles, ", "))
	}
	cfg.Target, cfg.Role = hostPort, role
	given := 0
	for _, s := range []string{ctxFile, aiocoapDir, libcoapFile} {
		if s != "" {
			given++
		}
	}
	if given > 1 {
		return cfg, usagef("give one of -context, -context-aiocoap and -context-libcoap")
	}
	var err error
	switch {
	case ctxFile != "":
		var f *os.File
		if f, err = os.Open(ctxFile); err == nil {
			cfg.Contexts, err = peerctx.ReadLab(f)
			f.Close()
		}
	case aiocoapDir != "":
		var c peerctx.Context
		c, err = peerctx.ReadAiocoap(aiocoapDir)
		cfg.Contexts = []peerctx.Context{c}
	case libcoapFile != "":
		var f *os.File
		if f, err = os.Open(libcoapFile); err == nil {
			var c peerctx.Context
			c, err = peerctx.ReadLibcoap(f, libcoapFile)
			cfg.Contexts = []peerctx.Context{c}
			f.Close()
		}
	}
	if err != nil {
		return cfg, usageError{err}
	}
	return cfg, nil
}

// writeCheckReport renders the report; HTML puts it above the lab's viewer
// of the run's trace, each case linked to its first message.
func writeCheckReport(ctx context.Context, w io.Writer, rep *check.Report, format string) error {
	if format != "html" {
		return check.Write(w, rep, format)
	}
	var frag bytes.Buffer
	if err := check.WriteHTMLFragment(&frag, rep, true); err != nil {
		return err
	}
	return web.WriteCheckReport(ctx, w, rep.Trace, frag.String())
}
