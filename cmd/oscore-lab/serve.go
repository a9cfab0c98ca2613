package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"oscore-lab/internal/nodes"
	"oscore-lab/internal/trace"
	"oscore-lab/web"
)

// defaultScenario is what the lab shows on a fresh start: the draft's example
// with three layers on the first leg (B.3), the richest single-proxy figure.
const defaultScenario = "draft-b3"

func cmdServe(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "serve [-addr 127.0.0.1:8080] [-expose] [-allow-host NAME,...] [-random-ids] [-scenario NAME|FILE] [-state FILE [-state-step K]]", stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to serve the lab on")
	expose := fs.Bool("expose", false, "serve on a non-loopback -addr although the API and the page carry the scenario's master secrets")
	allowHosts := fs.String("allow-host", "", "comma-separated host names or addresses the page may be reached by, besides loopback and the -addr host")
	randomIDs := fs.Bool("random-ids", false, "random tokens and first Message ID (crypto/rand) instead of ones seeded by the scenario's name, the same on every run")
	name := fs.String("scenario", defaultScenario, "built-in scenario name or scenario file to start with")
	state, step := stateFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	hosts, err := exposure(*addr, *expose, stderr)
	if err != nil {
		return err
	}
	for _, h := range strings.Split(*allowHosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	s, err := loadScenario(*name)
	if err != nil {
		return err
	}

	bus := trace.NewBus(0)
	lab := nodes.NewLab(bus)
	lab.RandomIDs(*randomIDs)
	defer lab.Close()
	if err := useState(lab, *state, *step); err != nil {
		return err
	}
	if err := lab.Load(s); err != nil {
		return fmt.Errorf("starting scenario %s: %w", s.Name, err)
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	// done ends the WebSockets: http.Server.Shutdown does not wait for them.
	done := make(chan struct{})
	srv := &http.Server{
		Handler:           web.NewServer(lab, bus, web.Options{Version: version, Done: done, AllowedHosts: hosts, Expose: *expose}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		close(done)
		shut, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()

	fmt.Fprintf(stdout, "oscore-lab: serving http://%s/ with scenario %s (%s)\n", ln.Addr(), s.Name, s.Title)
	for _, n := range lab.Nodes() {
		fmt.Fprintf(stdout, "  node %-4s %-8s coap://%s\n", n.ID, n.Role, n.Addr)
	}
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// exposure checks -addr: a loopback address serves this machine alone and
// needs nothing. Any other address serves everyone who can reach it the
// page, /api/scenario and /ws, which carry the scenario's master secrets,
// and /api/trace?include_secrets=1, which carries the derived keys too: it
// takes -expose, and then a warning. It returns the hosts the page may be
// reached by besides loopback: the -addr host, or for a wildcard address
// every address of this machine.
func exposure(addr string, expose bool, stderr io.Writer) ([]string, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, usagef("-addr %q: %v", addr, err)
	}
	var ips []net.IP
	wildcard := host == ""
	if !wildcard {
		if ip := net.ParseIP(host); ip != nil {
			wildcard = ip.IsUnspecified()
			ips = append(ips, ip)
		} else if resolved, err := net.LookupIP(host); err == nil {
			ips = resolved
		} else {
			return nil, usagef("-addr %q: %v", addr, err)
		}
	}
	loopback := !wildcard && len(ips) > 0
	for _, ip := range ips {
		loopback = loopback && ip.IsLoopback()
	}
	if loopback {
		return nil, nil
	}
	if !expose {
		return nil, usagef("-addr %s is reachable from other machines, and the lab's page and API carry the scenario's master secrets (and, with include_secrets, its keys): serve on 127.0.0.1, or pass -expose to accept that", addr)
	}
	fmt.Fprintf(stderr, "oscore-lab: WARNING: serving on %s: anyone who can reach it can read the scenario's master secrets and keys and change the lab\n", addr)
	var hosts []string
	if wildcard {
		if as, err := net.InterfaceAddrs(); err == nil {
			for _, a := range as {
				if n, ok := a.(*net.IPNet); ok {
					hosts = append(hosts, n.IP.String())
				}
			}
		}
		return hosts, nil
	}
	return []string{host}, nil
}
