package journal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// SyncPolicy says when a [Disk] makes appended entries durable with fsync.
type SyncPolicy int

const (
	// SyncBatch, the default, fsyncs a room's segment before Append returns, with group commit:
	// Appends that wait at the same time share one fsync. An acknowledged entry survives a
	// crash of the process or of the machine.
	SyncBatch SyncPolicy = iota
	// SyncInterval returns from Append once the entries are written to the operating system,
	// and fsyncs every Options.SyncInterval in the background. An acknowledged entry survives
	// the process being killed, but a power loss or kernel crash may lose the last interval.
	SyncInterval
	// SyncNever writes without fsync and leaves write-back to the operating system; segment
	// changes, snapshots and Close still fsync. Survives the process being killed, not the
	// machine crashing.
	SyncNever
)

// String returns "batch", "interval" or "never".
func (p SyncPolicy) String() string {
	switch p {
	case SyncBatch:
		return "batch"
	case SyncInterval:
		return "interval"
	case SyncNever:
		return "never"
	}
	return fmt.Sprintf("SyncPolicy(%d)", int(p))
}

// Options configures a [Disk]. A nil *Options, like the zero value, means every default.
type Options struct {
	// Sync is the durability policy; the default is SyncBatch.
	Sync SyncPolicy
	// SyncInterval is the period of the background fsync under SyncInterval; default 100ms.
	SyncInterval time.Duration
	// SegmentSize is the size past which a room's log moves on to a new segment file; default
	// 8 MiB. A batch is never split, so a segment may exceed it by one batch. Compaction
	// removes whole segments, and a Read from the middle of a segment scans it from its start.
	SegmentSize int64
	// MaxEntrySize bounds an entry's Data; default 16 MiB, at most 1 GiB. Larger entries are
	// refused with ErrInvalid.
	MaxEntrySize int
	// Retention keeps history beyond the latest snapshot (see Retention): older snapshots,
	// as files "snapshot.<Seq>" beside "snapshot", and the segments after the oldest of them.
	// The zero value keeps only the latest snapshot and the log after it.
	Retention Retention
}

const (
	defaultSyncInterval = 100 * time.Millisecond
	defaultSegmentSize  = 8 << 20
	defaultMaxEntrySize = 16 << 20
)

func (o *Options) withDefaults() (Options, error) {
	var r Options
	if o != nil {
		r = *o
	}
	switch {
	case r.Sync < SyncBatch || r.Sync > SyncNever:
		return r, fmt.Errorf("%w: unknown sync policy %d", ErrInvalid, int(r.Sync))
	case r.SyncInterval < 0:
		return r, fmt.Errorf("%w: negative SyncInterval %v", ErrInvalid, r.SyncInterval)
	case r.SegmentSize < 0:
		return r, fmt.Errorf("%w: negative SegmentSize %d", ErrInvalid, r.SegmentSize)
	case r.MaxEntrySize < 0 || r.MaxEntrySize > maxRecordData:
		return r, fmt.Errorf("%w: MaxEntrySize %d not in [0, %d]", ErrInvalid, r.MaxEntrySize, maxRecordData)
	}
	if err := r.Retention.check(); err != nil {
		return r, err
	}
	if r.SyncInterval == 0 {
		r.SyncInterval = defaultSyncInterval
	}
	if r.SegmentSize == 0 {
		r.SegmentSize = defaultSegmentSize
	}
	if r.MaxEntrySize == 0 {
		r.MaxEntrySize = defaultMaxEntrySize
	}
	return r, nil
}

// Stats are a Disk's counters since Open.
type Stats struct {
	Appends   uint64        // Append calls that wrote entries
	Entries   uint64        // entries written
	Bytes     uint64        // record bytes written
	Syncs     uint64        // fsyncs of segment files
	SyncTime  time.Duration // time spent in them: SyncTime/Syncs is the mean fsync latency
	TornTails uint64        // torn tails cut while loading rooms
}

