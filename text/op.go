package text

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
)

// Kind says what a [Component] does.
type Kind uint8

// The component kinds.
const (
	RetainKind Kind = iota + 1 // keep code points unchanged
	InsertKind                 // insert text
	DeleteKind                 // remove code points
)

// Component is one step of an [Op]: retain n code points, insert a string, or delete n code
// points. Build one with [Retain], [Insert] or [Delete]; the zero Component does nothing.
type Component struct {
	n int    // > 0 retain, < 0 delete; for an insert, the code points of s
	s string // non-empty for an insert
}

// Retain returns the component that keeps n code points. A negative n gives a component that
// [NewOp] refuses.
func Retain(n int) Component {
	if n < 0 {
		return Component{n: math.MinInt}
	}
	return Component{n: n}
}

// Delete returns the component that removes n code points. A negative n gives a component that
// [NewOp] refuses.
func Delete(n int) Component {
	if n < 0 {
		return Component{n: math.MinInt}
	}
	return Component{n: -n}
}

// Insert returns the component that inserts s.
func Insert(s string) Component { return Component{n: utf8.RuneCountInString(s), s: s} }

// Kind returns what the component does, or 0 for a component that does nothing.
func (c Component) Kind() Kind {
	switch {
	case c.s != "":
		return InsertKind
	case c.n > 0:
		return RetainKind
	case c.n < 0:
		return DeleteKind
	}
	return 0
}

// Count returns the number of code points the component retains, inserts or deletes.
func (c Component) Count() int {
	if c.n < 0 {
		return -c.n
	}
	return c.n
}

// Text returns the inserted string of an insert component, and "" for the others.
func (c Component) Text() string { return c.s }

// inline is how many components an Op holds without a heap allocation: enough for one splice
// (retain, insert, delete, retain).
const inline = 4

// Op is an operation on a string: a sequence of components that walks the whole input from its
// start, counted in Unicode code points. Its input length is the sum of its retains and deletes,
// its output length the sum of its retains and inserts; applying it to a string of any other
// length is an OutOfRange conflict.
//
// An Op is always normalized: no empty components, no two adjacent components of the same kind,
// and an insert never directly follows a delete (insert-then-delete and delete-then-insert have
// the same effect; the insert comes first). So two Ops with equal components have the same effect,
// and [Op.Equal] compares them. Decoding normalizes too.
//
// The zero Op is the identity on the empty string. An Op is a value: it may be copied and shared,
// and nothing changes it after it is built. Ops of up to four components (one splice) are held
// inline and cost no allocation.
type Op struct {
	n     int
	small [inline]Component
	more  []Component // all components when there are more than inline; never appended to in place once shared
}

// NewOp returns the normalized Op made of cs in order. Negative counts are an error.
func NewOp(cs ...Component) (Op, error) {
	var b opBuilder
	for _, c := range cs {
		if err := b.add(c); err != nil {
			return Op{}, err
		}
	}
	return b.op, nil
}

// MustOp is like [NewOp] but panics on an error. It is meant for tests and literals.
func MustOp(cs ...Component) Op {
	o, err := NewOp(cs...)
	if err != nil {
		panic(err)
	}
	return o
}

