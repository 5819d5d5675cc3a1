package jetstream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/aper-go/aper/journal"
)

// Leaser hands out rooms' leases: at most one holder at a time per room, as far as a clock
// and a TTL can tell. A lease only says who should own a room; safety comes from the journal's
// fencing, which refuses a stale owner's append even while it still believes it holds the
// lease.
type Leaser interface {
	// Acquire takes room's lease for this holder, or fails with an error matching ErrHeld
	// (a *HeldError names the holder) while another holds it.
	Acquire(ctx context.Context, room string) (Lease, error)
}

// Lease is a held lease on a room. Its methods may be called concurrently.
type Lease interface {
	// Room is the room the lease is on.
	Room() string
	// Renew extends the lease now; it is also renewed in the background until Release. An
	// error matching ErrLeaseLost means another holder took it over.
	Renew(ctx context.Context) error
	// Release gives the lease up: the key is deleted if it is still ours, and the background
	// renewal stops. It is idempotent.
	Release(ctx context.Context) error
	// Lost is closed once the lease may have passed to another holder: a renewal found
	// another holder, or none succeeded within the TTL. It is not closed by Release.
	Lost() <-chan struct{}
}

// Errors of leases.
var (
	// ErrHeld marks an Acquire of a lease that another holds; see [HeldError].
	ErrHeld = errors.New("aper/journal/jetstream: lease held")
	// ErrLeaseLost marks a Renew of a lease that another holder took over or that expired.
	ErrLeaseLost = errors.New("aper/journal/jetstream: lease lost")
)

// HeldError says who holds a lease. It matches ErrHeld.
type HeldError struct {
	Room   string
	Holder string
}

var _ error = (*HeldError)(nil)

// Error names the room and its holder.
func (e *HeldError) Error() string {
	return fmt.Sprintf("aper/journal/jetstream: room %q: lease held by %q", e.Room, e.Holder)
}

// Is makes errors.Is(err, ErrHeld) true.
func (e *HeldError) Is(target error) bool { return target == ErrHeld }

// LeaseOptions configure [NewLeases]. A nil *LeaseOptions, and every zero field, takes the
// default.
type LeaseOptions struct {
	// Prefix names the bucket, "<Prefix>_LEASE"; default "APER". Same rules as Options.Prefix.
	Prefix string
	// TTL is how long a lease lives without renewal; default 10 s. It is the bucket's (keys
	// expire that long after their last write): the holder that creates the bucket sets it,
	// and NewLeases refuses, with ErrInvalid, a TTL other than the bucket's.
	TTL time.Duration
	// Replicas is the bucket's replication factor; default 1.
	Replicas int
	// Storage is where the server keeps it. Default jetstream.FileStorage.
	Storage jetstream.StorageType
}

// Leases is a [Leaser] on a JetStream key-value bucket whose keys expire after the TTL: a
// lease is a key (the room's token, see the package doc) whose value is the holder's name.
// Acquire creates the key (refused if it exists), a renewal updates it on condition of its
// revision (refused once another holder has replaced it), Release deletes it on condition of
// its revision. A lease renews itself every TTL/3 in a goroutine that Release stops.
type Leases struct {
	kv     jetstream.KeyValue
	holder string
	ttl    time.Duration
}

var _ Leaser = (*Leases)(nil)

// NewLeases returns the leases of holder (a name unique among the nodes, such as the node's
// name) on js, creating the bucket if needed.
func NewLeases(ctx context.Context, js jetstream.JetStream, holder string, opts *LeaseOptions) (*Leases, error) {
	var o LeaseOptions
	if opts != nil {
		o = *opts
	}
	if o.Prefix == "" {
		o.Prefix = "APER"
	}
	if o.TTL == 0 {
		o.TTL = 10 * time.Second
	}
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	switch {
	case !validPrefix(o.Prefix):
		return nil, fmt.Errorf("%w: prefix %q: 1 to 32 bytes of A-Z, a-z, 0-9, '-' and '_'", journal.ErrInvalid, o.Prefix)
	case o.TTL < 100*time.Millisecond:
		return nil, fmt.Errorf("%w: lease TTL %v below 100ms", journal.ErrInvalid, o.TTL)
	case holder == "":
		return nil, fmt.Errorf("%w: a lease holder needs a name", journal.ErrInvalid)
	}
	kv, err := leaderKV(ctx, js, jetstream.KeyValueConfig{
		Bucket: o.Prefix + "_LEASE", History: 1, TTL: o.TTL, Storage: o.Storage, Replicas: o.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("aper/journal/jetstream: create lease bucket: %w", err)
	}
	// A bucket that exists keeps its TTL (see leaderKV). A holder that counted on a longer
	// one would believe it holds a lease that another may already have taken.
	st, err := kv.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("aper/journal/jetstream: lease bucket: %w", err)
	}
	if st.TTL() != o.TTL {
		return nil, fmt.Errorf("%w: lease TTL %v, but bucket %s_LEASE has %v: every holder must use the same (to change it, stop them all and delete the bucket)",
			journal.ErrInvalid, o.TTL, o.Prefix, st.TTL())
	}
	return &Leases{kv: kv, holder: holder, ttl: o.TTL}, nil
}

