package text_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/text"
)

// room is a server's text and its clients, each with a confirmed text (the server's events up
// to some point) and pending edits, as a sync client holds them.
type room struct {
	t       *testing.T
	server  *text.Text
	clients map[aper.ClientID]*member
	log     []aper.Event[text.Edit]
}

type member struct {
	confirmed *text.Text
	seen      int // events of the log applied to confirmed
	pending   []text.Edit
	sent      int // pending edits sent to the server
}

func newRoom(t *testing.T, s string, ids ...aper.ClientID) *room {
	r := &room{t: t, server: text.New(s), clients: map[aper.ClientID]*member{}}
	for _, id := range ids {
		r.clients[id] = &member{confirmed: r.server.Clone()}
	}
	return r
}

// view returns id's optimistic view: its confirmed text and its pending edits.
func (r *room) view(id aper.ClientID) *text.Text {
	r.t.Helper()
	m := r.clients[id]
	v := m.confirmed.Clone()
	for _, e := range m.pending {
		if err := v.Apply(aper.Event[text.Edit]{Client: id, Transition: e}); err != nil {
			r.t.Fatalf("%s's view: %v", id, err)
		}
	}
	return v
}

// typeAt types s at the anchor on id's view and returns the anchor after it.
func (r *room) typeAt(id aper.ClientID, at text.Anchor, s string) text.Anchor {
	r.t.Helper()
	v := r.view(id)
	pos, err := v.Resolve(at)
	if err != nil {
		r.t.Fatalf("%s resolves %+v: %v", id, at, err)
	}
	e := v.Insert(pos, s)
	if err := v.Apply(aper.Event[text.Edit]{Client: id, Transition: e}); err != nil {
		r.t.Fatal(err)
	}
	r.clients[id].pending = append(r.clients[id].pending, e)
	a, err := v.Anchor(pos+len([]rune(s)), text.Left)
	if err != nil {
		r.t.Fatal(err)
	}
	return a
}

// send has the server order id's oldest unsent edit.
func (r *room) send(id aper.ClientID) {
	r.t.Helper()
	m := r.clients[id]
	ev := aper.Event[text.Edit]{Seq: uint64(len(r.log) + 1), Client: id, Transition: m.pending[m.sent]}
	if err := r.server.Apply(ev); err != nil {
		r.t.Fatalf("server applies %s's edit: %v", id, err)
	}
	m.sent++
	r.log = append(r.log, ev)
}

// deliver brings id's confirmed text up to the server's, dropping the pending edits confirmed.
func (r *room) deliver(id aper.ClientID) {
	r.t.Helper()
	m := r.clients[id]
	for ; m.seen < len(r.log); m.seen++ {
		ev := r.log[m.seen]
		if err := m.confirmed.Apply(ev); err != nil {
			r.t.Fatalf("%s applies event %d: %v", id, ev.Seq, err)
		}
		if ev.Client == id {
			m.pending, m.sent = m.pending[1:], m.sent-1
		}
	}
}

func (r *room) resolve(on *text.Text, a text.Anchor) int {
	r.t.Helper()
	p, err := on.Resolve(a)
	if err != nil {
		r.t.Fatalf("resolve %+v: %v", a, err)
	}
	return p
}

