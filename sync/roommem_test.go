package sync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/memory"
	"github.com/aper-go/aper/transport/websocket"
)

// rawPeer is a bare protocol client for tests that need thousands of connections: a hello, at
// most one submit, and the frames that come back, with none of a Client's goroutines.
type rawPeer struct {
	conn transport.Conn
	w    *wire
}

// rawJoin connects to room as the client holding key, and waits for the welcome. A refusal is
// returned as the *ServerError it carries.
func rawJoin(ctx context.Context, d transport.Dialer, room, key string) (*rawPeer, error) {
	c, err := d.Dial(ctx)
	if err != nil {
		return nil, err
	}
	p := &rawPeer{conn: c, w: wireCBOR}
	if err := p.send(ctx, &frame{Type: frameHello, V: ProtocolVersion, Room: room, Key: key, Nonce: rand.Uint64(), Attempt: 1}); err != nil {
		c.Close()
		return nil, err
	}
	if _, err := p.await(ctx, frameWelcome); err != nil {
		c.Close()
		return nil, err
	}
	return p, nil
}

func (p *rawPeer) send(ctx context.Context, f *frame) error {
	b, err := p.w.encode(f)
	if err != nil {
		return err
	}
	return p.conn.Send(ctx, b)
}

// await reads frames until one of type t, and returns it; an error frame is returned as a
// *ServerError.
func (p *rawPeer) await(ctx context.Context, t frameType) (*frame, error) {
	for {
		msg, err := p.conn.Recv(ctx)
		if err != nil {
			return nil, err
		}
		var got *frame
		err = p.w.decode(msg, func(f *frame) error {
			switch {
			case got != nil:
			case f.Type == frameError:
				return &ServerError{Code: f.Code, Message: f.Message, Fatal: f.Fatal}
			case f.Type == t:
				cp := *f
				got = &cp
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if got != nil {
			return got, nil
		}
	}
}

// submit sends transition t as local seq local and waits for its confirmation.
func submitRaw[T any](ctx context.Context, p *rawPeer, local uint64, t T) error {
	data, err := p.w.payload.Marshal(t)
	if err != nil {
		return err
	}
	if err := p.send(ctx, &frame{Type: frameSubmit, Local: local, Data: data}); err != nil {
		return err
	}
	f, err := p.await(ctx, frameConfirmed)
	if err == nil && f.Local != local {
		err = fmt.Errorf("confirmed local seq %d, want %d", f.Local, local)
	}
	return err
}

// liveMem returns the bytes of live heap objects and of goroutine stacks after a full
// collection.
func liveMem() (heap, stacks int64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc), int64(ms.StackInuse)
}

// An idle room (loaded, nobody connected) that holds one transition costs a few KiB besides its
// state, not the configured maximum of its resume log.
func TestIdleRoomMemory(t *testing.T) {
	const rooms = 400
	n := memory.NewNetwork(nil)
	defer n.Close()
	l, err := n.Listen("server")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(func(ctx context.Context, room string) (*aper.Counter, error) {
		return aper.NewCounter(0), nil
	}, WithRoomIdle(-1), WithMaxRooms(rooms+1))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), l) }()
	defer func() {
		srv.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fill := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			p, err := rawJoin(ctx, n.Dialer("server"), fmt.Sprintf("counter/%d", i), fmt.Sprintf("key-of-client-%08d", i))
			if err != nil {
				t.Fatal(err)
			}
			if err := submitRaw(ctx, p, 1, aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1}); err != nil {
				t.Fatal(err)
			}
			if err := leaveRaw(ctx, srv, p, fmt.Sprintf("counter/%d", i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	fill(0, 1) // the first room loads the code paths' own allocations
	heap0, stack0 := liveMem()
	fill(1, rooms+1)
	heap1, stack1 := liveMem()
	heap, stack := (heap1-heap0)/rooms, (stack1-stack0)/rooms
	per := heap + stack
	t.Logf("an idle room with one transition (a counter) costs %d bytes: %d of heap, %d of goroutine stack (%d rooms)", per, heap, stack, rooms)
	if per > maxIdleRoom {
		t.Errorf("an idle room with one transition costs %d bytes, want at most %d", per, maxIdleRoom)
	}
}

// maxIdleRoom is the bound TestIdleRoomMemory holds an idle room with one transition to.
const maxIdleRoom = 16 << 10

// leaveRaw ends p's connection from the server's side, so that the room has handled its leave
// when leaveRaw returns: p sends a second hello, a protocol error, and waits for the error frame,
// which the server sends after it passed the leave to the room; a Snapshot call, which goes
// through the room's inbox after it, returns once the room handled the leave.
func leaveRaw[S aper.StateMachine[S, T], T any](ctx context.Context, srv *Server[S, T], p *rawPeer, room string) error {
	defer p.conn.Close()
	if err := p.send(ctx, &frame{Type: frameHello, V: ProtocolVersion, Room: room}); err != nil {
		return err
	}
	var se *ServerError
	if _, err := p.await(ctx, frameWelcome); !errors.As(err, &se) || se.Code != codeProtocol {
		return fmt.Errorf("a second hello got %v, want a protocol error", err)
	}
	_, _, err := srv.Snapshot(ctx, room)
	return err
}

// The resume log grows as it fills, up to its maximum, keeps the latest transitions in order
// once full, and an idle room keeps only its latest idleLog of them.
func TestResumeLogGrows(t *testing.T) {
	r := newRoomCore("r", aper.NewCounter(0), roomConfig[*aper.Counter, aper.CounterTransition]{logSize: 64})
	if len(r.log) != 0 {
		t.Fatalf("a new room's log has %d entries allocated, want 0", len(r.log))
	}
	seqs := func() []uint64 {
		var s []uint64
		for i := range r.logLen {
			s = append(s, r.log[(r.logStart+i)%len(r.log)].ev.Seq)
		}
		return s
	}
	for seq := uint64(1); seq <= 100; seq++ {
		r.push(aper.Event[aper.CounterTransition]{Seq: seq}, "", 0)
		r.seq = seq
		if seq == 1 && len(r.log) != minLog {
			t.Fatalf("after one transition the log has %d entries allocated, want %d", len(r.log), minLog)
		}
		if want := min(int(seq), 64); r.logLen != want || len(r.log) > max(minLog, 2*want) {
			t.Fatalf("after %d transitions the log holds %d in %d, want %d", seq, r.logLen, len(r.log), want)
		}
	}
	got := seqs()
	if len(got) != 64 || got[0] != 37 || got[63] != 100 || !r.canResume(36) || r.canResume(35) {
		t.Fatalf("a full log holds %v", got)
	}
	r.trimLog()
	got = seqs()
	if len(r.log) != idleLog || len(got) != idleLog || got[0] != 100-idleLog+1 || got[idleLog-1] != 100 {
		t.Fatalf("a trimmed log holds %v in %d", got, len(r.log))
	}
	if !r.canResume(100-idleLog) || r.canResume(100-idleLog-1) {
		t.Fatal("a trimmed log resumes from the wrong place")
	}
	r.push(aper.Event[aper.CounterTransition]{Seq: 101}, "", 0)
	if got := seqs(); got[len(got)-1] != 101 || len(got) != idleLog+1 {
		t.Fatalf("after a trim and a push the log holds %v", got)
	}
}

// BenchmarkIdleConn reports what an idle connection costs (live heap and goroutine stacks),
// after its hello and welcome, with both ends in this process: bytes/conn through the sync
// server, transport-bytes/conn for the transport alone (the server side accepts and holds the
// connection, nothing more; the client side is the same), and their difference,
// server-bytes/conn, the sync server's own share.
func BenchmarkIdleConn(b *testing.B) {
	const conns = 500
	b.Run("memory", func(b *testing.B) {
		benchIdleConn(b, conns, func() (transport.Listener, transport.Dialer) {
			n := memory.NewNetwork(nil)
			b.Cleanup(func() { n.Close() })
			l, err := n.Listen("server")
			if err != nil {
				b.Fatal(err)
			}
			return l, n.Dialer("server")
		})
	})
	b.Run("websocket", func(b *testing.B) {
		benchIdleConn(b, conns, func() (transport.Listener, transport.Dialer) {
			l, err := websocket.Listen("127.0.0.1:0", nil)
			if err != nil {
				b.Fatal(err)
			}
			return l, websocket.Dialer("ws://"+l.Addr().String(), nil)
		})
	})
}

func benchIdleConn(b *testing.B, conns int, listen func() (transport.Listener, transport.Dialer)) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var total, bare idleCost
	for b.Loop() {
		total = total.add(idleConnCost(b, ctx, conns, true, listen))
		bare = bare.add(idleConnCost(b, ctx, conns, false, listen))
	}
	n := float64(b.N)
	b.ReportMetric(float64(total.heap+total.stack)/n, "bytes/conn")
	b.ReportMetric(float64(bare.heap+bare.stack)/n, "transport-bytes/conn")
	b.ReportMetric(float64(total.heap+total.stack-bare.heap-bare.stack)/n, "server-bytes/conn")
	b.ReportMetric(float64(total.heap-bare.heap)/n, "server-heap-bytes/conn")
	b.ReportMetric(float64(total.stack-bare.stack)/n, "server-stack-bytes/conn")
	b.ReportMetric((total.goroutines-bare.goroutines)/n, "server-goroutines/conn")
}

