package list_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/internal/traces"
	"github.com/aper-go/aper/list"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type (
	atoms  = list.List[*aper.Atom[int], aper.AtomTransition[int]]
	atomsT = list.Transition[*aper.Atom[int], aper.AtomTransition[int]]
)

// keyDriver runs an insert pattern against a list through its constructors, as an application
// would, and records the index lengths and the respacing it causes.
type keyDriver struct {
	tb      testing.TB
	l       *atoms
	rng     *rand.Rand
	cursor  uuid.UUID // the item typed last, for the typing patterns (zero: none)
	burst   int       // inserts left in the current burst
	inserts int
	maxMade int // the longest index an insert got
	rekeyed int // items a respace gave new indexes, all respaces counted
}

func newKeyDriver(tb testing.TB) *keyDriver {
	return &keyDriver{tb: tb, l: list.New[*aper.Atom[int], aper.AtomTransition[int]](), rng: rand.New(rand.NewPCG(23, 1))}
}

// apply applies t, counting the items its respace covers, and returns the id it inserted.
func (d *keyDriver) apply(id uuid.UUID, t atomsT) uuid.UUID {
	d.tb.Helper()
	if r := t.Pos.Respace; !r.IsZero() {
		i, _ := d.l.IndexOf(r.First)
		j, _ := d.l.IndexOf(r.Last)
		d.rekeyed += max(i, j) - min(i, j) + 1
	}
	if err := d.l.Apply(aper.On(t)); err != nil {
		d.tb.Fatalf("insert %d (%d items): %v", d.inserts, d.l.Len(), err)
	}
	if t.Op == list.OpInsert {
		d.inserts++
		k, _ := d.l.KeyOf(id)
		d.maxMade = max(d.maxMade, k.Len())
	}
	return id
}

func (d *keyDriver) insertAt(i int) uuid.UUID { return d.apply(d.l.InsertAt(i, aper.NewAtom(i))) }

// typeAt starts a burst of 1 to 64 inserts at a random place when none is going on, and types the
// next one after the one before.
func (d *keyDriver) typeAt() {
	if d.burst == 0 || !d.l.Has(d.cursor) {
		d.burst = 1 + d.rng.IntN(64)
		d.cursor = d.insertAt(d.rng.IntN(d.l.Len() + 1))
	} else {
		d.cursor = d.apply(d.l.InsertAfter(d.cursor, aper.NewAtom(0)))
	}
	d.burst--
}

// keyPatterns are the insert patterns every list must take with short indexes: each step adds
// an item (or, for the one with deletes, may remove some).
var keyPatterns = []struct {
	name string
	step func(d *keyDriver)
}{
	{"middle", func(d *keyDriver) { d.insertAt(d.l.Len() / 2) }},
	{"third", func(d *keyDriver) { d.insertAt(d.l.Len() / 3) }},
	{"random", func(d *keyDriver) { d.insertAt(d.rng.IntN(d.l.Len() + 1)) }},
	{"typing forward", func(d *keyDriver) {
		if d.cursor == uuid.Nil {
			d.cursor = d.insertAt(0)
			return
		}
		d.cursor = d.apply(d.l.InsertAfter(d.cursor, aper.NewAtom(1)))
	}},
	{"typing backward", func(d *keyDriver) {
		if d.cursor == uuid.Nil {
			d.cursor = d.insertAt(0)
			return
		}
		d.cursor = d.apply(d.l.InsertBefore(d.cursor, aper.NewAtom(1)))
	}},
	{"typing forward inside", func(d *keyDriver) {
		// Between two items typed first, so every insert has an upper neighbour.
		if d.l.Len() < 2 {
			d.cursor = d.insertAt(d.l.Len())
			return
		}
		if d.l.Len() == 2 {
			d.cursor, _, _ = d.l.At(0)
		}
		d.cursor = d.apply(d.l.InsertAfter(d.cursor, aper.NewAtom(1)))
	}},
	{"alternating ends", func(d *keyDriver) {
		if d.inserts%2 == 0 {
			d.insertAt(0)
		} else {
			d.insertAt(d.l.Len())
		}
	}},
	{"bursts", func(d *keyDriver) { d.typeAt() }},
	{"bursts with deletes", func(d *keyDriver) {
		// One step in four deletes: a backspace of the item typed last (the cursor goes to the
		// item before it), or an item anywhere.
		if d.l.Len() > 0 && d.rng.IntN(4) == 0 {
			victim, _, _ := d.l.At(d.rng.IntN(d.l.Len()))
			if d.burst > 0 && d.l.Has(d.cursor) && d.rng.IntN(2) == 0 {
				victim = d.cursor
				if i, _ := d.l.IndexOf(victim); i > 0 {
					d.cursor, _, _ = d.l.At(i - 1)
				} else {
					d.burst = 0
				}
			}
			d.apply(uuid.Nil, d.l.Delete(victim))
			return
		}
		d.typeAt()
	}},
}

