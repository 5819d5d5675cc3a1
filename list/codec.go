package list

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/internal/cow"
	"github.com/google/uuid"
)

// ErrMalformedList is returned (wrapped) when decoding a list fails: bytes that are not an array
// of [index, id, value] triples, a null list, indexes not valid or not strictly ascending, a
// duplicate or nil id, a null value.
var ErrMalformedList = errors.New("aper/list: malformed list")

// malformed wraps a decoding error in [ErrMalformedList], once.
func malformed(err error) error {
	if errors.Is(err, ErrMalformedList) {
		return err
	}
	return &decodeError{kind: ErrMalformedList, err: err}
}

// decodeError is a decoding error of kind (a sentinel such as [ErrMalformedList]) caused by err.
// Its message says the package once: the cause's own "aper/list: " prefix is left out.
type decodeError struct {
	kind, err error
}

func (e *decodeError) Error() string {
	return e.kind.Error() + ": " + strings.TrimPrefix(e.err.Error(), "aper/list: ")
}

func (e *decodeError) Unwrap() []error { return []error{e.kind, e.err} }

// entry is one item on the wire: a three-element array [index, id, value].
type entry[V any] struct {
	_     struct{} `cbor:",toarray"`
	Index ZenoIndex
	ID    uuid.UUID
	Value V
}

// UnmarshalJSON decodes [index, id, value].
func (e *entry[V]) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if len(raw) != 3 {
		return fmt.Errorf("%w: an item is an [index, id, value] triple, not %d values", ErrMalformedList, len(raw))
	}
	if err := json.Unmarshal(raw[0], &e.Index); err != nil {
		return err
	}
	if err := json.Unmarshal(raw[1], &e.ID); err != nil {
		return err
	}
	return json.Unmarshal(raw[2], &e.Value)
}

// MarshalJSON encodes the list as an array of [index, id, value] triples in list order: the
// index in its hexadecimal text form, the id as a UUID string.
func (l *List[V, T]) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(64 * (l.Len() + 1))
	buf.WriteByte('[')
	first := true
	for it := range l.items.All() {
		if !first {
			buf.WriteByte(',')
		}
		first = false
		buf.WriteString(`["`)
		buf.WriteString(it.key.String())
		buf.WriteString(`","`)
		buf.WriteString(it.id.String())
		buf.WriteString(`",`)
		v, err := json.Marshal(it.value)
		if err != nil {
			return nil, fmt.Errorf("aper/list: %w", err)
		}
		buf.Write(v)
		buf.WriteByte(']')
	}
	buf.WriteByte(']')
	return buf.Bytes(), nil
}

// UnmarshalJSON decodes what MarshalJSON wrote. Indexes must be valid and strictly ascending,
// ids distinct and not nil, values not null, and the list itself not null (an empty list is
// []); anything else is an error wrapping [ErrMalformedList] and leaves l unchanged.
func (l *List[V, T]) UnmarshalJSON(b []byte) error {
	if aper.IsNull(b) {
		return fmt.Errorf("%w: null", ErrMalformedList)
	}
	var es []entry[V]
	if err := json.Unmarshal(b, &es); err != nil {
		return malformed(err)
	}
	return l.load(es)
}

// MarshalCBOR encodes the list as an array of [index, id, value] triples in list order: the
// index and the id as byte strings.
func (l *List[V, T]) MarshalCBOR() ([]byte, error) {
	es := make([]entry[V], 0, l.Len())
	for it := range l.items.All() {
		es = append(es, entry[V]{Index: it.key, ID: it.id, Value: it.value})
	}
	b, err := aper.CBOR.Marshal(es)
	if err != nil {
		return nil, fmt.Errorf("aper/list: %w", err)
	}
	return b, nil
}

// UnmarshalCBOR decodes what MarshalCBOR wrote, with the checks of UnmarshalJSON.
func (l *List[V, T]) UnmarshalCBOR(b []byte) error {
	if aper.IsNull(b) {
		return fmt.Errorf("%w: null", ErrMalformedList)
	}
	var es []entry[V]
	if err := aper.CBOR.Unmarshal(b, &es); err != nil {
		return malformed(err)
	}
	return l.load(es)
}

func (l *List[V, T]) load(es []entry[V]) error {
	l.writing() // before the decoded values are stamped with l's owner
	fresh := &List[V, T]{}
	fresh.init()
	owner := l.owner.Get() // the decoded values are l's alone
	var prev ZenoIndex
	for i, e := range es {
		switch {
		case e.Index.IsZero():
			return fmt.Errorf("%w: item %d has no index", ErrMalformedList, i)
		case i > 0 && !prev.Less(e.Index):
			return fmt.Errorf("%w: item %d: index %s does not follow %s", ErrMalformedList, i, e.Index, prev)
		case e.ID == uuid.Nil:
			return fmt.Errorf("%w: item %d has the nil id", ErrMalformedList, i)
		case cow.IsNil(e.Value):
			return fmt.Errorf("%w: item %d has a null value", ErrMalformedList, i)
		}
		ie := idKey(e.ID)
		ie.key = e.Index
		if !fresh.ids.Insert(ie) {
			return fmt.Errorf("%w: duplicate id %s", ErrMalformedList, e.ID)
		}
		fresh.items.Set(item[V]{key: e.Index, id: e.ID, value: e.Value, owner: owner})
		prev = e.Index
	}
	l.items, l.ids, l.ready, l.last = fresh.items, fresh.ids, true, idEntry{}
	return nil
}
