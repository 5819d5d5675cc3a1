package cluster_test

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/aper-go/aper/cluster"
	"github.com/aper-go/aper/journal/jetstream/node"
)

// TestNewWithoutDeadline: New takes a context without a deadline, as any call that blocks.
func TestNewWithoutDeadline(t *testing.T) {
	t.Parallel()
	nd, err := node.Start(t.Context(), node.Config{DataDir: t.TempDir()})
	require.NoError(t, err)
	defer nd.Close()
	require.NoError(t, nd.WaitJetStream(t.Context()))
	nc, err := nd.Connect(nats.MaxReconnects(-1))
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	cl, err := cluster.New(context.Background(), nc, js, "alone", nil)
	require.NoError(t, err)
	require.NoError(t, cl.Close())
}