// idleCost is what one idle connection costs: live heap and goroutine stacks in bytes, and
// goroutines.
type idleCost struct {
	heap, stack int64
	goroutines  float64
}

func (c idleCost) add(d idleCost) idleCost {
	return idleCost{c.heap + d.heap, c.stack + d.stack, c.goroutines + d.goroutines}
}

// idleConnCost opens conns connections and returns what each costs once idle: through a sync
// server (a hello, and the welcome of a counter room) when viaServer, else through the transport
// alone.
func idleConnCost(b *testing.B, ctx context.Context, conns int, viaServer bool, listen func() (transport.Listener, transport.Dialer)) idleCost {
	l, d := listen()
	var held []transport.Conn
	var srv *Server[*aper.Counter, aper.CounterTransition]
	accepted := make(chan transport.Conn)
	done := make(chan struct{})
	if viaServer {
		var err error
		srv, err = NewServer(func(ctx context.Context, room string) (*aper.Counter, error) { return aper.NewCounter(0), nil })
		if err != nil {
			b.Fatal(err)
		}
		go func() { defer close(done); srv.Serve(ctx, l) }()
	} else {
		go func() {
			defer close(done)
			for {
				c, err := l.Accept(ctx)
				if err != nil {
					return
				}
				accepted <- c
			}
		}()
	}
	// One connection first, so that what is made once (the room, codec caches) is not counted.
	open := func(i int) transport.Conn {
		if viaServer {
			p, err := rawJoin(ctx, d, "counter/idle", fmt.Sprintf("key-of-idle-client-%08d", i))
			if err != nil {
				b.Fatal(err)
			}
			return p.conn
		}
		c, err := d.Dial(ctx)
		if err != nil {
			b.Fatal(err)
		}
		held = append(held, <-accepted)
		return c
	}
	clients := []transport.Conn{open(0)}
	heap0, stack0 := liveMem()
	g0 := runtime.NumGoroutine()
	for i := 1; i <= conns; i++ {
		clients = append(clients, open(i))
	}
	heap1, stack1 := liveMem()
	g1 := runtime.NumGoroutine()
	for _, c := range clients {
		c.Close()
	}
	for _, c := range held {
		c.Close()
	}
	if srv != nil {
		srv.Close()
	} else {
		l.Close()
	}
	<-done
	n := int64(conns)
	return idleCost{(heap1 - heap0) / n, (stack1 - stack0) / n, float64(g1-g0) / float64(n)}
}

