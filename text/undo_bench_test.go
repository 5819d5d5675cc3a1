package text_test

import (
	"strings"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/text"
)

// BenchmarkTypeInverse compares typing into a 1 MB text with Apply and with ApplyInverse, one
// character inserted or deleted per op. ApplyInverse of a delete clones the text first, to read
// what it deletes.
func BenchmarkTypeInverse(b *testing.B) {
	for _, tc := range []struct {
		name    string
		inverse bool
		del     bool
	}{{"Apply/insert", false, false}, {"ApplyInverse/insert", true, false}, {"Apply/delete", false, true}, {"ApplyInverse/delete", true, true}} {
		b.Run(tc.name, func(b *testing.B) {
			x := text.New(strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyz\n", 1_000_000/37))
			pos, seq := x.Len()/2, uint64(0)
			for b.Loop() {
				seq++
				e := x.Insert(pos, "x")
				if tc.del {
					e = x.Delete(pos%x.Len(), 1)
				} else {
					pos++
				}
				ev := aper.Event[text.Edit]{Seq: seq, Client: "me", Transition: e}
				var err error
				if tc.inverse {
					_, err = x.ApplyInverse(ev)
				} else {
					err = x.Apply(ev)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
