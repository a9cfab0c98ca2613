package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/signal"
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
	fs := newFlagSet("serve", "serve [-addr 127.0.0.1:8080] [-scenario NAME|FILE]", stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to serve the lab on")
	name := fs.String("scenario", defaultScenario, "built-in scenario name or scenario file to start with")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	s, err := loadScenario(*name)
	if err != nil {
		return err
	}

	bus := trace.NewBus(0)
	lab := nodes.NewLab(bus)
	defer lab.Close()
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
		Handler:           web.NewServer(lab, bus, web.Options{Version: version, Done: done}),
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
