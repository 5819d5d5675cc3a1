package sync

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/aper-go/aper"
)

// The client store (WithClientStore) is a directory of three files:
//
//	lock   an advisory lock (flock) held while a Client uses the store
//	state  a checkpoint: magic "aperCS1\n", a CRC-32C of the body, and the body, a CBOR
//	       storedCheckpoint: the room, the client's key, id and instance, the confirmed state
//	       and its Seq, the last local seq, and the pending transitions
//	log    what happened since the checkpoint: records of a 4-byte length, a 4-byte CRC-32C
//	       and a CBOR storedRecord each, the first one a header naming the checkpoint's
//	       generation
//
// A checkpoint is written to state.tmp, fsynced, renamed over state, and the directory fsynced,
// so that state is always one whole checkpoint; then the log is cut back to its header. A log
// whose header names an older generation than state is what a crash between the two left: its
// records are in the checkpoint, and it is ignored. Records are appended under the client's
// lock: the one of a new pending transition is fsynced before Apply returns and before the
// transition is sent, the others (confirmed transitions, resolved pending ones, the client's
// identity) once per received message. Only the records after the last fsync can be damaged by
// a crash, so a damaged record at the end of the log is a torn write and is dropped; one
// followed by more data is corruption, an error matching ErrStoreCorrupt.

// ErrStoreLocked marks a client store (WithClientStore) that another live Client, in this
// process or another, holds; see [StoreError].
var ErrStoreLocked = errors.New("aper/sync: client store in use by another client")

// ErrStoreCorrupt marks a client store whose files are damaged or were not written by this
// package; see [StoreError]. The store is left as it is: move it aside to start afresh (its
// pending transitions are then lost).
var ErrStoreCorrupt = errors.New("aper/sync: client store corrupt")

// StoreError is a failure of the client store (WithClientStore): opening it (Op "open"; Err
// matches ErrStoreLocked or ErrStoreCorrupt, or is the file system's error) or writing it ("write",
// returned by Apply, which then applies nothing; once a write failed the client keeps running in
// memory but every later Apply returns the error).
type StoreError struct {
	Op   string
	Path string
	Err  error
}

var _ error = (*StoreError)(nil)

// Error says what failed on which file.
func (e *StoreError) Error() string {
	return fmt.Sprintf("aper/sync: client store: %s %s: %v", e.Op, e.Path, e.Err)
}

// Unwrap returns the cause.
func (e *StoreError) Unwrap() error { return e.Err }

// WithClientStore keeps the client's identity and work in the directory dir on local disk
// (created if missing), so that a client process that restarts, or crashes, loses nothing: the
// client key (the client keeps its id, and its transitions their exactly-once numbering), the
// confirmed state and its Seq, and the pending transitions with their local seqs. A Client dialed
// again with the same store shows the optimistic view (the stored confirmed state plus the stored
// pending transitions) at once, re-sends the pending transitions when it connects, and the server
// applies each exactly once.
//
// With a store that holds the room's state, Dial does not wait for the server (an offline start):
// it returns at once a client that is Disconnected, shows the stored view, accepts Apply and
// connects in the background (Status and StatusChanges report how). A store without state yet
// (its first Dial) needs the server as usual; see also WithDialRetry.
//
// One store is one client of one room: Dial with another room's store fails. Two live clients
// cannot share a store: the second Dial fails with an error matching ErrStoreLocked (on Linux,
// macOS and the BSDs; other platforms take no lock). A damaged store fails Dial with an error
// matching ErrStoreCorrupt. A store holds the client's secret key: keep it private (Dial creates
// it with mode 0700). WithClientKey, if also given, must name the stored key.
//
// Cost: Apply appends a record of the transition and fsyncs it before it returns (a few
// milliseconds on a typical disk), so a transition Apply accepted survives a crash of the process
// or the machine. Each message from the server appends records of what it confirmed and is
// fsynced once; when the log outgrows 4 MiB and twice the last checkpoint, the client writes a new
// checkpoint (an encoding of the whole state, under the client's lock).
//
// States and transitions are stored in CBOR (aper.CBOR), so they must encode with it, as they must
// for every codec anyway.
func WithClientStore(dir string) ClientOption {
	return func(c *clientConfig) error {
		if dir == "" {
			return fmt.Errorf("%w: empty client store directory", ErrInvalidOption)
		}
		c.storeDir = dir
		return nil
	}
}

