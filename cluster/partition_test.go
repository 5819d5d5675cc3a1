package cluster_test

import (
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
// client converges and holds every confirmed transition exactly once.
func TestPartitionOwner(t *testing.T) {
	nc := startNetCluster(t, clusterOptions{})
	const room = "cut-owner"
	w := busyRoom(t, nc, room, 0)
	minority := func(m int) bool { return m == 0 }
	majority := func(m int) bool { return m != 0 }
	w.waitFor(20*time.Second, "confirmations before the cut", func(cs []confirmation) bool {
		return w.count(cs, minority) >= 20 && w.count(cs, majority) >= 20
	})

	ctx := t.Context()
	t.Logf("cut n0, the owner; room stream led by %s, lease bucket by %s", nc.streamLeader(ctx, 1), nc.leaseLeader(ctx, 1))
	cut := time.Now()
	nc.isolate(0)
	before, _ := w.snapshot()
	// The majority takes over: its clients see confirmations from a new owner.
	after := w.waitFor(takeoverBound, "the majority's takeover", func(cs []confirmation) bool {
		return w.count(cs[len(before):], majority) >= 30
	})
	t.Logf("the majority confirmed 30 transitions %v after the cut; owner %s", time.Since(cut).Round(time.Millisecond), nc.holder(ctx, 1, room))
	assert.NotEqual(t, "n0", nc.holder(ctx, 1, room))
	// Let the majority go on while the minority's clients keep applying.
	w.waitFor(takeoverBound, "the majority's progress", func(cs []confirmation) bool {
		return w.count(cs[len(after):], majority) >= 30
	})
	during, _ := w.snapshot()

	nc.heal()
	healed := time.Now()
	w.waitFor(healBound, "the minority's clients after the heal", func(cs []confirmation) bool {
		return w.count(cs[len(during):], minority) >= 10
	})
	t.Logf("the minority's clients confirmed again %v after the heal", time.Since(healed).Round(time.Millisecond))
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

// TestPartitionMember cuts a member that does not own the busy room off from the others: the
// owner keeps the room, its majority side goes on confirming, the isolated member's clients
// confirm nothing until the heal, and then every client converges.
func TestPartitionMember(t *testing.T) {
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
	w.waitFor(healBound, "the isolated member's clients after the heal", func(cs []confirmation) bool {
		return w.count(cs[len(during):], minority) >= 10
	})
	w.finish(healBound)
}
