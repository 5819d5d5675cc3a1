package sync_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/aper-go/aper"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/memory"
	"github.com/aper-go/aper/transport/quic"
	"github.com/aper-go/aper/transport/websocket"
	"github.com/fxamacker/cbor/v2"
)

// blob is a state as large as a test wants: one string, appended to.
type blob struct {
	Data string `json:"data" cbor:"1,keyasint"`
}

type blobT struct {
	Append string `json:"append" cbor:"1,keyasint"`
}

func (b *blob) Apply(ev aper.Event[blobT]) error {
	b.Data += ev.Transition.Append
	return nil
}

func (b *blob) Clone() *blob {
	c := *b
	return &c
}

type blobClient = apersync.Client[*blob, blobT]

// bigString returns n bytes of text that encodes alike in JSON and CBOR (n plus a few bytes).
func bigString(n int) string {
	const pattern = "the quick brown fox jumps over the lazy dog 0123456789 "
	return strings.Repeat(pattern, n/len(pattern)+1)[:n]
}

// newBlobServer returns a server whose rooms start as size bytes of text.
func newBlobServer(t testing.TB, size int, opts ...apersync.ServerOption) *apersync.Server[*blob, blobT] {
	t.Helper()
	data := bigString(size)
	srv, err := apersync.NewServer(func(ctx context.Context, room string) (*blob, error) {
		return &blob{Data: data}, nil
	}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func serveBlob(t testing.TB, srv *apersync.Server[*blob, blobT], l transport.Listener) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), l) }()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
}

// checkBlob checks that c holds the server's state of room.
func checkBlob(t testing.TB, srv *apersync.Server[*blob, blobT], room string, c *blobClient) {
	t.Helper()
	want, seq, err := srv.Snapshot(ctxT(t), room)
	if err != nil {
		t.Fatal(err)
	}
	if c.Seq() != seq {
		t.Fatalf("client at seq %d, server at %d", c.Seq(), seq)
	}
	if got := c.State().Data; got != want.Data {
		t.Fatalf("client holds %d bytes, server %d: they differ", len(got), len(want.Data))
	}
}

