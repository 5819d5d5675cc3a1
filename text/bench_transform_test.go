package text_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/text"
)

// BenchmarkTransformSplice transforms one-splice ops over each other, the ops of typing: an
// insert over an insert elsewhere, an insert over a delete, a delete over an overlapping delete,
// and a replace over an insert at the same position (the tie).
func BenchmarkTransformSplice(b *testing.B) {
	cases := []struct {
		name string
		x, y text.Op
	}{
		{"insert/insert", text.MustOp(text.Retain(500), text.Insert("y"), text.Retain(500)), text.MustOp(text.Retain(200), text.Insert("z"), text.Retain(800))},
		{"insert/delete", text.MustOp(text.Retain(500), text.Insert("y"), text.Retain(500)), text.MustOp(text.Retain(700), text.Delete(1), text.Retain(299))},
		{"delete/delete", text.MustOp(text.Retain(500), text.Delete(10), text.Retain(490)), text.MustOp(text.Retain(505), text.Delete(10), text.Retain(485))},
		{"replace/insert-tie", text.MustOp(text.Retain(500), text.Insert("yy"), text.Delete(3), text.Retain(497)), text.MustOp(text.Retain(500), text.Insert("z"), text.Retain(500))},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := text.Transform(c.x, c.y, text.Left); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTransformConcurrent is what a replica does per edit in a busy room: an edit based n
// versions back is transformed over n concurrent one-character inserts and deletes by other
// authors, on a Clone of the text (a client's confirmed text is cloned for its view between
// edits). The author has an edit in the history, so its queue is used too.
func BenchmarkTransformConcurrent(b *testing.B) {
	for _, n := range []int{16, 64, 256} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, uint64(n)))
			base := text.New(strings.Repeat("abcdefghij", 200))
			authors := []aper.ClientID{"bob", "cat", "dan", "eve"}
			seq := uint64(0)
			apply := func(c aper.ClientID, e text.Edit) {
				seq++
				if err := base.Apply(aper.Event[text.Edit]{Seq: seq, Client: c, Transition: e}); err != nil {
					b.Fatal(err)
				}
			}
			// Ann's first edit, then n edits of others, half of them before her second edit.
			apply("ann", base.Insert(10, "a"))
			annBase := base.Version()
			annLen := base.Len()
			for i := range n {
				if i == n/2 {
					e := text.Edit{Base: annBase, Op: text.MustOp(text.Retain(20), text.Insert("b"), text.Retain(annLen-20))}
					apply("ann", e)
					annLen++
				}
				if r.IntN(3) == 0 {
					apply(authors[i%len(authors)], base.Delete(r.IntN(base.Len()-1), 1))
				} else {
					apply(authors[i%len(authors)], base.Insert(r.IntN(base.Len()), "x"))
				}
			}
			late := aper.Event[text.Edit]{Seq: seq + 1, Client: "ann", Transition: text.Edit{Base: annBase, Op: text.MustOp(text.Retain(30), text.Insert("c"), text.Retain(annLen-30))}}
			b.ReportAllocs()
			for b.Loop() {
				t := base.Clone()
				if err := t.Apply(late); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeEdit decodes a typed character's edit from CBOR, as every client does for every
// edit of its room.
func BenchmarkDecodeEdit(b *testing.B) {
	e := text.Edit{Base: 123456, Op: text.MustOp(text.Retain(1500), text.Insert("x"), text.Retain(2500))}
	data, err := aper.CBOR.Marshal(e)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var got text.Edit
		if err := aper.CBOR.Unmarshal(data, &got); err != nil {
			b.Fatal(err)
		}
	}
}
