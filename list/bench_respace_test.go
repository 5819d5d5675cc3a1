package list_test

import (
	"fmt"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/list"
)

// BenchmarkInsertMiddle measures the pattern that crowds a list fastest, with respacing: each op
// inserts an item at the middle of a list of n items (through the constructors, which add the
// respaces) and deletes one at an end, alternately the first and the last, so that the list
// keeps n items and its middle stays crowded. The list starts as n appends, then 50,000 such ops
// (untimed) crowd its middle before the measured ones. It reports the items respaced per
// measured insert and the index lengths at the end.
func BenchmarkInsertMiddle(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			l, _ := bigList(b, n)
			v := aper.NewCounter(1)
			apply := func(t countersT) {
				if err := l.Apply(aper.On(t)); err != nil {
					b.Fatal(err)
				}
			}
			rekeyed, inserts := 0, 0
			op := func() {
				_, t := l.InsertAt(l.Len()/2, v)
				if r := t.Pos.Respace; !r.IsZero() {
					i, _ := l.IndexOf(r.First)
					j, _ := l.IndexOf(r.Last)
					rekeyed += max(i, j) - min(i, j) + 1
				}
				apply(t)
				inserts++
				end := 0
				if inserts%2 == 0 {
					end = l.Len() - 1
				}
				id, _, _ := l.At(end)
				apply(l.Delete(id))
			}
			for range 50_000 {
				op()
			}
			rekeyed, inserts = 0, 0
			b.ReportAllocs()
			for b.Loop() {
				op()
			}
			b.ReportMetric(float64(rekeyed)/float64(inserts), "respaced-items/insert")
			reportKeys(b, l)
		})
	}
}

// BenchmarkRespaceWire measures what a respace adds to a transition on the wire: an insert at
// the middle of a crowded list, which carries the respace of its neighbourhood (two item ids,
// whatever the run's length), encoded in JSON and in CBOR, against the same insert without it.
// The time is that of encoding the insert with its respace in both.
func BenchmarkRespaceWire(b *testing.B) {
	l := list.New[*aper.Counter, aper.CounterTransition]()
	v := aper.NewCounter(1)
	var with countersT
	for with.Pos.Respace.IsZero() {
		_, t := l.InsertAt(l.Len()/2, v)
		if !t.Pos.Respace.IsZero() {
			with = t
			break
		}
		if err := l.Apply(aper.On(t)); err != nil {
			b.Fatal(err)
		}
	}
	without := with
	without.Pos.Respace = list.Respace{}
	size := func(t countersT) (int, int) {
		j, err := aper.JSON.Marshal(t)
		if err != nil {
			b.Fatal(err)
		}
		c, err := aper.CBOR.Marshal(t)
		if err != nil {
			b.Fatal(err)
		}
		return len(j), len(c)
	}
	jw, cw := size(with)
	jo, co := size(without)
	b.ReportAllocs()
	for b.Loop() {
		size(with)
	}
	b.ReportMetric(float64(jw), "json-bytes")
	b.ReportMetric(float64(cw), "cbor-bytes")
	b.ReportMetric(float64(jw-jo), "json-respace-bytes")
	b.ReportMetric(float64(cw-co), "cbor-respace-bytes")
}