func TestAnchorConfirmedText(t *testing.T) {
	for _, tc := range []struct {
		name string
		pos  int
		side text.Side
		op   func(*text.Text) text.Edit // another author's edit at version 0
		want int
	}{
		{"left stays before an insert at it", 3, text.Left, func(x *text.Text) text.Edit { return x.Insert(3, "XY") }, 3},
		{"right moves past an insert at it", 3, text.Right, func(x *text.Text) text.Edit { return x.Insert(3, "XY") }, 5},
		{"an insert before moves it", 3, text.Left, func(x *text.Text) text.Edit { return x.Insert(1, "XY") }, 5},
		{"an insert after leaves it", 3, text.Right, func(x *text.Text) text.Edit { return x.Insert(4, "XY") }, 3},
		{"a deletion around it takes it to its place", 3, text.Left, func(x *text.Text) text.Edit { return x.Delete(1, 4) }, 1},
		{"left at the start stays there", 0, text.Left, func(x *text.Text) text.Edit { return x.Insert(0, "XY") }, 0},
		{"right at the end stays there", 6, text.Right, func(x *text.Text) text.Edit { return x.Insert(6, "XY") }, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := text.New("abcdef")
			a, err := x.Anchor(tc.pos, tc.side)
			if err != nil {
				t.Fatal(err)
			}
			if a != (text.Anchor{Version: 0, Pos: tc.pos, Side: tc.side}) {
				t.Fatalf("anchor %+v", a)
			}
			if err := x.Apply(aper.Event[text.Edit]{Seq: 1, Client: "bob", Transition: tc.op(x)}); err != nil {
				t.Fatal(err)
			}
			if got, err := x.Resolve(a); err != nil || got != tc.want {
				t.Fatalf("Resolve = %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}

// TestAnchorOwnTypingInOrder: a caret anchored after each keystroke keeps a typist's text
// contiguous and in order, and stays right after it, on every replica, whatever the server
// puts between the keystrokes and however late each client hears of it. With positions moved
// by TransformIndex from the view's version the same script jumbles the text.
func TestAnchorOwnTypingInOrder(t *testing.T) {
	r := newRoom(t, "<>", "ann", "bob")
	ann, err := r.view("ann").Anchor(1, text.Left)
	if err != nil {
		t.Fatal(err)
	}
	bob := ann
	// Both type at the same spot; each sends some keystrokes before hearing of the other's.
	ann = r.typeAt("ann", ann, "a")
	bob = r.typeAt("bob", bob, "X")
	r.send("bob")
	ann = r.typeAt("ann", ann, "b")
	r.send("ann")
	r.deliver("bob")
	bob = r.typeAt("bob", bob, "Y")
	ann = r.typeAt("ann", ann, "c")
	r.send("ann")
	r.send("bob")
	r.deliver("ann")
	ann = r.typeAt("ann", ann, "d")
	bob = r.typeAt("bob", bob, "Z")
	r.send("bob")
	r.send("ann")
	r.send("ann")
	for _, id := range []aper.ClientID{"ann", "bob"} {
		r.deliver(id)
	}
	got := r.server.String()
	if !strings.Contains(got, "abcd") || !strings.Contains(got, "XYZ") {
		t.Fatalf("text %q: a typist's text is not contiguous", got)
	}
	for _, on := range []*text.Text{r.server, r.view("ann"), r.view("bob")} {
		if p := r.resolve(on, ann); p != strings.Index(got, "abcd")+4 {
			t.Errorf("ann's caret at %d of %q", p, got)
		}
		if p := r.resolve(on, bob); p != strings.Index(got, "XYZ")+3 {
			t.Errorf("bob's caret at %d of %q", p, got)
		}
	}
}

// TestAnchorOnView: an anchor made on a view with pending edits names the pending text, so it
// resolves right after it on the server, which ordered another's insert at the same spot first,
// and before the author's edit arrives it stands where that edit will land.
func TestAnchorOnView(t *testing.T) {
	r := newRoom(t, "ab", "ann", "bob")
	start, _ := r.view("ann").Anchor(1, text.Left)
	ann := r.typeAt("ann", start, "x")
	ann = r.typeAt("ann", ann, "y")
	if want := (text.Anchor{Version: 0, Pos: 1, Side: text.Left, Author: "ann", Edit: 2}); ann != want {
		t.Fatalf("anchor %+v, want %+v", ann, want)
	}
	right, err := r.view("ann").Anchor(1, text.Right) // before the pending x
	if err != nil {
		t.Fatal(err)
	}
	if want := (text.Anchor{Version: 0, Pos: 1, Side: text.Right, Author: "ann", Edit: 1}); right != want {
		t.Fatalf("anchor %+v, want %+v", right, want)
	}
	r.typeAt("bob", start, "Q")
	r.send("bob")
	if p := r.resolve(r.server, ann); p != 1 {
		t.Errorf("before ann's edits arrive, her caret is at %d of %q, want 1", p, r.server)
	}
	r.send("ann")
	if p := r.resolve(r.server, ann); p != 2 {
		t.Errorf("with only ann's x, her caret is at %d of %q, want 2 (after the x)", p, r.server)
	}
	r.send("ann")
	if got := r.server.String(); got != "axyQb" {
		t.Fatalf("server %q", got)
	}
	if p := r.resolve(r.server, ann); p != 3 {
		t.Errorf("ann's caret at %d of axyQb, want 3", p)
	}
	if p := r.resolve(r.server, right); p != 1 {
		t.Errorf("the anchor before ann's x at %d of axyQb, want 1", p)
	}
	r.deliver("bob")
	if p := r.resolve(r.view("bob"), ann); p != 3 {
		t.Errorf("on bob's replica ann's caret is at %d, want 3", p)
	}
}

func TestAnchorErrors(t *testing.T) {
	x := text.NewWithHistory("abc", 2)
	if _, err := x.Anchor(4, text.Left); !errors.Is(err, conflict.ErrOutOfRange) {
		t.Errorf("Anchor past the end: %v", err)
	}
	if _, err := x.Anchor(0, 2); !errors.Is(err, conflict.ErrInvalid) {
		t.Errorf("Anchor with side 2: %v", err)
	}
	old, _ := x.Anchor(1, text.Left)
	for i := range 5 {
		if err := x.Apply(aper.Event[text.Edit]{Seq: uint64(i + 1), Transition: x.Insert(0, "z")}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		a    text.Anchor
		want error
	}{
		{"older than the history", old, conflict.ErrStaleBase},
		{"ahead of the text", text.Anchor{Version: 6}, text.ErrAnchorAhead},
		{"past the end of its version", text.Anchor{Version: 5, Pos: 9}, conflict.ErrOutOfRange},
		{"negative position", text.Anchor{Version: 5, Pos: -1}, conflict.ErrOutOfRange},
		{"side 7", text.Anchor{Version: 5, Side: 7}, conflict.ErrInvalid},
		{"edit without an author", text.Anchor{Version: 5, Edit: 1}, conflict.ErrInvalid},
		{"offset without an edit", text.Anchor{Version: 5, Offset: 1}, conflict.ErrInvalid},
		{"negative edit", text.Anchor{Version: 5, Edit: -1, Author: "a"}, conflict.ErrInvalid},
	} {
		if _, err := x.Resolve(tc.a); !errors.Is(err, tc.want) {
			t.Errorf("%s: Resolve = %v, want %v", tc.name, err, tc.want)
		}
	}
	// A view is behind an anchor made on a version it has not confirmed, even if its own
	// pending edits make its Version larger.
	v := text.New("abc")
	if err := v.Apply(aper.Event[text.Edit]{Client: "me", Transition: v.Insert(0, "q")}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Resolve(text.Anchor{Version: 1}); !errors.Is(err, text.ErrAnchorAhead) {
		t.Errorf("Resolve on a view of Base 0: %v", err)
	}
}

func TestAnchorEncoding(t *testing.T) {
	for _, tc := range []struct {
		a    text.Anchor
		json string
	}{
		{text.Anchor{Version: 57, Pos: 12, Side: text.Left}, `[57,12,0]`},
		{text.Anchor{Version: 3, Pos: 0, Side: text.Right, Author: "ann", Edit: 2, Offset: 1}, `[3,0,1,"ann",2,1]`},
	} {
		b, err := json.Marshal(tc.a)
		if err != nil || string(b) != tc.json {
			t.Errorf("JSON of %+v: %s, %v; want %s", tc.a, b, err, tc.json)
		}
		var back text.Anchor
		if err := json.Unmarshal(b, &back); err != nil || back != tc.a {
			t.Errorf("JSON round trip of %+v: %+v, %v", tc.a, back, err)
		}
		c, err := aper.CBOR.Marshal(tc.a)
		if err != nil {
			t.Fatal(err)
		}
		if len(c) > len(b) {
			t.Errorf("CBOR of %+v is %d bytes, longer than its JSON", tc.a, len(c))
		}
		back = text.Anchor{}
		if err := aper.CBOR.Unmarshal(c, &back); err != nil || back != tc.a {
			t.Errorf("CBOR round trip of %+v: %+v, %v", tc.a, back, err)
		}
	}
	for _, bad := range []string{`{}`, `[1,2]`, `[1,2,3]`, `[1,-2,0]`, `[1,2,0,"a",0,0]`, `[1,2,0,"",1,0]`, `[1,2,0,null]`, `[1,2,0,"a",1,-1]`, `[1.5,2,0]`, `null`} {
		var a text.Anchor
		if err := json.Unmarshal([]byte(bad), &a); err == nil && bad != "null" {
			t.Errorf("JSON %s decodes to %+v", bad, a)
		}
	}
	for _, bad := range []any{[]any{1, 2}, []any{1, 2, 5}, []any{1, -2, 0}, []any{"1", 2, 0}, []any{1, 2, 0, 7, 1, 0}, []any{1, 2, 0, "a", 0, 0}, map[string]int{}} {
		c, _ := aper.CBOR.Marshal(bad)
		var a text.Anchor
		if err := aper.CBOR.Unmarshal(c, &a); err == nil {
			t.Errorf("CBOR of %v decodes to %+v", bad, a)
		}
	}
}

// FuzzAnchorDecode: an anchor decoded from any bytes (a presence value from anyone) re-encodes
// to what it decoded from, and resolves on a text with a history to a position in it or to an
// error, never a panic.
func FuzzAnchorDecode(f *testing.F) {
	for _, s := range []string{`[0,1,0]`, `[2,3,1]`, `[1,0,0,"ann",1,0]`, `[0,2,1,"bob",3,7]`, `[9,99,0]`} {
		f.Add(true, []byte(s))
		var a text.Anchor
		if err := json.Unmarshal([]byte(s), &a); err != nil {
			f.Fatal(err)
		}
		b, err := aper.CBOR.Marshal(a)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(false, b)
	}
	x := text.New("abc")
	for i, step := range []struct {
		who  aper.ClientID
		edit func() text.Edit
	}{
		{"bob", func() text.Edit { return x.Insert(1, "XY") }},
		{"ann", func() text.Edit { return x.Delete(0, 2) }},
		{"ann", func() text.Edit { return x.Insert(3, "é") }},
	} {
		if err := x.Apply(aper.Event[text.Edit]{Seq: uint64(i + 1), Client: step.who, Transition: step.edit()}); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, isJSON bool, b []byte) {
		var a text.Anchor
		marshal, unmarshal := json.Marshal, json.Unmarshal
		if !isJSON {
			marshal, unmarshal = aper.CBOR.Marshal, aper.CBOR.Unmarshal
		}
		if unmarshal(b, &a) != nil {
			return
		}
		again, err := marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		var back text.Anchor
		if err := unmarshal(again, &back); err != nil || back != a {
			t.Fatalf("%+v re-encodes to %s, which decodes to %+v, %v", a, again, back, err)
		}
		if p, err := x.Resolve(a); err == nil && (p < 0 || p > x.Len()) {
			t.Fatalf("%+v resolves to %d in a text of %d", a, p, x.Len())
		}
	})
}