// Splice returns the Op on a document of docLen code points that deletes del code points at pos
// and inserts ins there. It is an OutOfRange conflict unless 0 ≤ pos, 0 ≤ del and
// pos+del ≤ docLen, and an Invalid one if ins is not valid UTF-8.
func Splice(docLen, pos, del int, ins string) (Op, error) {
	if pos < 0 || del < 0 || docLen < 0 || pos > docLen || del > docLen-pos {
		return Op{}, outOfRange("splice at %d deleting %d from a text of %d code points", pos, del, docLen)
	}
	if !utf8.ValidString(ins) {
		return Op{}, fmt.Errorf("aper/text: %w", conflict.New(conflict.Invalid, "insert of invalid UTF-8"))
	}
	// Fill the components directly: this is the hot path of typing.
	var o Op
	n := 0
	if pos > 0 {
		o.small[n] = Component{n: pos}
		n++
	}
	if ins != "" {
		runes := 1
		if len(ins) > 1 || ins[0] >= utf8.RuneSelf {
			runes = utf8.RuneCountInString(ins)
		}
		o.small[n] = Component{n: runes, s: ins}
		n++
	}
	if del > 0 {
		o.small[n] = Component{n: -del}
		n++
	}
	if rest := docLen - pos - del; rest > 0 {
		if n > 0 && o.small[n-1].s == "" && o.small[n-1].n > 0 {
			o.small[n-1].n += rest // an empty splice is one retain: ops stay normalized
		} else {
			o.small[n] = Component{n: rest}
			n++
		}
	}
	o.n = n
	return o, nil
}

// opBuilder checks components from outside (NewOp and the decoders) while building an Op.
type opBuilder struct {
	op      Op
	in, out int
}

// maxLen bounds an Op's input and output lengths, so that sums of lengths never overflow.
const maxLen = 1 << 48

func (b *opBuilder) add(c Component) error {
	n := c.Count()
	if c.n == math.MinInt {
		// Retain or Delete of a negative count (see Retain).
		return fmt.Errorf("aper/text: %w", conflict.New(conflict.Invalid, "component of a negative count"))
	}
	if n > maxLen {
		return fmt.Errorf("aper/text: %w", conflict.New(conflict.Invalid, fmt.Sprintf("component count %d over %d", n, maxLen)))
	}
	switch {
	case c.s != "":
		if !utf8.ValidString(c.s) {
			return fmt.Errorf("aper/text: %w", conflict.New(conflict.Invalid, "insert of invalid UTF-8"))
		}
		b.out += n
		b.op.insert(c.s, n)
	case c.n > 0:
		b.in += n
		b.out += n
		b.op.retain(n)
	case c.n < 0:
		b.in += n
		b.op.delete(n)
	}
	if b.in > maxLen || b.out > maxLen {
		return fmt.Errorf("aper/text: %w", conflict.New(conflict.Invalid, "op length out of range"))
	}
	return nil
}

// comps returns the components. The caller must not change them.
func (o *Op) comps() []Component {
	if o.more != nil {
		return o.more
	}
	return o.small[:o.n]
}

// push appends c without normalizing. The Op must be one the caller is building.
func (o *Op) push(c Component) {
	if o.more == nil && o.n < inline {
		o.small[o.n] = c
		o.n++
		return
	}
	if o.more == nil {
		o.more = make([]Component, inline, 2*inline)
		copy(o.more, o.small[:])
		o.small = [inline]Component{}
	}
	o.more = append(o.more, c)
	o.n = len(o.more)
}

func (o *Op) last() *Component {
	if o.more != nil {
		return &o.more[len(o.more)-1]
	}
	if o.n == 0 {
		return nil
	}
	return &o.small[o.n-1]
}

func (o *Op) at(i int) *Component {
	if o.more != nil {
		return &o.more[i]
	}
	return &o.small[i]
}

// retain appends a retain of n ≥ 0, merging it into a preceding retain.
func (o *Op) retain(n int) {
	if n <= 0 {
		return
	}
	if l := o.last(); l != nil && l.s == "" && l.n > 0 {
		l.n += n
		return
	}
	o.push(Component{n: n})
}

// delete appends a delete of n ≥ 0, merging it into a preceding delete.
func (o *Op) delete(n int) {
	if n <= 0 {
		return
	}
	if l := o.last(); l != nil && l.s == "" && l.n < 0 {
		l.n -= n
		return
	}
	o.push(Component{n: -n})
}

