package text_test

import (
	"slices"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/text"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A refused edit changes nothing, also not the encoding: an edit with a Version that conflicts
// must not put the server's text in ordered mode while its replicas, which never see it, stay
// in format 2.
func TestRefusedEditWithVersionChangesNothing(t *testing.T) {
	srv, rep := text.New("abc"), text.New("abc")
	bad := aper.Event[text.Edit]{Seq: 1, Client: "h", Transition: text.Edit{Base: 0, Op: text.MustOp(text.Retain(9)), Version: 5}}
	require.Error(t, srv.Apply(bad))
	for _, c := range aper.Codecs() {
		assert.Equal(t, string(apertest.Encode(t, c, rep)), string(apertest.Encode(t, c, srv)), c.Name())
	}
	// A later edit applied on both (a room whose state does not delegate Ordered).
	ok := aper.Event[text.Edit]{Seq: 1, Client: "a", Transition: text.Edit{Base: 0, Op: text.MustOp(text.Retain(3), text.Insert("!"))}}
	apertest.MustApply(t, srv, ok)
	apertest.MustApply(t, rep, ok)
	for _, c := range aper.Codecs() {
		assert.Equal(t, string(apertest.Encode(t, c, rep)), string(apertest.Encode(t, c, srv)), c.Name())
	}
}

// ApplyInverse of an ordered form whose Applied deletes what Op does not: an error or an
// inverse, never a panic.
func TestApplyInverseOfOrderedForm(t *testing.T) {
	for _, op := range []text.Op{text.MustOp(text.Retain(3), text.Insert("x")), text.MustOp(text.Retain(9), text.Insert("x"))} {
		tx := text.New("abc")
		a := text.MustOp(text.Delete(3))
		e := text.Edit{Base: 0, Op: op, Version: 1, Applied: &a}
		func() {
			defer func() {
				if v := recover(); v != nil {
					t.Errorf("op %v: panic: %v", op, v)
				}
			}()
			_, _ = tx.ApplyInverse(aper.Event[text.Edit]{Seq: 1, Client: "me", Transition: e})
		}()
	}
}

// A busy author whose run of edits (each based before its previous one was applied) began
// before the history: a server restored from its snapshot must take its next edit as the server
// did. Format 2 (queues kept) does; format 3 (queues recomputed from the history) refuses it.
func TestRestoredServerTakesARun(t *testing.T) {
	const L0 = 3
	for _, ordered := range []bool{false, true} {
		srv := text.NewWithHistory("abc", 8)
		seq := uint64(0)
		apply := func(tx *text.Text, c aper.ClientID, e text.Edit) error {
			return tx.Apply(aper.Event[text.Edit]{Seq: seq, Client: c, Transition: e})
		}
		prev := uint64(0) // index of c0's previous edit
		next := func() text.Edit {
			return text.Edit{Base: prev, Op: text.MustOp(text.Insert("x"), text.Retain(L0+int(prev)+1))}
		}
		// c0's first edit, based on 0.
		seq++
		require.NoError(t, apply(srv, "c0", text.Edit{Base: 0, Op: text.MustOp(text.Insert("x"), text.Retain(L0))}))
		for range 100 {
			seq++
			require.NoError(t, apply(srv, "c1", text.Edit{Base: srv.Version(), Op: text.MustOp(text.Retain(srv.Len()), text.Insert("y"))}))
			e := next()
			prev = srv.Version()
			seq++
			require.NoError(t, apply(srv, "c0", e))
		}
		seq++
		require.NoError(t, apply(srv, "c1", text.Edit{Base: srv.Version(), Op: text.MustOp(text.Retain(srv.Len()), text.Insert("y"))}))
		if ordered {
			srv.Ordered(text.Edit{})
		}
		for _, restored := range apertest.RoundTrip(t, srv) {
			e := next()
			seq++
			want := srv.Clone()
			require.NoError(t, apply(want, "c0", e))
			assert.NoError(t, apply(restored, "c0", e), "ordered mode %v: the restored server refuses c0's edit", ordered)
		}
	}
}

// In a room whose state does not delegate Ordered (format 2 snapshots), a replica that joined
// from a later snapshot than the server's own start, once an edit with a Version turns both to
// ordered mode, must encode as the server does.
func TestSentFromAlikeOnReplicas(t *testing.T) {
	src := text.New("abc")
	seq := uint64(0)
	edit := func(tx *text.Text, c aper.ClientID, e text.Edit) {
		t.Helper()
		require.NoError(t, tx.Apply(aper.Event[text.Edit]{Seq: seq, Client: c, Transition: e}))
	}
	for range 3 {
		seq++
		edit(src, "a", text.Edit{Base: src.Version(), Op: text.MustOp(text.Retain(src.Len()), text.Insert("x"))})
	}
	srv := apertest.RoundTrip(t, src)[0] // the server restarts from a format-2 snapshot at 3
	for range 2 {
		seq++
		edit(srv, "a", text.Edit{Base: srv.Version(), Op: text.MustOp(text.Retain(srv.Len()), text.Insert("x"))})
	}
	rep := apertest.RoundTrip(t, srv)[0] // a replica joins at 5
	seq++
	e := text.Edit{Base: srv.Version(), Op: text.MustOp(text.Retain(srv.Len()), text.Insert("!")), Version: 42}
	edit(srv, "h", e)
	edit(rep, "h", e)
	for _, c := range aper.Codecs() {
		assert.Equal(t, string(apertest.Encode(t, c, srv)), string(apertest.Encode(t, c, rep)), c.Name())
	}
}

// TestCatchUp: a client that always has an edit in flight, so that on the server its run of
// edits (each based before its previous one was applied) reaches back past the history, has its
// pending edits partly applied among another author's. A server restored from a snapshot in
// ordered mode (which holds no queues) cannot transform the rest as sent; caught up over the
// snapshot by the client, they give there what the live server gives them as sent.
func TestCatchUp(t *testing.T) {
	srv := text.NewWithHistory("abc", 8)
	seq := uint64(0)
	apply := func(tx *text.Text, c aper.ClientID, e text.Edit) error {
		seq++
		err := tx.Apply(aper.Event[text.Edit]{Seq: seq, Client: c, Transition: e})
		if err == nil && tx == srv {
			srv.Ordered(e)
		}
		return err
	}
	bob := func() {
		require.NoError(t, apply(srv, "bob", text.Edit{Base: srv.Version(), Op: text.MustOp(text.Retain(srv.Len()), text.Insert("b"))}))
	}
	// Ann's edits, each made on the text before her previous one was applied, plus that one.
	var old *text.Text // what ann has confirmed: all but her latest edit
	var latest text.Edit
	base, baseLen, own := uint64(0), 3, 0
	for range 20 {
		bob()
		e := text.Edit{Base: base, Op: text.MustOp(text.Insert("a"), text.Retain(baseLen+own))}
		old = srv.Clone()
		base, baseLen, own = srv.Version(), srv.Len(), 1
		require.NoError(t, apply(srv, "ann", e))
		latest = srv.Ordered(e) // her client's form of it, rebased on old
	}
	// Three more, made on old plus her latest, with Base old's version.
	view := old.Clone()
	require.NoError(t, view.Apply(aper.Event[text.Edit]{Client: "ann", Transition: text.Edit{Base: old.Version(), Op: *latest.Applied}}))
	pending := []text.Edit{{Base: old.Version(), Op: *latest.Applied}}
	for i := range 3 {
		e := view.Insert(1+i, string(rune('1'+i)))
		require.NoError(t, view.Apply(aper.Event[text.Edit]{Client: "ann", Transition: e}))
		pending = append(pending, e)
	}
	bob()
	bob()
	for _, e := range pending[1:3] {
		require.NoError(t, apply(srv, "ann", e))
	}
	live := srv.Clone()
	require.NoError(t, apply(live, "ann", pending[3]))
	for _, snap := range apertest.RoundTrip(t, srv) {
		asSent := snap.Clone()
		assert.Error(t, apply(asSent, "ann", pending[3]), "the restored server took a late edit of a run older than its history")

		ps := slices.Clone(pending)
		held, err := snap.CatchUp(old, "ann", ps)
		require.NoError(t, err)
		require.Equal(t, 3, held)
		require.Equal(t, snap.Version(), ps[3].Base)
		require.NoError(t, apply(snap, "ann", ps[3]))
		assert.Equal(t, live.String(), snap.String())
	}
	// Refused, pending left as they were: a Base other than old's, an own edit that is not the
	// next pending one, a text older than the snapshot's history.
	ps := slices.Clone(pending)
	ps[3].Base++
	_, err := srv.CatchUp(old, "ann", ps)
	assert.Error(t, err)
	assert.Equal(t, pending[3].Base+1, ps[3].Base)
	_, err = srv.CatchUp(old, "ann", slices.Clone(pending[1:]))
	assert.Error(t, err)
	_, err = srv.CatchUp(text.NewWithHistory("abc", 8), "ann", nil)
	assert.Error(t, err)
}
