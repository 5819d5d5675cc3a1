package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aper-go/aper/cmd/aper/internal/rooms"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/quic"
	"github.com/aper-go/aper/transport/websocket"
)

// roomClient is a client of an example room.
type roomClient = apersync.Client[*rooms.Room, rooms.RoomTransition]

func client(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("client", "[flags] ROOM", stderr)
	tr := fs.String("transport", "ws", "ws (WebSocket) or quic")
	addr := fs.String("addr", "", "server address, HOST:PORT or a ws:// URL (default localhost:8080 for ws, localhost:8443 for quic)")
	certFile := fs.String("cert", filepath.Join("aper-data", certFileName), "the server's certificate, for quic")
	insecure := fs.Bool("insecure", false, "quic: do not verify the server's certificate")
	codec := fs.String("codec", "cbor", "ws: the codec, cbor or json")
	watch := fs.Bool("watch", false, "only print changes; ignore stdin")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("%w: aper client takes one ROOM", errUsage)
	}
	room := fs.Arg(0)
	kind, err := rooms.KindOf(room)
	if err != nil {
		return err
	}
	dialer, where, err := dialerFor(*tr, *addr, *certFile, *insecure, *codec)
	if err != nil {
		return err
	}
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	c, err := apersync.Dial[*rooms.Room, rooms.RoomTransition](dctx, dialer, room, apersync.WithBackoff(100*time.Millisecond, 2*time.Second))
	cancel()
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	defer c.Close()

	p := &printer{w: stdout, kind: kind}
	p.linef("connected to %s over %s as %s", room, where, c.ID())
	p.state(c)

	// The watcher prints what the server changes; it stops when done closes, before we return.
	done := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(done)
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			case <-c.Changes():
				p.state(c)
			case r, ok := <-c.Rejections():
				if !ok {
					return
				}
				p.linef("rejected: %v", r.Conflict)
				p.state(c)
			case <-c.StatusChanges():
				st := c.Status()
				if st.Err != nil {
					p.linef("status: %s (%v)", st.State, st.Err)
				} else {
					p.linef("status: %s", st.State)
				}
			}
		}
	})

	if *watch {
		select {
		case <-ctx.Done():
		case <-c.Done():
			return fmt.Errorf("client: %w", c.Status().Err)
		}
		return nil
	}
	lines := readLines(stdin) // its goroutine ends at the end of stdin
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-c.Done():
			return fmt.Errorf("client: stopped: %w", c.Status().Err)
		case line, ok := <-lines:
			if !ok {
				return syncAndReport(ctx, c, p)
			}
			quit, err := command(ctx, c, kind, p, line)
			switch {
			case errors.Is(err, rooms.ErrUsage):
				// A line that is no command: what was expected, without the marker.
				p.linef("usage: %s", strings.TrimPrefix(err.Error(), rooms.ErrUsage.Error()+": "))
			case err != nil:
				p.linef("error: %v", err)
			}
			if quit {
				return syncAndReport(ctx, c, p)
			}
		}
	}
}

// command runs one line of stdin. It reports whether the client should quit.
func command(ctx context.Context, c *roomClient, kind rooms.Kind, p *printer, line string) (bool, error) {
	switch strings.TrimSpace(line) {
	case "":
		return false, nil
	case "quit", "exit":
		return true, nil
	case "show":
		p.force(c)
		return false, nil
	case "sync":
		return false, syncAndReport(ctx, c, p)
	case "help":
		p.linef("%s\nshow, sync, help, quit", rooms.Help(kind))
		return false, nil
	}
	t, err := rooms.Parse(kind, c.State(), line)
	if err != nil {
		return false, err
	}
	return false, p.apply(c, t)
}

func syncAndReport(ctx context.Context, c *roomClient, p *printer) error {
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.Sync(sctx); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	p.state(c)
	p.linef("synced seq=%d", c.Seq())
	return nil
}

// readLines sends the lines of r on the channel it returns, closed at the end of r. Its
// goroutine ends at the end of r (or with the process, for a terminal nobody closes).
func readLines(r io.Reader) <-chan string {
	ch := make(chan string)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			ch <- sc.Text()
		}
	}()
	return ch
}