// Disk is the default Journal: files in a directory on local disk, with no other setup.
//
// Layout: dir/LOCK (held while open, so one process at a time uses a directory), and one
// directory per room under dir/rooms, named from the room's name (see the package doc), holding
// the room's name in a file "name", its log as segment files named by the Seq of their first
// record (00000000000000000001.log), and its latest snapshot in "snapshot".
//
// A room is loaded on first use: its last segment is scanned, and a torn tail cut (see the
// package doc). The Disk keeps each room it has used in memory, and the last segment of each
// room it has appended to open, until Release or Close.
//
// All methods may be called concurrently. Close stops the background fsync of SyncInterval.
type Disk struct {
	dir  string
	opts Options
	lock *os.File

	mu     sync.Mutex
	rooms  map[string]*room
	closed bool
	done   chan struct{} // closed by Close
	wg     sync.WaitGroup

	appends, entries, bytes, syncs, syncNanos, torn atomic.Uint64
}

var _ Journal = (*Disk)(nil)

// ErrLocked marks an Open of a directory that another open Disk holds.
var ErrLocked = errors.New("aper/journal: directory in use by another journal")

const (
	roomsDir = "rooms"
	nameFile = "name"
	snapFile = "snapshot"
	tmpExt   = ".tmp"
)

// Open opens the journal in dir, making the directory if needed. opts may be nil. It fails with
// an error matching ErrLocked if another Disk, in this process or another, has dir open. Rooms
// are loaded, and recovered, on first use.
func Open(dir string, opts *Options) (*Disk, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, roomsDir), 0o755); err != nil {
		return nil, fmt.Errorf("aper/journal: open: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	// Directories of rooms whose creation a crash cut short.
	if ents, err := os.ReadDir(filepath.Join(dir, roomsDir)); err == nil {
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), tmpExt) {
				_ = os.RemoveAll(filepath.Join(dir, roomsDir, e.Name()))
			}
		}
	}
	d := &Disk{dir: dir, opts: o, lock: lock, rooms: make(map[string]*room), done: make(chan struct{})}
	if o.Sync == SyncInterval {
		d.wg.Add(1)
		go d.syncLoop()
	}
	return d, nil
}

// Stats returns the Disk's counters.
func (d *Disk) Stats() Stats {
	return Stats{
		Appends:   d.appends.Load(),
		Entries:   d.entries.Load(),
		Bytes:     d.bytes.Load(),
		Syncs:     d.syncs.Load(),
		SyncTime:  time.Duration(d.syncNanos.Load()),
		TornTails: d.torn.Load(),
	}
}

// Close implements [Journal.Close]: it fsyncs what is written and not yet durable, closes the
// files, stops the background fsync and releases the directory.
func (d *Disk) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	close(d.done)
	rooms := make([]*room, 0, len(d.rooms))
	for _, r := range d.rooms {
		rooms = append(rooms, r)
	}
	d.mu.Unlock()
	d.wg.Wait()
	var errs []error
	for _, r := range rooms {
		errs = append(errs, r.close())
	}
	errs = append(errs, unlockDir(d.lock))
	return errors.Join(errs...)
}

func (d *Disk) syncLoop() {
	defer d.wg.Done()
	t := time.NewTicker(d.opts.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-d.done:
			return
		case <-t.C:
		}
		d.mu.Lock()
		rooms := make([]*room, 0, len(d.rooms))
		for _, r := range d.rooms {
			rooms = append(rooms, r)
		}
		d.mu.Unlock()
		for _, r := range rooms {
			r.mu.Lock()
			if r.f != nil && !r.syncing && !r.closed && r.failed == nil && r.synced < r.written {
				r.syncLocked()
			}
			r.mu.Unlock()
		}
	}
}

// room returns the named room's record, making it if needed. It does not touch the disk.
func (d *Disk) room(name string) (*room, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, closedErr("room " + fmt.Sprintf("%q", name))
	}
	r := d.rooms[name]
	if r == nil {
		r = &room{d: d, name: name, dir: filepath.Join(d.dir, roomsDir, roomDirName(name)), notify: make(chan struct{})}
		r.cond = sync.NewCond(&r.mu)
		d.rooms[name] = r
	}
	return r, nil
}

