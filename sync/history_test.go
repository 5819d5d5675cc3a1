package sync_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/journal"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport/memory"
)

// counterAt returns the value of counter k in state st (0 when it is absent).
func counterAt(st *cmap, k string) int64 {
	if c, ok := st.Get(k); ok {
		return c.Value()
	}
	return 0
}

// stateAt is srv.StateAt that fails the test on an error.
func stateAt(t *testing.T, srv *server, room string, seq uint64) *cmap {
	t.Helper()
	st, err := srv.StateAt(ctxT(t), room, seq)
	if err != nil {
		t.Fatalf("StateAt %d: %v", seq, err)
	}
	return st
}

// History yields every ordered entry with its sender, time and transition, and StateAt rebuilds
// every retained Seq from the nearest snapshot below it.
func TestHistoryAndStateAt(t *testing.T) {
	j := &journal.Memory{Retain: journal.KeepAll}
	defer j.Close()
	srv, n := memoryServer(t, nil, apersync.WithJournal(j), apersync.WithSnapshotEvery(10))
	a := dial(t, n.Dialer("server"), "r")
	mustApply(t, a, m.Set("x", aper.NewCounter(0)))
	for range 34 {
		mustApply(t, a, m.Update("x", add(1)))
	}
	last := quiesce(t, srv, "r", a)
	if last != 35 {
		t.Fatalf("the room is at %d, want 35", last)
	}

	var seqs []uint64
	for ev, err := range srv.History(ctxT(t), "r", 1, 0) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Client != a.ID() || ev.Time.IsZero() || ev.Restored {
			t.Fatalf("entry %d: client %q (want %q), time %v, restored %v", ev.Seq, ev.Client, a.ID(), ev.Time, ev.Restored)
		}
		seqs = append(seqs, ev.Seq)
	}
	if len(seqs) != 35 || seqs[0] != 1 || seqs[34] != 35 {
		t.Fatalf("History yields Seqs %v, want 1 to 35", seqs)
	}
	var part []uint64
	for ev, err := range srv.History(ctxT(t), "r", 12, 14) {
		if err != nil {
			t.Fatal(err)
		}
		part = append(part, ev.Seq)
	}
	if fmt.Sprint(part) != "[12 13 14]" {
		t.Fatalf("History 12..14 yields %v", part)
	}

	if st := stateAt(t, srv, "r", 0); st.Has("x") {
		t.Fatal("the state at 0 is not the factory's")
	}
	for seq := uint64(1); seq <= last; seq++ {
		if got := counterAt(stateAt(t, srv, "r", seq), "x"); got != int64(seq-1) {
			t.Fatalf("state at %d: x = %d, want %d", seq, got, seq-1)
		}
	}
	if _, err := srv.StateAt(ctxT(t), "r", last+1); !errors.Is(err, apersync.ErrSeqRange) {
		t.Fatalf("StateAt past the last: %v, want ErrSeqRange", err)
	}
	for _, err := range srv.History(ctxT(t), "r", last+1, 0) {
		if !errors.Is(err, apersync.ErrSeqRange) {
			t.Fatalf("History past the last: %v, want ErrSeqRange", err)
		}
	}
}

// Without retention, what the latest snapshot covers is gone: ErrNotRetained. Without a
// journal, there is no history at all.
func TestHistoryNotRetained(t *testing.T) {
	j := snapJournal{journal.NewMemory(), make(chan uint64, 8)}
	defer j.Close()
	srv, n := memoryServer(t, nil, apersync.WithJournal(j), apersync.WithSnapshotEvery(10))
	a := dial(t, n.Dialer("server"), "r")
	mustApply(t, a, m.Set("x", aper.NewCounter(0)))
	for range 24 {
		mustApply(t, a, m.Update("x", add(1)))
	}
	last := quiesce(t, srv, "r", a)
	waitSnapshot(t, j, 10)
	if _, err := srv.StateAt(ctxT(t), "r", 5); !errors.Is(err, apersync.ErrNotRetained) {
		t.Fatalf("StateAt 5: %v, want ErrNotRetained", err)
	}
	for _, err := range srv.History(ctxT(t), "r", 5, 0) {
		if !errors.Is(err, apersync.ErrNotRetained) {
			t.Fatalf("History from 5: %v, want ErrNotRetained", err)
		}
		break
	}
	if got := counterAt(stateAt(t, srv, "r", last), "x"); got != int64(last-1) {
		t.Fatalf("state at %d: x = %d", last, got)
	}

	bare, _ := memoryServer(t, nil)
	if _, err := bare.StateAt(ctxT(t), "r", 0); !errors.Is(err, apersync.ErrNotRetained) {
		t.Fatalf("StateAt without a journal: %v, want ErrNotRetained", err)
	}
}

