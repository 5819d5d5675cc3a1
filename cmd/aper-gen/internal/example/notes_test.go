package example_test

import (
	"context"
	"testing"
	"time"

	"github.com/aper-go/aper/cmd/aper-gen/internal/example"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/text"
	"github.com/aper-go/aper/transport/memory"
	"github.com/aper-go/aper/undo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Notes gets Forward, since its Body (a text.Text) has one: the generated struct is an
// undo.Forwarder, which a sync client's Undo calls.
var _ undo.Forwarder[example.NotesTransition] = (*example.Notes)(nil)

// A user's undo of an edit of the text inside a generated struct, with the other user's typing
// in that text ordered after the edit: the undone word comes out as if it had never been typed,
// and the other's typing stays where it was. The user also deleted part of the word and undid
// that, so the word's undo crosses an undone edit and its undo, which Forward takes as if neither
// had happened. Without Forward the client sends the stored inverse as it was made, based on a
// version older than its author's later edits, and Apply refuses it (an Invalid conflict): the
// undo would be skipped.
func TestUndoTextInGeneratedStruct(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	srv, err := example.NewNotesServer(func(context.Context, string) (*example.Notes, error) {
		n := &example.Notes{Body: text.New("hello world")}
		return n, nil
	})
	require.NoError(t, err)
	net := memory.NewNetwork(nil)
	defer net.Close()
	l, err := net.Listen("server")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, l) }()
	defer func() { srv.Close(); <-served }()

	// Every transition is a step of its own: the test does not depend on the clock.
	alice, err := example.DialNotes(ctx, net.Dialer("server"), "room", apersync.WithUndo(&undo.Options{Interval: -1}))
	require.NoError(t, err)
	defer alice.Close()
	bob, err := example.DialNotes(ctx, net.Dialer("server"), "room")
	require.NoError(t, err)
	defer bob.Close()
	// settled waits until both clients have every transition ordered so far.
	settled := func() {
		t.Helper()
		for _, c := range []*example.NotesClient{alice, bob} {
			require.NoError(t, c.Settled(ctx))
		}
		seq, err := srv.Seq(ctx, "room")
		require.NoError(t, err)
		for _, c := range []*example.NotesClient{alice, bob} {
			require.NoError(t, c.WaitSeq(ctx, seq))
		}
	}
	body := func(c *example.NotesClient) string { return c.State().Body.String() }
	edit := func(c *example.NotesClient, f func(b *text.Text) text.Edit) {
		t.Helper()
		require.NoError(t, c.Apply(example.UpdateNotesBody(f(c.State().Body))))
		settled()
	}

	edit(alice, func(b *text.Text) text.Edit { return b.Insert(6, "big ") })
	edit(bob, func(b *text.Text) text.Edit { return b.Insert(b.Len(), "!") })
	edit(bob, func(b *text.Text) text.Edit { return b.Insert(0, ">") })
	require.Equal(t, ">hello big world!", body(bob))
	edit(alice, func(b *text.Text) text.Edit { return b.Delete(8, 2) }) // "ig"
	require.Equal(t, ">hello b world!", body(bob))
	edit(bob, func(b *text.Text) text.Edit { return b.Insert(b.Len(), "?") })

	r, err := alice.Undo() // puts "ig" back
	require.NoError(t, err)
	require.Len(t, r.Applied, 1)
	require.Empty(t, r.Conflicts)
	settled()
	require.Equal(t, ">hello big world!?", body(bob))

	r, err = alice.Undo() // takes the word back
	require.NoError(t, err)
	require.Len(t, r.Applied, 1)
	require.Empty(t, r.Conflicts)
	require.NoError(t, r.Handles[0].Wait(ctx))
	settled()
	assert.Equal(t, ">hello world!?", body(alice))
	assert.Equal(t, ">hello world!?", body(bob))
	state, _, err := srv.Snapshot(ctx, "room")
	require.NoError(t, err)
	assert.Equal(t, ">hello world!?", state.Body.String())
}