// room is one room's log on disk.
type room struct {
	d    *Disk
	name string
	dir  string

	snapMu sync.Mutex // serializes SaveSnapshot

	mu      sync.Mutex
	cond    *sync.Cond // on mu; broadcast when a sync ends or the room closes
	loaded  bool
	loadErr error // the room could not be loaded (damaged): every call returns it
	failed  error // a write or fsync failed: appends are refused until reopened
	closed  bool
	exists  bool
	segs    []uint64 // the bases of the segment files, ascending; the last is active
	f       *os.File // the active segment, open for writing; nil when there is none
	size    int64    // bytes in f
	written uint64   // the Seq of the last record written to f
	synced  uint64   // the Seq of the last record fsynced
	acked   uint64   // the Seq of the last durable record under the policy: Last, and what readers see
	syncing bool     // a goroutine is fsyncing f without holding mu
	users   int      // Read and Follow iterations in progress
	notify  chan struct{}
	snapSeq uint64
	hasSnap bool
	wbuf    []byte
	// The records from offset batchStart of f on, after Seq marked, are the batch that the next
	// commit marker closes (see format.go); marked == written when there are none.
	batchStart int64
	marked     uint64
	mbuf       [markerSize]byte
}

func (r *room) ioErr(what string, err error) error {
	return fmt.Errorf("aper/journal: room %q: %s: %w", r.name, what, err)
}

func (r *room) segPath(base uint64) string { return filepath.Join(r.dir, segName(base)) }

// usableLocked loads the room if needed and says whether it can be used.
func (r *room) usableLocked(op string) error {
	if r.closed {
		return closedErr(op)
	}
	if !r.loaded {
		r.loaded = true
		r.loadErr = r.load()
	}
	return r.loadErr
}

// load reads the room's state from its directory and recovers its last segment.
func (r *room) load() error {
	ents, err := os.ReadDir(r.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return r.ioErr("load", err)
	}
	namePath := filepath.Join(r.dir, nameFile)
	name, err := os.ReadFile(namePath)
	if err != nil {
		return r.ioErr("load", err)
	}
	if string(name) != r.name {
		return &CorruptError{Room: r.name, File: namePath, Reason: "the directory holds another room"}
	}
	r.exists = true
	for _, e := range ents {
		if base, ok := parseSegName(e.Name()); ok {
			r.segs = append(r.segs, base)
		} else if strings.HasSuffix(e.Name(), tmpExt) {
			_ = os.Remove(filepath.Join(r.dir, e.Name()))
		}
	}
	slices.Sort(r.segs)
	if err := r.loadSnapshotHeader(); err != nil {
		return err
	}
	if !r.hasSnap && len(r.segs) > 0 && r.segs[0] != 1 {
		return &CorruptError{Room: r.name, File: r.segPath(r.segs[0]), Reason: "the log starts after Seq 1 and there is no snapshot"}
	}
	if r.hasSnap && len(r.segs) > 0 && r.segs[0]-1 > r.snapSeq {
		// Compaction only removes segments that the snapshot covers entirely.
		return &CorruptError{Room: r.name, File: r.segPath(r.segs[0]), Reason: fmt.Sprintf("the log starts at Seq %d and the snapshot covers only up to %d", r.segs[0], r.snapSeq)}
	}
	// Segments a snapshot covers may survive a compaction that a crash cut short.
	r.removeSegments(r.dropCoveredLocked(r.compactBoundLocked()))
	if len(r.segs) == 0 {
		r.written = r.snapSeq
		r.synced, r.acked, r.marked = r.written, r.written, r.written
		return nil
	}
	base := r.segs[len(r.segs)-1]
	path := r.segPath(base)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return r.ioErr("load", err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return r.ioErr("load", err)
	}
	res := scanSegment(data, base)
	if res.corrupt {
		f.Close()
		return &CorruptError{Room: r.name, File: path, Offset: res.good, Reason: res.reason}
	}
	if res.torn {
		r.d.torn.Add(1)
		if res.good < segHeaderSize {
			res.good = segHeaderSize
			err := f.Truncate(0)
			if err == nil {
				_, err = f.WriteAt(segHeader(base), 0)
			}
			if err != nil {
				f.Close()
				return r.ioErr("rewrite a torn segment header", err)
			}
		}
		if err := f.Truncate(res.good); err != nil {
			f.Close()
			return r.ioErr("cut a torn tail", err)
		}
	}
	r.f, r.size = f, res.good
	r.written = res.last
	r.batchStart, r.marked = res.open, res.marked
	// What survived a crash of the process may still be only in the page cache: close it with
	// a marker and make it durable before anyone is told it is.
	err = r.markLocked()
	if err == nil {
		if err = f.Sync(); err != nil {
			err = r.ioErr("load", err)
		}
	}
	if err != nil {
		f.Close()
		r.f = nil
		return err
	}
	if r.written < r.snapSeq {
		// The log lost entries the snapshot covers (a machine crash under SyncNever): the
		// snapshot is the truth, and the log restarts after it.
		f.Close()
		r.f = nil
		r.removeSegments(r.segs)
		r.segs = nil
		r.written = r.snapSeq
	}
	r.synced, r.acked, r.marked = r.written, r.written, r.written
	return nil
}