// snapJournal is a Memory journal that tells when a snapshot was saved.
type snapJournal struct {
	*journal.Memory
	saved chan uint64
}

func (j snapJournal) SaveSnapshot(ctx context.Context, room string, s journal.Snapshot) error {
	err := j.Memory.SaveSnapshot(ctx, room, s)
	if err == nil {
		j.saved <- s.Seq
	}
	return err
}

// waitSnapshot waits until j saved a snapshot at or past seq (snapshots are saved in the
// background).
func waitSnapshot(t *testing.T, j snapJournal, seq uint64) {
	t.Helper()
	for {
		select {
		case s := <-j.saved:
			if s >= seq {
				return
			}
		case <-ctxT(t).Done():
			t.Fatalf("no snapshot at %d", seq)
		}
	}
}

// A restore is one new entry: the room's state becomes the state at the Seq, every client
// reloads it, History shows it, a restore to the Seq before it undoes it, and a server restarted
// on the journal rebuilds it.
func TestRestoreIsAnEntryAndUndoable(t *testing.T) {
	j := &journal.Memory{Retain: journal.KeepAll}
	defer j.Close()
	n := memory.NewNetwork(nil)
	t.Cleanup(func() { n.Close() })
	l, err := n.Listen("server")
	if err != nil {
		t.Fatal(err)
	}
	srv := newMapServer(t, apersync.WithJournal(j), apersync.WithSnapshotEvery(4))
	serve(t, srv, l)
	a := dial(t, n.Dialer("server"), "r")
	b := dial(t, n.Dialer("server"), "r")
	mustApply(t, a, m.Set("x", aper.NewCounter(0)))
	quiesce(t, srv, "r", a, b)
	for range 9 {
		mustApply(t, b, m.Update("x", add(1)))
	}
	before := quiesce(t, srv, "r", a, b) // x = 9 at 10
	seq, err := srv.Restore(ctxT(t), "r", 4)
	if err != nil {
		t.Fatal(err)
	}
	if seq != before+1 {
		t.Fatalf("the restore is entry %d, want %d", seq, before+1)
	}
	// Every client reloads the restored state, and a pending transition goes on top of it.
	mustApply(t, a, m.Update("x", add(100)))
	after := quiesce(t, srv, "r", a, b)
	if got := counterAt(a.State(), "x"); got != 103 {
		t.Fatalf("x = %d after the restore to 4 (x = 3) and +100", got)
	}
	var restores []apersync.HistoryEvent[cmt]
	for ev, err := range srv.History(ctxT(t), "r", 1, 0) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Restored {
			restores = append(restores, ev)
		}
	}
	if len(restores) != 1 || restores[0].Seq != seq || restores[0].From != 4 {
		t.Fatalf("History's restores: %+v, want one at %d from 4", restores, seq)
	}
	apertest.Equal(t, stateAt(t, srv, "r", seq), stateAt(t, srv, "r", 4))

	// Undo the restore (and the +100 after it): back to the state before it.
	if _, err := srv.Restore(ctxT(t), "r", before); err != nil {
		t.Fatal(err)
	}
	undone := quiesce(t, srv, "r", a, b)
	if got := counterAt(b.State(), "x"); got != 9 || undone != after+1 {
		t.Fatalf("after undoing the restore: x = %d at %d, want 9 at %d", got, undone, after+1)
	}

	// A successor on the same journal rebuilds the restores.
	want, _, _ := srv.Snapshot(ctxT(t), "r")
	srv2 := newMapServer(t, apersync.WithJournal(j))
	got, seq2, err := srv2.Snapshot(ctxT(t), "r")
	if err != nil {
		t.Fatal(err)
	}
	if seq2 != undone {
		t.Fatalf("the successor is at %d, want %d", seq2, undone)
	}
	apertest.Equal(t, got, want)
}

