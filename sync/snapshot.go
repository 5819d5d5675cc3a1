package sync

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"

	"github.com/aper-go/aper/transport"
)

// Snapshots larger than one message travel in chunks.
//
// The room encodes a snapshot once per codec and Seq and shares the bytes among the connections
// that receive it (it keeps only a weak pointer to them: the transfers in flight hold them, and
// the garbage collector reclaims them after the last one ends). A connection's queue holds a
// snapSend in the welcome's place; its writer encodes and sends one chunk frame at a time, so
// a connection holds one chunk frame of the snapshot however slowly its client reads.
//
// The client assembles the chunks (snapRecv), checks their SHA-256 and decodes the whole. If the
// connection breaks mid-transfer it keeps what it has, and its next hello says so (Part, Off,
// Sum): a server that can produce the same snapshot again (the same bytes: same Seq and Sum)
// sends the rest only.

// snapshotBytes is one encoded snapshot, shared by the transfers that send it. Read-only.
type snapshotBytes struct {
	seq  uint64
	data []byte
	sum  [sha256.Size]byte
}

// snapSend is one connection's transfer of a snapshot: bytes off.. in chunks of chunk bytes.
type snapSend struct {
	snap  *snapshotBytes
	off   int
	chunk int
}

// send sends the chunk frames, each as a message of its own, and stops early (returning nil)
// when stop reports true.
func (s *snapSend) send(ctx context.Context, conn transport.Conn, w *wire, stop func() bool) error {
	data := s.snap.data
	for off := s.off; off < len(data); {
		n := min(s.chunk, len(data)-off)
		b, err := w.encode(&frame{Type: frameChunk, Seq: s.snap.seq, Off: uint64(off), Chunk: data[off : off+n]})
		if err != nil {
			return err
		}
		if err := conn.Send(ctx, b); err != nil {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			return err
		}
		off += n
		if stop() {
			return nil
		}
	}
	return nil
}

// chunkSize is the chunk of a snapshot that a server of message limit maxMsg sends: base64 (on
// JSON) and the frame's fields keep the chunk frame under the limit. A snapshot no larger travels
// inside its welcome.
func chunkSize(maxMsg int) int {
	return max(min(maxMsg/2, maxCoalesce), 256)
}

// maxSnapshotPrealloc bounds the buffer a client allocates ahead of a chunked snapshot's bytes:
// past it, the buffer grows as chunks arrive, so a server that announces a huge size without
// sending it costs nothing.
const maxSnapshotPrealloc = 16 << 20

// snapRecv is a client's chunked snapshot being received. It outlives a connection: a transfer
// that broke resumes on the next one. Owned by the client's connection goroutine.
type snapRecv struct {
	wire *wire // the codec of the bytes
	seq  uint64
	size uint64
	sum  []byte
	data []byte

	welcome *frame // this connection's welcome, while its transfer is in progress
}

// active reports whether the current connection is receiving a snapshot.
func (r *snapRecv) active() bool { return r.welcome != nil }

// hello adds to h what the client holds of a snapshot in codec w.
func (r *snapRecv) hello(h *frame, w *wire) {
	r.welcome = nil
	if r.wire == w && len(r.data) > 0 && uint64(len(r.data)) < r.size {
		h.Part, h.Off, h.Sum = r.seq, uint64(len(r.data)), r.sum
	}
}

// start begins (or resumes) a transfer that welcome f announces on a connection of codec w. It
// reports whether the snapshot is already complete.
func (r *snapRecv) start(f *frame, w *wire) (bool, error) {
	if !nullPayload(f.Data) || len(f.Sum) != sha256.Size || f.Off > f.Size {
		return false, fmt.Errorf("%w: malformed chunked welcome (size %d, offset %d, %d-byte sum)", ErrProtocol, f.Size, f.Off, len(f.Sum))
	}
	if f.Off > 0 {
		if r.wire != w || r.seq != f.Seq || r.size != f.Size || !bytes.Equal(r.sum, f.Sum) || uint64(len(r.data)) != f.Off {
			r.reset()
			return false, fmt.Errorf("%w: welcome resumes snapshot %d at byte %d, which this client does not hold", ErrProtocol, f.Seq, f.Off)
		}
	} else {
		r.reset()
		r.wire, r.seq, r.size, r.sum = w, f.Seq, f.Size, bytes.Clone(f.Sum)
		r.data = make([]byte, 0, min(f.Size, maxSnapshotPrealloc))
	}
	wf := *f
	wf.Data, wf.Sum, wf.Chunk = nil, nil, nil
	r.welcome = &wf
	return uint64(len(r.data)) == r.size, nil
}

// add appends a chunk frame. It reports whether the snapshot is complete.
func (r *snapRecv) add(f *frame) (bool, error) {
	switch {
	case r.welcome == nil:
		return false, fmt.Errorf("%w: a snapshot chunk without a chunked welcome", ErrProtocol)
	case f.Seq != r.seq || f.Off != uint64(len(r.data)):
		return false, fmt.Errorf("%w: snapshot chunk of Seq %d at byte %d, want Seq %d at byte %d", ErrProtocol, f.Seq, f.Off, r.seq, len(r.data))
	case len(f.Chunk) == 0 || uint64(len(f.Chunk)) > r.size-uint64(len(r.data)):
		return false, fmt.Errorf("%w: snapshot chunk of %d bytes at byte %d of %d", ErrProtocol, len(f.Chunk), f.Off, r.size)
	}
	r.data = append(r.data, f.Chunk...)
	return uint64(len(r.data)) == r.size, nil
}

// finish checks a complete snapshot's sum and returns its bytes and its welcome, forgetting both.
func (r *snapRecv) finish() ([]byte, *frame, error) {
	data, wf := r.data, r.welcome
	ok := sha256.Sum256(data) == [sha256.Size]byte(r.sum)
	r.reset()
	if !ok {
		return nil, nil, fmt.Errorf("%w: snapshot %d does not match its checksum", ErrProtocol, wf.Seq)
	}
	return data, wf, nil
}

func (r *snapRecv) reset() {
	*r = snapRecv{}
}