func (r *room) loadSnapshotHeader() error {
	path := filepath.Join(r.dir, snapFile)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return r.ioErr("load snapshot", err)
	}
	defer f.Close()
	h := make([]byte, snapHeaderLen)
	n, err := io.ReadFull(f, h)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return r.ioErr("load snapshot", err)
	}
	seq, length, _, reason := parseSnapshotHeader(h[:n])
	if reason != "" {
		return &CorruptError{Room: r.name, File: path, Reason: reason}
	}
	fi, err := f.Stat()
	if err != nil {
		return r.ioErr("load snapshot", err)
	}
	if uint64(fi.Size()) != snapHeaderLen+length {
		return &CorruptError{Room: r.name, File: path, Reason: fmt.Sprintf("snapshot file has %d bytes, its header says %d", fi.Size(), snapHeaderLen+length)}
	}
	r.snapSeq, r.hasSnap = seq, true
	return nil
}

// dropCoveredLocked removes from r.segs, and returns, the segments other than the active one
// whose every entry has a Seq ≤ seq.
func (r *room) dropCoveredLocked(seq uint64) []uint64 {
	n := 0
	for n+1 < len(r.segs) && r.segs[n+1]-1 <= seq {
		n++
	}
	if n == 0 {
		return nil
	}
	dropped := slices.Clone(r.segs[:n])
	r.segs = slices.Clone(r.segs[n:])
	return dropped
}

func (r *room) removeSegments(bases []uint64) {
	for _, b := range bases {
		_ = os.Remove(r.segPath(b)) // a segment left behind is dropped again on the next load
	}
}

// createLocked makes the room's directory, with its name, atomically.
func (r *room) createLocked() error {
	parent := filepath.Join(r.d.dir, roomsDir)
	tmp, err := os.MkdirTemp(parent, tmpExt)
	if err != nil {
		return r.ioErr("create", err)
	}
	err = writeFileSync(filepath.Join(tmp, nameFile), []byte(r.name))
	if err == nil {
		err = syncDir(tmp)
	}
	if err == nil {
		err = os.Rename(tmp, r.dir)
	}
	if err == nil {
		err = syncDir(parent)
	}
	if err != nil {
		_ = os.RemoveAll(tmp)
		return r.ioErr("create", err)
	}
	r.exists = true
	return nil
}

// newSegmentLocked starts the segment file whose first record will have Seq base.
func (r *room) newSegmentLocked(base uint64) error {
	path := r.segPath(base)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return r.ioErr("new segment", err)
	}
	if _, err := f.WriteAt(segHeader(base), 0); err != nil {
		f.Close()
		_ = os.Remove(path)
		return r.ioErr("new segment", err)
	}
	if err := syncDir(r.dir); err != nil {
		f.Close()
		return r.ioErr("new segment", err)
	}
	r.f, r.size = f, segHeaderSize
	r.batchStart, r.marked = segHeaderSize, r.written
	r.segs = append(r.segs, base)
	return nil
}

// rollLocked seals the active segment (fsynced) and starts the next one. No sync may be running.
func (r *room) rollLocked() error {
	if err := r.markLocked(); err != nil {
		return err
	}
	if err := r.d.fsync(r.f); err != nil {
		return r.ioErr("seal segment", err)
	}
	r.synced = r.written
	r.ackLocked(r.written)
	r.cond.Broadcast()
	if err := r.f.Close(); err != nil {
		return r.ioErr("seal segment", err)
	}
	r.f = nil
	return r.newSegmentLocked(r.written + 1)
}

func (r *room) ackLocked(seq uint64) {
	if seq > r.acked {
		r.acked = seq
		close(r.notify)
		r.notify = make(chan struct{})
	}
}

// markLocked writes the commit marker that closes the records written since the last one, just
// before the fsync that makes them durable (see format.go); with none, it writes nothing.
func (r *room) markLocked() error {
	if r.marked == r.written {
		return nil
	}
	b := appendMarker(r.mbuf[:0], marker{start: uint64(r.batchStart), first: r.marked + 1, last: r.written})
	if _, err := r.f.WriteAt(b, r.size); err != nil {
		return r.ioErr("write commit marker", err)
	}
	r.size += int64(len(b))
	r.batchStart, r.marked = r.size, r.written
	return nil
}

