package list_test

import (
	"strings"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/internal/traces"
	"github.com/aper-go/aper/list"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type (
	chars  = list.List[*aper.Atom[rune], aper.AtomTransition[rune]]
	charsT = list.Transition[*aper.Atom[rune], aper.AtomTransition[rune]]
)

// keyStats are the lengths of the indexes a replay made.
type keyStats struct {
	maxMade  int     // the longest index ever made
	maxLive  int     // the longest index in the final list
	meanLive float64 // the mean index length in the final list
	liveSize int     // the bytes of all indexes in the final list
}

// replay applies a trace to an empty list as list edits: each character an item inserted after
// the previous character (the first of a patch after the character before its position), each
// deleted character a delete.
// With track set it also records the longest index ever made (a lookup per insert, of the item
// the list placed last, which it keeps at hand).
func replay(tb testing.TB, tr *traces.Trace, track bool) (*chars, keyStats) {
	l := list.New[*aper.Atom[rune], aper.AtomTransition[rune]]()
	var st keyStats
	apply := func(t charsT) {
		if err := l.Apply(aper.On(t)); err != nil {
			tb.Fatalf("replay %s: %v", tr.Name, err)
		}
	}
	for _, txn := range tr.Txns {
		for _, p := range txn.Patches {
			for range p.Del {
				id, _, ok := l.At(p.Pos)
				if !ok {
					tb.Fatalf("replay %s: delete at %d of %d", tr.Name, p.Pos, l.Len())
				}
				apply(l.Delete(id))
			}
			var prev uuid.UUID
			for i, r := range []rune(p.Insert) {
				var id uuid.UUID
				var t charsT
				if i == 0 {
					id, t = l.InsertAt(p.Pos, aper.NewAtom(r))
				} else {
					id, t = l.InsertAfter(prev, aper.NewAtom(r))
				}
				apply(t)
				if track {
					k, _ := l.KeyOf(id)
					st.maxMade = max(st.maxMade, k.Len())
				}
				prev = id
			}
		}
	}
	for _, k := range l.Keys() {
		st.maxLive = max(st.maxLive, k.Len())
		st.liveSize += k.Len()
	}
	if l.Len() > 0 {
		st.meanLive = float64(st.liveSize) / float64(l.Len())
	}
	return l, st
}

func text(l *chars) string {
	var b strings.Builder
	for _, c := range l.All() {
		b.WriteRune(c.Get())
	}
	return b.String()
}

// TestTraceReplay replays the automerge-paper trace (every keystroke of writing a paper) as list
// edits and checks the text and the index lengths: the longest index made within 32 bytes, and
// the mean over the final text within 8 bytes (with respacing: 3.55; the allocator alone: 7.95;
// the byte-at-a-time scheme before it: 9.6; a plain "just above the lower neighbour" scheme:
// 13.7). TestKeyLengthTraces checks every shared trace.
func TestTraceReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("replays 260,000 edits")
	}
	tr, err := traces.Load("automerge-paper")
	require.NoError(t, err)
	require.Empty(t, tr.StartContent)
	l, st := replay(t, tr, true)
	require.Equal(t, tr.EndContent, text(l))
	assert.LessOrEqual(t, st.maxMade, 32, "longest index made")
	assert.LessOrEqual(t, st.meanLive, 8.0, "mean index length")
	t.Logf("automerge-paper: %d patches, %d characters: longest index made %d bytes, longest live %d, mean live %.2f, %d bytes of live indexes",
		tr.Patches(), l.Len(), st.maxMade, st.maxLive, st.meanLive, st.liveSize)
}

// BenchmarkTraceReplay replays the automerge-paper trace as list edits (see TestTraceReplay).
func BenchmarkTraceReplay(b *testing.B) {
	tr, err := traces.Load("automerge-paper")
	require.NoError(b, err)
	benchReplay(b, tr)
}

// benchReplay replays a trace as list edits and reports, besides the time, the longest index
// made during the replay (the "max key bytes") and the mean index length of the final
// text.
func benchReplay(b *testing.B, tr *traces.Trace) {
	b.ReportAllocs()
	var st keyStats
	for b.Loop() {
		_, st = replay(b, tr, true)
	}
	b.ReportMetric(float64(st.maxMade), "max-key-bytes")
	b.ReportMetric(st.meanLive, "mean-key-bytes")
}

// TestBenchReplayReportsLongestMade checks the benchmark's metrics on a trace whose longest index
// made is gone from the final text: text typed, then characters inserted one by one at its
// second position (each between the first and the one before), which makes ever longer indexes
// until the list respaces them, then all deleted again.
func TestBenchReplayReportsLongestMade(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a benchmark")
	}
	tr := &traces.Trace{Name: "squeeze", EndContent: "abcdef"}
	tr.Txns = append(tr.Txns, traces.Txn{Patches: []traces.Patch{{Insert: "abcdef"}}})
	const squeezed = 200
	for range squeezed {
		tr.Txns = append(tr.Txns, traces.Txn{Patches: []traces.Patch{{Pos: 1, Insert: "x"}}})
	}
	tr.Txns = append(tr.Txns, traces.Txn{Patches: []traces.Patch{{Pos: 1, Del: squeezed}}})
	l, st := replay(t, tr, true)
	require.Equal(t, tr.EndContent, text(l))
	require.Greater(t, st.maxMade, st.maxLive, "the trace no longer tells the two apart")
	res := testing.Benchmark(func(b *testing.B) { benchReplay(b, tr) })
	assert.Equal(t, float64(st.maxMade), res.Extra["max-key-bytes"])
	assert.InDelta(t, st.meanLive, res.Extra["mean-key-bytes"], 1e-9)
}