// An idle connection holds one goroutine on the server, its reader: a writer runs only while
// the connection has frames to send, and ends once they are sent.
func TestIdleConnHoldsOnlyItsReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const conns = 20
		ctx := t.Context()
		n := memory.NewNetwork(nil)
		defer n.Close()
		l, err := n.Listen("server")
		if err != nil {
			t.Fatal(err)
		}
		srv, err := NewServer(func(ctx context.Context, room string) (*aper.Counter, error) { return aper.NewCounter(0), nil })
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		go srv.Serve(ctx, l)
		d := n.Dialer("server")
		join := func(i int) *rawPeer {
			p, err := rawJoin(ctx, d, "counter/idle", fmt.Sprintf("key-of-idle-client-%08d", i))
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		// One connection first, so that the room's goroutines are not counted.
		peers := []*rawPeer{join(0)}
		synctest.Wait()
		g0 := bubbleGoroutines(t)
		for i := 1; i <= conns; i++ {
			peers = append(peers, join(i))
		}
		idle := func(when string) {
			t.Helper()
			synctest.Wait()
			if got := bubbleGoroutines(t) - g0; got != conns {
				t.Fatalf("%s, %d idle connections hold %d goroutines on the server, want %d", when, conns, got, conns)
			}
		}
		idle("after their welcome")

		// A transition reaches every connection, and their writers end again.
		if err := submitRaw(ctx, peers[0], 1, aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1}); err != nil {
			t.Fatal(err)
		}
		for _, p := range peers[1:] {
			if f, err := p.await(ctx, frameConfirmed); err != nil || f.Seq != 1 {
				t.Fatalf("an idle connection got %+v, %v, want the transition of seq 1", f, err)
			}
		}
		idle("after a transition")
		for _, p := range peers {
			p.conn.Close()
		}
	})
}

// bubbleGoroutines counts the goroutines of the synctest bubble of the calling goroutine (not
// the process's, whose other tests' goroutines may come and go meanwhile).
func bubbleGoroutines(t *testing.T) int {
	buf := make([]byte, 1<<10)
	buf = buf[:runtime.Stack(buf, false)]
	header, _, _ := bytes.Cut(buf, []byte("\n"))
	_, bubble, ok := bytes.Cut(header, []byte(", synctest bubble "))
	if !ok {
		t.Fatalf("not in a synctest bubble: %q", header)
	}
	bubble, _, _ = bytes.Cut(bubble, []byte("]"))
	for size := 1 << 20; ; size *= 2 {
		buf = make([]byte, size)
		if n := runtime.Stack(buf, true); n < size {
			buf = buf[:n]
			break
		}
	}
	n := 0
	for line := range bytes.Lines(buf) {
		if bytes.HasPrefix(line, []byte("goroutine ")) && bytes.Contains(line, []byte(", synctest bubble "+string(bubble)+"]")) {
			n++
		}
	}
	return n
}
