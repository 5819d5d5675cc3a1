// Package frame is the framing of messages on a byte stream (the QUIC transport's stream): a
// connection starts with the Hello bytes, then each message is its length as a uvarint followed
// by its bytes.
//
// The reader checks a length against the limit before it allocates, so a peer cannot make it
// allocate more than the limit by announcing a large message, and it allocates a long message
// as its bytes arrive, so a peer cannot make it hold the limit by sending a header alone;
// malformed input is an error, never a panic.
package frame

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/aper-go/aper/transport"
)

// Hello opens every stream: the protocol's name and version. A peer that sends anything else
// is not speaking this protocol.
var Hello = []byte("aper/1\n")

// MaxHeader is the longest length header: a uvarint of a 64-bit number.
const MaxHeader = binary.MaxVarintLen64

// ErrBadHello is returned by ReadHello for a stream that does not start with Hello.
var ErrBadHello = errors.New("aper/transport/frame: not an aper stream (bad hello)")

// ReadHello reads and checks the Hello bytes.
func ReadHello(r io.Reader) error {
	var buf [8]byte
	b := buf[:len(Hello)]
	if _, err := io.ReadFull(r, b); err != nil {
		return fmt.Errorf("aper/transport/frame: hello: %w", err)
	}
	if string(b) != string(Hello) {
		return ErrBadHello
	}
	return nil
}

// AppendHeader appends the length header of a message of n bytes to dst.
func AppendHeader(dst []byte, n int) []byte {
	return binary.AppendUvarint(dst, uint64(n))
}

// Read reads one message of at most limit bytes. A longer one is a *transport.TooLargeError,
// returned before anything of it is allocated or read past its header. The buffer of a message
// over Chunk bytes grows with the bytes received, so a message that never comes costs little. A stream that ends
// cleanly between messages is io.EOF; one that ends inside a message is io.ErrUnexpectedEOF.
func Read(r *bufio.Reader, limit int) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	switch {
	case errors.Is(err, io.EOF):
		return nil, io.EOF // nothing of a header was read (ReadUvarint says ErrUnexpectedEOF otherwise)
	case err != nil:
		return nil, fmt.Errorf("aper/transport/frame: length: %w", err)
	}
	if n > uint64(limit) {
		size := int64(math.MaxInt64)
		if n < math.MaxInt64 {
			size = int64(n)
		}
		return nil, &transport.TooLargeError{Size: size, Limit: int64(limit)}
	}
	// A message up to Chunk bytes is read into one allocation of its size. A longer one grows
	// as its bytes arrive, doubling from Chunk, so that a header alone cannot make the reader
	// hold the whole limit: what is allocated stays under twice what was received, plus Chunk.
	size := int(n)
	msg := make([]byte, min(size, Chunk))
	for read := 0; ; {
		k, err := io.ReadFull(r, msg[read:])
		read += k
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("aper/transport/frame: body: %w", err)
		}
		if read == size {
			return msg, nil
		}
		grown := make([]byte, min(size, 2*len(msg)))
		copy(grown, msg)
		msg = grown
	}
}

// Chunk is the size of the first buffer of a message longer than it, which then grows as
// its bytes arrive (see Read).
const Chunk = 64 << 10
