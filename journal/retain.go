package journal

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Retention keeps a room's history beyond its latest snapshot: without it, a snapshot lets the
// journal drop every entry it covers; with it, an entry (and a snapshot to rebuild from below
// it) is dropped only once both rules let it go. The zero value keeps nothing beyond the latest
// snapshot.
//
// Entries are dropped only when a snapshot is saved, and only down to a saved snapshot, so that
// every Seq from the oldest snapshot kept to the last entry can be rebuilt: LoadSnapshotAt
// (see [SnapshotHistory]), then Read from its Seq+1. An Age rule thus takes effect at the next
// snapshot after the entries grew old, and [Disk] drops whole segment files, so it may keep a
// segment's worth more than the rules ask.
//
// [Memory] and [Disk] support it; the JetStream journal does not yet (it keeps only its latest
// snapshot, and its stream's own limits decide what it keeps).
type Retention struct {
	// Entries keeps at least the room's latest Entries entries; math.MaxUint64 keeps every
	// entry. 0 sets no count.
	Entries uint64
	// Age keeps the entries appended less than Age ago (by the journal's clock: for Disk,
	// the modification time of the segment file that holds them). 0 sets no age.
	Age time.Duration
}

// KeepAll is a Retention that never drops an entry.
var KeepAll = Retention{Entries: math.MaxUint64}

func (r Retention) enabled() bool { return r.Entries > 0 || r.Age > 0 }

func (r Retention) check() error {
	if r.Age < 0 {
		return fmt.Errorf("%w: negative retention age %v", ErrInvalid, r.Age)
	}
	return nil
}

// countBound returns the highest Seq the count rule lets go of when the room's last Seq is
// last: every Seq, if the rule is not set.
func (r Retention) countBound(last uint64) uint64 {
	if r.Entries == 0 {
		return math.MaxUint64
	}
	if r.Entries >= last {
		return 0
	}
	return last - r.Entries
}

// SnapshotHistory is an optional interface of a Journal that keeps older snapshots beside the
// latest (see [Retention]), so that a room's state at a Seq of its history can be rebuilt.
type SnapshotHistory interface {
	// LoadSnapshotAt returns the newest snapshot kept with Seq ≤ seq, and false if there is
	// none. The Data is the caller's.
	LoadSnapshotAt(ctx context.Context, room string, seq uint64) (Snapshot, bool, error)
}

var (
	_ SnapshotHistory = (*Memory)(nil)
	_ SnapshotHistory = (*Disk)(nil)
)

// newestAtOrBelow returns the index of the last of seqs (ascending) that is ≤ bound, or -1.
func newestAtOrBelow(seqs []uint64, bound uint64) int {
	i := -1
	for j, s := range seqs {
		if s > bound {
			break
		}
		i = j
	}
	return i
}

// compact drops the entries of r that its latest snapshot covers and m.Retain lets go, down to
// a snapshot, and the older snapshots no Seq kept needs; with m.mu held.
func (m *Memory) compact(r *memRoom) {
	bound := min(r.snap.Seq, m.Retain.countBound(r.last))
	if m.Retain.Age > 0 {
		cutoff := time.Now().Add(-m.Retain.Age).UnixNano()
		n := 0 // entries appended before the cutoff
		for n < len(r.times) && r.times[n] < cutoff {
			n++
		}
		bound = min(bound, r.first-1+uint64(n))
	}
	// Down to a snapshot: the newest one at or below bound.
	seqs := make([]uint64, 0, len(r.older)+1)
	for _, s := range r.older {
		seqs = append(seqs, s.Seq)
	}
	seqs = append(seqs, r.snap.Seq)
	i := newestAtOrBelow(seqs, bound)
	if i < 0 {
		return
	}
	if to := seqs[i]; to >= r.first {
		n := to - r.first + 1
		r.entries = slices.Clone(r.entries[n:])
		if len(r.times) > 0 {
			r.times = slices.Clone(r.times[n:])
		}
		r.first = to + 1
	}
	// The snapshots below the oldest one a kept Seq needs.
	if i > 0 {
		r.older = slices.Clone(r.older[i:])
	}
}

