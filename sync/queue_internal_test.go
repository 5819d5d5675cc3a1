package sync

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"
)

// sinkConn is a transport.Conn that keeps a copy of each message sent.
type sinkConn struct{ msgs [][]byte }

func (c *sinkConn) Send(_ context.Context, b []byte) error {
	c.msgs = append(c.msgs, bytes.Clone(b))
	return nil
}
func (c *sinkConn) Recv(ctx context.Context) ([]byte, error) { <-ctx.Done(); return nil, ctx.Err() }
func (c *sinkConn) Close() error                             { return nil }

// coalesce is the naive reference of a writer's coalescing: frames joined in order (with a
// newline between JSON frames), a new message whenever the next frame would pass the limit.
func coalesce(w *wire, frames [][]byte, limit int) [][]byte {
	var out [][]byte
	var msg []byte
	for _, f := range frames {
		if len(msg) > 0 && len(msg)+len(f)+1 > limit {
			out, msg = append(out, msg), nil
		}
		if w == wireJSON && len(msg) > 0 {
			msg = append(msg, '\n')
		}
		msg = append(msg, f...)
	}
	if len(msg) > 0 {
		out = append(out, msg)
	}
	return out
}

// A writer sends the frames queued as the naive coalescing does, for batches of frames of any
// size under either wire, and makes one allocation for a batch that fits one message (a new
// writer's buffer reserved at once, not grown frame by frame).
func TestWriterCoalescesAndReserves(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 15))
	for _, w := range []*wire{wireCBOR, wireJSON} {
		for range 200 {
			limit := 64 + r.IntN(2000)
			var frames [][]byte
			for range r.IntN(40) {
				f := make([]byte, 1+r.IntN(300))
				for i := range f {
					f[i] = byte(r.IntN(256))
				}
				frames = append(frames, f)
			}
			q := newOutq(1<<20, w)
			q.push(frames...)
			conn := &sinkConn{}
			wr := newWriter(context.Background(), conn, w, q, limit)
			if done, err := wr.flush(); done || err != nil {
				t.Fatalf("flush: done %v, %v", done, err)
			}
			want := coalesce(w, frames, limit)
			if len(conn.msgs) != len(want) {
				t.Fatalf("%d messages, want %d", len(conn.msgs), len(want))
			}
			for i := range want {
				if !bytes.Equal(conn.msgs[i], want[i]) {
					t.Fatalf("message %d differs", i)
				}
			}
		}
	}
	frames := make([][]byte, 30)
	for i := range frames {
		frames[i] = make([]byte, 110)
	}
	q := newOutq(1<<20, wireCBOR)
	q.items = make([]outItem, 0, len(frames))
	spare := make([]outItem, 0, len(frames))
	allocs := testing.AllocsPerRun(100, func() {
		for _, f := range frames {
			q.items = append(q.items, outItem{frame: f})
		}
		wr := &writer{ctx: context.Background(), conn: discard{}, w: wireCBOR, q: q, limit: maxCoalesce, spare: spare}
		wr.flush()
		spare = wr.spare
	})
	if allocs > 1 {
		t.Errorf("a new writer's flush of %d frames allocates %v times, want 1", len(frames), allocs)
	}
}

// discard is a transport.Conn that drops what is sent.
type discard struct{}

func (discard) Send(context.Context, []byte) error { return nil }
func (discard) Recv(ctx context.Context) ([]byte, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}
func (discard) Close() error { return nil }

// BenchmarkWriterFlush: a writer on demand starts and sends a batch of 30 frames of 110 bytes
// (a busy list room's confirmations) as one message.
func BenchmarkWriterFlush(b *testing.B) {
	frames := make([][]byte, 30)
	for i := range frames {
		frames[i] = make([]byte, 110)
	}
	q := newOutq(1<<20, wireCBOR)
	q.items = make([]outItem, 0, len(frames))
	spare := make([]outItem, 0, len(frames))
	b.ReportAllocs()
	for b.Loop() {
		for _, f := range frames {
			q.items = append(q.items, outItem{frame: f})
		}
		wr := &writer{ctx: context.Background(), conn: discard{}, w: wireCBOR, q: q, limit: maxCoalesce, spare: spare}
		wr.flush()
		spare = wr.spare
	}
}
