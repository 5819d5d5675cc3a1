package sync

import (
	"strings"
	"testing"

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