// WithDialRetry makes Dial keep trying when the server cannot be reached, with the backoff of
// WithBackoff, until ctx ends or the server refuses the client for good (a fatal ServerError,
// another protocol version), instead of returning the first connection's error. After each failed
// attempt Dial calls report, if not nil, from Dial's goroutine, with Status{State: Disconnected,
// Err: the attempt's error}. When ctx ends, Dial's error matches both ctx's cause and the last
// attempt's error.
//
// Once Dial has returned, the client reconnects by itself whatever the options: Status and
// StatusChanges report it.
func WithDialRetry(report func(Status)) ClientOption {
	return func(c *clientConfig) error {
		c.dialRetry, c.dialReport = true, report
		return nil
	}
}

const (
	storeStateMagic = "aperCS1\n"
	storeLogMagic   = "aperCL1\n"
	storeCompactMin = 4 << 20 // least log size that triggers a new checkpoint
)

var storeCRC = crc32.MakeTable(crc32.Castagnoli)

// storedCheckpoint is the body of the state file.
type storedCheckpoint struct {
	Room      string          `cbor:"1,keyasint"`
	Key       string          `cbor:"2,keyasint"`
	Gen       uint64          `cbor:"3,keyasint"`
	ID        aper.ClientID   `cbor:"4,keyasint,omitempty"`
	Inst      aper.ClientID   `cbor:"5,keyasint,omitempty"`
	HasState  bool            `cbor:"6,keyasint,omitempty"`
	Seq       uint64          `cbor:"7,keyasint,omitempty"`
	NextLocal uint64          `cbor:"8,keyasint,omitempty"`
	State     []byte          `cbor:"9,keyasint,omitempty"`
	Pending   []storedPending `cbor:"10,keyasint,omitempty"`
}

type storedPending struct {
	Local uint64 `cbor:"1,keyasint"`
	Time  int64  `cbor:"2,keyasint"` // Unix nanoseconds
	T     []byte `cbor:"3,keyasint"`
}

// Kinds of log records.
const (
	recHeader  = 1 // Gen: the checkpoint the log follows
	recAdd     = 2 // Local, Time, Data: a new pending transition
	recConfirm = 3 // Seq, Client, Time, Data: the confirmed state advanced
	recDrop    = 4 // Local: the oldest pending transition, Local, was confirmed or rejected
	recIdent   = 5 // ID, Inst, Local: the server named the client; its last local seq
)

type storedRecord struct {
	Kind   uint8         `cbor:"1,keyasint"`
	Gen    uint64        `cbor:"2,keyasint,omitempty"`
	Local  uint64        `cbor:"3,keyasint,omitempty"`
	Seq    uint64        `cbor:"4,keyasint,omitempty"`
	Time   int64         `cbor:"5,keyasint,omitempty"`
	Client aper.ClientID `cbor:"6,keyasint,omitempty"`
	Inst   aper.ClientID `cbor:"7,keyasint,omitempty"`
	Data   []byte        `cbor:"8,keyasint,omitempty"`
}

// clientStore is a Client's store. Every method is called under the Client's lock; the hooks
// the core calls (add, confirm, drop, replaced) are no-ops on a nil store.
type clientStore[S aper.StateMachine[S, T], T any] struct {
	dir       string
	room, key string
	lock      *os.File
	log       *os.File
	buf       []byte // records not yet written to log
	logSize   int64  // bytes written to log
	stateSize int64  // bytes of the last checkpoint
	compactAt int64  // least log size that triggers a checkpoint

	// What the files say, to tell when the core moved on without a record.
	gen       uint64
	seq       uint64
	id, inst  aper.ClientID
	nextLocal uint64
	replace   bool // the confirmed state was replaced (a snapshot): checkpoint

	err    error // the first write error; sticky
	closed bool
}

