package node_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aper-go/aper/journal"
	"github.com/aper-go/aper/journal/jetstream/node"
)

func TestStartInvalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  node.Config
	}{
		{"no data folder", node.Config{}},
		{"routes alone", node.Config{DataDir: t.TempDir(), Routes: []string{"127.0.0.1:1"}}},
		{"cluster without a name", node.Config{DataDir: t.TempDir(), ClusterListen: "127.0.0.1:0"}},
		{"bad address", node.Config{DataDir: t.TempDir(), Listen: "nowhere"}},
		{"bad port", node.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:99999"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := node.Start(t.Context(), tc.cfg)
			require.ErrorIs(t, err, journal.ErrInvalid)
		})
	}
}

func TestStartClose(t *testing.T) {
	n, err := node.Start(t.Context(), node.Config{DataDir: t.TempDir()})
	require.NoError(t, err)
	require.Empty(t, n.ClientURL(), "no client port unless asked")
	require.NoError(t, n.WaitJetStream(t.Context()))
	nc, err := n.Connect()
	require.NoError(t, err)
	nc.Close()
	require.NoError(t, n.Close())
	require.NoError(t, n.Close(), "Close is idempotent")
}
