package text

import (
	"github.com/aper-go/aper"
	"github.com/aper-go/aper/internal/cow"
)

// The history is a list of chunks of chunkSize entries, chunk c holding versions
// [c*chunkSize, (c+1)*chunkSize). Entries never change once written, so a Clone shares the chunks;
// only the last one is written to, and it is copied first when shared (owner tokens, as for the
// rope). Whole chunks older than the kept window are dropped, and one of ours is reused, so a
// long run of edits allocates nothing for its history. When a chunk is dropped, so is the state
// of each of its authors whose latest edit has left the window (see peer).
const chunkSize = 32

// histEntry is an applied edit. Only the op as applied is kept: later edits are transformed
// over it, cursors moved by it, and the per-author state checked against it, while the op as its
// author sent it is read by nothing once it is transformed (the author's queue keeps what its
// later edits need; see peer).
type histEntry struct {
	author aper.ClientID
	base   uint64
	op     Op
}

type chunk struct {
	owner   cow.Owner
	entries [chunkSize]histEntry
}

// entry returns the entry of version k, which must be in [t.Oldest(), t.version).
func (t *Text) entry(k uint64) *histEntry {
	return &t.hist[k/chunkSize-t.firstChunk].entries[k%chunkSize]
}

// push returns the entry for version t.version (to fill in) and advances the version, dropping
// chunks that fell out of the window.
func (t *Text) push() *histEntry {
	v := t.version
	t.version++
	if len(t.hist) == 0 {
		t.firstChunk = v / chunkSize
	}
	ci := int(v/chunkSize - t.firstChunk)
	if ci == len(t.hist) {
		c := t.spare
		t.spare = nil
		if c == nil {
			c = &chunk{}
		}
		c.owner = t.owner
		t.hist = append(t.hist, c)
	} else if c := t.hist[ci]; c.owner != t.owner {
		d := &chunk{owner: t.owner}
		n := v % chunkSize
		copy(d.entries[:n], c.entries[:n])
		t.hist[ci] = d
	}
	e := &t.hist[ci].entries[v%chunkSize]
	for oldest := t.Oldest(); (t.firstChunk+1)*chunkSize <= oldest && len(t.hist) > 1; {
		t.expire(t.hist[0], oldest)
		if c := t.hist[0]; c.owner == t.owner {
			t.spare = c
		}
		t.hist[0] = nil
		t.hist = t.hist[1:]
		t.firstChunk++
	}
	return e
}