func (s *clientStore[S, T]) path(name string) string { return filepath.Join(s.dir, name) }

func storeCorrupt(path, format string, args ...any) error {
	return &StoreError{Op: "open", Path: path, Err: fmt.Errorf("%w: "+format, append([]any{ErrStoreCorrupt}, args...)...)}
}

// openClientStore opens (or creates) the store in dir for a client of room and loads it into
// core. key is the key WithClientKey gave ("" if none); it returns the client's key.
func openClientStore[S aper.StateMachine[S, T], T any](dir, room, key string, core *clientCore[S, T]) (*clientStore[S, T], string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", &StoreError{Op: "open", Path: dir, Err: err}
	}
	lock, err := lockStore(filepath.Join(dir, "lock"))
	if err != nil {
		return nil, "", err
	}
	s := &clientStore[S, T]{dir: dir, room: room, lock: lock, compactAt: storeCompactMin}
	if err := s.load(key, core); err != nil {
		if s.log != nil {
			s.log.Close()
		}
		lock.Close()
		return nil, "", err
	}
	core.store = s
	return s, s.key, nil
}

// load reads the files into core, or creates them.
func (s *clientStore[S, T]) load(key string, core *clientCore[S, T]) error {
	sp := s.path("state")
	b, err := os.ReadFile(sp)
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(s.path("log")); err == nil {
			return storeCorrupt(s.path("log"), "a log without a state file")
		}
		if key == "" {
			key = newClientKey()
		}
		s.key = key
		return s.checkpoint(core)
	}
	if err != nil {
		return &StoreError{Op: "open", Path: sp, Err: err}
	}
	if len(b) < len(storeStateMagic)+4 || string(b[:len(storeStateMagic)]) != storeStateMagic {
		return storeCorrupt(sp, "not a client store state file")
	}
	body := b[len(storeStateMagic)+4:]
	if crc32.Checksum(body, storeCRC) != binary.LittleEndian.Uint32(b[len(storeStateMagic):]) {
		return storeCorrupt(sp, "checksum mismatch")
	}
	var ck storedCheckpoint
	if err := unmarshal(aper.CBOR, body, &ck); err != nil {
		return storeCorrupt(sp, "%v", err)
	}
	if ck.Room != s.room {
		return &StoreError{Op: "open", Path: sp, Err: fmt.Errorf("%w: the store belongs to room %q, not %q", ErrInvalidOption, ck.Room, s.room)}
	}
	if len(ck.Key) < minClientKey || len(ck.Key) > maxClientKey {
		return storeCorrupt(sp, "client key of %d bytes", len(ck.Key))
	}
	if key != "" && key != ck.Key {
		return &StoreError{Op: "open", Path: sp, Err: fmt.Errorf("%w: WithClientKey differs from the store's key", ErrInvalidOption)}
	}
	s.key, s.gen, s.stateSize = ck.Key, ck.Gen, int64(len(b))
	core.id, core.inst, core.nextLocal = ck.ID, ck.Inst, ck.NextLocal
	if ck.HasState {
		if err := unmarshal(aper.CBOR, ck.State, &core.confirmed); err != nil {
			return storeCorrupt(sp, "state: %v", err)
		}
		core.seq, core.hasState = ck.Seq, true
	}
	for _, p := range ck.Pending {
		e := pendingEntry[T]{local: p.Local, time: time.Unix(0, p.Time)}
		if err := unmarshal(aper.CBOR, p.T, &e.t); err != nil {
			return storeCorrupt(sp, "pending transition %d: %v", p.Local, err)
		}
		if p.Local > core.nextLocal || (len(core.pending) > 0 && p.Local <= core.pending[len(core.pending)-1].local) {
			return storeCorrupt(sp, "pending transition %d out of order", p.Local)
		}
		core.pending = append(core.pending, e)
	}
	if len(core.pending) > 0 && !core.hasState {
		return storeCorrupt(sp, "pending transitions without a state")
	}
	if err := s.replay(core); err != nil {
		return err
	}
	s.seq, s.id, s.inst, s.nextLocal = core.seq, core.id, core.inst, core.nextLocal
	core.dirty = true // build the view: confirmed plus pending
	return nil
}