// insert appends an insert of s (of runes code points), merging it into a preceding insert and
// putting it before a preceding delete.
func (o *Op) insert(s string, runes int) {
	if s == "" {
		return
	}
	l := o.last()
	if l == nil {
		o.push(Component{n: runes, s: s})
		return
	}
	if l.s != "" {
		l.s += s
		l.n += runes
		return
	}
	if l.n < 0 { // after a delete: the insert goes before it
		if o.n >= 2 {
			if p := o.at(o.n - 2); p.s != "" {
				p.s += s
				p.n += runes
				return
			}
		}
		del := *l
		*l = Component{n: runes, s: s}
		o.push(del)
		return
	}
	o.push(Component{n: runes, s: s})
}

// Len returns the number of components.
func (o Op) Len() int { return len(o.comps()) }

// Components returns a copy of the components in order.
func (o Op) Components() []Component {
	return append([]Component(nil), o.comps()...)
}

func (o *Op) inLen() int {
	n := 0
	for _, c := range o.comps() {
		if c.s == "" {
			n += c.Count()
		}
	}
	return n
}

func (o *Op) outLen() int {
	n := 0
	for _, c := range o.comps() {
		if c.s != "" || c.n > 0 {
			n += c.n
		}
	}
	return n
}

// InLen returns the length, in code points, of the strings the Op applies to.
func (o Op) InLen() int { return o.inLen() }

// OutLen returns the length, in code points, of the strings the Op produces.
func (o Op) OutLen() int { return o.outLen() }

// IsNoop reports whether the Op changes nothing (it only retains).
func (o Op) IsNoop() bool {
	for _, c := range o.comps() {
		if c.s != "" || c.n < 0 {
			return false
		}
	}
	return true
}

