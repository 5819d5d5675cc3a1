package sync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/journal"
)

// WithJournal makes the server durable: every transition a room orders is appended to j (one
// Append per batch, conditional on the room's last Seq) and is confirmed to nobody before j
// says it is durable; a room is rebuilt from j's latest snapshot and the log after it when it is
// loaded (after a restart, or after it unloaded when empty), with each client's processed local
// seqs, so that exactly-once holds across restarts; and a client whose Seq the in-memory resume
// log no longer covers resumes from j when j still has it. Entries are CBOR; rejected
// transitions are never journaled. The server does not close j.
//
// Use journal.Open(dir, nil) for the default on local disk (fsync per batch with group commit).
// If an Append fails, the room closes its connections (clients reconnect) and is rebuilt from j
// on the next join.
func WithJournal(j journal.Journal) ServerOption {
	return func(c *serverConfig) error {
		if j == nil {
			return fmt.Errorf("%w: nil journal", ErrInvalidOption)
		}
		c.journal = j
		return nil
	}
}

// WithSnapshotEvery sets how many transitions a room orders between two snapshots saved to the
// journal (default 10000; 0 never saves one). The state is cloned (O(1) for the library's
// structures) in the room's goroutine and encoded and saved on another, so that the room does
// not wait for it; a snapshot bounds the time to rebuild a room and lets the journal compact.
func WithSnapshotEvery(n int) ServerOption {
	return func(c *serverConfig) error {
		if n < 0 {
			return fmt.Errorf("%w: snapshot every %d transitions", ErrInvalidOption, n)
		}
		c.snapEvery = n
		return nil
	}
}

// maxJournalResume bounds how many transitions a resume reads from the journal; a client further
// behind gets a snapshot.
const maxJournalResume = 1 << 16

// journalRecord is a record as the journal stores it (Entry.Data; the Seq is Entry.Seq).
type journalRecord[T any] struct {
	Client     aper.ClientID `cbor:"1,keyasint,omitempty"`
	Local      uint64        `cbor:"2,keyasint,omitempty"`
	Time       int64         `cbor:"3,keyasint,omitempty"` // Unix nanoseconds
	Transition T             `cbor:"4,keyasint"`
	Kind       recordKind    `cbor:"5,keyasint,omitempty"`
	Subject    aper.ClientID `cbor:"6,keyasint,omitempty"`
	Inst       aper.ClientID `cbor:"7,keyasint,omitempty"` // the sender's instance, if not Client
	State      raw           `cbor:"8,keyasint,omitempty"` // a restore's state
	From       uint64        `cbor:"9,keyasint,omitempty"` // the Seq a restore's state is from
}

// journalSnapshot is a snapshot as the journal stores it: the state and what the room remembers
// of each client instance and of its members, at the snapshot's Seq.
type journalSnapshot struct {
	State   raw                              `cbor:"1,keyasint"`
	Clients map[aper.ClientID]snapshotClient `cbor:"2,keyasint,omitempty"` // by instance
	Members []aper.ClientID                  `cbor:"3,keyasint,omitempty"`
}

type snapshotClient struct {
	Processed uint64        `cbor:"1,keyasint,omitempty"`
	Member    bool          `cbor:"2,keyasint,omitempty"` // (written before Members: the instance's id is a member)
	Client    aper.ClientID `cbor:"3,keyasint,omitempty"` // the instance's client id, if not the instance
	// Outcomes says that Rejected and Unsure are written (snapshots before them leave every
	// outcome up to Processed unsure): the rejections the room still remembered, and the local
	// seq at or below which it may have forgotten some. A room loaded from the snapshot then
	// tells a returning client the fate of each transition it had processed, as the room that
	// saved the snapshot would have, rather than reporting them all of unknown outcome.
	Outcomes bool              `cbor:"4,keyasint,omitempty"`
	Rejected []rejectionRecord `cbor:"5,keyasint,omitempty"`
	Unsure   uint64            `cbor:"6,keyasint,omitempty"`
}

