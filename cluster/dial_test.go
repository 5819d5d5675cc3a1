package cluster_test

import (
	"context"
	stdsync "sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/aper-go/aper/transport"
)

// TestDialWaitsForAnOwnerNotYetHeardOf: a relay's dial to an owner whose subscription this
// member's NATS server has not heard of yet (the owner, or the route to it, has just started)
// finds no responder; it asks again until the owner answers, rather than refuse the client.
func TestDialWaitsForAnOwnerNotYetHeardOf(t *testing.T) {
	t.Parallel()
	tc := startCluster(t, 1, nil)
	m := tc.members[0]
	missed := make(chan struct{})
	var once stdsync.Once
	m.cl.SetOnNoResponders(func() { once.Do(func() { close(missed) }) })

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	type result struct {
		c   transport.Conn
		err error
	}
	done := make(chan result, 1)
	go func() { // owned here: the test waits for its result below
		c, err := m.cl.Dial(ctx, "late", "room", "cbor")
		done <- result{c, err}
	}()
	select {
	case <-missed:
	case r := <-done:
		t.Fatalf("the dial ended before the owner was up, with %v", r.err)
	case <-ctx.Done():
		t.Fatal("the dial never found that no server answers")
	}

	// The owner comes up: it answers dials as a member's Cluster does, with its inbox.
	sub, err := m.nc.Subscribe(tc.prefix+".relay.late", func(msg *nats.Msg) {
		_ = msg.Respond([]byte(nats.NewInbox()))
	})
	require.NoError(t, err)
	defer sub.Unsubscribe()
	r := <-done
	require.NoError(t, r.err, "the dial to an owner that came up while it waited")
	require.NoError(t, r.c.Close())
}

// TestDialToNoOwnerEndsWithItsContext: a dial that is still waiting for an owner when its
// context ends says so: its error matches the context's as well as "no responders".
func TestDialToNoOwnerEndsWithItsContext(t *testing.T) {
	t.Parallel()
	tc := startCluster(t, 1, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err := tc.members[0].cl.Dial(ctx, "nobody", "room", "cbor")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorIs(t, err, nats.ErrNoResponders)
}
