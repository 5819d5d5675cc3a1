package text_test

import (
	"testing"

	"github.com/aper-go/aper/text"
)

// TestCatchUpSameVersionOtherText: a text at old's version that is not old's text (another
// length) cannot take old's pending edits; CatchUp says so, as it does when the history's edit
// at old's version does not start from old's length, rather than rewriting them onto it.
func TestCatchUpSameVersionOtherText(t *testing.T) {
	old, snap := text.New("abc"), text.New("abcdef")
	ps := []text.Edit{old.Insert(3, "x")}
	if held, err := snap.CatchUp(old, "ann", ps); err == nil {
		t.Fatalf("CatchUp of an edit of a 3-point text onto a 6-point one at the same version: held %d, %+v, no error", held, ps)
	}
}
