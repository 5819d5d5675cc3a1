package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// server runs runServer on a loopback port with its data in dir, and returns its address and a
// stop function that returns runServer's error.
func server(t *testing.T, dir string) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- runServer(ctx, "127.0.0.1:0", dir, func(a net.Addr) { addrs <- a }) }()
	select {
	case a := <-addrs:
		return a.String(), func() error { cancel(); return <-done }
	case err := <-done:
		cancel()
		t.Fatalf("the server did not start: %v", err)
	}
	return "", nil
}

// The counter is kept in the journal where aper serve keeps its own, and goes on from there
// after a restart.
func TestServerKeepsRoomsInTheJournal(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, want := range []string{"ordered: 1", "ordered: 2"} {
		addr, stop := server(t, dir)
		var out strings.Builder
		if err := runClient(ctx, "ws://"+addr+"/aper", &out); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), want) {
			t.Fatalf("the client printed %q, want %q", out.String(), want)
		}
		if err := stop(); err != nil {
			t.Fatalf("stop: %v", err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "journal")); err != nil {
		t.Fatalf("no journal where aper serve keeps it: %v", err)
	}
}

// A port in use is an error from runServer, not a server that never answers.
func TestServerReportsAPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = runServer(ctx, l.Addr().String(), t.TempDir(), func(net.Addr) { t.Error("ready on a port in use") })
	if err == nil {
		t.Fatalf("runServer on a port in use: %v", err)
	}
}
