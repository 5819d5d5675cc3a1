package sync_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	stdsync "sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aper-go/aper"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/memory"
)

// logRecorder is a slog.Handler that keeps each record as one line: message and attributes.
type logRecorder struct {
	mu    stdsync.Mutex
	lines []string
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logRecorder) WithGroup(string) slog.Handler            { return h }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	line := r.Message
	r.Attrs(func(a slog.Attr) bool {
		line += " " + a.String()
		return true
	})
	h.mu.Lock()
	h.lines = append(h.lines, line)
	h.mu.Unlock()
	return nil
}

// find returns the first line that holds every one of parts, or "".
func (h *logRecorder) find(parts ...string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
next:
	for _, l := range h.lines {
		for _, p := range parts {
			if !strings.Contains(l, p) {
				continue next
			}
		}
		return l
	}
	return ""
}

// gatedListener hands out a first connection whose sends, after the first pass of them, wait
// until the test opens its gate: a peer that stops reading, for as long as a test likes.
type gatedListener struct {
	transport.Listener
	pass     int
	accepted chan *gatedConn
	once     stdsync.Once
}

func (l *gatedListener) Accept(ctx context.Context) (transport.Conn, error) {
	c, err := l.Listener.Accept(ctx)
	if err != nil {
		return nil, err
	}
	out := c
	l.once.Do(func() {
		gc := &gatedConn{Conn: c, pass: l.pass, gate: make(chan struct{}), attempt: make(chan struct{}, 1)}
		l.accepted <- gc
		out = gc
	})
	return out, nil
}

type gatedConn struct {
	transport.Conn
	mu      stdsync.Mutex
	pass    int
	gate    chan struct{}
	once    stdsync.Once
	attempt chan struct{} // signalled when a send waits at the gate
}

func (c *gatedConn) open() { c.once.Do(func() { close(c.gate) }) }

func (c *gatedConn) Send(ctx context.Context, b []byte) error {
	c.mu.Lock()
	free := c.pass > 0
	c.pass--
	c.mu.Unlock()
	if !free {
		select {
		case c.attempt <- struct{}{}:
		default:
		}
		select {
		case <-c.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return c.Conn.Send(ctx, b)
}

// A submission so bad that it ends the connection, read before the room has processed the
// client's join: the error frame that says why reaches the client, even though the welcome comes
// after it (the welcome, pushed onto a queue that is closing, is dropped; it used to cut the
// connection and, half the time, the error frame with it).
func TestErrorBeforeTheJoinReachesTheClient(t *testing.T) {
	release := make(chan struct{})
	srv, err := apersync.NewServer(func(ctx context.Context, room string) (*cmap, error) {
		<-release // the room loads slowly: the join waits in its inbox
		return aper.NewMap[string, *aper.Counter, aper.CounterTransition](), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	n := memory.NewNetwork(nil)
	t.Cleanup(func() { n.Close() })
	ml, _ := n.Listen("server")
	l := &gatedListener{Listener: ml, accepted: make(chan *gatedConn, 1)}
	serve(t, srv, l)

	p := dialRaw(t, n, "r", nil)
	gc := <-l.accepted
	p.send(map[uint64]any{1: 3, 7: 0}) // a submit of local seq 0: a protocol error
	<-gc.attempt                       // the writer is sending the error frame

	close(release)
	for range 2 { // the room has processed the join and delivered its welcome
		if _, _, err := srv.Snapshot(ctxT(t), "r"); err != nil {
			t.Fatal(err)
		}
	}
	gc.open()
	f := p.awaitError()
	if code, _ := f[14].(string); code != "protocol" {
		t.Fatalf("error frame %v, want code protocol", f)
	}
}

// A client that falls too far behind is told so: the error frame of code "overflow" jumps its
// queue, its Client reports it (a *ServerError) and reconnects, and the server logs the same
// reason.
func TestOverflowTellsTheClientWhy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memory.NewNetwork(nil)
		t.Cleanup(func() { n.Close() })
		ml, _ := n.Listen("server")
		l := &gatedListener{Listener: ml, pass: 1, accepted: make(chan *gatedConn, 1)}
		logs := &logRecorder{}
		srv := newMapServer(t, apersync.WithQueueLimit(8), apersync.WithLogger(slog.New(logs)))
		serve(t, srv, l)

		slow := dial(t, n.Dialer("server"), "r") // its sends after the welcome wait at the gate
		gc := <-l.accepted
		a := dial(t, n.Dialer("server"), "r")
		mustApply(t, a, m.Set("x", aper.NewCounter(0)))
		for range 50 {
			mustApply(t, a, m.Update("x", add(1)))
			if err := a.Sync(ctxT(t)); err != nil {
				t.Fatal(err)
			}
		}
		gc.open() // the slow client reads again
		st := waitState(t, slow, apersync.Disconnected)
		var se *apersync.ServerError
		if !errors.As(st.Err, &se) || se.Code != "overflow" || se.Fatal {
			t.Fatalf("slow client disconnected with %v, want a non-fatal *ServerError of code overflow", st.Err)
		}
		synctest.Wait() // the server's side of the connection has ended
		if l := logs.find("connection ended by the server", "overflow"); l == "" {
			t.Fatalf("no log line with the overflow; the log:\n%s", strings.Join(logs.lines, "\n"))
		}
		if seq := quiesce(t, srv, "r", a, slow); seq != 51 {
			t.Fatalf("seq %d", seq)
		}
	})
}

// A frame for a client that is over the message limit (a confirmed transition a little larger
// than the submit that carried it) is reported to every client it was for, with code
// "too-large", and logged; their next connection asks for a snapshot, which goes round the
// frame, instead of resuming into it again and again.
func TestFrameTooLargeIsReportedAndGoneRound(t *testing.T) {
	n := memory.NewNetwork(nil)
	t.Cleanup(func() { n.Close() })
	l, _ := n.Listen("server")
	logs := &logRecorder{}
	srv := newBlobServer(t, 0, apersync.WithLogger(slog.New(logs)))
	serveBlob(t, srv, l)
	opts := apersync.WithBackoff(time.Millisecond, 10*time.Millisecond)
	a, err := apersync.Dial[*blob, blobT](ctxT(t), n.Dialer("server"), "r", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := apersync.Dial[*blob, blobT](ctxT(t), n.Dialer("server"), "r", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	// The submit fits the message limit; the confirmed frame, with the sender's id, Seq and
	// time, does not.
	if err := a.Apply(blobT{Append: bigString(transport.DefaultMaxMessageSize - 30)}); err != nil {
		t.Fatal(err)
	}
	var reasons []error
	for {
		st := b.Status()
		if st.State == apersync.Disconnected {
			reasons = append(reasons, st.Err)
			break
		}
		select {
		case <-b.StatusChanges():
		case <-time.After(waitLimit):
			t.Fatal("b was not cut")
		}
	}
	var se *apersync.ServerError
	if !errors.As(reasons[0], &se) || se.Code != "too-large" {
		t.Fatalf("b disconnected with %v, want a *ServerError of code too-large", reasons[0])
	}
	waitSeq(t, a, 1)
	waitSeq(t, b, 1)
	checkBlob(t, srv, "r", a)
	checkBlob(t, srv, "r", b)
	if l := logs.find("connection ended by the server", "too-large"); l == "" {
		t.Fatalf("no log line with the reason; the log:\n%s", strings.Join(logs.lines, "\n"))
	}
}
