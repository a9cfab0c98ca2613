// Command oscore-lab runs CoAP client, OSCORE-capable proxy and server nodes
// in one process over real loopback UDP, and serves a browser lab that traces
// every nested OSCORE layer (draft-ietf-core-oscore-capable-proxies).
//
// Usage:
//
//	oscore-lab [serve] [-addr 127.0.0.1:8080] [-scenario NAME|FILE]
//	oscore-lab run [-scenario NAME|FILE] [-format text|json|mermaid|ascii] [-o FILE]
//	               [-pcap FILE] [-wireshark FILE] [-include-secrets]
//	oscore-lab check -target udp://HOST:PORT -role server|forward-proxy|oscore-proxy|reverse-proxy
//	               [-context FILE|-context-aiocoap DIR|-context-libcoap FILE] [-resource /path]
//	               [-format text|json|junit|html] [-o FILE] [-only ID,...]
//	oscore-lab scenarios
//	oscore-lab version
//
// Exit codes: 0 success; 1 a scenario expectation failed (run), a MUST case
// failed (check) or the server failed; 2 bad usage or an invalid scenario.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Exit codes shared by every subcommand (docs/architecture.md, design contract).
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// usageError marks errors caused by the command line or an invalid scenario:
// they exit with code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

const topUsage = `oscore-lab: a lab and message tracer for OSCORE through proxies

Usage:
  oscore-lab [serve] [flags]   serve the browser lab (default: http://127.0.0.1:8080)
  oscore-lab run [flags]       run a scenario headless and print its trace
  oscore-lab check [flags]     run the conformance suite against another implementation
  oscore-lab scenarios         list the built-in scenarios
  oscore-lab version           print the version

Run 'oscore-lab COMMAND -h' for the flags of a command.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches a subcommand and maps its error to an exit code.
func run(args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = cmdServe(args, stdout, stderr)
	case "run":
		err = cmdRun(args, stdout, stderr)
	case "check":
		err = cmdCheck(args, stdout, stderr)
	case "scenarios":
		err = cmdScenarios(args, stdout, stderr)
	case "version":
		err = cmdVersion(args, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, topUsage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "oscore-lab: unknown command %q\n\n%s", cmd, topUsage)
		return exitUsage
	}
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errHelp):
		return exitOK
	case errors.As(err, new(usageError)):
		fmt.Fprintf(stderr, "oscore-lab %s: %v\n", cmd, err)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "oscore-lab %s: %v\n", cmd, err)
		return exitFailed
	}
}
