package journal

import (
	"context"
	"fmt"
	"iter"
	"math"
	"slices"
	"sync"
	"time"
)

// Memory is a Journal held in memory: for tests, and for servers that need no durability. Append
// is durable as soon as it returns, for as long as the process lives. SaveSnapshot compacts at
// once: the entries it covers are dropped, unless Retain keeps them.
//
// The zero value is an empty journal ready to use. All methods may be called concurrently.
type Memory struct {
	// Retain keeps history beyond the latest snapshot (see Retention); set it before first
	// use. A negative Age counts as none.
	Retain Retention

	mu     sync.Mutex
	rooms  map[string]*memRoom
	closed bool
	done   chan struct{} // closed by Close
}

var _ Journal = (*Memory)(nil)

type memRoom struct {
	exists  bool
	entries []Entry // entries[i].Seq == first+i; never modified in place, so readers may keep a slice
	first   uint64  // the Seq of entries[0]; last+1 when empty
	last    uint64
	snap    Snapshot
	hasSnap bool
	older   []Snapshot    // with Retain: the snapshots kept before snap, ascending
	times   []int64       // with Retain.Age: each entry's append time (Unix nanoseconds)
	notify  chan struct{} // closed and replaced when last grows
	users   int           // Follow iterations in progress
}

// NewMemory returns an empty in-memory journal.
func NewMemory() *Memory { return &Memory{} }

// room returns the named room, making its record if needed, with m.mu held.
func (m *Memory) room(name string) *memRoom {
	if m.rooms == nil {
		m.rooms = make(map[string]*memRoom)
	}
	r := m.rooms[name]
	if r == nil {
		r = &memRoom{first: 1, notify: make(chan struct{})}
		m.rooms[name] = r
	}
	return r
}

func (m *Memory) doneChan() chan struct{} {
	if m.done == nil {
		m.done = make(chan struct{})
	}
	return m.done
}

// Append implements [Journal.Append].
func (m *Memory) Append(ctx context.Context, room string, expectedLast uint64, entries []Entry) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if err := checkRoom(room); err != nil {
		return err
	}
	if err := checkEntries(room, expectedLast, entries); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return closedErr("append")
	}
	r := m.rooms[room]
	last := uint64(0)
	if r != nil {
		last = r.last
	}
	if last != expectedLast {
		return &SeqMismatchError{Room: room, Expected: expectedLast, Actual: last}
	}
	if len(entries) == 0 {
		return nil
	}
	r = m.room(room)
	r.exists = true
	for _, e := range entries {
		r.entries = append(r.entries, Entry{Seq: e.Seq, Data: slices.Clone(e.Data)})
	}
	if m.Retain.Age > 0 {
		now := time.Now().UnixNano()
		for range entries {
			r.times = append(r.times, now)
		}
	}
	r.last = entries[len(entries)-1].Seq
	close(r.notify)
	r.notify = make(chan struct{})
	return nil
}

// Last implements [Journal.Last].
func (m *Memory) Last(ctx context.Context, room string) (uint64, error) {
	if err := checkRoom(room); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, closedErr("last")
	}
	if r := m.rooms[room]; r != nil {
		return r.last, nil
	}
	return 0, nil
}

// view returns the entries kept with Seq ≥ from, the Seq of the oldest kept entry, and the
// channel that signals the next append.
func (m *Memory) view(room string, from uint64, follow bool) (entries []Entry, first uint64, notify, done chan struct{}, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, 0, nil, nil, closedErr("read")
	}
	r := m.rooms[room]
	if r == nil {
		if !follow {
			return nil, 1, nil, nil, nil
		}
		r = m.room(room)
	}
	if from < r.first {
		return nil, r.first, nil, nil, nil
	}
	if i := from - r.first; i < uint64(len(r.entries)) {
		entries = r.entries[i:]
	}
	return entries, r.first, r.notify, m.doneChan(), nil
}

func (m *Memory) iterate(ctx context.Context, room string, from uint64, follow bool) iter.Seq2[Entry, error] {
	if err := checkRoom(room); err != nil {
		return fail(err)
	}
	return func(yield func(Entry, error) bool) {
		from := max(from, 1)
		if follow {
			m.mu.Lock()
			if m.closed {
				m.mu.Unlock()
				yield(Entry{}, closedErr("follow"))
				return
			}
			r := m.room(room)
			r.users++
			m.mu.Unlock()
			defer func() {
				m.mu.Lock()
				r.users--
				m.mu.Unlock()
			}()
		}
		for {
			if err := ctxErr(ctx); err != nil {
				yield(Entry{}, err)
				return
			}
			entries, first, notify, done, err := m.view(room, from, follow)
			if err != nil {
				yield(Entry{}, err)
				return
			}
			if from < first {
				yield(Entry{}, fmt.Errorf("%w: room %q: read from Seq %d, the oldest kept is %d", ErrCompacted, room, from, first))
				return
			}
			for i, e := range entries {
				if i%1024 == 1023 {
					if err := ctxErr(ctx); err != nil {
						yield(Entry{}, err)
						return
					}
				}
				if !yield(e, nil) {
					return
				}
				from = e.Seq + 1
			}
			if len(entries) > 0 {
				continue // more may have come meanwhile
			}
			if !follow {
				return
			}
			select {
			case <-notify:
			case <-done:
				yield(Entry{}, closedErr("follow"))
				return
			case <-ctx.Done():
				yield(Entry{}, context.Cause(ctx))
				return
			}
		}
	}
}

// Read implements [Journal.Read].
func (m *Memory) Read(ctx context.Context, room string, from uint64) iter.Seq2[Entry, error] {
	return m.iterate(ctx, room, from, false)
}

// Follow implements [Journal.Follow].
func (m *Memory) Follow(ctx context.Context, room string, from uint64) iter.Seq2[Entry, error] {
	return m.iterate(ctx, room, from, true)
}

// SaveSnapshot implements [Journal.SaveSnapshot]. It drops the entries the snapshot covers.
func (m *Memory) SaveSnapshot(ctx context.Context, room string, s Snapshot) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if err := checkRoom(room); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return closedErr("save snapshot")
	}
	r := m.rooms[room]
	var last uint64
	if r != nil {
		last = r.last
	}
	if s.Seq > last {
		return fmt.Errorf("%w: room %q: snapshot at Seq %d is past the last entry %d", ErrInvalid, room, s.Seq, last)
	}
	if r != nil && r.hasSnap && s.Seq < r.snap.Seq {
		return fmt.Errorf("%w: room %q: snapshot at Seq %d is older than the saved one at %d", ErrInvalid, room, s.Seq, r.snap.Seq)
	}
	r = m.room(room)
	r.exists = true
	if m.Retain.enabled() && r.hasSnap && r.snap.Seq < s.Seq {
		r.older = append(r.older, r.snap)
	}
	r.snap = Snapshot{Seq: s.Seq, Data: slices.Clone(s.Data)}
	r.hasSnap = true
	m.compact(r)
	return nil
}

// LoadSnapshot implements [Journal.LoadSnapshot].
func (m *Memory) LoadSnapshot(ctx context.Context, room string) (Snapshot, bool, error) {
	return m.LoadSnapshotAt(ctx, room, math.MaxUint64)
}

// Rooms implements [Journal.Rooms].
func (m *Memory) Rooms(ctx context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, closedErr("rooms")
	}
	var names []string
	for name, r := range m.rooms {
		if r.exists {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names, nil
}

// Close implements [Journal.Close]: it ends Follow iterations and drops the entries.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	close(m.doneChan())
	m.rooms = nil
	return nil
}