// Restores in the middle of concurrent writers, some of whose connections are cut: every client
// converges on the server's state, and the room's state after each restore is the state it
// named.
func TestRestoreUnderConcurrentWriters(t *testing.T) {
	const writers, ops = 4, 60
	j := &journal.Memory{Retain: journal.KeepAll}
	defer j.Close()
	srv, n := memoryServer(t, &memory.Options{Latency: 200 * time.Microsecond, Jitter: 200 * time.Microsecond},
		apersync.WithJournal(j), apersync.WithSnapshotEvery(16), apersync.WithResumeLog(8))
	clients := make([]*client, writers)
	for i := range clients {
		clients[i] = dial(t, n.DialerWith("server", &memory.DialOptions{From: fmt.Sprint("w", i)}), "r")
	}
	mustApply(t, clients[0], m.Set("x", aper.NewCounter(0)))
	quiesce(t, srv, "r", clients...)

	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range ops {
				if err := c.Apply(m.Update("x", add(1))); err != nil {
					t.Error(err)
					return
				}
				if i == 1 && k%20 == 10 {
					n.Disconnect(fmt.Sprint("w", i)) // a fault: its connection is cut
				}
			}
		}()
	}
	var restored []uint64 // pairs: the restore's Seq, the Seq it named
	for k := range 3 {
		_, seq, err := srv.Snapshot(ctxT(t), "r")
		if err != nil {
			t.Fatal(err)
		}
		to := seq / uint64(k+2)
		rs, err := srv.Restore(ctxT(t), "r", to)
		if err != nil {
			t.Fatal(err)
		}
		restored = append(restored, rs, to)
	}
	wg.Wait()
	quiesce(t, srv, "r", clients...)
	for i := 0; i < len(restored); i += 2 {
		apertest.Equal(t, stateAt(t, srv, "r", restored[i]), stateAt(t, srv, "r", restored[i+1]))
	}
}

// Kick closes a client's connections with a typed, fatal error; the other clients carry on.
func TestKick(t *testing.T) {
	srv, n := memoryServer(t, nil)
	a := dial(t, n.Dialer("server"), "r")
	b := dial(t, n.Dialer("server"), "r")
	mustApply(t, a, m.Set("x", aper.NewCounter(0)))
	quiesce(t, srv, "r", a, b)
	closed, err := srv.Kick(ctxT(t), "r", a.ID(), "spam")
	if err != nil || closed != 1 {
		t.Fatalf("Kick closed %d connections, err %v; want 1", closed, err)
	}
	waitStatus(t, a, apersync.Closed)
	var se *apersync.ServerError
	if err := a.Status().Err; !errors.Is(err, apersync.ErrKicked) || !errors.As(err, &se) || se.Message != "spam" {
		t.Fatalf("the kicked client's error: %v, want ErrKicked with the reason", err)
	}
	mustApply(t, b, m.Update("x", add(1)))
	quiesce(t, srv, "r", b)
	if closed, err := srv.Kick(ctxT(t), "elsewhere", a.ID(), ""); err != nil || closed != 0 {
		t.Fatalf("Kick in a room not loaded: %d, %v", closed, err)
	}
}

// Reauthorize re-checks live connections: a revoked one ends with ErrUnauthorized and its client
// stops; the others stay.
func TestReauthorize(t *testing.T) {
	var mu sync.Mutex
	revoked := map[aper.ClientID]bool{}
	srv, n := memoryServer(t, nil, apersync.WithAuth(func(ctx context.Context, req apersync.AuthRequest) (apersync.Identity, error) {
		return apersync.Identity{Client: aper.ClientID(req.Token)}, nil
	}))
	dialAs := func(user string) *client {
		c, err := apersync.Dial[*cmap, cmt](ctxT(t), n.Dialer("server"), "r", apersync.WithToken(user),
			apersync.WithBackoff(time.Millisecond, 20*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	alice, bob := dialAs("alice"), dialAs("bob")
	quiesce(t, srv, "r", alice, bob)
	mu.Lock()
	revoked["bob"] = true
	mu.Unlock()
	closed, err := srv.Reauthorize(ctxT(t), "r", func(id apersync.Identity) error {
		mu.Lock()
		defer mu.Unlock()
		if revoked[id.Client] {
			return errors.New("access revoked")
		}
		return nil
	})
	if err != nil || closed != 1 {
		t.Fatalf("Reauthorize closed %d, err %v; want 1", closed, err)
	}
	waitStatus(t, bob, apersync.Closed)
	if err := bob.Status().Err; !errors.Is(err, apersync.ErrUnauthorized) {
		t.Fatalf("the revoked client's error: %v, want ErrUnauthorized", err)
	}
	mustApply(t, alice, m.Set("y", aper.NewCounter(1)))
	quiesce(t, srv, "r", alice)
	if _, err := srv.Reauthorize(ctxT(t), "r", nil); !errors.Is(err, apersync.ErrInvalidOption) {
		t.Fatalf("Reauthorize with a nil check: %v", err)
	}
}