// Holder returns the holder of room's lease, and false if none holds it.
func (l *Leases) Holder(ctx context.Context, room string) (string, bool, error) {
	if room == "" || len(room) > journal.MaxRoomName {
		return "", false, fmt.Errorf("%w: a room name has 1 to %d bytes, not %d", journal.ErrInvalid, journal.MaxRoomName, len(room))
	}
	e, err := l.kv.Get(ctx, token(room))
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("aper/journal/jetstream: lease of room %q: %w", room, err)
	}
	return string(e.Value()), true, nil
}

// Acquire implements [Leaser.Acquire].
func (l *Leases) Acquire(ctx context.Context, room string) (Lease, error) {
	if room == "" || len(room) > journal.MaxRoomName {
		return nil, fmt.Errorf("%w: a room name has 1 to %d bytes, not %d", journal.ErrInvalid, journal.MaxRoomName, len(room))
	}
	start := time.Now()
	rev, err := l.kv.Create(ctx, token(room), []byte(l.holder))
	if errors.Is(err, jetstream.ErrKeyExists) {
		holder, ok, herr := l.Holder(ctx, room)
		if herr == nil && !ok {
			return l.Acquire(ctx, room) // expired or released meanwhile
		}
		return nil, &HeldError{Room: room, Holder: holder}
	}
	if err != nil {
		return nil, fmt.Errorf("aper/journal/jetstream: acquire lease of room %q: %w", room, err)
	}
	ls := &lease{l: l, room: room, rev: rev, valid: start.Add(l.ttl), lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go ls.run()
	return ls, nil
}

type lease struct {
	l    *Leases
	room string

	renewMu sync.Mutex // one renewal at a time, so that two do not race on one revision

	mu       sync.Mutex
	rev      uint64    // the key's revision that is ours
	valid    time.Time // the lease may pass to another holder from then on
	lost     chan struct{}
	isLost   bool
	released bool

	stop chan struct{} // closed by Release
	done chan struct{} // closed when run returns
}

func (ls *lease) Room() string { return ls.room }

func (ls *lease) Lost() <-chan struct{} { return ls.lost }

// run renews the lease every TTL/3 and closes lost when the lease may be gone.
func (ls *lease) run() {
	defer close(ls.done)
	tick := time.NewTicker(ls.l.ttl / 3)
	defer tick.Stop()
	for {
		ls.mu.Lock()
		expiry := time.Until(ls.valid)
		ls.mu.Unlock()
		timer := time.NewTimer(expiry)
		select {
		case <-ls.stop:
			timer.Stop()
			return
		case <-timer.C:
			ls.markLost()
			return
		case <-tick.C:
			timer.Stop()
			ctx, cancel := context.WithTimeout(context.Background(), ls.l.ttl/3)
			err := ls.Renew(ctx)
			cancel()
			if errors.Is(err, ErrLeaseLost) {
				return
			}
		}
	}
}

func (ls *lease) markLost() {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if !ls.isLost {
		ls.isLost = true
		close(ls.lost)
	}
}

// Renew implements [Lease.Renew].
func (ls *lease) Renew(ctx context.Context) error {
	ls.renewMu.Lock()
	defer ls.renewMu.Unlock()
	ls.mu.Lock()
	rev, lost, released := ls.rev, ls.isLost, ls.released
	ls.mu.Unlock()
	if lost || released || time.Now().After(ls.validUntil()) {
		ls.markLost()
		return fmt.Errorf("%w: room %q", ErrLeaseLost, ls.room)
	}
	start := time.Now()
	newRev, err := ls.l.kv.Update(ctx, token(ls.room), []byte(ls.l.holder), rev)
	if err != nil {
		if isWrongLast(err) || errors.Is(err, jetstream.ErrKeyExists) {
			ls.markLost()
			return fmt.Errorf("%w: room %q: %w", ErrLeaseLost, ls.room, err)
		}
		return fmt.Errorf("aper/journal/jetstream: renew lease of room %q: %w", ls.room, err)
	}
	ls.mu.Lock()
	if newRev > ls.rev {
		ls.rev, ls.valid = newRev, start.Add(ls.l.ttl)
	}
	ls.mu.Unlock()
	return nil
}

func (ls *lease) validUntil() time.Time {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.valid
}

// Release implements [Lease.Release].
func (ls *lease) Release(ctx context.Context) error {
	ls.mu.Lock()
	if ls.released {
		ls.mu.Unlock()
		return nil
	}
	ls.released = true
	close(ls.stop)
	ls.mu.Unlock()
	<-ls.done
	ls.mu.Lock()
	rev, lost := ls.rev, ls.isLost
	ls.mu.Unlock()
	if lost {
		return nil // not ours to delete any more
	}
	err := ls.l.kv.Delete(ctx, token(ls.room), jetstream.LastRevision(rev))
	if err != nil && !isWrongLast(err) {
		return fmt.Errorf("aper/journal/jetstream: release lease of room %q: %w", ls.room, err)
	}
	return nil
}
