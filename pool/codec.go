package pool

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/list"
	"github.com/tidwall/btree"
)

// ErrMalformedBoard is returned (wrapped) when decoding a board fails its checks: an object in
// two lists, a list with null objects, or anything package list rejects in the list of lists or
// in one list (indexes out of order, duplicate or nil ids, null values).
var ErrMalformedBoard = errors.New("aper/pool: malformed board")

// MarshalJSON encodes the board as package list encodes its list of lists: an array of
// [index, list id, [name, objects]] in order, where objects is an array of [index, id, value].
func (b *Board[V, T]) MarshalJSON() ([]byte, error) {
	if b.cols == nil {
		return []byte("[]"), nil
	}
	out, err := json.Marshal(b.cols)
	if err != nil {
		return nil, fmt.Errorf("aper/pool: %w", err)
	}
	return out, nil
}

// UnmarshalJSON decodes what MarshalJSON wrote. Anything malformed (see [ErrMalformedBoard]) is
// an error and leaves b unchanged.
func (b *Board[V, T]) UnmarshalJSON(data []byte) error {
	if aper.IsNull(data) {
		return fmt.Errorf("%w: null", ErrMalformedBoard)
	}
	cols := list.New[*column[V, T], colOp[V, T]]()
	if err := json.Unmarshal(data, cols); err != nil {
		return malformed(err)
	}
	return b.load(cols)
}

// MarshalCBOR encodes the board with the layout of MarshalJSON, ids and indexes as byte
// strings.
func (b *Board[V, T]) MarshalCBOR() ([]byte, error) {
	if b.cols == nil {
		return aper.CBOR.Marshal([]any{})
	}
	out, err := aper.CBOR.Marshal(b.cols)
	if err != nil {
		return nil, fmt.Errorf("aper/pool: %w", err)
	}
	return out, nil
}

// UnmarshalCBOR decodes what MarshalCBOR wrote, with the checks of UnmarshalJSON.
func (b *Board[V, T]) UnmarshalCBOR(data []byte) error {
	if aper.IsNull(data) {
		return fmt.Errorf("%w: null", ErrMalformedBoard)
	}
	cols := list.New[*column[V, T], colOp[V, T]]()
	if err := aper.CBOR.Unmarshal(data, cols); err != nil {
		return malformed(err)
	}
	return b.load(cols)
}

// malformed wraps a decoding error in [ErrMalformedBoard]. Its message says the package once:
// the cause's own "aper/pool: " or "aper/list: " prefix (a list of the board's) is left out.
func malformed(err error) error {
	return &decodeError{err: err}
}

type decodeError struct{ err error }

func (e *decodeError) Error() string {
	msg := e.err.Error()
	for _, p := range []string{"aper/pool: ", "aper/list: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return ErrMalformedBoard.Error() + ": " + msg
}

func (e *decodeError) Unwrap() []error { return []error{ErrMalformedBoard, e.err} }

func (b *Board[V, T]) load(cols *list.List[*column[V, T], colOp[V, T]]) error {
	where := btree.NewBTreeG(lessPlacement)
	owner := b.owner.Get() // the decoded values are b's alone
	for lid, c := range cols.All() {
		if c.items == nil {
			return fmt.Errorf("%w: list %s has null objects", ErrMalformedBoard, lid)
		}
		for id, s := range c.items.All() {
			if prev, dup := where.Set(placement{id: id, list: lid}); dup {
				return fmt.Errorf("%w: object %s is in lists %s and %s", ErrMalformedBoard, id, prev.list, lid)
			}
			s.owner = owner
		}
	}
	b.cols, b.where = cols, where
	return nil
}
