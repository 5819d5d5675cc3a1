package sync

import (
	"math/rand/v2"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/text"
)

// TestApplyOnTheViewAsRead: a user edits the view as they last read it, while the client goes
// on taking the server's frames: its pending edits are rebased over another author's edit and
// its own are confirmed before the new edit reaches Apply. The edit must land where the user made
// it, not be refused because the pending edits it follows were moved to a newer base meanwhile
// (text: "edit based on version 1 after its author's edit based on version 2").
func TestApplyOnTheViewAsRead(t *testing.T) {
	s := newSim[*text.Text, text.Edit](t, text.New(""), 64, wireCBOR)
	a, b := s.connect(nil), s.connect(nil)
	if err := s.apply(a, a.core.view.Insert(0, "<>")); err != nil {
		t.Fatal(err)
	}
	s.submitAll(a)
	s.recvAll(a)
	s.recvAll(b)

	read := func(c *simClient[*text.Text, text.Edit]) *text.Text {
		c.core.rebase()
		return c.core.view.Clone()
	}
	// typeOn applies on a the insert of str at pos of u, the user's copy, and applies it to u too,
	// as an editor holding its own copy does.
	typeOn := func(u *text.Text, pos int, str string) {
		t.Helper()
		e := u.Insert(pos, str)
		if err := s.apply(a, e); err != nil {
			t.Fatalf("apply %q on the view as read: %v", str, err)
		}
		if err := u.Apply(aper.Event[text.Edit]{Client: a.core.id, Transition: e}); err != nil {
			t.Fatal(err)
		}
	}

	for round := range 3 {
		// The user reads the view and types two letters, which reach the server after b's edit.
		u := read(a)
		at := u.Len() - 1 // before '>'
		typeOn(u, at, "1")
		typeOn(u, at+1, "2")
		if err := s.apply(b, read(b).Insert(0, "b")); err != nil {
			t.Fatal(err)
		}
		s.submitAll(b)
		s.submitAll(a)
		// A third letter, typed before the frames come: it stays pending.
		typeOn(u, at+2, "3")
		// The frames come while the user still holds u: b's edit (the pending edits are
		// rebased over it when a's own edit is confirmed), then a's two.
		s.recv(a)
		// The user types on u, which they read before those frames.
		typeOn(u, at+3, "4")
		if round == 2 {
			// Now every pending edit is confirmed and another b edit comes: nothing is
			// pending, the view was not read again.
			s.submitAll(a)
			s.recv(a)
			if err := s.apply(b, read(b).Insert(0, "b")); err != nil {
				t.Fatal(err)
			}
			s.submitAll(b)
			s.recv(a)
			typeOn(u, at+4, "5")
		}
		s.submitAll(a)
		s.recvAll(a)
		s.recvAll(b)
		s.recvAll(a)
		if len(a.rej) > 0 || len(b.rej) > 0 {
			t.Fatalf("round %d: rejections %v %v", round, a.rej, b.rej)
		}
		apertest.Equal(t, a.core.view, s.room.state)
		apertest.Equal(t, b.core.view, s.room.state)
	}
	if got, want := s.room.state.String(), "bbbb<1234123412345>"; got != want {
		t.Fatalf("text %q, want %q", got, want)
	}
}

// TestApplyOnConfirmedViewAsRead: with nothing pending the view is the confirmed state itself,
// which goes on taking others' edits after the user read it. An edit made on the text as read
// must be rebased over those edits too, not only over the ones that come after it: here the
// text's length is the same before and after them, so a rebase over the later edit alone would
// put the letter in the wrong place without any error.
func TestApplyOnConfirmedViewAsRead(t *testing.T) {
	s := newSim[*text.Text, text.Edit](t, text.New("abc"), 64, wireCBOR)
	a, b := s.connect(nil), s.connect(nil)
	other := func(e func(v *text.Text) text.Edit) {
		t.Helper()
		if err := s.apply(b, e(b.core.view)); err != nil {
			t.Fatal(err)
		}
		s.submitAll(b)
		s.recvAll(b)
	}
	s.recv(a)
	s.recvAll(b)
	u := a.core.view.Clone() // the user reads "abc"
	if !a.core.viewIsC {
		t.Fatal("with nothing pending the view should be the confirmed state")
	}
	other(func(v *text.Text) text.Edit { return v.Insert(0, "X") })       // "Xabc"
	other(func(v *text.Text) text.Edit { return v.Delete(v.Len()-1, 1) }) // "Xab"
	s.recv(a)
	if err := s.apply(a, u.Insert(1, "m")); err != nil { // "amb" as the user sees it
		t.Fatal(err)
	}
	other(func(v *text.Text) text.Edit { return v.Insert(0, "Y") }) // before a's edit is ordered
	s.recvAll(a)
	if got, want := a.core.view.String(), "YXamb"; got != want {
		t.Fatalf("a's view %q, want %q", got, want)
	}
	s.submitAll(a)
	s.recvAll(a)
	s.recvAll(b)
	if got, want := s.room.state.String(), "YXamb"; got != want {
		t.Fatalf("text %q, want %q", got, want)
	}
	apertest.Equal(t, a.core.view, s.room.state)
	apertest.Equal(t, b.core.view, s.room.state)
}

// TestApplyOnHeldViewsRandom: three writers each type on their own copy of the view, read
// again now and then, while the room orders their edits in random batches and each client takes
// the frames sent to it in random pieces, without reading its view in between. No edit may be
// refused, and at the end every replica holds every letter.
func TestApplyOnHeldViewsRandom(t *testing.T) {
	for seed := range uint64(40) {
		rnd := rand.New(rand.NewPCG(seed, 15))
		s := newSim[*text.Text, text.Edit](t, text.New("."), 4096, wireCBOR)
		cs := []*simClient[*text.Text, text.Edit]{s.connect(nil), s.connect(nil), s.connect(nil)}
		held := make([]*text.Text, len(cs))
		typed := 0
		for step := range 600 {
			i := rnd.IntN(len(cs))
			c := cs[i]
			switch k := rnd.IntN(10); {
			case k == 0 || held[i] == nil:
				c.core.rebase()
				held[i] = c.core.view.Clone()
			case k < 5:
				u := held[i]
				e := u.Insert(rnd.IntN(u.Len()+1), string(rune('a'+i)))
				if err := s.apply(c, e); err != nil {
					t.Fatalf("seed %d step %d: client %d: %v", seed, step, i, err)
				}
				if err := u.Apply(aper.Event[text.Edit]{Client: c.core.id, Transition: e}); err != nil {
					t.Fatal(err)
				}
				typed++
			case k < 7:
				s.submitAll(c)
			default:
				n := rnd.IntN(len(c.peer.frames) + 1)
				rest := append([][]byte(nil), c.peer.frames[n:]...)
				c.peer.frames = c.peer.frames[:n]
				s.recv(c)
				c.peer.frames = append(rest, c.peer.frames...)
			}
		}
		for range 2 {
			for _, c := range cs {
				s.submitAll(c)
			}
			for _, c := range cs {
				s.recvAll(c)
			}
		}
		for i, c := range cs {
			if len(c.rej) > 0 {
				t.Fatalf("seed %d: client %d: rejection %v", seed, i, c.rej[0].Err)
			}
			apertest.Equal(t, c.core.view, s.room.state)
		}
		if got := s.room.state.Len(); got != typed+1 {
			t.Fatalf("seed %d: %d letters, want %d", seed, got, typed+1)
		}
	}
}