// keyPatternItems is how many items each pattern makes: 100,000, or 10,000 under the race
// detector, which makes it ten times slower.
func keyPatternItems() int {
	if raceEnabled || testing.Short() {
		return 10_000
	}
	return 100_000
}

// TestKeyLengthPatterns runs each insert pattern until the list holds 100,000 items and checks
// the indexes: none made or held longer than list.RespaceLen (32) bytes, a mean of at most 8
// bytes, and at most log2(n)² items given new indexes per insert on average (the classic
// list-labelling bound; a respace costs each of them an item update).
func TestKeyLengthPatterns(t *testing.T) {
	n := keyPatternItems()
	for _, p := range keyPatterns {
		t.Run(p.name, func(t *testing.T) {
			d := newKeyDriver(t)
			for d.l.Len() < n {
				p.step(d)
			}
			longest, mean := keyLengths(d.l)
			assert.LessOrEqual(t, d.maxMade, list.RespaceLen, "longest index made")
			assert.LessOrEqual(t, longest, list.RespaceLen, "longest index held")
			assert.LessOrEqual(t, mean, 8.0, "mean index length")
			perInsert := float64(d.rekeyed) / float64(d.inserts)
			assert.LessOrEqual(t, perInsert, math.Pow(math.Log2(float64(n)), 2), "items respaced per insert")
			t.Logf("%d inserts: longest made %d bytes, longest held %d, mean %.2f; %.1f items respaced per insert",
				d.inserts, d.maxMade, longest, mean, perInsert)
		})
	}
}

// keyLengths returns the longest and the mean index length of l.
func keyLengths(l *atoms) (int, float64) {
	longest, total := 0, 0
	for _, k := range l.Keys() {
		longest = max(longest, k.Len())
		total += k.Len()
	}
	return longest, float64(total) / float64(max(1, l.Len()))
}

// TestKeyLengthTraces replays the shared editing traces as list edits (see replay) and checks
// the bounds on each: the longest index made within 32 bytes, the mean over the final
// text within 8. Under the race detector only the smallest trace is replayed.
func TestKeyLengthTraces(t *testing.T) {
	names := traces.Names
	if raceEnabled || testing.Short() {
		names = names[:1]
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			tr, err := traces.Load(name)
			require.NoError(t, err)
			l, st := replay(t, tr, true)
			require.Equal(t, tr.EndContent, text(l))
			assert.LessOrEqual(t, st.maxMade, list.RespaceLen, "longest index made")
			assert.LessOrEqual(t, st.meanLive, 8.0, "mean index length")
			t.Logf("%s: %d characters, longest index made %d bytes, longest held %d, mean %.2f",
				name, l.Len(), st.maxMade, st.maxLive, st.meanLive)
		})
	}
}

// TestMiddleInsertsToAMillion inserts 1,000,000 items, each at the middle of the list: the
// pattern that, without respacing, runs out of index room after about 5,500 inserts. No insert
// may be refused, and no index is longer than list.RespaceLen. Not under the race detector or
// -short (a million inserts).
func TestMiddleInsertsToAMillion(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("a million inserts")
	}
	const n = 1_000_000
	d := newKeyDriver(t)
	for d.l.Len() < n {
		d.insertAt(d.l.Len() / 2)
	}
	longest, mean := keyLengths(d.l)
	assert.LessOrEqual(t, d.maxMade, list.RespaceLen, "longest index made")
	assert.LessOrEqual(t, longest, list.RespaceLen)
	t.Logf("%d middle inserts: longest made %d bytes, longest held %d, mean %.2f; %.1f items respaced per insert",
		n, d.maxMade, longest, mean, float64(d.rekeyed)/n)
}
