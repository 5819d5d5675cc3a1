package text_test

import (
	"testing"

	"github.com/aper-go/aper/text"
)

// A nil *Text, an unset field of a generated struct, reads as the zero Text.
func TestNilTextReads(t *testing.T) {
	var x *text.Text
	if x.Len() != 0 || x.Version() != 0 || x.Base() != 0 || x.Oldest() != 0 || x.String() != "" {
		t.Fatalf("nil text: Len %d, Version %d, Base %d, Oldest %d, String %q", x.Len(), x.Version(), x.Base(), x.Oldest(), x.String())
	}
	if s, err := x.Slice(0, 0); err != nil || s != "" {
		t.Fatalf("nil text: Slice(0, 0) = %q, %v", s, err)
	}
	if _, err := x.Slice(0, 1); err == nil {
		t.Fatal("nil text: Slice(0, 1) is not an error")
	}
	for name, f := range map[string]func(int) (int, error){
		"ToByte": x.ToByte, "ToUTF16": x.ToUTF16, "FromByte": x.FromByte, "FromUTF16": x.FromUTF16,
	} {
		if i, err := f(0); err != nil || i != 0 {
			t.Fatalf("nil text: %s(0) = %d, %v", name, i, err)
		}
		if _, err := f(1); err == nil {
			t.Fatalf("nil text: %s(1) is not an error", name)
		}
	}
	e := x.Insert(0, "hi")
	if e.Base != 0 {
		t.Fatalf("nil text: Insert's edit is based on %d", e.Base)
	}
}
