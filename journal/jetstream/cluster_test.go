package jetstream_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aper-go/aper/journal"
	ajs "github.com/aper-go/aper/journal/jetstream"
	"github.com/aper-go/aper/journal/jetstream/node"
	"github.com/aper-go/aper/journal/journaltest"
)

// startCluster starts n embedded nodes on loopback that route to the first, and waits until
// JetStream answers on each. They are closed with the test.
func startCluster(t testing.TB, n int, syncAlways bool) []*node.Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var nodes []*node.Node
	var seed string
	for i := range n {
		cfg := node.Config{
			Name:          fmt.Sprintf("n%d", i),
			DataDir:       t.TempDir(),
			ClusterListen: "127.0.0.1:0",
			SyncAlways:    syncAlways,
		}
		if seed != "" {
			cfg.Routes = []string{seed}
		}
		nd, err := node.Start(ctx, cfg)
		require.NoError(t, err)
		t.Cleanup(func() { nd.Close() })
		if seed == "" {
			seed = nd.ClusterAddr().String()
		}
		nodes = append(nodes, nd)
	}
	for _, nd := range nodes {
		require.NoError(t, nd.WaitJetStream(ctx))
	}
	return nodes
}

// eventually polls cond, for cluster state that has no event to wait on, until it holds or the
// deadline passes.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("not within %v: %s", within, what)
		}
	}
}