// replay applies the log's records to core and opens the log for appending.
func (s *clientStore[S, T]) replay(core *clientCore[S, T]) error {
	lp := s.path("log")
	b, err := os.ReadFile(lp)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return &StoreError{Op: "open", Path: lp, Err: err}
	}
	valid := 0 // bytes of whole records that belong to this checkpoint
	for off := 0; off < len(b); {
		if len(b)-off < 8 {
			break // a torn header
		}
		n := int(binary.LittleEndian.Uint32(b[off:]))
		end := off + 8 + n
		if end > len(b) || n > len(b) {
			break // a torn record
		}
		body := b[off+8 : end]
		if crc32.Checksum(body, storeCRC) != binary.LittleEndian.Uint32(b[off+4:]) {
			if end == len(b) {
				break // the last record, torn
			}
			return storeCorrupt(lp, "record at offset %d: checksum mismatch", off)
		}
		var r storedRecord
		if err := unmarshal(aper.CBOR, body, &r); err != nil {
			return storeCorrupt(lp, "record at offset %d: %v", off, err)
		}
		if off == 0 {
			if r.Kind != recHeader || r.Gen > s.gen {
				return storeCorrupt(lp, "log header %d for checkpoint %d", r.Gen, s.gen)
			}
			if r.Gen < s.gen {
				break // left by a crash during a checkpoint, which holds its records
			}
		} else if err := s.apply(core, &r); err != nil {
			return storeCorrupt(lp, "record at offset %d: %v", off, err)
		}
		off, valid = end, end
	}
	if valid == 0 {
		return s.resetLog()
	}
	f, err := os.OpenFile(lp, os.O_WRONLY, 0o600)
	if err == nil && valid < len(b) {
		err = f.Truncate(int64(valid)) // drop the torn tail
	}
	if err == nil {
		_, err = f.Seek(int64(valid), 0)
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		return &StoreError{Op: "open", Path: lp, Err: err}
	}
	s.log, s.logSize = f, int64(valid)
	return nil
}

// apply replays one log record onto core.
func (s *clientStore[S, T]) apply(core *clientCore[S, T], r *storedRecord) error {
	switch r.Kind {
	case recAdd:
		if !core.hasState || r.Local <= core.nextLocal {
			return fmt.Errorf("pending transition %d after %d", r.Local, core.nextLocal)
		}
		e := pendingEntry[T]{local: r.Local, time: time.Unix(0, r.Time)}
		if err := unmarshal(aper.CBOR, r.Data, &e.t); err != nil {
			return fmt.Errorf("pending transition %d: %v", r.Local, err)
		}
		core.pending = append(core.pending, e)
		core.nextLocal = r.Local
	case recConfirm:
		if !core.hasState || r.Seq != core.seq+1 {
			return fmt.Errorf("confirmed %d after %d", r.Seq, core.seq)
		}
		ev := aper.Event[T]{Seq: r.Seq, Client: r.Client}
		if r.Time != 0 {
			ev.Time = time.Unix(0, r.Time)
		}
		if err := unmarshal(aper.CBOR, r.Data, &ev.Transition); err != nil {
			return fmt.Errorf("confirmed %d: %v", r.Seq, err)
		}
		if err := applyStored(core.confirmed, ev); err != nil {
			return fmt.Errorf("confirmed %d does not apply (is Apply deterministic?): %v", r.Seq, err)
		}
		core.seq = r.Seq
	case recDrop:
		if len(core.pending) == 0 || core.pending[0].local != r.Local {
			return fmt.Errorf("drop of %d, which is not the oldest pending transition", r.Local)
		}
		core.pending[0] = pendingEntry[T]{}
		core.pending = core.pending[1:]
	case recIdent:
		if r.Local < core.nextLocal {
			return fmt.Errorf("last local seq %d after %d", r.Local, core.nextLocal)
		}
		core.id, core.inst, core.nextLocal = r.Client, r.Inst, r.Local
	default:
		return fmt.Errorf("record of kind %d", r.Kind)
	}
	return nil
}

