// Command embedded is the README's "Embed it in your own Go server": counter rooms served on
// your own HTTP mux, kept in a journal where aper serve keeps its own (aper-data/journal), and a
// client that adds to one.
//
// Run it from the repository root, the server in one terminal and the client in another:
//
//	go run ./examples/embedded            # serves ws://localhost:8080/aper until Ctrl-C
//	go run ./examples/embedded -client    # adds 1 to room "lobby" and prints the counter
//
// Stop the server and start it again: the counter goes on from where it was.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/journal"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport/websocket"
)

func main() {
	addr := flag.String("addr", "localhost:8080", "the server's TCP address")
	data := flag.String("data", "aper-data", "the server's data folder; its journal is in journal/")
	client := flag.Bool("client", false, "run the client instead of the server")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if *client {
		err = runClient(ctx, "ws://"+*addr+"/aper", os.Stdout)
	} else {
		err = runServer(ctx, *addr, *data, func(a net.Addr) { fmt.Printf("serving ws://%s/aper\n", a) })
	}
	if err != nil {
		log.Fatal(err)
	}
}

// runServer serves counter rooms over WebSocket at addr until ctx ends, keeping them in the
// journal in dataDir. ready, if not nil, is called with the address once it listens.
func runServer(ctx context.Context, addr, dataDir string, ready func(net.Addr)) error {
	// Rooms survive restarts; without WithJournal they live in memory.
	j, err := journal.Open(filepath.Join(dataDir, "journal"), nil) // where aper serve keeps it
	if err != nil {
		return err
	}
	defer j.Close()
	srv, err := apersync.NewServer(func(ctx context.Context, room string) (*aper.Counter, error) {
		return aper.NewCounter(0), nil // each room gets its own state machine
	}, apersync.WithJournal(j))
	if err != nil {
		return err
	}
	defer srv.Close()
	mux := http.NewServeMux()
	mux.Handle("/aper", srv) // WebSocket; or srv.Serve(ctx, listener) for any transport

	l, err := net.Listen("tcp", addr) // a port in use fails here, not unseen in a goroutine
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(l) }() // ends with Shutdown below, or on its own error
	if ready != nil {
		ready(l.Addr())
	}
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil { // lets rooms finish what their clients sent
		return err
	}
	if err := hs.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// runClient adds 1 to the counter of room "lobby" on the server at url and prints the value once
// the server has ordered it.
func runClient(ctx context.Context, url string, w io.Writer) error {
	c, err := apersync.Dial[*aper.Counter, aper.CounterTransition](ctx, websocket.Dialer(url, nil), "lobby")
	if err != nil {
		return err
	}
	defer c.Close()
	var counter *aper.Counter // builds transitions
	if err := c.Apply(counter.Add(1)); err != nil {
		return err
	}
	fmt.Fprintln(w, "at once:", c.State().Value()) // the optimistic view
	if err := c.Sync(ctx); err != nil {            // until the server has ordered it
		return err
	}
	fmt.Fprintln(w, "ordered:", c.State().Value())
	// c.Changes() signals others' changes, rebases and confirmations; c.Rejections() delivers
	// your transitions that the server refused, each with its conflict.
	return nil
}
