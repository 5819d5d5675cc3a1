package sync

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"testing"
)

// A chunked snapshot that a server gets wrong (or a hostile one forges) is a protocol error,
// never a panic, and costs the client no more memory than the bytes it was actually sent.
func TestSnapshotChunksFromAHostileServer(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 100)
	sum := sha256.Sum256(data)
	welcome := func() *frame {
		return &frame{Type: frameWelcome, Snapshot: true, Seq: 7, Size: uint64(len(data)), Sum: sum[:]}
	}
	chunk := func(seq, off uint64, b []byte) *frame { return &frame{Type: frameChunk, Seq: seq, Off: off, Chunk: b} }
	forged := bytes.Clone(data)
	forged[500] = 'x'
	for _, tc := range []struct {
		name    string
		welcome *frame
		chunks  []*frame
	}{
		{"chunk without a welcome", nil, []*frame{chunk(7, 0, data[:10])}},
		{"gap", welcome(), []*frame{chunk(7, 0, data[:10]), chunk(7, 20, data[20:30])}},
		{"overlap", welcome(), []*frame{chunk(7, 0, data[:10]), chunk(7, 5, data[5:30])}},
		{"another snapshot's chunk", welcome(), []*frame{chunk(8, 0, data[:10])}},
		{"past the size", welcome(), []*frame{chunk(7, 0, append(bytes.Clone(data), 'x'))}},
		{"empty chunk", welcome(), []*frame{chunk(7, 0, nil)}},
		{"wrong sum", welcome(), []*frame{chunk(7, 0, forged)}},
		{"short sum", &frame{Type: frameWelcome, Snapshot: true, Seq: 7, Size: 10, Sum: sum[:4]}, nil},
		{"data and chunks", &frame{Type: frameWelcome, Snapshot: true, Seq: 7, Size: 10, Sum: sum[:], Data: raw{0xa0}}, nil},
		{"offset past the size", &frame{Type: frameWelcome, Snapshot: true, Seq: 7, Size: 10, Off: 11, Sum: sum[:]}, nil},
		{"resume of bytes it does not hold", &frame{Type: frameWelcome, Snapshot: true, Seq: 7, Size: uint64(len(data)), Off: 10, Sum: sum[:]}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r snapRecv
			err := func() error {
				if tc.welcome != nil {
					if _, err := r.start(tc.welcome, wireCBOR); err != nil {
						return err
					}
				}
				for _, c := range tc.chunks {
					done, err := r.add(c)
					if err != nil {
						return err
					}
					if done {
						_, _, err := r.finish()
						return err
					}
				}
				return nil
			}()
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("got %v, want ErrProtocol", err)
			}
		})
	}

	// A welcome that announces an enormous snapshot allocates a bounded buffer up front.
	var r snapRecv
	if _, err := r.start(&frame{Type: frameWelcome, Snapshot: true, Seq: 1, Size: 1 << 62, Sum: sum[:]}, wireCBOR); err != nil {
		t.Fatal(err)
	}
	if c := cap(r.data); c > maxSnapshotPrealloc {
		t.Fatalf("%d bytes allocated for an announced snapshot, want at most %d", c, maxSnapshotPrealloc)
	}

	// In order, in any chunk sizes, it completes; a broken transfer resumes where it stopped.
	r = snapRecv{}
	if _, err := r.start(welcome(), wireCBOR); err != nil {
		t.Fatal(err)
	}
	if _, err := r.add(chunk(7, 0, data[:300])); err != nil {
		t.Fatal(err)
	}
	var h frame
	r.hello(&h, wireCBOR)
	if h.Part != 7 || h.Off != 300 || !bytes.Equal(h.Sum, sum[:]) {
		t.Fatalf("hello after 300 bytes: part %d off %d", h.Part, h.Off)
	}
	var other frame
	r.hello(&other, wireJSON)
	if other.Off != 0 {
		t.Fatal("a hello on another codec claims the bytes of a CBOR snapshot")
	}
	resumed := welcome()
	resumed.Off = 300
	if _, err := r.start(resumed, wireCBOR); err != nil {
		t.Fatal(err)
	}
	if done, err := r.add(chunk(7, 300, data[300:])); err != nil || !done {
		t.Fatalf("last chunk: done %v, %v", done, err)
	}
	got, wf, err := r.finish()
	if err != nil || !bytes.Equal(got, data) || wf.Seq != 7 {
		t.Fatalf("finish: %d bytes, %v", len(got), err)
	}
}
