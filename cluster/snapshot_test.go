package cluster_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	ajs "github.com/aper-go/aper/journal/jetstream"
	apersync "github.com/aper-go/aper/sync"
)

// TestSnapshotPurgeFailover: a busy room on a three-member cluster saves snapshots by the
// server's policy (WithSnapshotEvery), and the journal purges the room's subject below each;
// then its owner is killed while every client writes, and another member loads the room from
// the snapshot and the log after it (the log below is gone). Every client converges on the
// sum of every transition applied: none lost, none applied twice.
func TestSnapshotPurgeFailover(t *testing.T) {
	t.Parallel() // mostly waits for elections and leases: overlapped with the other long tests
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	const (
		room  = "snapped"
		every = 40
	)
	fc := startAtOnce(ctx, t, func(int) []apersync.ServerOption {
		return []apersync.ServerOption{apersync.WithSnapshotEvery(every)}
	})
	var clients []*client
	for i := range 6 {
		clients = append(clients, fc.dial(t, i%3, room))
	}
	// write makes each client apply n transitions, syncing every 10; after k of client 0's,
	// it calls at (once).
	write := func(n, k int, at func()) {
		var wg sync.WaitGroup
		for i, c := range clients {
			wg.Go(func() {
				for m := range n {
					if i == 0 && m == k && at != nil {
						at()
					}
					assert.NoError(t, c.Apply(add1))
					if m%10 == 9 {
						sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
						assert.NoError(t, c.Sync(sctx))
						cancel()
					}
				}
			})
		}
		wg.Wait()
	}
	write(50, 0, nil)
	settle(t, clients)
	total := int64(len(clients) * 50)
	require.Equal(t, total, clients[0].State().Value())
	own := fc.owner(t, room)

	// The owner saves its snapshots on a goroutine of their own, skipping the policy's turns
	// while one is being saved: wait until one is saved and the subject purged below it.
	j := fc.journals[(own+1)%3]
	stream, err := fc.members[(own+1)%3].js.Stream(ctx, j.StreamOf(room))
	require.NoError(t, err)
	var snapSeq, first uint64
	var lastErr error
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if snapSeq, first, lastErr = purgedBelow(ctx, j, stream, room); lastErr == nil && snapSeq > 0 && first > 1 {
			break
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("no snapshot with a purge below it: snapshot at Seq %d, first entry kept %d (%v)", snapSeq, first, lastErr)
		}
	}
	t.Logf("snapshot at Seq %d of %d, the log kept from Seq %d", snapSeq, total, first)
	assert.LessOrEqual(t, first, snapSeq, "the message that holds the snapshot's Seq is kept")

	// Every client writes; the owner dies in the middle.
	var killed atomic.Bool
	write(60, 20, func() {
		fc.members[own].kill()
		killed.Store(true)
	})
	require.True(t, killed.Load())
	settle(t, clients)
	total += int64(len(clients) * 60)
	for _, c := range clients {
		assert.Equal(t, total, c.State().Value(), "client %s", c.ID())
	}
	next := fc.owner(t, room)
	assert.NotEqual(t, own, next)
	st, _, err := fc.members[next].srv.Snapshot(ctx, room)
	require.NoError(t, err)
	assert.Equal(t, total, st.Value())
	// A client that comes now gets the same state.
	late := fc.dial(t, own, room)
	require.NoError(t, late.Sync(ctx))
	assert.Equal(t, total, late.State().Value())
}

// purgedBelow returns the Seq of room's snapshot (0 without one) and the first Seq its
// subject keeps.
func purgedBelow(ctx context.Context, j *ajs.Journal, stream jetstream.Stream, room string) (snap, first uint64, err error) {
	s, ok, err := j.LoadSnapshot(ctx, room)
	if err != nil || !ok {
		return 0, 0, err
	}
	msg, err := stream.GetMsg(ctx, 1, jetstream.WithGetMsgSubject(j.SubjectOf(room)))
	if err != nil {
		return s.Seq, 0, err
	}
	first, err = strconv.ParseUint(msg.Header.Get("Aper-Seq"), 10, 64)
	return s.Seq, first, err
}