// TestCluster runs the cases of three embedded nodes with R3 streams in one cluster, one after
// the other; the last one shuts a node down.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("a three-node cluster takes seconds to form")
	}
	nodes := startCluster(t, 3, false)
	js := make([]jetstream.JetStream, len(nodes))
	for i, n := range nodes {
		js[i] = connect(t, n)
	}
	prefix := newPrefix()
	opts := ajs.Options{Prefix: prefix, Replicas: 3, Streams: 2, Timeout: 5 * time.Second}
	// One journal per node, on the same streams, as three servers would have.
	jr := make([]*ajs.Journal, len(nodes))
	for i := range nodes {
		jr[i] = open(t, js[i], opts)
	}

	t.Run("StaleWriterFenced", func(t *testing.T) {
		ctx := t.Context()
		journaltest.AppendN(t, jr[0], "fenced", 5, 2) // node 0 owns the room
		// Node 1 takes the room over and appends.
		last, err := jr[1].Last(ctx, "fenced")
		require.NoError(t, err)
		require.Equal(t, uint64(5), last)
		require.NoError(t, jr[1].Append(ctx, "fenced", 5, []journal.Entry{{Seq: 6, Data: []byte("new owner")}}))
		// Node 0 still believes the room is at 5: its append is refused, whatever it remembers.
		err = jr[0].Append(ctx, "fenced", 5, []journal.Entry{{Seq: 6, Data: []byte("stale owner")}})
		var sm *journal.SeqMismatchError
		require.ErrorAs(t, err, &sm)
		assert.Equal(t, journal.SeqMismatchError{Room: "fenced", Expected: 5, Actual: 6}, *sm)
		got, err := journaltest.ReadAll(t, jr[2], "fenced", 6)
		require.NoError(t, err)
		require.Len(t, got, 1)
		assert.Equal(t, "new owner", string(got[0].Data))
	})

	t.Run("RacingWriters", func(t *testing.T) {
		// Each round, one writer per node appends with the same expectation: exactly one is
		// stored, and the others are told where the room is.
		for round := range uint64(15) {
			var wg sync.WaitGroup
			errs := make([]error, len(jr))
			for i := range jr {
				wg.Go(func() {
					errs[i] = jr[i].Append(t.Context(), "race", round, []journal.Entry{{Seq: round + 1, Data: fmt.Appendf(nil, "writer %d", i)}})
				})
			}
			wg.Wait()
			winner := -1
			for i, err := range errs {
				if err == nil {
					require.Equal(t, -1, winner, "round %d: two writers stored", round)
					winner = i
					continue
				}
				var sm *journal.SeqMismatchError
				require.ErrorAs(t, err, &sm, "round %d, writer %d", round, i)
				assert.Equal(t, round+1, sm.Actual)
			}
			require.NotEqual(t, -1, winner, "round %d: no writer stored", round)
			got, err := journaltest.ReadAll(t, jr[(winner+1)%3], "race", round+1)
			require.NoError(t, err)
			require.Len(t, got, 1)
			assert.Equal(t, fmt.Sprintf("writer %d", winner), string(got[0].Data))
		}
	})

	t.Run("LeaseTakeover", func(t *testing.T) {
		ctx := t.Context()
		const ttl = time.Second
		lopts := &ajs.LeaseOptions{Prefix: prefix, TTL: ttl, Replicas: 3}
		// The old owner has a connection of its own, which the test cuts.
		oldConn, err := nodes[0].Connect()
		require.NoError(t, err)
		defer oldConn.Close()
		oldJS, err := jetstream.New(oldConn)
		require.NoError(t, err)
		oldLeases, err := ajs.NewLeases(ctx, oldJS, "n0", lopts)
		require.NoError(t, err)
		newLeases, err := ajs.NewLeases(ctx, js[1], "n1", lopts)
		require.NoError(t, err)

		old, err := oldLeases.Acquire(ctx, "leased")
		require.NoError(t, err)
		_, err = newLeases.Acquire(ctx, "leased")
		var held *ajs.HeldError
		require.ErrorAs(t, err, &held)
		assert.Equal(t, "n0", held.Holder)
		require.ErrorIs(t, err, ajs.ErrHeld)
		holder, ok, err := newLeases.Holder(ctx, "leased")
		require.NoError(t, err)
		assert.True(t, ok)
		assert.Equal(t, "n0", holder)
		// Renewals keep it past its TTL.
		require.NoError(t, old.Renew(ctx))

		// The old owner is cut off: its renewals fail, and it learns that it lost the lease
		// no later than the TTL after its last renewal.
		oldConn.Close()
		select {
		case <-old.Lost():
		case <-ctx.Done():
			t.Fatal("the cut-off owner never saw its lease lost")
		}
		require.ErrorIs(t, old.Renew(ctx), ajs.ErrLeaseLost)

		var taken ajs.Lease
		eventually(t, 10*ttl, "the lease passes to the new owner", func() bool {
			taken, err = newLeases.Acquire(ctx, "leased")
			return err == nil
		})
		holder, _, err = newLeases.Holder(ctx, "leased")
		require.NoError(t, err)
		assert.Equal(t, "n1", holder)
		require.NoError(t, old.Release(ctx), "releasing a lost lease deletes nothing")
		holder, _, err = newLeases.Holder(ctx, "leased")
		require.NoError(t, err)
		assert.Equal(t, "n1", holder)

		// Released, it can be taken at once.
		require.NoError(t, taken.Release(ctx))
		require.NoError(t, taken.Release(ctx), "Release is idempotent")
		again, err := newLeases.Acquire(ctx, "leased")
		require.NoError(t, err)
		require.NoError(t, again.Release(ctx))
	})

	t.Run("LeaseRace", func(t *testing.T) {
		// One node per lease holder campaigns for the same rooms at once: each room gets
		// exactly one holder, and the others are told who it is.
		leases := make([]*ajs.Leases, len(nodes))
		for i := range nodes {
			var err error
			leases[i], err = ajs.NewLeases(t.Context(), js[i], fmt.Sprintf("n%d", i), &ajs.LeaseOptions{Prefix: prefix + "M", TTL: time.Minute, Replicas: 3})
			require.NoError(t, err)
		}
		for r := range 10 {
			room := fmt.Sprintf("contested-%d", r)
			got := make([]ajs.Lease, len(nodes))
			errs := make([]error, len(nodes))
			var wg sync.WaitGroup
			for i := range nodes {
				wg.Go(func() { got[i], errs[i] = leases[i].Acquire(t.Context(), room) })
			}
			wg.Wait()
			winner := -1
			for i, err := range errs {
				if err == nil {
					require.Equal(t, -1, winner, "%s: two holders", room)
					winner = i
				}
			}
			require.NotEqual(t, -1, winner, "%s: no holder: %v", room, errs)
			for i, err := range errs {
				if i != winner {
					var held *ajs.HeldError
					require.ErrorAs(t, err, &held)
					assert.Equal(t, fmt.Sprintf("n%d", winner), held.Holder)
				}
			}
			require.NoError(t, got[winner].Release(t.Context()))
		}
	})

	t.Run("LeaseRenewAfterTakeover", func(t *testing.T) {
		// The key is replaced behind the holder's back (an operator deleted it, and another
		// node took the room): the holder's renewal is refused by the revision check, and it
		// learns it lost the lease, without overwriting the new holder.
		ctx := t.Context()
		lopts := &ajs.LeaseOptions{Prefix: prefix + "M", TTL: time.Minute, Replicas: 3}
		a, err := ajs.NewLeases(ctx, js[0], "n0", lopts)
		require.NoError(t, err)
		b, err := ajs.NewLeases(ctx, js[1], "n1", lopts)
		require.NoError(t, err)
		held, err := a.Acquire(ctx, "replaced")
		require.NoError(t, err)
		kv, err := js[2].KeyValue(ctx, prefix+"M_LEASE")
		require.NoError(t, err)
		require.NoError(t, kv.Delete(ctx, "rreplaced"))
		taken, err := b.Acquire(ctx, "replaced")
		require.NoError(t, err)

		require.ErrorIs(t, held.Renew(ctx), ajs.ErrLeaseLost)
		select {
		case <-held.Lost():
		default:
			t.Fatal("Lost is not closed after a refused renewal")
		}
		holder, _, err := b.Holder(ctx, "replaced")
		require.NoError(t, err)
		assert.Equal(t, "n1", holder)
		require.NoError(t, held.Release(ctx))
		holder, _, err = b.Holder(ctx, "replaced")
		require.NoError(t, err)
		assert.Equal(t, "n1", holder, "the old holder's Release deletes nothing")
		require.NoError(t, taken.Release(ctx))
	})

	t.Run("SnapshotAndPurge", func(t *testing.T) {
		ctx := t.Context()
		journaltest.AppendN(t, jr[0], "snap", 100, 10)
		require.NoError(t, jr[0].SaveSnapshot(ctx, "snap", journal.Snapshot{Seq: 55, Data: []byte("at 55")}))

		// Another node sees the snapshot and the log from the message that holds 55 on.
		s, ok, err := jr[1].LoadSnapshot(ctx, "snap")
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, journal.Snapshot{Seq: 55, Data: []byte("at 55")}, s)
		got, err := journaltest.ReadAll(t, jr[1], "snap", 56)
		require.NoError(t, err)
		journaltest.RequireEntries(t, "snap", 56, 100, got)
		_, err = journaltest.ReadAll(t, jr[2], "snap", 1)
		require.ErrorIs(t, err, journal.ErrCompacted)
		_, err = journaltest.ReadAll(t, jr[2], "snap", 50)
		require.ErrorIs(t, err, journal.ErrCompacted)
		assert.Equal(t, uint64(5), subjectMessages(t, js[2], prefix, "snap"), "messages 51-60 to 91-100 are kept")

		// A stale owner cannot move the pointer back.
		err = jr[2].SaveSnapshot(ctx, "snap", journal.Snapshot{Seq: 40, Data: []byte("at 40")})
		require.ErrorIs(t, err, journal.ErrInvalid)
		// A newer snapshot replaces the old one's object, and a snapshot at the end keeps the
		// last message, which Last needs.
		require.NoError(t, jr[1].SaveSnapshot(ctx, "snap", journal.Snapshot{Seq: 100, Data: []byte("at 100")}))
		assert.Equal(t, uint64(1), subjectMessages(t, js[2], prefix, "snap"))
		last, err := jr[2].Last(ctx, "snap")
		require.NoError(t, err)
		assert.Equal(t, uint64(100), last)
		obs, err := js[0].ObjectStore(ctx, prefix+"_SNAPDATA")
		require.NoError(t, err)
		// The replaced object is deleted after the pointer moved, and a node's listing may lag.
		assert.Eventually(t, func() bool {
			objs, err := obs.List(ctx)
			return err == nil && len(objs) == 1
		}, 10*time.Second, 50*time.Millisecond, "the replaced snapshot's object is deleted")
	})

	t.Run("NodeDown", func(t *testing.T) {
		ctx := t.Context()
		// The node that leads the room's stream goes down, the worst case; the writer and the
		// reader are on the other two.
		const room = "busy"
		journaltest.AppendN(t, jr[0], room, 50, 5)
		leader := streamLeader(t, js[0], jr[0], room)
		var alive []int
		for i := range nodes {
			if fmt.Sprintf("n%d", i) != leader {
				alive = append(alive, i)
			}
		}
		require.Len(t, alive, 2, "leader %q", leader)
		w, r := jr[alive[0]], jr[alive[1]]
		// A follower on a surviving node keeps up across the leader's loss.
		fctx, stop := context.WithCancel(ctx)
		defer stop()
		f := journaltest.Follow(fctx, r, room, 45)
		journaltest.RequireEntries(t, room, 45, 50, f.WaitFor(t, 6))
		for i := range nodes {
			if !slices.Contains(alive, i) {
				require.NoError(t, nodes[i].Close())
			}
		}
		// The writer goes on as an owner does: an error that is not a mismatch leaves the
		// batch's fate unknown, so it looks at Last again.
		last := uint64(50)
		deadline := time.Now().Add(30 * time.Second)
		for last < 80 {
			require.True(t, time.Now().Before(deadline), "no progress after the node went down (at %d)", last)
			err := w.Append(ctx, room, last, journaltest.Entries(room, last+1, last+1))
			if err == nil {
				last++
				continue
			}
			var sm *journal.SeqMismatchError
			if errors.As(err, &sm) {
				t.Fatalf("the only writer was fenced: %v", err)
			}
			if l, lerr := w.Last(ctx, room); lerr == nil {
				last = l
			}
		}
		got, err := journaltest.ReadAll(t, r, room, 1)
		require.NoError(t, err)
		journaltest.RequireEntries(t, room, 1, 80, got)
		journaltest.RequireEntries(t, room, 45, 80, f.WaitFor(t, 36))
		stop()
		require.ErrorIs(t, <-f.Done(), context.Canceled)
	})
}

// subjectMessages returns how many messages the room's subject holds.
func subjectMessages(t *testing.T, js jetstream.JetStream, prefix, room string) uint64 {
	t.Helper()
	var total uint64
	for i := range 2 {
		s, err := js.Stream(t.Context(), fmt.Sprintf("%s_LOG_%d", prefix, i))
		require.NoError(t, err)
		info, err := s.Info(t.Context(), jetstream.WithSubjectFilter(fmt.Sprintf("%s.log.%d.r%s", prefix, i, room)))
		require.NoError(t, err)
		for _, n := range info.State.Subjects {
			total += n
		}
	}
	return total
}

// streamLeader returns the name of the node that leads the stream holding room.
func streamLeader(t *testing.T, js jetstream.JetStream, j *ajs.Journal, room string) string {
	t.Helper()
	name := j.StreamOf(room)
	s, err := js.Stream(t.Context(), name)
	require.NoError(t, err)
	info, err := s.Info(t.Context())
	require.NoError(t, err)
	require.NotNil(t, info.Cluster)
	return info.Cluster.Leader
}
