package jetstream_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/aper-go/aper/internal/leakcheck"
	ajs "github.com/aper-go/aper/journal/jetstream"
	"github.com/aper-go/aper/journal/jetstream/node"
)

// single is a node that the tests share, each with journals of its own prefix.
var single struct {
	node *node.Node
	dir  string
}

// TestMain runs one single node for the package's tests and fails the run if goroutines of the
// package outlive them.
func TestMain(m *testing.M) {
	code := run(m)
	if code == 0 {
		if leaked := leakcheck.Leaked("aper-go/aper/journal/jetstream"); leaked != "" {
			os.Stderr.WriteString("goroutines leaked:\n" + leaked)
			code = 1
		}
	}
	os.Exit(code)
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "aper-js-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	single.node, err = node.Start(ctx, node.Config{DataDir: dir})
	if err == nil {
		err = single.node.WaitJetStream(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer single.node.Close()
	return m.Run()
}

var prefixes atomic.Int64

// newPrefix returns a prefix no other journal of the test binary uses.
func newPrefix() string { return fmt.Sprintf("T%d", prefixes.Add(1)) }

// connect returns a JetStream context on a new connection to n, closed with the test.
func connect(t testing.TB, n *node.Node) jetstream.JetStream {
	t.Helper()
	nc, err := n.Connect(nats.MaxReconnects(-1))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	return js
}

// open returns a journal with a prefix of its own on js, closed with the test.
func open(t testing.TB, js jetstream.JetStream, opts ajs.Options) *ajs.Journal {
	t.Helper()
	if opts.Prefix == "" {
		opts.Prefix = newPrefix()
	}
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second
	}
	j, err := ajs.New(t.Context(), js, &opts)
	require.NoError(t, err)
	t.Cleanup(func() { j.Close() })
	return j
}