// fsync fsyncs a segment file, counting it and the time it took in the Disk's Stats.
func (d *Disk) fsync(f *os.File) error {
	start := time.Now()
	err := f.Sync()
	d.syncs.Add(1)
	d.syncNanos.Add(uint64(time.Since(start)))
	return err
}

// syncLocked fsyncs the active segment without holding mu meanwhile, so that more appends can
// be written and join the next fsync: group commit. No sync may be running.
func (r *room) syncLocked() {
	if err := r.markLocked(); err != nil {
		r.failed = err
		r.cond.Broadcast()
		return
	}
	r.syncing = true
	target, f := r.written, r.f
	r.mu.Unlock()
	err := r.d.fsync(f)
	r.mu.Lock()
	r.syncing = false
	if err != nil {
		// After a failed fsync the page cache may have dropped the data: trust nothing more.
		r.failed = r.ioErr("fsync", err)
	} else if target > r.synced {
		r.synced = target
		r.ackLocked(target)
	}
	r.cond.Broadcast()
}

// waitSyncedLocked returns once the record with Seq seq is fsynced, leading an fsync or joining
// the one under way.
func (r *room) waitSyncedLocked(seq uint64) error {
	for r.synced < seq {
		switch {
		case r.failed != nil:
			return r.failed
		case r.syncing:
			r.cond.Wait()
		case r.closed || r.f == nil:
			return closedErr("append")
		default:
			r.syncLocked()
		}
	}
	return nil
}

func (r *room) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.syncing {
		r.cond.Wait()
	}
	r.closed = true
	var err error
	if r.f != nil {
		if r.failed == nil && r.synced < r.written {
			if err = r.markLocked(); err == nil {
				if err = r.f.Sync(); err != nil {
					err = r.ioErr("fsync", err)
				}
			}
			if err != nil {
				r.failed = err
			} else {
				r.synced = r.written
			}
		}
		r.f.Close()
		r.f = nil
	}
	r.cond.Broadcast()
	return err
}

// Release fsyncs what is written to the room and closes its open segment file; the next Append
// reopens it. A Disk keeps one file open per room it has appended to: a server with many rooms
// calls Release when a room goes idle, to bound its open files. Reads and Follows are unaffected.
// Releasing a room that is not open does nothing.
func (d *Disk) Release(name string) error {
	if err := checkRoom(name); err != nil {
		return err
	}
	d.mu.Lock()
	r, closed := d.rooms[name], d.closed
	d.mu.Unlock()
	if closed {
		return closedErr("release")
	}
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.syncing {
		r.cond.Wait()
	}
	if r.closed {
		return closedErr("release")
	}
	if r.f == nil {
		return nil
	}
	var err error
	if r.failed == nil && r.synced < r.written {
		if err = r.markLocked(); err == nil {
			if err = r.d.fsync(r.f); err != nil {
				err = r.ioErr("fsync", err)
			}
		}
		if err != nil {
			r.failed = err
		} else {
			r.synced = r.written
			r.ackLocked(r.written)
		}
	}
	if cerr := r.f.Close(); err == nil && cerr != nil {
		err = r.ioErr("release", cerr)
	}
	r.f = nil
	r.cond.Broadcast()
	return err
}