// printer writes the client's lines from its two goroutines, and the state only when it changed.
// The main goroutine applies through it (apply), so that no Apply runs while it reads a state.
type printer struct {
	mu   sync.Mutex
	w    io.Writer
	kind rooms.Kind
	last string
}

func (p *printer) linef(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format+"\n", args...)
}

// state prints "state seq=N: VALUE" unless it is what it printed last.
func (p *printer) state(c *roomClient) { p.printState(c, false) }

// force prints the state even if unchanged.
func (p *printer) force(c *roomClient) { p.printState(c, true) }

// apply applies t and prints the state it leads to.
func (p *printer) apply(c *roomClient, t rooms.RoomTransition) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := c.Apply(t); err != nil {
		return err
	}
	p.printLocked(c, false)
	return nil
}

func (p *printer) printState(c clientView, force bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.printLocked(c, force)
}

// snapshot reads the client's seq, state and pending count as one moment of it. They are three
// calls, and the server's frames change them in between; but with our own Apply held off (by
// p.mu), the server can only raise the seq (a confirmation, another client's transition, a
// snapshot) or lower the pending count (a confirmation, a rejection). So if neither moved from
// before State to after it, the state is the one of that seq and count.
func snapshot(c clientView) (seq uint64, st *rooms.Room, pending int) {
	for {
		seq, pending = c.Seq(), c.Pending()
		st = c.State()
		if c.Seq() == seq && c.Pending() == pending {
			return seq, st, pending
		}
	}
}

// clientView is what the printer reads of a client (a *roomClient; tests script one).
type clientView interface {
	Seq() uint64
	State() *rooms.Room
	Pending() int
}

func (p *printer) printLocked(c clientView, force bool) {
	seq, st, pending := snapshot(c)
	line := fmt.Sprintf("state seq=%d: %s", seq, rooms.Describe(p.kind, st))
	if pending > 0 {
		line += fmt.Sprintf(" (%d pending)", pending)
	}
	if line == p.last && !force {
		return
	}
	p.last = line
	fmt.Fprintln(p.w, line)
}

// dialerFor returns a dialer for the transport named tr and a description of where it dials.
func dialerFor(tr, addr, certFile string, insecure bool, codec string) (transport.Dialer, string, error) {
	newDialer, where, err := dialers(tr, addr, certFile, insecure, codec)
	if err != nil {
		return nil, "", err
	}
	return newDialer(), where, nil
}

// dialers is dialerFor for many clients: it returns a function that makes a new dialer each
// time, with the certificate read once.
func dialers(tr, addr, certFile string, insecure bool, codec string) (func() transport.Dialer, string, error) {
	switch tr {
	case "ws", "websocket":
		if addr == "" {
			addr = "localhost:8080"
		}
		u := addr
		if !strings.HasPrefix(u, "ws://") && !strings.HasPrefix(u, "wss://") {
			u = "ws://" + addr + wsPath
		}
		if codec != "cbor" && codec != "json" {
			return nil, "", fmt.Errorf("%w: -codec %q: want cbor or json", errUsage, codec)
		}
		return func() transport.Dialer { return websocket.Dialer(u, &websocket.DialOptions{Codec: codec}) }, u, nil
	case "quic":
		if addr == "" {
			addr = "localhost:8443"
		}
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, "", fmt.Errorf("%w: -addr %q: %v", errUsage, addr, err)
		}
		conf := &tls.Config{ServerName: host, NextProtos: []string{quic.ALPN}, MinVersion: tls.VersionTLS13}
		if insecure {
			conf.InsecureSkipVerify = true
		} else {
			pemBytes, err := os.ReadFile(certFile)
			if err != nil {
				return nil, "", fmt.Errorf("quic needs the server's certificate (-cert, or -insecure): %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pemBytes) {
				return nil, "", errors.New("quic: -cert " + certFile + " holds no PEM certificate")
			}
			conf.RootCAs = pool
		}
		return func() transport.Dialer { return quic.Dialer(addr, conf.Clone(), nil) }, "quic://" + addr, nil
	}
	return nil, "", fmt.Errorf("%w: -transport %q: want ws or quic", errUsage, tr)
}
