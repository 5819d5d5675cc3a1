package cluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestShutdownReleases: a server that shuts down cleanly gives its rooms' leases up as their
// rooms end, so that another member takes a room over at once rather than after the TTL (a
// minute here, longer than the test waits).
func TestShutdownReleases(t *testing.T) {
	t.Parallel()
	nc := startNetCluster(t, clusterOptions{leaseTTL: time.Minute})
	const room = "handover"
	a := nc.dial(t, 0, room)
	b := nc.dial(t, 1, room)
	require.NoError(t, a.Apply(add1))
	require.NoError(t, b.Apply(add1))
	settle(t, []*client{a, b})
	require.Equal(t, 0, nc.owner(t, room))

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	nc.members[0].down.Store(true)
	require.NoError(t, nc.members[0].srv.Shutdown(ctx))
	// The clients reconnect meanwhile, and a member they reach may take the released lease at
	// once: what must not be is the member that shut down holding it (for the TTL).
	holder, held, err := nc.members[1].cl.Leases().Holder(ctx, room)
	require.NoError(t, err)
	assert.False(t, held && holder == nc.members[0].name, "the lease is still held by %q, which shut down", holder)

	// The clients come back through the other members, one of which owns the room now.
	require.NoError(t, a.Apply(add1))
	require.NoError(t, b.Apply(add1))
	settle(t, []*client{a, b})
	assert.Equal(t, int64(4), a.State().Value())
	assert.NotEqual(t, 0, nc.owner(t, room))
}
