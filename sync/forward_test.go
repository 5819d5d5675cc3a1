package sync_test

import (
	"context"
	"errors"
	stdsync "sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/journal"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport"
)

// fakeCluster is a cluster's ownership in one process: a table of rooms' owners, and the
// carried calls passed to the owner's handler directly.
type fakeCluster struct {
	mu       stdsync.Mutex
	owners   map[string]string // room → server
	handlers map[string]func(context.Context, []byte) []byte
	down     map[string]bool // servers whose calls are lost
}

// fakeOwnership is one server's view of a fakeCluster; stale, if set, is an older view of
// some rooms' owners that it campaigns with.
type fakeOwnership struct {
	c     *fakeCluster
	name  string
	stale map[string]string
}

type fakeClaim struct{}

func (fakeClaim) Lost() <-chan struct{}             { return nil }
func (fakeClaim) Release(ctx context.Context) error { return nil }

func (o *fakeOwnership) Campaign(ctx context.Context, room string) (apersync.Claim, error) {
	o.c.mu.Lock()
	defer o.c.mu.Unlock()
	if owner, ok := o.stale[room]; ok && owner != o.name {
		return nil, &apersync.OwnerError{Room: room, Owner: owner}
	}
	if owner, ok := o.c.owners[room]; ok && owner != o.name {
		return nil, &apersync.OwnerError{Room: room, Owner: owner}
	}
	o.c.owners[room] = o.name
	return fakeClaim{}, nil
}

func (o *fakeOwnership) Dial(ctx context.Context, owner, room, codec string) (transport.Conn, error) {
	return nil, errors.New("no relay in this test")
}

func (o *fakeOwnership) Owner(ctx context.Context, room string) error {
	o.c.mu.Lock()
	defer o.c.mu.Unlock()
	if owner, ok := o.c.owners[room]; ok && owner != o.name {
		return &apersync.OwnerError{Room: room, Owner: owner}
	}
	return nil
}

func (o *fakeOwnership) Forward(ctx context.Context, owner string, req []byte) ([]byte, error) {
	o.c.mu.Lock()
	h, down := o.c.handlers[owner], o.c.down[owner]
	o.c.mu.Unlock()
	if h == nil || down {
		return nil, errors.New("no answer")
	}
	return h(ctx, req), nil
}

func (o *fakeOwnership) Handle(h func(context.Context, []byte) []byte) {
	o.c.mu.Lock()
	defer o.c.mu.Unlock()
	o.c.handlers[o.name] = h
}

// TestForwarded: a server's calls on a room another server owns are carried there, with the
// caller's Identity for the owner's permission hook and the owner's errors, typed; a call
// that cannot be carried names the owner.
func TestForwarded(t *testing.T) {
	fc := &fakeCluster{owners: map[string]string{}, handlers: map[string]func(context.Context, []byte) []byte{}, down: map[string]bool{}}
	j := journal.NewMemory()
	var seen []apersync.Identity
	var seenMu stdsync.Mutex
	permit := apersync.WithPermission(func(id apersync.Identity, room string, st *aper.Counter, tr aper.CounterTransition) error {
		seenMu.Lock()
		seen = append(seen, id)
		seenMu.Unlock()
		if id.Client == "intruder" {
			return errors.New("not you")
		}
		return nil
	})
	newServer := func(name string, stale map[string]string) *apersync.Server[*aper.Counter, aper.CounterTransition] {
		srv, err := apersync.NewServer(func(context.Context, string) (*aper.Counter, error) { return aper.NewCounter(0), nil },
			apersync.WithJournal(j), apersync.WithOwnership(&fakeOwnership{c: fc, name: name, stale: stale}), permit)
		require.NoError(t, err)
		t.Cleanup(func() { srv.Close() })
		return srv
	}
	a, b := newServer("a", nil), newServer("b", nil)
	// c believes that b owns the rooms, and b sends it on to a.
	c := newServer("c", map[string]string{"r": "b"})
	ctx := t.Context()
	add := aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1}

	seq, err := a.Submit(ctx, "r", apersync.Identity{Client: "u"}, add)
	require.NoError(t, err)
	require.Equal(t, uint64(1), seq)

	// b's Submit is ordered by a, whose permission hook sees b's caller.
	seq, err = b.Submit(ctx, "r", apersync.Identity{Client: "v", Rooms: []string{"r"}, Agent: true}, add)
	require.NoError(t, err)
	assert.Equal(t, uint64(2), seq)
	seq, err = b.Submit(ctx, "r", apersync.Identity{Client: "w", Rooms: []string{}}, add)
	require.NoError(t, err)
	assert.Equal(t, uint64(3), seq)
	seenMu.Lock()
	assert.Equal(t, []apersync.Identity{{Client: "u"}, {Client: "v", Rooms: []string{"r"}, Agent: true}, {Client: "w", Rooms: []string{}}}, seen)
	seenMu.Unlock()
	_, err = b.Submit(ctx, "r", apersync.Identity{Client: "intruder"}, add)
	var re *apersync.RefusedError
	require.True(t, errors.As(err, &re), "%v", err)
	assert.ErrorIs(t, err, apersync.ErrForbidden)
	assert.Equal(t, "not you", re.Message)

	st, seq, err := b.Snapshot(ctx, "r")
	require.NoError(t, err)
	assert.Equal(t, uint64(3), seq)
	assert.Equal(t, int64(3), st.Value())
	_, err = b.Restore(ctx, "r", 9)
	assert.ErrorIs(t, err, apersync.ErrSeqRange)
	seq, err = c.Submit(ctx, "r", apersync.Identity{Client: "x"}, add)
	require.NoError(t, err)
	assert.Equal(t, uint64(4), seq)
	n, err := c.Seq(ctx, "r")
	require.NoError(t, err)
	assert.Equal(t, uint64(4), n)

	// a is unreachable: b's calls name it.
	fc.mu.Lock()
	fc.down["a"] = true
	fc.mu.Unlock()
	_, _, err = b.Snapshot(ctx, "r")
	var oe *apersync.OwnerError
	require.True(t, errors.As(err, &oe), "%v", err)
	assert.Equal(t, "a", oe.Owner)
	assert.ErrorIs(t, err, apersync.ErrNotOwner)
	_, err = b.Kick(ctx, "r", "u", "")
	require.True(t, errors.As(err, &oe), "%v", err)

	// Hostile requests get an answer, not a panic.
	fc.mu.Lock()
	h := fc.handlers["a"]
	fc.mu.Unlock()
	for _, req := range [][]byte{nil, {0xff}, {0xa1, 0x01, 0x67, 's', 'n', 'a', 'p', 's', 'h', 'o'}, {0xa2, 0x01, 0x61, 'x', 0x02, 0x61, 'r'}} {
		assert.NotEmpty(t, h(ctx, req))
	}
}
