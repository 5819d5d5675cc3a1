package pool

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/list"
)

// column is one list of a board: its name and its objects, a list.List of slots. It is the
// value of the board's list of columns, so it is a state machine of its own, with colOp as its
// transition; only the board builds colOps.
type column[V aper.StateMachine[V, T], T any] struct {
	name  string
	items *objects[V, T]
}

// objects is a column's list of objects.
type objects[V aper.StateMachine[V, T], T any] = list.List[*slot[V, T], slotOp[T]]

// step is one transition of a column's list of objects.
type step[V aper.StateMachine[V, T], T any] = list.Transition[*slot[V, T], slotOp[T]]

// colOp renames a column or changes its objects: steps are applied in order, all or nothing. A
// colOp of several steps holds no update (see slot).
type colOp[V aper.StateMachine[V, T], T any] struct {
	rename bool
	name   string
	steps  []step[V, T]
}

func newColumn[V aper.StateMachine[V, T], T any](name string) *column[V, T] {
	return &column[V, T]{name: name, items: list.New[*slot[V, T], slotOp[T]]()}
}

// Apply renames the column or applies the steps to its objects.
func (c *column[V, T]) Apply(ev aper.Event[colOp[V, T]]) error {
	op := &ev.Transition
	if op.rename {
		c.name = op.name
		return nil
	}
	if len(op.steps) == 1 {
		return c.items.Apply(aper.Event[step[V, T]]{Seq: ev.Seq, Client: ev.Client, Time: ev.Time, Transition: op.steps[0]})
	}
	next, err := aper.ApplyTransaction(c.items, aper.Event[aper.Transaction[step[V, T]]]{Seq: ev.Seq, Client: ev.Client, Time: ev.Time, Transition: op.steps})
	if err != nil {
		return err
	}
	c.items = next
	return nil
}

// Clone returns an independent copy in O(1).
func (c *column[V, T]) Clone() *column[V, T] {
	return &column[V, T]{name: c.name, items: c.items.Clone()}
}

// wireColumn is a column on the wire: [name, objects].
type wireColumn[V aper.StateMachine[V, T], T any] struct {
	_     struct{} `cbor:",toarray"`
	Name  string
	Items *objects[V, T]
}

func (c *column[V, T]) MarshalJSON() ([]byte, error) {
	return json.Marshal([2]any{c.name, c.items})
}

func (c *column[V, T]) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if len(raw) != 2 {
		return errors.New("a list is a [name, objects] pair")
	}
	var w wireColumn[V, T]
	if err := json.Unmarshal(raw[0], &w.Name); err != nil {
		return err
	}
	if err := json.Unmarshal(raw[1], &w.Items); err != nil {
		return err
	}
	return c.load(w)
}

func (c *column[V, T]) MarshalCBOR() ([]byte, error) {
	return aper.CBOR.Marshal(wireColumn[V, T]{Name: c.name, Items: c.items})
}

func (c *column[V, T]) UnmarshalCBOR(b []byte) error {
	var w wireColumn[V, T]
	if err := aper.CBOR.Unmarshal(b, &w); err != nil {
		return err
	}
	return c.load(w)
}

func (c *column[V, T]) load(w wireColumn[V, T]) error {
	if w.Items == nil {
		return fmt.Errorf("list %q has null objects", w.Name)
	}
	c.name, c.items = w.Name, w.Items
	return nil
}