// Equal reports whether o and p have the same components.
func (o Op) Equal(p Op) bool {
	a, b := o.comps(), p.comps()
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// String formats the Op in its JSON form, for debugging.
func (o Op) String() string {
	var b strings.Builder
	b.WriteByte('[')
	for i, c := range o.comps() {
		if i > 0 {
			b.WriteByte(',')
		}
		if c.s != "" {
			b.WriteString(strconv.Quote(c.s))
		} else if c.n > 0 {
			b.WriteString(strconv.Itoa(c.n))
		} else {
			b.WriteString(strconv.Itoa(c.n))
		}
	}
	b.WriteByte(']')
	return b.String()
}

// Apply returns doc changed by the Op. A doc whose length in code points differs from the Op's
// input length is an OutOfRange conflict.
func (o Op) Apply(doc string) (string, error) {
	if n := utf8.RuneCountInString(doc); n != o.inLen() {
		return "", outOfRange("op of input length %d applied to a text of %d code points", o.inLen(), n)
	}
	var b strings.Builder
	b.Grow(len(doc))
	rest := doc
	for _, c := range o.comps() {
		switch {
		case c.s != "":
			b.WriteString(c.s)
		case c.n > 0:
			k := runeOffset(rest, c.n)
			b.WriteString(rest[:k])
			rest = rest[k:]
		default:
			rest = rest[runeOffset(rest, -c.n):]
		}
	}
	return b.String(), nil
}

// runeOffset returns the byte offset of code point n in s (len(s) if s is shorter).
func runeOffset(s string, n int) int {
	i := 0
	for ; n > 0 && i < len(s); n-- {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		_, w := utf8.DecodeRuneInString(s[i:])
		i += w
	}
	return i
}

// Side breaks the tie when two concurrent ops insert at the same position.
type Side uint8

// The sides.
const (
	// Left: the op being transformed (the first argument of [Transform]) has its text inserted
	// before the other's.
	Left Side = iota
	// Right: the op being transformed has its text inserted after the other's.
	Right
)

// cursor walks an Op's components, splitting retains and deletes.
type cursor struct {
	cs  []Component
	i   int
	cur Component // the rest of cs[i-1]; zero when exhausted
}

func newCursor(o *Op) cursor {
	c := cursor{cs: o.comps()}
	c.next()
	return c
}

func (c *cursor) next() {
	if c.i < len(c.cs) {
		c.cur = c.cs[c.i]
		c.i++
		return
	}
	c.cur = Component{}
}

func (c *cursor) done() bool { return c.cur.n == 0 && c.cur.s == "" }

// text returns the current insert's text, which is whole (a walk never splits an insert),
// read from the op rather than from cur: escape analysis does not tell a cursor's fields apart,
// so passing cur.s on would make the op escape.
func (c *cursor) text() string { return c.cs[c.i-1].s }

// take consumes n code points of the current retain or delete.
func (c *cursor) take(n int) {
	if c.cur.n > 0 {
		c.cur.n -= n
	} else {
		c.cur.n += n
	}
	if c.cur.n == 0 {
		c.next()
	}
}

// Compose returns the single op that has the effect of applying a and then b. The output length
// of a must equal the input length of b, or it is an OutOfRange conflict.
func Compose(a, b Op) (Op, error) {
	if a.outLen() != b.inLen() {
		return Op{}, outOfRange("compose of an op of output length %d with one of input length %d", a.outLen(), b.inLen())
	}
	var out Op
	x, y := newCursor(&a), newCursor(&b)
	for {
		switch {
		case x.cur.n < 0 && x.cur.s == "": // a deletes: b never sees it
			out.delete(-x.cur.n)
			x.next()
			continue
		case y.cur.s != "": // b inserts
			out.insert(y.cur.s, y.cur.n)
			y.next()
			continue
		}
		if x.done() || y.done() {
			if x.done() && y.done() {
				return out, nil
			}
			return Op{}, outOfRange("compose of ops of mismatched lengths")
		}
		if x.cur.s != "" { // a inserts; b retains or deletes part of it
			m := min(x.cur.n, y.cur.Count())
			head, tail := splitRunes(x.cur.s, m)
			if y.cur.n > 0 {
				out.insert(head, m)
			}
			y.take(m)
			if tail == "" {
				x.next()
			} else {
				x.cur = Component{n: x.cur.n - m, s: tail}
			}
			continue
		}
		// a retains
		m := min(x.cur.n, y.cur.Count())
		if y.cur.n > 0 {
			out.retain(m)
		} else {
			out.delete(m)
		}
		x.take(m)
		y.take(m)
	}
}

// splitRunes splits s after n code points.
func splitRunes(s string, n int) (string, string) {
	k := runeOffset(s, n)
	return s[:k], s[k:]
}

// Invert returns the op that undoes o: applying o to doc and then the result gives doc back.
// doc must be the string o applies to, or it is an OutOfRange conflict; doc that is not valid
// UTF-8 is an Invalid conflict (the inverse would insert it).
func Invert(o Op, doc string) (Op, error) {
	if n := utf8.RuneCountInString(doc); n != o.inLen() {
		return Op{}, outOfRange("invert of an op of input length %d against a text of %d code points", o.inLen(), n)
	}
	if !utf8.ValidString(doc) {
		return Op{}, fmt.Errorf("aper/text: %w", conflict.New(conflict.Invalid, "invert against invalid UTF-8"))
	}
	var out Op
	rest := doc
	for _, c := range o.comps() {
		switch {
		case c.s != "":
			out.delete(c.n)
		case c.n > 0:
			out.retain(c.n)
			rest = rest[runeOffset(rest, c.n):]
		default:
			k := runeOffset(rest, -c.n)
			out.insert(rest[:k], -c.n)
			rest = rest[k:]
		}
	}
	return out, nil
}

// TransformIndex returns where position i (a cursor between code points, 0 ≤ i ≤ o.InLen())
// lies after o. Text inserted exactly at i goes before the cursor when side is Right (the cursor
// moves past it and stays before the character that followed it) and after it when side is Left
// (the cursor stays after the character before it). A cursor inside deleted text moves to where
// the deletion was. i is clamped to [0, o.InLen()] first: cursors are advisory.
func TransformIndex(i int, o Op, side Side) int {
	i = max(0, min(i, o.inLen()))
	out, pos := i, 0
	for _, c := range o.comps() {
		if pos > i {
			break
		}
		switch {
		case c.s != "":
			if pos < i || side == Right {
				out += c.n
			}
		case c.n > 0:
			pos += c.n
		default:
			out -= min(-c.n, i-pos)
			pos -= c.n
		}
	}
	return out
}

func outOfRange(format string, args ...any) error {
	return fmt.Errorf("aper/text: %w", conflict.New(conflict.OutOfRange, fmt.Sprintf(format, args...)))
}

// wire returns the Op in its wire form: retain n as n, delete n as -n, insert s as s.
func (o Op) wire() []any {
	cs := o.comps()
	out := make([]any, len(cs))
	for i, c := range cs {
		if c.s != "" {
			out[i] = c.s
		} else {
			out[i] = c.n
		}
	}
	return out
}

// MarshalJSON encodes the Op as an array in which a positive number n retains n code points, a
// negative number -n deletes n, and a string inserts itself: [5, "hi", -2, 3].
func (o Op) MarshalJSON() ([]byte, error) { return json.Marshal(o.wire()) }

// UnmarshalJSON decodes the form MarshalJSON writes. It normalizes (zeros and empty strings are
// dropped, neighbours of one kind merged) and refuses invalid UTF-8, non-integers and lengths
// that overflow.
func (o *Op) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("aper/text: op: %w", err)
	}
	var out opBuilder
	for _, r := range raw {
		var c Component
		if aper.IsNull(r) {
			return errors.New("aper/text: op: a component is an integer or a string, not null")
		}
		if len(r) > 0 && r[0] == '"' {
			if !utf8.Valid(r) {
				return errors.New("aper/text: op: insert of invalid UTF-8")
			}
			if err := json.Unmarshal(r, &c.s); err != nil {
				return fmt.Errorf("aper/text: op: %w", err)
			}
			c.n = utf8.RuneCountInString(c.s)
		} else if err := json.Unmarshal(r, &c.n); err != nil {
			return fmt.Errorf("aper/text: op: a component is an integer or a string: %w", err)
		}
		if err := out.add(c); err != nil {
			return fmt.Errorf("aper/text: op: %w", err)
		}
	}
	*o = out.op
	return nil
}

