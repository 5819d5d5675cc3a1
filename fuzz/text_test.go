package fuzz_test

import (
	"slices"
	"testing"

	"github.com/aper-go/aper/fuzz"
	"github.com/aper-go/aper/text"
	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"
)

// shortHistory is a history short enough that a client kept away for a while sends edits whose
// Base has left it (StaleBase rejections).
const shortHistory = 24

var textPieces = []string{"a", "b", "xy", "é", "😀", "\n", "hello", "ü✓"}

func textTransition(_ int, t *text.Text) gopter.Gen {
	n := t.Len()
	piece := gen.IntRange(0, len(textPieces)-1).Map(func(i int) string { return textPieces[i] })
	// Spans of zero to three code points (an empty delete once made an op that did not
	// round-trip: TestRegressionEmptyDeleteRoundTrip).
	span := gopter.CombineGens(gen.IntRange(0, max(n-1, 0)), gen.IntRange(0, 3)).Map(func(v []any) [2]int {
		pos := v[0].(int)
		return [2]int{pos, min(v[1].(int), n-pos)}
	})
	return weighted(
		gen.WeightedGen{Weight: 5, Gen: gopter.CombineGens(gen.IntRange(0, n), piece).Map(func(v []any) text.Edit {
			return t.Insert(v[0].(int), v[1].(string))
		})},
		gen.WeightedGen{Weight: ifNonEmpty(make([]int, n), 3), Gen: span.Map(func(s [2]int) text.Edit { return t.Delete(s[0], s[1]) })},
		gen.WeightedGen{Weight: ifNonEmpty(make([]int, n), 2), Gen: gopter.CombineGens(span, piece).Map(func(v []any) text.Edit {
			s := v[0].([2]int)
			return t.Replace(s[0], s[1], v[1].(string))
		})},
	)
}

func textConfig(keep int) fuzz.Config[*text.Text, text.Edit] {
	return fuzz.Config[*text.Text, text.Edit]{
		New:        func() *text.Text { return text.NewWithHistory("", keep) },
		Transition: textTransition,
	}
}

// TestPropText: concurrent edits against stale bases (every client edits its optimistic view,
// whose Base is its last confirmed version, with any number of its own edits pending) converge.
func TestPropText(t *testing.T) {
	t.Parallel()
	fuzz.Check(t, "text replicas converge", textConfig(text.DefaultHistory), params(t))
}

// TestPropTextShortHistory is TestPropText with StaleBase rejections. It found, within a few
// dozen runs, that a rejected edit the client's rebase had skipped left the client's view stale
// (TestRegressionViewKeptAfterSkippedRejection, now fixed).
func TestPropTextShortHistory(t *testing.T) {
	t.Parallel()
	fuzz.Check(t, "text replicas converge, with StaleBase rejections", textConfig(shortHistory), params(t))
}

// typing is what the intent property records of one insert: who typed which character where,
// and what the typist saw then.
type typing struct {
	client int
	seen   []rune // the typist's view before the insert
	pos    int
	c      rune
}

// left and right are the characters around the insert in the typist's view (-1 and -2 at the
// ends).
func (r typing) left() rune {
	if r.pos == 0 {
		return -1
	}
	return r.seen[r.pos-1]
}

func (r typing) right() rune {
	if r.pos == len(r.seen) {
		return -2
	}
	return r.seen[r.pos]
}

// intentModel checks insert-only runs of single, unique characters against two rules that hold
// whatever the delivery order:
//
//   - Order preservation: every view a typist had, with its new character, is a subsequence of
//     the final text (no concurrent edit reorders what someone saw).
//   - Ties: two concurrent inserts (neither typist had seen the other's character) between the
//     same two neighbours end up with the one the server ordered later first (the rule of
//     text.Text.Apply).
//
// Convergence alone cannot catch a broken transform, since every replica runs the same one.
type intentModel struct {
	typed []typing
	next  []int // per client, its next character
}

func (m *intentModel) char(client int) rune { return rune(0x4e00 + client*0x400 + m.next[client]) }

func (m *intentModel) check(q fuzz.Quiescent[*text.Text, text.Edit]) error {
	final := []rune(q.Server.String())
	at := make(map[rune]int, len(final))
	for i, c := range final {
		at[c] = i
	}
	order := map[rune]int{}
	for i, ev := range q.Ordered {
		for _, c := range ev.Transition.Op.Components() {
			if c.Kind() == text.InsertKind {
				order[[]rune(c.Text())[0]] = i
			}
		}
	}
	for _, r := range m.typed {
		if _, ok := order[r.c]; !ok {
			return errorf("client %d's %q was never ordered", r.client, r.c)
		}
		view := slices.Insert(slices.Clone(r.seen), r.pos, r.c)
		last := -1
		for _, c := range view {
			i, ok := at[c]
			if !ok {
				return errorf("%q is lost: final %q", c, string(final))
			}
			if i <= last {
				return errorf("client %d saw %q, the final text %q reorders it", r.client, string(view), string(final))
			}
			last = i
		}
	}
	for i, a := range m.typed {
		for _, b := range m.typed[i+1:] {
			if a.client == b.client || a.left() != b.left() || a.right() != b.right() ||
				slices.Contains(a.seen, b.c) || slices.Contains(b.seen, a.c) {
				continue
			}
			first, second := a, b
			if order[a.c] > order[b.c] {
				first, second = b, a
			}
			if at[second.c] > at[first.c] {
				return errorf("concurrent inserts of %q (ordered first) and %q between the same neighbours in %q: the later one should come first", first.c, second.c, string(final))
			}
		}
	}
	return nil
}

func intentConfig() fuzz.Config[*text.Text, text.Edit] {
	m := &intentModel{}
	const clients = 3
	return fuzz.Config[*text.Text, text.Edit]{
		Clients: clients,
		New:     func() *text.Text { return text.New("") },
		Reset:   func() { *m = intentModel{next: make([]int, clients)} },
		Transition: func(client int, t *text.Text) gopter.Gen {
			c := m.char(client)
			return gen.IntRange(0, t.Len()).Map(func(pos int) text.Edit { return t.Insert(pos, string(c)) })
		},
		Observe: func(client int, before *text.Text, e text.Edit, err error) {
			if err != nil {
				return
			}
			r := typing{client: client, seen: []rune(before.String()), c: m.char(client)}
			if cs := e.Op.Components(); cs[0].Kind() == text.RetainKind {
				r.pos = cs[0].Count()
			}
			m.typed = append(m.typed, r)
			m.next[client]++
		},
		Check: m.check,
	}
}

func TestPropTextIntent(t *testing.T) {
	t.Parallel()
	fuzz.Check(t, "text keeps what typists saw in order, and breaks ties the same way", intentConfig(), params(t))
}