// Append implements [Journal.Append]. Under SyncBatch it returns once the room's segment is
// fsynced; concurrent Appends share fsyncs.
func (d *Disk) Append(ctx context.Context, name string, expectedLast uint64, entries []Entry) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if err := checkRoom(name); err != nil {
		return err
	}
	if err := checkEntries(name, expectedLast, entries); err != nil {
		return err
	}
	for i, e := range entries {
		if len(e.Data) > d.opts.MaxEntrySize {
			return fmt.Errorf("%w: room %q: entry %d has %d bytes, more than MaxEntrySize %d", ErrInvalid, name, i, len(e.Data), d.opts.MaxEntrySize)
		}
	}
	r, err := d.room(name)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		if err := r.usableLocked("append"); err != nil {
			return err
		}
		if r.failed != nil {
			return r.failed
		}
		if r.written != expectedLast {
			return &SeqMismatchError{Room: name, Expected: expectedLast, Actual: r.written}
		}
		if len(entries) == 0 {
			return nil
		}
		if r.f != nil && r.syncing && r.size > segHeaderSize && r.size+int64(recordsSize(entries)) > d.opts.SegmentSize {
			r.cond.Wait() // the segment must be sealed, not while it is being fsynced; check again
			continue
		}
		break
	}
	if !r.exists {
		if err := r.createLocked(); err != nil {
			return err
		}
	}
	buf := r.wbuf[:0]
	for _, e := range entries {
		buf = appendRecord(buf, e.Seq, e.Data)
	}
	if cap(buf) <= 1<<20 {
		r.wbuf = buf
	} else {
		r.wbuf = nil
	}
	if r.f == nil && len(r.segs) > 0 {
		// Released: the last segment is still the active one.
		f, err := os.OpenFile(r.segPath(r.segs[len(r.segs)-1]), os.O_RDWR, 0)
		if err != nil {
			return r.ioErr("reopen segment", err)
		}
		r.f = f
	}
	if r.f != nil && r.size > segHeaderSize && r.size+int64(len(buf)) > d.opts.SegmentSize {
		if err := r.rollLocked(); err != nil {
			r.failed = err
			return err
		}
	}
	if r.f == nil {
		if err := r.newSegmentLocked(expectedLast + 1); err != nil {
			r.failed = err
			return err
		}
	}
	if _, err := r.f.WriteAt(buf, r.size); err != nil {
		// A partial record may be in the file: the tail is cut when the journal is reopened.
		r.failed = r.ioErr("write", err)
		return r.failed
	}
	last := entries[len(entries)-1].Seq
	r.size += int64(len(buf))
	r.written = last
	d.appends.Add(1)
	d.entries.Add(uint64(len(entries)))
	d.bytes.Add(uint64(len(buf)))
	if d.opts.Sync != SyncBatch {
		r.ackLocked(last)
		return nil
	}
	return r.waitSyncedLocked(last)
}

func recordsSize(entries []Entry) int {
	n := 0
	for _, e := range entries {
		n += recHeaderSize + len(e.Data)
	}
	return n
}

