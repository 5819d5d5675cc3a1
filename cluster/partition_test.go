package cluster_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Bounds of the partition tests: failure bounds, not expectations. A JetStream group whose
// leader is cut off elects another within 4 to 9 s (its election timeout, not configurable),
// and only then can the lease expire or the room be read.
const (
	takeoverBound = 40 * time.Second // from the cut to the majority's first confirmation
	healBound     = 90 * time.Second // from the heal to every client settled
)

// busyRoom dials two clients beside each member to room, the first beside member owner, so
// that member owner loads the room, and starts them writing.
func busyRoom(t *testing.T, nc *netCluster, room string, owner int) *workload {
	t.Helper()
	var clients []*client
	var homes []int
	for k := range 6 {
		home := (owner + k) % len(nc.members)
		clients = append(clients, nc.dial(t, home, room))
		homes = append(homes, home)
	}
	require.Equal(t, owner, nc.owner(t, room))
	return newWorkload(t, clients, homes, 50*time.Millisecond)
}

// TestPartitionOwner cuts the owner of a busy room off from the other two members while clients
// on both sides keep applying. The owner's side, a minority, confirms nothing from then on;
// the majority takes the room over once the owner's lease expires; after the heal, every
// client converges and holds every confirmed transition exactly once. It runs with the owner
// leading none of the JetStream groups the room needs, or one of them: the room's stream, the
// lease bucket, the meta group; and logs where the pause went: to the survivors a cut-off
// member is a dead one.
func TestPartitionOwner(t *testing.T) {
	t.Parallel() // mostly waits for elections and leases: overlapped with the other long tests
	for _, tt := range []struct {
		name                string
		stream, lease, meta bool // the owner leads the room's stream, the lease bucket, the meta group
	}{
		{name: "LeadsNothing"},
		{name: "LeadsStream", stream: true},
		{name: "LeadsLeases", lease: true},
		{name: "LeadsMeta", meta: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // each case on a cluster of its own
			nc := startNetCluster(t, clusterOptions{})
			// The meta group's leader cannot be moved from the global account: the owner is
			// chosen beside it, or not.
			ctx := t.Context()
			owner := -1
			for i, m := range nc.members {
				if (nc.metaLeader(ctx) == m.name) == tt.meta {
					owner = i
					break
				}
			}
			require.NotEqual(t, -1, owner, "no meta leader")
			other := (owner + 1) % 3
			place := func(yes bool, stream string) {
				if yes {
					nc.lead(t, other, stream, nc.members[owner].name)
				} else {
					nc.lead(t, other, stream, nc.members[other].name)
				}
			}
			place(tt.stream, nc.prefix+"_LOG_0")
			place(tt.lease, "KV_"+nc.prefix+"_LEASE")
			partitionOwner(t, nc, "cut-"+tt.name, owner)
		})
	}
}

// partitionOwner is a case of TestPartitionOwner.
func partitionOwner(t *testing.T, nc *netCluster, room string, owner int) {
	w := busyRoom(t, nc, room, owner)
	minority := func(m int) bool { return m == owner }
	majority := func(m int) bool { return m != owner }
	w.waitFor(20*time.Second, "confirmations before the cut", func(cs []confirmation) bool {
		return w.count(cs, minority) >= 20 && w.count(cs, majority) >= 20
	})

	ctx := t.Context()
	seen := (owner + 1) % 3
	ownerName := nc.members[owner].name
	ledStream, ledLeases, ledMeta := nc.streamLeader(ctx, seen) == ownerName, nc.leaseLeader(ctx, seen) == ownerName, nc.metaLeader(ctx) == ownerName
	cut := time.Now()
	nc.isolate(owner)
	tl := watchTimeline(nc, seen, room, ownerName)
	before, _ := w.snapshot()
	// The majority takes over: its clients see confirmations from a new owner (none come
	// from the old one once cut off).
	after := w.waitFor(takeoverBound, "the majority's takeover", func(cs []confirmation) bool {
		return w.count(cs[len(before):], majority) >= 30
	})
	lease, stream, leases, meta := tl.stop()
	// The new owner confirms once it holds the lease; earlier ones were the old owner's.
	var first time.Time
	for _, c := range after[len(before):] {
		if majority(w.homes[c.client]) && !lease.IsZero() && !c.when.Before(lease) {
			first = c.when
			break
		}
	}
	t.Logf("cut %s, the owner, leading the room's stream: %v, the lease bucket: %v, the meta group: %v; after the cut: the lease moved %s, "+
		"the stream's leader %s, the bucket's %s, the meta group's %s; first confirmation by the new owner %s",
		ownerName, ledStream, ledLeases, ledMeta, since(cut, lease), since(cut, stream), since(cut, leases), since(cut, meta), since(cut, first))
	assert.NotEqual(t, ownerName, nc.holder(ctx, seen, room))
	// Let the majority go on while the minority's clients keep applying, until the old
	// owner has given the room up: the append that the cut left pending is settled by then,
	// while still cut off.
	w.waitFor(takeoverBound, "the majority's progress", func(cs []confirmation) bool {
		return w.count(cs[len(after):], majority) >= 30
	})
	waitUnloaded(t, nc.members[owner].srv, room)
	during, _ := w.snapshot()

	nc.heal()
	healed := time.Now()
	w.waitFor(healBound, "the minority's clients after the heal", func(cs []confirmation) bool {
		return w.count(cs[len(during):], minority) >= 10
	})
	t.Logf("the cut-off clients confirmed again %v after the heal; the longest pause without a confirmation since the heal: %v",
		time.Since(healed).Round(time.Millisecond), w.longestGap(healed, time.Now()).Round(time.Millisecond))
	w.finish(healBound)

	// What the minority's clients had confirmed while cut off was stored before the cut:
	// below every Seq that the new owner confirmed once it had taken over.
	var lowestNew uint64
	for _, c := range during[len(after):] {
		if majority(w.homes[c.client]) && (lowestNew == 0 || c.seq < lowestNew) {
			lowestNew = c.seq
		}
	}
	for _, c := range during[len(before):] {
		if minority(w.homes[c.client]) {
			assert.Less(t, c.seq, lowestNew, "client %d, cut off with the old owner, got Seq %d confirmed", c.client, c.seq)
		}
	}
}

