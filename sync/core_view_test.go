package sync

import (
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
