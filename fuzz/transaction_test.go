package fuzz_test

import (
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/fuzz"
	"github.com/aper-go/aper/list"
	"github.com/aper-go/aper/text"
	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"
)

// doc is a struct of state machines: a counter, a list and a text.
type doc struct {
	Count *aper.Counter `json:"count" cbor:"1,keyasint"`
	Items *counterList  `json:"items" cbor:"2,keyasint"`
	Body  *text.Text    `json:"body" cbor:"3,keyasint"`
}

// docT changes one field of a doc.
type docT struct {
	Count *aper.CounterTransition `json:"count,omitempty" cbor:"1,keyasint,omitempty"`
	Item  *counterListT           `json:"item,omitempty" cbor:"2,keyasint,omitempty"`
	Body  *text.Edit              `json:"body,omitempty" cbor:"3,keyasint,omitempty"`
}

func newDoc() *doc {
	return &doc{Count: aper.NewCounter(0), Items: list.New[*aper.Counter, aper.CounterTransition](), Body: text.New("")}
}

func (d *doc) Apply(ev aper.Event[docT]) error {
	t := ev.Transition
	switch {
	case t.Count != nil:
		return conflict.WithPath(d.Count.Apply(aper.Event[aper.CounterTransition]{Seq: ev.Seq, Client: ev.Client, Time: ev.Time, Transition: *t.Count}), "count")
	case t.Item != nil:
		return conflict.WithPath(d.Items.Apply(aper.Event[counterListT]{Seq: ev.Seq, Client: ev.Client, Time: ev.Time, Transition: *t.Item}), "items")
	case t.Body != nil:
		return conflict.WithPath(d.Body.Apply(aper.Event[text.Edit]{Seq: ev.Seq, Client: ev.Client, Time: ev.Time, Transition: *t.Body}), "body")
	}
	return conflict.New(conflict.Invalid, "doc: empty transition")
}

func (d *doc) Clone() *doc {
	return &doc{Count: d.Count.Clone(), Items: d.Items.Clone(), Body: d.Body.Clone()}
}

type txDoc = aper.Transactional[*doc, docT]
type txDocT = aper.Transaction[docT]

// docStep draws one step of a transaction on d; text edits only when text is true (a
// transaction holds at most one: a second would have to be made against the first).
func docStep(client int, d *doc, withText bool) gopter.Gen {
	return weighted(
		gen.WeightedGen{Weight: 3, Gen: counterT().Map(func(c aper.CounterTransition) docT { return docT{Count: &c} })},
		gen.WeightedGen{Weight: 4, Gen: listTransition(client, d.Items).Map(func(t counterListT) docT { return docT{Item: &t} })},
		gen.WeightedGen{Weight: map[bool]int{true: 3}[withText], Gen: textTransition(client, d.Body).Map(func(e text.Edit) docT { return docT{Body: &e} })},
	)
}

func txConfig(withText bool) fuzz.Config[*txDoc, txDocT] {
	return fuzz.Config[*txDoc, txDocT]{
		New: func() *txDoc { return aper.NewTransactional(newDoc()) },
		Transition: func(client int, x *txDoc) gopter.Gen {
			d := x.State()
			return gopter.CombineGens(docStep(client, d, withText), docStep(client, d, false), docStep(client, d, false), gen.IntRange(1, 3)).Map(func(v []any) txDocT {
				steps := txDocT{v[0].(docT), v[1].(docT), v[2].(docT)}
				return steps[:v[3].(int)]
			})
		},
	}
}

// TestPropTransaction: transactions of counter and list steps (a list step may conflict at the
// server when an anchor or item is gone, which rejects the whole transaction).
func TestPropTransaction(t *testing.T) {
	t.Parallel()
	fuzz.Check(t, "transactions of counter and list steps converge, all or nothing", txConfig(false), params(t))
}

// TestPropTransactionWithText adds a text edit to transactions: a rejected transaction then
// leaves a stale view behind (TestRegressionViewKeptAfterSkippedRejection, now fixed), which text.Text's
// encoding shows ("local").
func TestPropTransactionWithText(t *testing.T) {
	t.Parallel()
	fuzz.Check(t, "transactions of counter, list and text steps converge, all or nothing", txConfig(true), params(t))
}