func since(from, to time.Time) string {
	if to.IsZero() {
		return "-"
	}
	return "+" + to.Sub(from).Round(10*time.Millisecond).String()
}

// timeline watches, from member seen, when a room's lease leaves a member cut off and when the
// room's stream and the lease bucket have a leader other than it. It polls: its times are
// measurements, within about its period plus a request's time.
type timeline struct {
	quit                        chan struct{}
	wg                          sync.WaitGroup
	lease, stream, leases, meta time.Time
}

func watchTimeline(nc *netCluster, seen int, room, gone string) *timeline {
	tl := &timeline{quit: make(chan struct{})}
	poll := func(at *time.Time, moved func(ctx context.Context) bool) {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			ok := moved(ctx)
			cancel()
			if ok {
				*at = time.Now()
				return
			}
			select {
			case <-tl.quit:
				return
			case <-tick.C:
			}
		}
	}
	other := func(name string) bool { return name != "" && name != gone }
	tl.wg.Go(func() {
		poll(&tl.lease, func(ctx context.Context) bool { return other(nc.holder(ctx, seen, room)) })
	})
	tl.wg.Go(func() {
		poll(&tl.stream, func(ctx context.Context) bool { return other(nc.streamLeader(ctx, seen)) })
	})
	tl.wg.Go(func() {
		poll(&tl.leases, func(ctx context.Context) bool { return other(nc.leaseLeader(ctx, seen)) })
	})
	tl.wg.Go(func() {
		poll(&tl.meta, func(ctx context.Context) bool { return other(nc.metaLeader(ctx)) })
	})
	return tl
}

// stop ends the watch and returns the times seen: the lease held by another member, the
// room's stream, the lease bucket and the meta group led by another member; zero for what was
// not seen.
func (tl *timeline) stop() (lease, stream, leases, meta time.Time) {
	close(tl.quit)
	tl.wg.Wait()
	return tl.lease, tl.stream, tl.leases, tl.meta
}

// TestPartitionMember cuts a member that does not own the busy room off from the others: the
// majority side goes on confirming, the isolated member's clients wait (their relay to the
// owner is cut), and after the heal every client converges and holds every confirmed
// transition exactly once.
func TestPartitionMember(t *testing.T) {
	t.Parallel()
	nc := startNetCluster(t, clusterOptions{})
	const room = "cut-member"
	w := busyRoom(t, nc, room, 0)
	minority := func(m int) bool { return m == 2 }
	majority := func(m int) bool { return m != 2 }
	w.waitFor(20*time.Second, "confirmations before the cut", func(cs []confirmation) bool {
		return w.count(cs, minority) >= 20 && w.count(cs, majority) >= 20
	})

	ctx := t.Context()
	t.Logf("cut n2; room stream led by %s, lease bucket by %s", nc.streamLeader(ctx, 0), nc.leaseLeader(ctx, 0))
	cut := time.Now()
	nc.isolate(2)
	before, _ := w.snapshot()
	w.waitFor(takeoverBound, "the majority's progress", func(cs []confirmation) bool {
		return w.count(cs[len(before):], majority) >= 60
	})
	t.Logf("the majority confirmed 60 transitions %v after the cut; owner %s", time.Since(cut).Round(time.Millisecond), nc.holder(ctx, 0, room))
	during, _ := w.snapshot()

	nc.heal()
	healed := time.Now()
	w.waitFor(healBound, "the isolated member's clients after the heal", func(cs []confirmation) bool {
		return w.count(cs[len(during):], minority) >= 10
	})
	t.Logf("the cut-off clients confirmed again %v after the heal; the longest pause without a confirmation since the heal: %v",
		time.Since(healed).Round(time.Millisecond), w.longestGap(healed, time.Now()).Round(time.Millisecond))
	w.finish(healBound)
}

// waitUnloaded waits until srv no longer serves room: its room ended, and it cannot load it
// again. The room answers Seq between two batches, so Seq is asked again until it fails.
func waitUnloaded(t *testing.T, srv *server, room string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), takeoverBound)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		_, err := srv.Seq(ctx, room)
		if ctx.Err() != nil {
			t.Fatalf("the cut-off server still serves room %q after %v", room, takeoverBound)
		}
		if err != nil {
			return
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
}
