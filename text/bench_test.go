package text_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/internal/traces"
	"github.com/aper-go/aper/text"
)

// replay applies every patch of tr to a new Text as one edit based on the current version.
func replay(tb testing.TB, tr *traces.Trace) *text.Text {
	t := text.New(tr.StartContent)
	for _, tx := range tr.Txns {
		for _, p := range tx.Patches {
			if err := t.Apply(aper.On(t.Replace(p.Pos, p.Del, p.Insert))); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return t
}

// BenchmarkReplay replays whole editing traces through Text.Apply, one transition per patch,
// each based on the current version, and checks the end content. It reports milliseconds per
// replay, allocations per edit and the live heap of the replayed text.
func BenchmarkReplay(b *testing.B) {
	for _, name := range []string{"sveltecomponent", "automerge-paper"} {
		b.Run(name, func(b *testing.B) {
			tr, err := traces.Load(name)
			if err != nil {
				b.Fatal(err)
			}
			edits := tr.Patches()
			var last *text.Text
			b.ReportAllocs()
			for b.Loop() {
				last = replay(b, tr)
			}
			b.StopTimer()
			if got := last.String(); got != tr.EndContent {
				b.Fatalf("replay ends with %d bytes, want %d", len(got), len(tr.EndContent))
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/replay")
			last = nil
			b.ReportMetric(float64(testing.AllocsPerRun(1, func() { replay(b, tr) }))/float64(edits), "allocs/edit")
			b.ReportMetric(float64(liveHeap(func() any { return replay(b, tr) }))/1e6, "MB-live")
			runtime.KeepAlive(tr)
		})
	}
}

// liveHeap returns the bytes still reachable after make returns, measured around a GC.
func liveHeap(build func() any) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	v := build()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(v)
	if after.HeapAlloc < before.HeapAlloc {
		return 0
	}
	return after.HeapAlloc - before.HeapAlloc
}

// BenchmarkTransform transforms a one-character insert over n concurrent one-character edits
// by other authors (the edit is based n versions back). Each round clones the text first, so
// subtract the n=0 round (clone, copy of the touched path and history chunk, no transform).
func BenchmarkTransform(b *testing.B) {
	for _, n := range []int{0, 1, 10, 100} { // 0: the Clone and apply alone, for comparison
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			base := text.New(strings.Repeat("abcdefghij", 100))
			for i := range n {
				e := base.Insert((i*37)%base.Len(), "x")
				if err := base.Apply(aper.Event[text.Edit]{Seq: uint64(i + 1), Client: "bob", Transition: e}); err != nil {
					b.Fatal(err)
				}
			}
			late := aper.Event[text.Edit]{Client: "ann", Transition: text.Edit{Base: 0, Op: text.MustOp(text.Retain(500), text.Insert("y"), text.Retain(500))}}
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

// BenchmarkTransformOp measures Transform alone on two one-character inserts.
func BenchmarkTransformOp(b *testing.B) {
	x := text.MustOp(text.Retain(500), text.Insert("y"), text.Retain(500))
	y := text.MustOp(text.Retain(200), text.Insert("z"), text.Retain(800))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := text.Transform(x, y, text.Left); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCloneAndEdit clones a 1 MiB text and edits the clone: the first edit copies one path
// of the rope, the history's last chunk and one path of the history's index.
func BenchmarkCloneAndEdit(b *testing.B) {
	t := text.New(strings.Repeat("0123456789abcdef", 1<<16))
	e := aper.On(t.Insert(1<<19, "x"))
	b.ReportAllocs()
	for b.Loop() {
		c := t.Clone()
		if err := c.Apply(e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCloneHistory clones a text whose history is full, for history limits of 1,024 (the
// default), 65,536 and 2^20 edits, and clones it and applies one edit: Clone copies nothing of
// the history, and the first edit copies the history's last chunk and one path of its index,
// whatever the limit.
func BenchmarkCloneHistory(b *testing.B) {
	for _, keep := range []int{1024, 1 << 16, 1 << 20} {
		tx := typed(b, keep, keep+100)
		e := aper.On(tx.Insert(1, "y"))
		b.Run(fmt.Sprintf("keep=%d/clone", keep), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = tx.Clone()
			}
		})
		b.Run(fmt.Sprintf("keep=%d/clone+edit", keep), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := tx.Clone().Apply(e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkApplyTyping types at the end of a 100 KB text, one character per edit.
func BenchmarkApplyTyping(b *testing.B) {
	t := text.New(strings.Repeat("abcdefghij", 10_000))
	b.ReportAllocs()
	for b.Loop() {
		if err := t.Apply(aper.On(t.Insert(t.Len()-5, "x"))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBusyRoom: two authors type at once, one character per edit, each sending its next
// edits while the previous two are still pending, and the server alternates between them: every
// edit is based four versions back and transformed over two concurrent edits, but its author's
// chain of pending edits reaches back to the start. A new text is started every 1,000 edits
// (within DefaultHistory). Reported per edit.
func BenchmarkBusyRoom(b *testing.B) {
	const start, session = 100, 1000
	ids := []aper.ClientID{"ann", "bob"}
	var t *text.Text
	v := session
	b.ReportAllocs()
	for b.Loop() {
		if v == session {
			if want := strings.Repeat("a", session/2) + strings.Repeat("x", start) + strings.Repeat("b", session/2); t != nil && t.String() != want {
				b.Fatalf("the session ends with %q", t.String())
			}
			t, v = text.New(strings.Repeat("x", start)), 0
		}
		// The author's view: version v-4 plus its own pending edits of versions v-4 and v-2.
		base := max(v-4, 0)
		n := start + base + (v-base)/2
		op := text.MustOp(text.Insert("a"), text.Retain(n)) // Ann prepends
		if v%2 == 1 {
			op = text.MustOp(text.Retain(n), text.Insert("b")) // Bob appends
		}
		e := text.Edit{Base: uint64(base), Op: op}
		if err := t.Apply(aper.Event[text.Edit]{Seq: uint64(v + 1), Client: ids[v%2], Transition: e}); err != nil {
			b.Fatal(err)
		}
		v++
	}
}