// applyStored applies a stored event; a panic in the application's Apply is an error, as a
// stored record is bytes from the disk.
func applyStored[S aper.StateMachine[S, T], T any](s S, ev aper.Event[T]) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in Apply: %v", p)
		}
	}()
	return s.Apply(ev)
}

// resetLog replaces the log with one holding only the header of the current checkpoint.
func (s *clientStore[S, T]) resetLog() error {
	lp := s.path("log")
	if s.log != nil {
		s.log.Close()
		s.log = nil
	}
	f, err := os.OpenFile(lp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return &StoreError{Op: "write", Path: lp, Err: err}
	}
	s.log, s.logSize, s.buf = f, 0, s.buf[:0]
	s.record(&storedRecord{Kind: recHeader, Gen: s.gen})
	if err := s.flush(); err != nil {
		return err
	}
	return syncDir(s.dir)
}

// syncDir fsyncs a directory, so that a file created or renamed in it stays. Windows cannot
// sync a directory (its renames are durable by themselves).
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	f.Close()
	return err
}

// record appends r to the unwritten records.
func (s *clientStore[S, T]) record(r *storedRecord) {
	body, err := aper.CBOR.Marshal(r)
	if err != nil {
		s.fail(s.path("log"), err)
		return
	}
	var h [8]byte
	binary.LittleEndian.PutUint32(h[:], uint32(len(body)))
	binary.LittleEndian.PutUint32(h[4:], crc32.Checksum(body, storeCRC))
	s.buf = append(append(s.buf, h[:]...), body...)
}

func (s *clientStore[S, T]) fail(path string, err error) {
	if s.err == nil {
		s.err = &StoreError{Op: "write", Path: path, Err: err}
	}
}

// flush writes the unwritten records and fsyncs the log.
func (s *clientStore[S, T]) flush() error {
	if s.err != nil {
		return s.err
	}
	if len(s.buf) == 0 {
		return nil
	}
	n, err := s.log.Write(s.buf)
	s.logSize += int64(n)
	s.buf = s.buf[:0]
	if err == nil {
		err = s.log.Sync()
	}
	if err != nil {
		s.fail(s.path("log"), err)
	}
	return s.err
}

// checkpoint writes core's whole state as a new checkpoint and empties the log.
func (s *clientStore[S, T]) checkpoint(core *clientCore[S, T]) error {
	if s.err != nil {
		return s.err
	}
	// The pending transitions are stored as made on the state stored with them.
	core.rebasePending()
	ck := storedCheckpoint{Room: s.room, Key: s.key, Gen: s.gen + 1, ID: core.id, Inst: core.inst,
		HasState: core.hasState, Seq: core.seq, NextLocal: core.nextLocal}
	var err error
	if core.hasState {
		ck.State, err = aper.CBOR.Marshal(core.confirmed)
	}
	for i := 0; err == nil && i < len(core.pending); i++ {
		p := &core.pending[i]
		sp := storedPending{Local: p.local, Time: p.time.UnixNano()}
		sp.T, err = aper.CBOR.Marshal(p.t)
		ck.Pending = append(ck.Pending, sp)
	}
	var body []byte
	if err == nil {
		body, err = aper.CBOR.Marshal(&ck)
	}
	sp := s.path("state")
	if err != nil {
		s.fail(sp, err)
		return s.err
	}
	b := make([]byte, 0, len(storeStateMagic)+4+len(body))
	b = append(b, storeStateMagic...)
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(body, storeCRC))
	b = append(b, body...)
	if err := writeFileAtomic(sp, b); err != nil {
		s.fail(sp, err)
		return s.err
	}
	s.gen, s.stateSize = ck.Gen, int64(len(b))
	s.seq, s.id, s.inst, s.nextLocal, s.replace = core.seq, core.id, core.inst, core.nextLocal, false
	return s.resetLog()
}

