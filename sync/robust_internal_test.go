package sync

import (
	"errors"
	"strings"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/transport/memory"
	"github.com/fxamacker/cbor/v2"
)

func nestedValue(depth int) any {
	var v any = 1
	for range depth {
		v = []any{v}
	}
	return v
}

func TestCheckPresenceDepth(t *testing.T) {
	for _, depth := range []int{0, 1, maxPresenceDepth, maxPresenceDepth + 1, 40, 1000} {
		ok := depth <= maxPresenceDepth
		c, err := cbor.Marshal(nestedValue(depth))
		if err != nil {
			t.Fatal(err)
		}
		if err := checkPresence(c, wireCBOR); (err == nil) != ok {
			t.Errorf("CBOR depth %d: %v", depth, err)
		}
		j := strings.Repeat("[", depth) + "1" + strings.Repeat("]", depth)
		if err := checkPresence(raw(j), wireJSON); (err == nil) != ok {
			t.Errorf("JSON depth %d: %v", depth, err)
		}
	}
	deepMap := strings.Repeat(`{"a":`, maxPresenceDepth+1) + "1" + strings.Repeat("}", maxPresenceDepth+1)
	if checkPresence(raw(deepMap), wireJSON) == nil {
		t.Error("JSON maps nested too deep accepted")
	}
	brackets := `{"a":"` + strings.Repeat(`[{\"`, 100) + `"}`
	if err := checkPresence(raw(brackets), wireJSON); err != nil {
		t.Errorf("brackets in a string: %v", err)
	}
	// A deep value always fits in a welcome's nesting limit.
	c, _ := cbor.Marshal(nestedValue(maxPresenceDepth))
	w := frame{Type: frameWelcome, V: ProtocolVersion, Client: "a", Presence: []presenceRecord{{Client: "b", Data: c}}}
	b, err := wireCBOR.encode(&w)
	if err != nil {
		t.Fatal(err)
	}
	if err := wireCBOR.decode(b, func(*frame) error { return nil }); err != nil {
		t.Fatalf("welcome with the deepest presence: %v", err)
	}
}

// A message a sender put in a room's inbox just as the room stopped is answered, not left there
// for the sender to wait on: a join or a submit gets a (non-fatal) error frame and its queue
// closes, a Snapshot call gets ErrServerClosed; and a send after the stop
// fails at once.
func TestStoppedRoomAnswersItsInbox(t *testing.T) {
	type st = *aper.Counter
	r := &room[st, aper.CounterTransition]{name: "r", inbox: make(chan roomMsg[aper.CounterTransition], 8), done: make(chan struct{})}
	a, b := memory.Pipe(nil)
	defer b.Close()
	joiner := &serverConn{conn: a, wire: wireCBOR, q: newOutq(0, nil)}
	c, d := memory.Pipe(nil)
	defer d.Close()
	submitter := &serverConn{conn: c, wire: wireCBOR, q: newOutq(0, nil)}
	reply := make(chan snapshotReply[st], 1)
	for _, m := range []roomMsg[aper.CounterTransition]{
		{kind: msgJoin, sc: joiner},
		{kind: msgSubmit, sc: submitter},
		{kind: msgSnapshot, reply: reply},
	} {
		if !r.send(m) {
			t.Fatal("send to a running room failed")
		}
	}
	r.stop()
	for name, sc := range map[string]*serverConn{"joiner": joiner, "submitter": submitter} {
		items, closing, _ := sc.q.take(nil)
		if len(items) != 1 || !closing {
			t.Fatalf("%s: %d frames, closing %v; want an error frame, then closed", name, len(items), closing)
		}
		if err := wireCBOR.decode(items[0].frame, func(f *frame) error {
			if f.Type != frameError || f.Fatal || f.Code != codeRoom {
				t.Errorf("%s got %+v, want a non-fatal error frame of code %q", name, f, codeRoom)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if rep := <-reply; !errors.Is(rep.err, ErrServerClosed) {
		t.Fatalf("snapshot reply %v, want ErrServerClosed", rep.err)
	}
	if r.send(roomMsg[aper.CounterTransition]{kind: msgLeave}) {
		t.Fatal("a send after the stop succeeded")
	}
}