// MarshalCBOR encodes the Op as an array of the same form as MarshalJSON.
func (o Op) MarshalCBOR() ([]byte, error) { return appendOpCBOR(nil, &o), nil }

// UnmarshalCBOR decodes the form MarshalCBOR writes, with the checks of UnmarshalJSON.
func (o *Op) UnmarshalCBOR(b []byte) error {
	if decodeOpCBOR(b, o) {
		return nil
	}
	return o.unmarshalCBOR(b)
}

// unmarshalCBOR is UnmarshalCBOR by the general decoder.
func (o *Op) unmarshalCBOR(b []byte) error {
	var raw []any
	if err := aper.CBOR.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("aper/text: op: %w", err)
	}
	var out opBuilder
	for _, r := range raw {
		var c Component
		switch v := r.(type) {
		case string:
			c = Component{n: utf8.RuneCountInString(v), s: v}
		case uint64:
			if v > math.MaxInt {
				return errors.New("aper/text: op: retain count out of range")
			}
			c.n = int(v)
		case int64:
			if v < -math.MaxInt {
				return errors.New("aper/text: op: delete count out of range")
			}
			c.n = int(v)
		default:
			return fmt.Errorf("aper/text: op: a component is an integer or a string, not %T", r)
		}
		if err := out.add(c); err != nil {
			return fmt.Errorf("aper/text: op: %w", err)
		}
	}
	*o = out.op
	return nil
}
