package frame_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/internal/frame"
)

func encode(msgs ...[]byte) []byte {
	var b []byte
	for _, m := range msgs {
		b = frame.AppendHeader(b, len(m))
		b = append(b, m...)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	msgs := [][]byte{{}, []byte("a"), bytes.Repeat([]byte("x"), 300), bytes.Repeat([]byte("y"), 70000)}
	r := bufio.NewReader(bytes.NewReader(encode(msgs...)))
	for _, want := range msgs {
		got, err := frame.Read(r, 1<<20)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	_, err := frame.Read(r, 1<<20)
	require.ErrorIs(t, err, io.EOF)
}

func TestTooLarge(t *testing.T) {
	// The header claims 2^62 bytes; nothing that large is allocated.
	b := frame.AppendHeader(nil, 1<<62)
	_, err := frame.Read(bufio.NewReader(bytes.NewReader(b)), 100)
	var tl *transport.TooLargeError
	require.ErrorAs(t, err, &tl)
	assert.Equal(t, int64(1<<62), tl.Size)
	assert.Equal(t, int64(100), tl.Limit)
}

// A header that announces a message of the limit, followed by a few bytes, makes the reader
// allocate about what arrived, not the limit.
func TestBodyAllocatedAsItArrives(t *testing.T) {
	const limit = 8 << 20
	b := append(frame.AppendHeader(nil, limit), "only ten b"...)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := frame.Read(bufio.NewReader(bytes.NewReader(b)), limit)
	runtime.ReadMemStats(&after)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	allocated := after.TotalAlloc - before.TotalAlloc
	assert.Less(t, allocated, uint64(2*frame.Chunk), "%d bytes allocated for a 10-byte body", allocated)
}

// Messages longer than a chunk arrive whole, whatever the reads' sizes.
func TestLongMessagesInPieces(t *testing.T) {
	msgs := [][]byte{
		bytes.Repeat([]byte("a"), frame.Chunk), bytes.Repeat([]byte("b"), frame.Chunk+1),
		bytes.Repeat([]byte("c"), 5*frame.Chunk+17), bytes.Repeat([]byte("d"), 1<<20),
	}
	r := bufio.NewReader(iotest.HalfReader(bytes.NewReader(encode(msgs...))))
	for i, want := range msgs {
		got, err := frame.Read(r, 1<<20)
		require.NoError(t, err, "message %d", i)
		require.True(t, bytes.Equal(want, got), "message %d differs", i)
	}
	_, err := frame.Read(r, 1<<20)
	require.ErrorIs(t, err, io.EOF)
}

func TestMalformed(t *testing.T) {
	for name, b := range map[string][]byte{
		"truncated header": {0x80},
		"truncated body":   {5, 'a', 'b'},
		"overlong header":  bytes.Repeat([]byte{0xff}, 11),
	} {
		_, err := frame.Read(bufio.NewReader(bytes.NewReader(b)), 100)
		require.Error(t, err, name)
		assert.False(t, errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF), name)
	}
}

func TestHello(t *testing.T) {
	require.NoError(t, frame.ReadHello(bytes.NewReader(frame.Hello)))
	require.ErrorIs(t, frame.ReadHello(bytes.NewReader([]byte("GET / HTTP/1.1\r\n"))), frame.ErrBadHello)
	require.Error(t, frame.ReadHello(bytes.NewReader([]byte("ap"))))
}

// FuzzRead feeds arbitrary bytes to the frame reader: it never panics, never returns a message
// over the limit, and never consumes more than the input.
func FuzzRead(f *testing.F) {
	f.Add(encode([]byte("hello"), nil), 16)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 1<<20)
	f.Add([]byte{0x80}, 10)
	f.Fuzz(func(t *testing.T, data []byte, limit int) {
		if limit < 0 || limit > 1<<20 {
			limit = 1 << 20
		}
		r := bufio.NewReader(bytes.NewReader(data))
		total := 0
		for {
			msg, err := frame.Read(r, limit)
			if err != nil {
				var tl *transport.TooLargeError
				if errors.As(err, &tl) && tl.Size <= int64(limit) {
					t.Fatalf("too large error for %d bytes under the %d limit", tl.Size, limit)
				}
				return
			}
			if len(msg) > limit {
				t.Fatalf("message of %d bytes over the %d limit", len(msg), limit)
			}
			total += len(msg) + 1
			if total > len(data) {
				t.Fatalf("consumed more than the input")
			}
		}
	})
}

// FuzzReadHello: never a panic, and only the exact hello passes.
func FuzzReadHello(f *testing.F) {
	f.Add(frame.Hello)
	f.Add([]byte("aper/2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		err := frame.ReadHello(bytes.NewReader(data))
		if (err == nil) != bytes.HasPrefix(data, frame.Hello) {
			t.Fatalf("ReadHello(%q) = %v", data, err)
		}
	})
}

// BenchmarkRead reads one message of each size from a stream held in memory.
func BenchmarkRead(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"64B", 64}, {"16KiB", 16 << 10}, {"1MiB", 1 << 20}} {
		b.Run(size.name, func(b *testing.B) {
			data := encode(make([]byte, size.n))
			src := bytes.NewReader(data)
			r := bufio.NewReader(src)
			b.SetBytes(int64(size.n))
			b.ReportAllocs()
			for b.Loop() {
				src.Reset(data)
				r.Reset(src)
				if _, err := frame.Read(r, 1<<20); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
