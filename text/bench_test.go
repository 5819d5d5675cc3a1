package text_test

import (
	"runtime"
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