// A room whose state is far larger than a message (50 MB without the race detector) is joined
// over WebSocket (JSON and CBOR) and QUIC with the default limits, and the clients then work
// as in any room.
func TestLargeRoomJoins(t *testing.T) {
	srv := newBlobServer(t, bigRoomSize)
	wl, err := websocket.Listen("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	serveBlob(t, srv, wl)
	stls, ctls, err := quic.SelfSigned("localhost")
	if err != nil {
		t.Fatal(err)
	}
	ql, err := quic.Listen("127.0.0.1:0", stls, nil)
	if err != nil {
		t.Fatal(err)
	}
	serveBlob(t, srv, ql)
	url := "ws://" + wl.Addr().String()
	for _, tc := range []struct {
		name string
		d    transport.Dialer
	}{
		{"websocket-json", websocket.Dialer(url, &websocket.DialOptions{Codec: "json"})},
		{"websocket-cbor", websocket.Dialer(url, &websocket.DialOptions{Codec: "cbor"})},
		{"quic", quic.Dialer(ql.Addr().String(), ctls.Clone(), nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := apersync.Dial[*blob, blobT](ctxT(t), tc.d, "big")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got := len(c.State().Data); got < bigRoomSize {
				t.Fatalf("joined with %d bytes of state, want at least %d", got, bigRoomSize)
			}
			if err := c.Apply(blobT{Append: tc.name}); err != nil {
				t.Fatal(err)
			}
			if err := c.Sync(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			checkBlob(t, srv, "big", c)
		})
	}
}

// liveHeap returns the bytes of live heap objects, after a collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// Ten clients that join a large room at once share one encoding of its snapshot: while all ten
// are halfway through (readers that stopped reading: as slow as can be), the server holds about
// one snapshot more than before, not ten.
func TestTenJoinersShareOneSnapshot(t *testing.T) {
	srv := newBlobServer(t, bigRoomSize)
	wl, err := websocket.Listen("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	serveBlob(t, srv, wl)
	url := "ws://" + wl.Addr().String()
	if _, _, err := srv.Snapshot(ctxT(t), "big"); err != nil { // load the room
		t.Fatal(err)
	}
	base := liveHeap()

	const joiners = 10
	halfway := make(chan int, joiners) // each joiner's snapshot size, once it has half of it
	resume := make(chan struct{})
	errs := make(chan error, joiners)
	for range joiners {
		go func() { errs <- rawJoin(ctxT(t), url, halfway, resume) }()
	}
	size := 0
	for range joiners {
		select {
		case size = <-halfway:
		case err := <-errs:
			t.Fatal(err)
		}
	}
	peak := liveHeap()
	close(resume)
	for range joiners {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	extra := int64(peak) - int64(base)
	t.Logf("live heap with %d joiners halfway through a %d-byte snapshot: %d bytes over the loaded room (%.2f snapshots)",
		joiners, size, extra, float64(extra)/float64(size))
	// Ten copies would be ten snapshots; allow one, plus a generous 2 MiB per connection for the
	// transports' buffers (both ends are in this process).
	if limit := int64(2*size + joiners*(2<<20)); extra > limit {
		t.Fatalf("%d bytes of live heap for %d joiners of a %d-byte snapshot, want at most %d", extra, joiners, size, limit)
	}
}

// rawJoin joins room "big" over a CBOR WebSocket, reads half of the chunked snapshot, reports
// its size on halfway, waits for resume and reads the rest, checking offsets and length.
func rawJoin(ctx context.Context, url string, halfway chan<- int, resume <-chan struct{}) error {
	c, err := websocket.Dial(ctx, url, &websocket.DialOptions{Codec: "cbor"})
	if err != nil {
		return err
	}
	defer c.Close()
	h, _ := cbor.Marshal(map[int]any{1: 1, 2: apersync.ProtocolVersion, 3: "big", 19: rawKey()})
	if err := c.Send(ctx, h); err != nil {
		return err
	}
	var (
		size, got uint64
		said      bool
	)
	for size == 0 || got < size {
		msg, err := c.Recv(ctx)
		if err != nil {
			return err
		}
		for rest := msg; len(rest) > 0; {
			var f struct {
				Type  uint64 `cbor:"1,keyasint"`
				Size  uint64 `cbor:"24,keyasint"`
				Off   uint64 `cbor:"25,keyasint"`
				Chunk []byte `cbor:"27,keyasint"`
			}
			if rest, err = cbor.UnmarshalFirst(rest, &f); err != nil {
				return err
			}
			switch f.Type {
			case 2:
				if f.Size == 0 {
					return errors.New("the welcome is not chunked")
				}
				size = f.Size
			case 10:
				if f.Off != got {
					return fmt.Errorf("chunk at %d, want %d", f.Off, got)
				}
				got += uint64(len(f.Chunk))
			default:
				return fmt.Errorf("frame of type %d during the transfer", f.Type)
			}
		}
		if !said && got >= size/2 {
			said = true
			halfway <- int(size)
			<-resume
		}
	}
	if got != size {
		return fmt.Errorf("%d bytes of a %d-byte snapshot", got, size)
	}
	return nil
}

// dropDialer dials through d and lets a test watch and cut each connection's incoming frames.
type dropDialer struct {
	d transport.Dialer
	// watch is called with the index of the connection (from 0) and each frame it receives
	// (its CBOR fields); true cuts the connection before the frame is delivered.
	watch func(conn int, f map[uint64]any) bool
	mu    stdsync.Mutex
	conns int
}

func (d *dropDialer) Dial(ctx context.Context) (transport.Conn, error) {
	c, err := d.d.Dial(ctx)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	i := d.conns
	d.conns++
	d.mu.Unlock()
	return &watchedConn{Conn: c, i: i, d: d}, nil
}

type watchedConn struct {
	transport.Conn
	i int
	d *dropDialer
}

func (c *watchedConn) Recv(ctx context.Context) ([]byte, error) {
	msg, err := c.Conn.Recv(ctx)
	if err != nil {
		return nil, err
	}
	for rest := msg; len(rest) > 0; {
		var f map[uint64]any
		if rest, err = cbor.UnmarshalFirst(rest, &f); err != nil {
			return nil, err
		}
		if c.d.watch(c.i, f) {
			c.Conn.Close()
			return nil, fmt.Errorf("test: connection cut: %w", net.ErrClosed)
		}
	}
	return msg, nil
}

// A connection that drops in the middle of a chunked snapshot: the next one goes on from the
// bytes the client has, it does not start over.
func TestSnapshotTransferResumes(t *testing.T) {
	const size = 3 << 20 // twelve chunks of 256 KiB
	n := memory.NewNetwork(nil)
	t.Cleanup(func() { n.Close() })
	l, err := n.Listen("server")
	if err != nil {
		t.Fatal(err)
	}
	srv := newBlobServer(t, 0, apersync.WithResumeLog(1))
	serveBlob(t, srv, l)

	var (
		mu        stdsync.Mutex
		chunks    = map[int]int{}    // chunk frames per connection
		bytesIn   = map[int]uint64{} // snapshot bytes per connection
		welcomeAt = map[int]uint64{} // the offset each connection's chunked welcome starts at
		sizeOf    uint64
	)
	const cutAfter = 4
	dd := &dropDialer{d: n.DialerWith("server", &memory.DialOptions{From: "alice"}), watch: func(conn int, f map[uint64]any) bool {
		mu.Lock()
		defer mu.Unlock()
		switch num(f[1]) {
		case 2:
			if s := num(f[24]); s > 0 {
				welcomeAt[conn], sizeOf = num(f[25]), s
			}
		case 10:
			if conn == 1 && chunks[conn] == cutAfter {
				return true // the second connection breaks after four chunks
			}
			chunks[conn]++
			bytesIn[conn] += uint64(len(f[27].([]byte)))
		}
		return false
	}}
	a, err := apersync.Dial[*blob, blobT](ctxT(t), dd, "r", apersync.WithBackoff(time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()

	// While a is away, the room grows past one message and past the resume log: its next
	// connection gets a snapshot.
	n.Partition("alice", "server", memory.Hold)
	n.Disconnect("alice")
	b, err := apersync.Dial[*blob, blobT](ctxT(t), n.Dialer("server"), "r")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	piece := bigString(size / 4)
	for range 4 {
		if err := b.Apply(blobT{Append: piece}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Sync(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	n.Heal("alice", "server")
	waitSeq(t, a, 4)
	checkBlob(t, srv, "r", a)

	mu.Lock()
	defer mu.Unlock()
	if dd.conns != 3 {
		t.Fatalf("%d connections, want 3 (the first, the one cut, the one that resumed)", dd.conns)
	}
	chunk := bytesIn[1] / cutAfter
	if welcomeAt[1] != 0 || welcomeAt[2] != cutAfter*chunk {
		t.Fatalf("the transfers started at bytes %d and %d, want 0 and %d", welcomeAt[1], welcomeAt[2], cutAfter*chunk)
	}
	if bytesIn[1]+bytesIn[2] != sizeOf {
		t.Fatalf("%d + %d bytes received of a %d-byte snapshot: the transfer started over", bytesIn[1], bytesIn[2], sizeOf)
	}
	t.Logf("%d-byte snapshot: %d bytes on the cut connection, %d on the next", sizeOf, bytesIn[1], bytesIn[2])
}