func encodeRecord[T any](rc *record[T]) ([]byte, error) {
	jr := journalRecord[T]{Client: rc.Client, Inst: rc.Inst, Local: rc.Local, Transition: rc.Transition, Kind: rc.Kind, Subject: rc.Subject, State: rc.State, From: rc.From}
	if !rc.Time.IsZero() {
		jr.Time = rc.Time.UnixNano()
	}
	return aper.CBOR.Marshal(&jr)
}

func decodeRecord[T any](e journal.Entry) (record[T], error) {
	var jr journalRecord[T]
	if err := aper.CBOR.Unmarshal(e.Data, &jr); err != nil {
		return record[T]{}, err
	}
	rc := record[T]{Seq: e.Seq, Client: jr.Client, Inst: jr.Inst, Local: jr.Local, Transition: jr.Transition, Kind: jr.Kind, Subject: jr.Subject, State: jr.State, From: jr.From}
	if jr.Time != 0 {
		rc.Time = time.Unix(0, jr.Time)
	}
	return rc, nil
}

// clientNumbers copies what a snapshot keeps of each client instance, and the members.
func (r *roomCore[S, T]) clientNumbers() (map[aper.ClientID]snapshotClient, []aper.ClientID) {
	m := make(map[aper.ClientID]snapshotClient, len(r.clients))
	for inst, rec := range r.clients {
		if rec.processed > 0 {
			c := snapshotClient{Processed: rec.processed, Outcomes: true, Rejected: slices.Clone(rec.rejected), Unsure: rec.unsure}
			if !rec.live {
				c.Unsure = max(c.Unsure, rec.snapshots) // not yet folded in by a join
			}
			if rec.client != inst {
				c.Client = rec.client
			}
			m[inst] = c
		}
	}
	var members []aper.ClientID
	for id, mem := range r.members {
		if mem.member {
			members = append(members, id)
		}
	}
	slices.Sort(members)
	return m, members
}

// restore sets the core to a snapshot's state at seq.
func (r *roomCore[S, T]) restore(state S, seq uint64, js *journalSnapshot) {
	r.state, r.seq = state, seq
	r.logLen, r.logStart = 0, 0
	for inst, c := range js.Clients {
		rec := r.clients[inst]
		if rec == nil {
			rec = &clientRecord{}
			r.clients[inst] = rec
		}
		rec.client = c.Client
		if rec.client == "" {
			rec.client = inst
		}
		rec.processed, rec.snapshots = c.Processed, c.Processed
		if c.Outcomes {
			rec.rejected, rec.snapshots = c.Rejected, c.Unsure
		}
		if c.Member {
			r.member(rec.client).member = true
		}
	}
	for _, id := range js.Members {
		r.member(id).member = true
	}
}

// load rebuilds the room's core from the journal: its snapshot, then the log after it.
func (r *room[S, T]) load(ctx context.Context, j journal.Journal) error {
	snap, ok, err := j.LoadSnapshot(ctx, r.name)
	if err != nil {
		return fmt.Errorf("aper/sync: room %q: load snapshot: %w", r.name, err)
	}
	if ok {
		var js journalSnapshot
		if err := aper.CBOR.Unmarshal(snap.Data, &js); err != nil {
			return fmt.Errorf("aper/sync: room %q: decode snapshot %d: %w", r.name, snap.Seq, err)
		}
		var st S
		if err := aper.CBOR.Unmarshal(js.State, &st); err != nil {
			return fmt.Errorf("aper/sync: room %q: decode snapshot %d state: %w", r.name, snap.Seq, err)
		}
		r.core.restore(st, snap.Seq, &js)
		r.snapSeq = snap.Seq
	}
	for e, err := range j.Read(ctx, r.name, r.core.seq+1) {
		if err != nil {
			return fmt.Errorf("aper/sync: room %q: read journal: %w", r.name, err)
		}
		rc, err := decodeRecord[T](e)
		if err != nil {
			return fmt.Errorf("aper/sync: room %q: decode journal entry %d: %w", r.name, e.Seq, err)
		}
		if err := r.core.replay(rc); err != nil {
			return err
		}
	}
	return nil
}