// Last implements [Journal.Last].
func (d *Disk) Last(ctx context.Context, name string) (uint64, error) {
	if err := checkRoom(name); err != nil {
		return 0, err
	}
	r, err := d.room(name)
	if err != nil {
		return 0, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.usableLocked("last"); err != nil {
		return 0, err
	}
	return r.acked, nil
}

// Read implements [Journal.Read].
func (d *Disk) Read(ctx context.Context, name string, from uint64) iter.Seq2[Entry, error] {
	return d.iterate(ctx, name, from, false)
}

// Follow implements [Journal.Follow].
func (d *Disk) Follow(ctx context.Context, name string, from uint64) iter.Seq2[Entry, error] {
	return d.iterate(ctx, name, from, true)
}

func (d *Disk) iterate(ctx context.Context, name string, from uint64, follow bool) iter.Seq2[Entry, error] {
	if err := checkRoom(name); err != nil {
		return fail(err)
	}
	return func(yield func(Entry, error) bool) {
		r, err := d.room(name)
		if err != nil {
			yield(Entry{}, err)
			return
		}
		r.mu.Lock()
		r.users++
		r.mu.Unlock()
		defer func() {
			r.mu.Lock()
			r.users--
			r.mu.Unlock()
		}()
		c := &cursor{r: r, from: max(from, 1)}
		defer c.close()
		n := 0
		for {
			if err := ctxErr(ctx); err != nil {
				yield(Entry{}, err)
				return
			}
			r.mu.Lock()
			err := r.usableLocked("read")
			limit, notify := r.acked, r.notify
			r.mu.Unlock()
			if err != nil {
				yield(Entry{}, err)
				return
			}
			progressed := false
			for {
				e, ok, err := c.next(limit)
				if err != nil {
					yield(Entry{}, err)
					return
				}
				if !ok {
					break
				}
				progressed = true
				if !yield(e, nil) {
					return
				}
				if n++; n%1024 == 0 {
					if err := ctxErr(ctx); err != nil {
						yield(Entry{}, err)
						return
					}
				}
			}
			if progressed {
				continue // more may be durable by now
			}
			if !follow {
				return
			}
			select {
			case <-notify:
			case <-d.done:
				yield(Entry{}, closedErr("follow"))
				return
			case <-ctx.Done():
				yield(Entry{}, context.Cause(ctx))
				return
			}
		}
	}
}

// SaveSnapshot implements [Journal.SaveSnapshot]. The snapshot is written to a temporary file,
// fsynced and renamed over the previous one (whatever the sync policy), then the segments it
// covers entirely are removed.
func (d *Disk) SaveSnapshot(ctx context.Context, name string, s Snapshot) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if err := checkRoom(name); err != nil {
		return err
	}
	r, err := d.room(name)
	if err != nil {
		return err
	}
	r.snapMu.Lock()
	defer r.snapMu.Unlock()
	r.mu.Lock()
	err = r.usableLocked("save snapshot")
	switch {
	case err != nil:
	case s.Seq > r.acked:
		err = fmt.Errorf("%w: room %q: snapshot at Seq %d is past the last entry %d", ErrInvalid, name, s.Seq, r.acked)
	case r.hasSnap && s.Seq < r.snapSeq:
		err = fmt.Errorf("%w: room %q: snapshot at Seq %d is older than the saved one at %d", ErrInvalid, name, s.Seq, r.snapSeq)
	case !r.exists:
		err = r.createLocked()
	}
	r.mu.Unlock()
	if err != nil {
		return err
	}
	path := filepath.Join(r.dir, snapFile)
	tmp := path + tmpExt
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return r.ioErr("save snapshot", err)
	}
	h := encodeSnapshot(Snapshot{Seq: s.Seq})
	le.PutUint64(h[16:], uint64(len(s.Data)))
	le.PutUint32(h[24:], crc32Checksum(s.Data))
	le.PutUint32(h[28:], crc32Checksum(h[:28]))
	_, err = f.Write(h)
	if err == nil {
		_, err = f.Write(s.Data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && d.opts.Retention.enabled() {
		err = os.Link(tmp, filepath.Join(r.dir, archiveName(s.Seq)))
		if errors.Is(err, fs.ErrExist) {
			err = os.Remove(filepath.Join(r.dir, archiveName(s.Seq))) // from a save a crash cut short
			if err == nil {
				err = os.Link(tmp, filepath.Join(r.dir, archiveName(s.Seq)))
			}
		}
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(r.dir)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return r.ioErr("save snapshot", err)
	}
	r.mu.Lock()
	r.snapSeq, r.hasSnap = s.Seq, true
	dropped := r.dropCoveredLocked(r.compactBoundLocked())
	r.mu.Unlock()
	r.removeSegments(dropped)
	if d.opts.Retention.enabled() {
		r.pruneArchive()
	}
	return nil
}

// LoadSnapshot implements [Journal.LoadSnapshot].
func (d *Disk) LoadSnapshot(ctx context.Context, name string) (Snapshot, bool, error) {
	if err := checkRoom(name); err != nil {
		return Snapshot{}, false, err
	}
	r, err := d.room(name)
	if err != nil {
		return Snapshot{}, false, err
	}
	r.mu.Lock()
	err = r.usableLocked("load snapshot")
	has := r.hasSnap
	r.mu.Unlock()
	if err != nil || !has {
		return Snapshot{}, false, err
	}
	snap, err := readSnapshotFile(name, filepath.Join(r.dir, snapFile))
	if errors.As(err, new(*CorruptError)) {
		return Snapshot{}, false, err
	}
	if err != nil {
		return Snapshot{}, false, r.ioErr("load snapshot", err)
	}
	return snap, true, nil
}

// Rooms implements [Journal.Rooms]. It lists the room directories.
func (d *Disk) Rooms(ctx context.Context) ([]string, error) {
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return nil, closedErr("rooms")
	}
	parent := filepath.Join(d.dir, roomsDir)
	ents, err := os.ReadDir(parent)
	if err != nil {
		return nil, fmt.Errorf("aper/journal: rooms: %w", err)
	}
	var names []string
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), tmpExt) {
			continue
		}
		if err := ctxErr(ctx); err != nil {
			return nil, err
		}
		b, err := os.ReadFile(filepath.Join(parent, e.Name(), nameFile))
		if err != nil {
			return nil, fmt.Errorf("aper/journal: rooms: %w", err)
		}
		if roomDirName(string(b)) == e.Name() {
			names = append(names, string(b))
		}
	}
	slices.Sort(names)
	return names, nil
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir fsyncs a directory, so that the names made or renamed in it are durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be opened for fsync there; renames are durable
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
