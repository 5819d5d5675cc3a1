package example_test

import (
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/cmd/aper-gen/internal/example"
	"github.com/aper-go/aper/text"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// orderer is n as an aper.Orderer, the way a sync server and client find it: at run time. It
// fails the test when aper-gen gave Notes no Ordered and Sent.
func orderer(t *testing.T, n *example.Notes) aper.Orderer[example.NotesTransition] {
	t.Helper()
	o, ok := any(n).(aper.Orderer[example.NotesTransition])
	require.True(t, ok, "aper-gen gives Notes Ordered and Sent, since its Body (a text.Text) has them")
	return o
}

// Notes gets Ordered and Sent, which hand an edit of its text to the text's own: after Apply,
// the ordered form of an edit of the body carries the version it made and the op as applied
// (transformed over a concurrent edit), a replica at the version before applies it to the same
// text, and Sent gives the edit back as its author sent it. A transition of another field, and
// one of a body the notes do not hold, come back as they are.
func TestOrderedFormsOfGeneratedStruct(t *testing.T) {
	srv := &example.Notes{Body: text.New("hello world")}
	replica := srv.Clone()
	// Ann and Bob edit version 0 concurrently; Bob's edit is ordered after Ann's, so the server
	// transforms it.
	ann := example.UpdateNotesBody(srv.Body.Insert(0, ">"))
	bob := example.UpdateNotesBody(srv.Body.Insert(5, ","))
	require.NoError(t, srv.Apply(aper.Event[example.NotesTransition]{Seq: 1, Client: "ann", Transition: ann}))
	annOrd := orderer(t, srv).Ordered(ann)
	require.NoError(t, srv.Apply(aper.Event[example.NotesTransition]{Seq: 2, Client: "bob", Transition: bob}))
	bobOrd := orderer(t, srv).Ordered(bob)
	require.Equal(t, ">hello, world", srv.Body.String())

	require.NotNil(t, bobOrd.Body)
	assert.Equal(t, "Body", bobOrd.Field())
	assert.Equal(t, uint64(2), bobOrd.Body.Version)
	require.NotNil(t, bobOrd.Body.Applied, "the ordered form carries the op as applied")
	assert.NotEqual(t, bob.Body.Op, *bobOrd.Body.Applied, "Bob's op was transformed over Ann's")
	assert.Equal(t, bob.Body.Op, bobOrd.Body.Op)
	assert.Nil(t, bob.Body.Applied, "Ordered does not change its argument")
	assert.Zero(t, bob.Body.Version)

	// A replica given the ordered forms, in order, has the server's text.
	for i, tr := range []example.NotesTransition{annOrd, bobOrd} {
		require.NoError(t, replica.Apply(aper.Event[example.NotesTransition]{Seq: uint64(i + 1), Client: aper.ClientID([]string{"ann", "bob"}[i]), Transition: tr}))
	}
	assert.Equal(t, srv.Body.String(), replica.Body.String())

	sent := orderer(t, srv).Sent(bobOrd)
	require.NotNil(t, sent.Body)
	assert.Nil(t, sent.Body.Applied, "Sent strips the op as applied")
	assert.Equal(t, bob.Body.Op, sent.Body.Op)
	assert.Equal(t, bob.Body.Base, sent.Body.Base)
	assert.NotNil(t, bobOrd.Body.Applied, "Sent does not change its argument")

	// A transition of the title has no ordered form of its own.
	title := example.SetNotesTitle("Minutes")
	require.NoError(t, srv.Apply(aper.On(title)))
	assert.Same(t, title.Title, orderer(t, srv).Ordered(title).Title)
	assert.Same(t, title.Title, orderer(t, srv).Sent(title).Title)

	// Notes without a body, and a transition that sets two fields (which Apply refuses), are
	// given back as they are.
	empty := &example.Notes{}
	assert.Same(t, bobOrd.Body, orderer(t, empty).Ordered(bobOrd).Body)
	assert.Same(t, bobOrd.Body, orderer(t, empty).Sent(bobOrd).Body)
	two := example.NotesTransition{Title: title.Title, Body: bob.Body}
	assert.Equal(t, two, orderer(t, srv).Ordered(two))
}