// writeFileAtomic writes b to path through a temporary file, fsynced and renamed, then fsyncs
// the directory: path holds either its old content or b, whatever happens.
func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// The hooks of the client core. Each is a no-op on a nil store.

// add records a new pending transition, durably: Apply applies nothing if it fails.
func (s *clientStore[S, T]) add(local uint64, t T, at time.Time) error {
	if s == nil {
		return nil
	}
	if s.err != nil {
		return s.err
	}
	data, err := aper.CBOR.Marshal(t)
	if err != nil {
		return &StoreError{Op: "write", Path: s.path("log"), Err: err} // this transition only
	}
	s.record(&storedRecord{Kind: recAdd, Local: local, Time: at.UnixNano(), Data: data})
	if err := s.flush(); err != nil {
		return err
	}
	s.nextLocal = local
	return nil
}

// confirm records that the confirmed state advanced by ev.
func (s *clientStore[S, T]) confirm(ev *aper.Event[T]) {
	if s == nil || s.err != nil {
		return
	}
	if s.replace || ev.Seq != s.seq+1 {
		s.replace = true // the log no longer follows: settle writes a checkpoint
		return
	}
	data, err := aper.CBOR.Marshal(ev.Transition)
	if err != nil {
		s.replace = true
		return
	}
	r := storedRecord{Kind: recConfirm, Seq: ev.Seq, Client: ev.Client, Data: data}
	if !ev.Time.IsZero() {
		r.Time = ev.Time.UnixNano()
	}
	s.record(&r)
	s.seq = ev.Seq
}

// drop records that the oldest pending transition, local, was confirmed or rejected.
func (s *clientStore[S, T]) drop(local uint64) {
	if s == nil || s.err != nil || s.replace {
		return
	}
	s.record(&storedRecord{Kind: recDrop, Local: local})
}

// replaced records that the confirmed state was replaced by a snapshot.
func (s *clientStore[S, T]) replaced() {
	if s != nil {
		s.replace = true
	}
}

// settle brings the files up to date with core after a message from the server, and fsyncs.
func (s *clientStore[S, T]) settle(core *clientCore[S, T]) {
	if s == nil || s.err != nil || s.closed {
		return
	}
	// A restored client is not fresh to its first welcome, which therefore does not number its
	// transitions on from what the server processed. Nothing it did can be past that unless the
	// machine crashed after a transition was sent and before its record was on disk, and then
	// its next transition must still follow.
	core.nextLocal = max(core.nextLocal, core.resolved)
	if s.replace || core.seq != s.seq || s.logSize+int64(len(s.buf)) > max(s.compactAt, 2*s.stateSize) {
		s.checkpoint(core)
		return
	}
	if core.id != s.id || core.inst != s.inst || core.nextLocal != s.nextLocal {
		s.record(&storedRecord{Kind: recIdent, Client: core.id, Inst: core.inst, Local: core.nextLocal})
		s.id, s.inst, s.nextLocal = core.id, core.inst, core.nextLocal
	}
	s.flush()
}

// close writes what is left and releases the store.
func (s *clientStore[S, T]) close() {
	if s == nil || s.closed {
		return
	}
	s.closed = true
	s.flush()
	if s.log != nil {
		s.log.Close()
	}
	s.lock.Close() // releases the lock
}