// LoadSnapshotAt implements [SnapshotHistory.LoadSnapshotAt].
func (m *Memory) LoadSnapshotAt(ctx context.Context, room string, seq uint64) (Snapshot, bool, error) {
	if err := checkRoom(room); err != nil {
		return Snapshot{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return Snapshot{}, false, closedErr("load snapshot")
	}
	r := m.rooms[room]
	if r == nil || !r.hasSnap {
		return Snapshot{}, false, nil
	}
	best := r.snap
	if best.Seq > seq {
		// The newest snapshot is after seq: the newest kept one at or below it, if any.
		i, found := slices.BinarySearchFunc(r.older, seq, func(s Snapshot, seq uint64) int { return cmp.Compare(s.Seq, seq) })
		if !found {
			if i == 0 {
				return Snapshot{}, false, nil
			}
			i--
		}
		best = r.older[i]
	}
	return Snapshot{Seq: best.Seq, Data: slices.Clone(best.Data)}, true, nil
}

// archiveName is the file name of a snapshot kept for history.
func archiveName(seq uint64) string { return fmt.Sprintf("%s.%020d", snapFile, seq) }

// parseArchiveName returns the Seq of a snapshot kept for history, or false.
func parseArchiveName(name string) (uint64, bool) {
	rest, ok := strings.CutPrefix(name, snapFile+".")
	if !ok || len(rest) != 20 {
		return 0, false
	}
	seq, err := strconv.ParseUint(rest, 10, 64)
	return seq, err == nil
}

// archived returns the Seqs of the room's snapshots kept for history, ascending.
func (r *room) archived() []uint64 {
	ents, _ := os.ReadDir(r.dir) // a room without a directory keeps none
	var seqs []uint64
	for _, e := range ents {
		if seq, ok := parseArchiveName(e.Name()); ok {
			seqs = append(seqs, seq)
		}
	}
	slices.Sort(seqs)
	return seqs
}

// compactBoundLocked returns the highest Seq whose entries may be dropped: the latest
// snapshot's, or, with a Retention, the newest snapshot kept at or below what it lets go. It
// reads the room's directory.
func (r *room) compactBoundLocked() uint64 {
	if !r.hasSnap {
		return 0
	}
	ret := r.d.opts.Retention
	if !ret.enabled() {
		return r.snapSeq
	}
	bound := min(r.snapSeq, ret.countBound(r.acked))
	if ret.Age > 0 {
		cutoff := time.Now().Add(-ret.Age)
		old := uint64(0) // the entries of the segments last written before the cutoff
		for i := 0; i+1 < len(r.segs); i++ {
			fi, err := os.Stat(r.segPath(r.segs[i]))
			if err != nil || !fi.ModTime().Before(cutoff) {
				break
			}
			old = r.segs[i+1] - 1
		}
		bound = min(bound, old)
	}
	seqs := append(r.archived(), r.snapSeq)
	slices.Sort(seqs)
	if i := newestAtOrBelow(seqs, bound); i >= 0 {
		return seqs[i]
	}
	return 0
}

// pruneArchive removes the snapshots kept for history that no Seq still in the log needs: those
// older than the newest one at or below the Seq before the oldest segment.
func (r *room) pruneArchive() {
	r.mu.Lock()
	oldest := r.snapSeq // the Seq before the oldest entry kept
	if len(r.segs) > 0 {
		oldest = r.segs[0] - 1
	}
	r.mu.Unlock()
	seqs := r.archived()
	i := newestAtOrBelow(seqs, oldest)
	for _, seq := range seqs[:max(i, 0)] {
		_ = os.Remove(filepath.Join(r.dir, archiveName(seq))) // removed again next time
	}
}

// LoadSnapshotAt implements [SnapshotHistory.LoadSnapshotAt].
func (d *Disk) LoadSnapshotAt(ctx context.Context, name string, seq uint64) (Snapshot, bool, error) {
	latest, ok, err := d.LoadSnapshot(ctx, name)
	if err != nil || !ok || latest.Seq <= seq {
		return latest, ok && latest.Seq <= seq, err
	}
	r, err := d.room(name)
	if err != nil {
		return Snapshot{}, false, err
	}
	seqs := r.archived()
	i := newestAtOrBelow(seqs, seq)
	if i < 0 {
		return Snapshot{}, false, nil
	}
	s, err := readSnapshotFile(name, filepath.Join(r.dir, archiveName(seqs[i])))
	if err != nil {
		return Snapshot{}, false, r.ioErr("load snapshot", err)
	}
	return s, true, nil
}