// persist appends a batch's records to the journal and waits until they are durable.
func (r *room[S, T]) persist(j journal.Journal, recs []record[T]) error {
	r.entries = r.entries[:0]
	for i := range recs {
		b, err := encodeRecord(&recs[i])
		if err != nil {
			return fmt.Errorf("aper/sync: room %q: encode transition %d: %w", r.name, recs[i].Seq, err)
		}
		r.entries = append(r.entries, journal.Entry{Seq: recs[i].Seq, Data: b})
	}
	err := j.Append(r.srv.ctx, r.name, recs[0].Seq-1, r.entries)
	clear(r.entries)
	if err != nil {
		return fmt.Errorf("aper/sync: room %q: journal append %d..%d: %w", r.name, recs[0].Seq, recs[len(recs)-1].Seq, err)
	}
	return nil
}

// maybeSnapshot starts saving a snapshot if enough transitions passed since the last one and
// none is being saved: the Clone is taken here, the encoding and the write on another goroutine.
func (r *room[S, T]) maybeSnapshot(j journal.Journal) {
	every := r.srv.cfg.snapEvery
	if every <= 0 || r.core.seq-r.snapSeq < uint64(every) {
		return
	}
	select {
	case <-r.snapDone:
	default:
		return // one is being saved
	}
	st, seq, ok := r.core.cloneState()
	if !ok {
		return // Clone panicked: the next ready stops the room
	}
	clients, members := r.core.clientNumbers()
	r.snapSeq = seq
	done := make(chan struct{})
	r.snapDone = done
	met := r.met
	go func() { // owned by the room, which waits for snapDone before it ends
		defer close(done)
		start := time.Now()
		var data []byte
		err := catch("encoding a snapshot", func() (err error) {
			data, err = aper.CBOR.Marshal(st)
			return err
		})
		if p := (*panicError)(nil); errors.As(err, &p) {
			r.srv.logPanic(r.name, p)
			return
		}
		if err == nil {
			data, err = aper.CBOR.Marshal(&journalSnapshot{State: data, Clients: clients, Members: members})
		}
		if err == nil {
			err = j.SaveSnapshot(r.srv.ctx, r.name, journal.Snapshot{Seq: seq, Data: data})
		}
		met.snapshotSaved(len(data), time.Since(start), err)
		if err != nil && !errors.Is(err, context.Canceled) && r.srv.ctx.Err() == nil {
			r.srv.cfg.logger.Warn("aper/sync: snapshot failed", "room", r.name, "seq", seq, "err", err)
		}
	}()
}

// journalLog reads a room's records from the journal, for a resume (a logReader).
type journalLog[T any] struct {
	ctx  context.Context // the server's: reads end when it closes
	j    journal.Journal
	room string
}

func (l journalLog[T]) readLog(from, to uint64) ([]record[T], error) {
	recs := make([]record[T], 0, to-from+1)
	for e, err := range l.j.Read(l.ctx, l.room, from) {
		if err != nil {
			return nil, err
		}
		if e.Seq > to {
			break
		}
		rc, err := decodeRecord[T](e)
		if err != nil {
			return nil, err
		}
		if rc.Kind == kindRestore {
			return nil, errRestoreInLog
		}
		recs = append(recs, rc)
	}
	if uint64(len(recs)) != to-from+1 {
		return nil, fmt.Errorf("aper/sync: room %q: journal has %d of %d..%d", l.room, len(recs), from, to)
	}
	return recs, nil
}

// LoadRooms loads every room the journal holds (see WithJournal), so that after a restart their
// timers and their members' grace periods run without waiting for a client to join. Rooms load
// in the background; one that has nothing scheduled unloads again after the idle time. Without
// a journal it does nothing. In a cluster (WithOwnership) it loads the rooms no other server
// owns.
func (s *Server[S, T]) LoadRooms(ctx context.Context) error {
	j := s.cfg.journal
	if j == nil {
		return nil
	}
	names, err := j.Rooms(ctx)
	if err != nil {
		return fmt.Errorf("aper/sync: load rooms: %w", err)
	}
	for _, name := range names {
		r, err := s.acquire(name)
		if errors.Is(err, ErrNotOwner) {
			continue // in a cluster, another server serves it
		}
		if err != nil {
			return fmt.Errorf("aper/sync: load room %q: %w", name, err)
		}
		s.release(r)
	}
	return nil
}
