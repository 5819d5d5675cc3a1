package journal

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
)

// cursor reads a room's records in order across its segment files, each reader with its own
// file handles (so that compaction, which unlinks files, does not disturb it).
type cursor struct {
	r    *room
	from uint64 // yield records with Seq ≥ from
	seq  uint64 // the Seq of the next record in f
	path string
	f    *os.File
	br   *bufio.Reader
	off  int64 // the offset in f of the next record
	hdr  [recHeaderSize]byte
	mark [markerDataSize]byte
	buf  []byte
}

func (c *cursor) close() {
	if c.f != nil {
		c.f.Close()
		c.f = nil
	}
}

func (c *cursor) corrupt(reason string) error {
	return &CorruptError{Room: c.r.name, File: c.path, Offset: c.off, Reason: reason}
}

// position opens the segment that holds c.from.
func (c *cursor) position() error {
	r := c.r
	r.mu.Lock()
	first := r.written + 1
	if len(r.segs) > 0 {
		first = r.segs[0]
	}
	var base uint64
	for _, b := range r.segs {
		if b <= c.from {
			base = b
		}
	}
	r.mu.Unlock()
	if c.from < first || base == 0 {
		return fmt.Errorf("%w: room %q: read from Seq %d, the oldest kept is %d", ErrCompacted, r.name, c.from, first)
	}
	return c.open(base)
}

// open starts reading the segment whose first record has Seq base.
func (c *cursor) open(base uint64) error {
	c.close()
	c.path = c.r.segPath(base)
	c.off = 0
	f, err := os.Open(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		c.r.mu.Lock()
		kept := slices.Contains(c.r.segs, base)
		c.r.mu.Unlock()
		if kept {
			return &CorruptError{Room: c.r.name, File: c.path, Reason: "segment file missing"}
		}
		return fmt.Errorf("%w: room %q: the segment from Seq %d is gone", ErrCompacted, c.r.name, base)
	}
	if err != nil {
		return c.r.ioErr("read", err)
	}
	c.f = f
	if c.br == nil {
		c.br = bufio.NewReaderSize(f, 256<<10)
	} else {
		c.br.Reset(f)
	}
	var h [segHeaderSize]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return c.corrupt("segment shorter than its header")
	}
	if string(h[:8]) != segMagic || le.Uint64(h[8:]) != base {
		return c.corrupt("bad segment header")
	}
	c.off, c.seq = segHeaderSize, base
	return nil
}

// advance moves on to the segment after the current one, which ended at a record boundary.
func (c *cursor) advance() error {
	r := c.r
	r.mu.Lock()
	found := slices.Contains(r.segs, c.seq)
	first := r.written + 1
	if len(r.segs) > 0 {
		first = r.segs[0]
	}
	r.mu.Unlock()
	switch {
	case found:
		return c.open(c.seq)
	case c.seq < first:
		return fmt.Errorf("%w: room %q: the segment from Seq %d is gone", ErrCompacted, r.name, c.seq)
	default:
		return c.corrupt(fmt.Sprintf("the segment ends before Seq %d, and no segment starts there", c.seq))
	}
}

// next returns the next record with Seq ≥ c.from, or false if its Seq would exceed limit. Data
// is valid until the next call.
func (c *cursor) next(limit uint64) (Entry, bool, error) {
	if c.f == nil {
		if c.from > limit {
			return Entry{}, false, nil
		}
		if err := c.position(); err != nil {
			return Entry{}, false, err
		}
	}
	for {
		if c.seq > limit {
			return Entry{}, false, nil
		}
		if _, err := io.ReadFull(c.br, c.hdr[:]); err != nil {
			if err == io.EOF {
				if err := c.advance(); err != nil {
					return Entry{}, false, err
				}
				continue
			}
			return Entry{}, false, c.readErr(err, "truncated record header")
		}
		h, ok := parseRecHeader(c.hdr[:])
		if ok && h.seq == 0 {
			// A commit marker: nothing to yield, but it must be whole.
			if h.length != markerDataSize {
				return Entry{}, false, c.corrupt(fmt.Sprintf("commit marker of %d bytes", h.length))
			}
			if _, err := io.ReadFull(c.br, c.mark[:]); err != nil {
				return Entry{}, false, c.readErr(err, "truncated commit marker")
			}
			if crc32Checksum(c.mark[:]) != h.dcrc {
				return Entry{}, false, c.corrupt("commit marker data checksum mismatch")
			}
			c.off += markerSize
			continue
		}
		switch {
		case !ok:
			return Entry{}, false, c.corrupt("record header checksum mismatch")
		case h.seq != c.seq:
			return Entry{}, false, c.corrupt(fmt.Sprintf("record has Seq %d, want %d", h.seq, c.seq))
		case h.length > maxRecordData:
			return Entry{}, false, c.corrupt(fmt.Sprintf("record length %d beyond the format's limit", h.length))
		}
		n := int(h.length)
		if h.seq < c.from {
			if _, err := c.br.Discard(n); err != nil {
				return Entry{}, false, c.readErr(err, "truncated record")
			}
			c.off += recHeaderSize + int64(n)
			c.seq++
			continue
		}
		if cap(c.buf) < n {
			if n > 1<<20 {
				if fi, err := c.f.Stat(); err != nil || c.off+recHeaderSize+int64(n) > fi.Size() {
					return Entry{}, false, c.corrupt("record runs past the end of the file")
				}
			}
			c.buf = make([]byte, n)
		}
		data := c.buf[:n]
		if _, err := io.ReadFull(c.br, data); err != nil {
			return Entry{}, false, c.readErr(err, "truncated record")
		}
		if crc32Checksum(data) != h.dcrc {
			return Entry{}, false, c.corrupt("record data checksum mismatch")
		}
		c.off += recHeaderSize + int64(n)
		c.seq++
		return Entry{Seq: h.seq, Data: data}, true, nil
	}
}

func (c *cursor) readErr(err error, reason string) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return c.corrupt(reason)
	}
	return c.r.ioErr("read", err)
}
