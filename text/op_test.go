package text_test

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/fuzz"
	"github.com/aper-go/aper/text"
	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"
	"github.com/leanovate/gopter/prop"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	R = text.Retain
	I = text.Insert
	D = text.Delete
)

func TestNewOpNormalizes(t *testing.T) {
	tests := []struct {
		name string
		in   []text.Component
		want string
	}{
		{"empty components dropped", []text.Component{R(0), I(""), D(0), R(2)}, `[2]`},
		{"retains merge", []text.Component{R(1), R(2)}, `[3]`},
		{"inserts merge", []text.Component{I("a"), I("b")}, `["ab"]`},
		{"deletes merge", []text.Component{D(1), D(2)}, `[-3]`},
		{"insert goes before delete", []text.Component{R(1), D(2), I("x"), R(1)}, `[1,"x",-2,1]`},
		{"insert after delete joins an insert before it", []text.Component{I("a"), D(1), I("b")}, `["ab",-1]`},
		{"many components", []text.Component{R(1), I("a"), R(1), D(1), R(1), I("b"), R(1)}, `[1,"a",1,-1,1,"b",1]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := text.NewOp(tt.in...)
			require.NoError(t, err)
			assert.Equal(t, tt.want, o.String())
		})
	}
	for _, c := range []text.Component{R(-1), D(-2)} {
		_, err := text.NewOp(c)
		assert.ErrorIs(t, err, conflict.ErrInvalid)
		assert.ErrorContains(t, err, "negative count")
	}
}

func TestOpApply(t *testing.T) {
	tests := []struct {
		doc  string
		op   text.Op
		want string
		err  bool
	}{
		{"", text.Op{}, "", false},
		{"abc", text.MustOp(R(1), I("X"), D(1), R(1)), "aXc", false},
		{"😀é漢", text.MustOp(D(1), R(1), I("🎉"), R(1)), "é🎉漢", false},
		{"abc", text.MustOp(R(2)), "", true},
		{"abc", text.MustOp(R(4)), "", true},
	}
	for _, tt := range tests {
		got, err := tt.op.Apply(tt.doc)
		if tt.err {
			require.ErrorIs(t, err, conflict.ErrOutOfRange)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tt.want, got)
	}
}

func TestTransformTieBreak(t *testing.T) {
	a := text.MustOp(R(1), I("A"), R(1))
	b := text.MustOp(R(1), I("B"), R(1))
	for _, tt := range []struct {
		side text.Side
		want string
	}{{text.Left, "xABy"}, {text.Right, "xBAy"}} {
		ap, bp, err := text.Transform(a, b, tt.side)
		require.NoError(t, err)
		ab := mustApply(t, mustApply(t, "xy", a), bp)
		ba := mustApply(t, mustApply(t, "xy", b), ap)
		assert.Equal(t, tt.want, ab)
		assert.Equal(t, tt.want, ba)
	}
	_, _, err := text.Transform(text.MustOp(R(1)), text.MustOp(R(2)), text.Left)
	require.ErrorIs(t, err, conflict.ErrOutOfRange)
}

func TestTransformIndex(t *testing.T) {
	op := text.MustOp(R(2), I("XY"), D(2), R(2)) // "abcdef" -> "abXYef"
	tests := []struct {
		i    int
		side text.Side
		want int
	}{
		{0, text.Left, 0}, {1, text.Left, 1}, {2, text.Left, 2}, {2, text.Right, 4},
		{3, text.Left, 4}, {4, text.Left, 4}, {5, text.Left, 5}, {6, text.Left, 6},
		{-3, text.Left, 0}, {99, text.Left, 6},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, text.TransformIndex(tt.i, op, tt.side), "index %d", tt.i)
	}
}

func TestComposeAndInvertErrors(t *testing.T) {
	_, err := text.Compose(text.MustOp(R(1)), text.MustOp(R(2)))
	require.ErrorIs(t, err, conflict.ErrOutOfRange)
	_, err = text.Invert(text.MustOp(R(1)), "ab")
	require.ErrorIs(t, err, conflict.ErrOutOfRange)
	_, err = text.Splice(3, 2, 2, "x")
	require.ErrorIs(t, err, conflict.ErrOutOfRange)
}

func mustApply(t testing.TB, doc string, o text.Op) string {
	t.Helper()
	s, err := o.Apply(doc)
	require.NoError(t, err)
	return s
}

// randDoc returns a random string of up to n code points from an alphabet with one-, two-,
// three- and four-byte characters.
func randDoc(r *rand.Rand, n int) string {
	rs := make([]rune, r.IntN(n+1))
	for i := range rs {
		rs[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(rs)
}

// randOp returns a random op on a document of n code points.
func randOp(r *rand.Rand, n int) text.Op {
	var cs []text.Component
	for n > 0 || r.IntN(3) == 0 {
		switch k := 1 + r.IntN(max(1, min(n, 4))); r.IntN(3) {
		case 0:
			cs = append(cs, I(randDoc(r, 3)))
			if n == 0 {
				n = -1 // stop after one trailing insert
			}
		case 1:
			if n > 0 {
				cs = append(cs, R(k))
				n -= k
			}
		default:
			if n > 0 {
				cs = append(cs, D(k))
				n -= k
			}
		}
		if n < 0 {
			break
		}
	}
	return text.MustOp(cs...)
}

func TestOpProperties(t *testing.T) {
	props := gopter.NewProperties(fuzz.Parameters(t, 1000, 100, 0))
	props.Property("TP1: apply(apply(s,a),b') == apply(apply(s,b),a')", prop.ForAll(func(seed uint64) bool {
		r := rand.New(rand.NewPCG(seed, 1))
		s := randDoc(r, 12)
		n := len([]rune(s))
		a, b := randOp(r, n), randOp(r, n)
		side := text.Side(r.IntN(2))
		ap, bp, err := text.Transform(a, b, side)
		if err != nil {
			return false
		}
		bp2, ap2, err := text.Transform(b, a, 1-side)
		if err != nil || !ap.Equal(ap2) || !bp.Equal(bp2) { // the two sides agree
			return false
		}
		return mustApply(t, mustApply(t, s, a), bp) == mustApply(t, mustApply(t, s, b), ap)
	}, gen.UInt64()))
	props.Property("Compose(a, b) == applying a then b", prop.ForAll(func(seed uint64) bool {
		r := rand.New(rand.NewPCG(seed, 2))
		s := randDoc(r, 12)
		a := randOp(r, len([]rune(s)))
		b := randOp(r, a.OutLen())
		ab, err := text.Compose(a, b)
		return err == nil && mustApply(t, s, ab) == mustApply(t, mustApply(t, s, a), b)
	}, gen.UInt64()))
	props.Property("Invert undoes", prop.ForAll(func(seed uint64) bool {
		r := rand.New(rand.NewPCG(seed, 3))
		s := randDoc(r, 12)
		a := randOp(r, len([]rune(s)))
		inv, err := text.Invert(a, s)
		return err == nil && mustApply(t, mustApply(t, s, a), inv) == s
	}, gen.UInt64()))
	props.Property("TransformIndex keeps a cursor on its character", prop.ForAll(func(seed uint64) bool {
		r := rand.New(rand.NewPCG(seed, 4))
		// Distinct characters, so that each one can be found again.
		rs := []rune("ABCDEFGHIJ😀€")[:1+r.IntN(12)]
		s := string(rs)
		a := randOp(r, len(rs))
		after := []rune(mustApply(t, s, a))
		for i, c := range rs {
			// Right: the cursor stays before character i.
			if j := text.TransformIndex(i, a, text.Right); !deleted(a, i) && (j >= len(after) || after[j] != c) {
				return false
			}
			// Left: the cursor stays after character i-1.
			if j := text.TransformIndex(i, a, text.Left); i > 0 && !deleted(a, i-1) && (j == 0 || after[j-1] != rs[i-1]) {
				return false
			}
		}
		return true
	}, gen.UInt64()))
	props.Property("ops round-trip through JSON and CBOR", prop.ForAll(func(seed uint64) bool {
		r := rand.New(rand.NewPCG(seed, 5))
		a := randOp(r, r.IntN(20))
		for _, got := range apertest.RoundTrip(t, a) {
			if !got.Equal(a) {
				return false
			}
		}
		return true
	}, gen.UInt64()))
	props.TestingRun(t)
}

// deleted reports whether op deletes code point i of its input.
func deleted(op text.Op, i int) bool {
	pos := 0
	for _, c := range op.Components() {
		switch c.Kind() {
		case text.RetainKind:
			pos += c.Count()
		case text.DeleteKind:
			if i >= pos && i < pos+c.Count() {
				return true
			}
			pos += c.Count()
		}
	}
	return false
}

func TestOpDecoding(t *testing.T) {
	tests := []struct {
		name string
		json string
		want string
		err  bool
	}{
		{"normal", `[1,"ab",-2,3]`, `[1,"ab",-2,3]`, false},
		{"normalized", `[0,1,1,"",-1,"x"]`, `[2,"x",-1]`, false},
		{"empty", `[]`, `[]`, false},
		{"float", `[1.5]`, "", true},
		{"object", `[{}]`, "", true},
		{"not an array", `"x"`, "", true},
		{"huge", `[99999999999999999999]`, "", true},
		{"too long", `[281474976710656, 281474976710656]`, "", true},
		{"null", `[null]`, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o text.Op
			err := json.Unmarshal([]byte(tt.json), &o)
			if tt.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, o.String())
		})
	}
	// CBOR: invalid UTF-8, a negative count too big for int, a map.
	for _, b := range [][]byte{
		{0x81, 0x62, 0xff, 0xfe},
		{0x81, 0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		{0x81, 0xa0},
		{0x81, 0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	} {
		var o text.Op
		require.Error(t, aper.CBOR.Unmarshal(b, &o), "%x", b)
	}
}

func FuzzOpDecode(f *testing.F) {
	f.Add([]byte(`[1,"ab",-2,3]`))
	f.Add([]byte{0x83, 0x01, 0x62, 0x61, 0x62, 0x21})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, c := range aper.Codecs() {
			var o text.Op
			if err := c.Unmarshal(b, &o); err != nil {
				continue
			}
			again := apertest.RoundTrip(t, o)
			if !again[0].Equal(o) {
				t.Fatalf("%s: %v does not round-trip", c.Name(), o)
			}
			if _, err := o.Apply(""); err != nil && !errors.Is(err, conflict.ErrOutOfRange) {
				t.Fatal(err)
			}
		}
	})
}

// TestNoOpHoldsInvalidUTF8 checks every way of making an op: none inserts invalid UTF-8, which
// JSON would turn into U+FFFD on the wire (replicas diverge) and CBOR refuses to decode.
func TestNoOpHoldsInvalidUTF8(t *testing.T) {
	_, err := text.Splice(2, 1, 0, "a\xffb")
	require.ErrorIs(t, err, conflict.ErrInvalid)
	_, err = text.NewOp(R(1), I("\xff"), R(1))
	require.ErrorIs(t, err, conflict.ErrInvalid)
	_, err = text.Invert(text.MustOp(D(2)), "a\xff")
	require.ErrorIs(t, err, conflict.ErrInvalid)

	// The edit constructors replace invalid UTF-8 with U+FFFD, as New does.
	tx := text.New("ab")
	e := tx.Insert(1, "x\xffy")
	assert.Equal(t, "[1,\"x\ufffdy\",1]", e.Op.String())
	apertest.RoundTrip(t, e)
	apertest.MustApply(t, tx, aper.On(e))
	assert.Equal(t, "ax\ufffdyb", tx.String())
	for _, got := range apertest.RoundTrip(t, tx) {
		assert.Equal(t, tx.String(), got.String())
	}
}

// FuzzEditDecode decodes an edit under both codecs: malformed input is an error, a decoded edit
// round-trips, and applying it to a text with history (late, current or future Base) either
// succeeds or conflicts without changing the text.
func FuzzEditDecode(f *testing.F) {
	f.Add([]byte(`{"base":1,"op":[1,"ab",-2,3]}`))
	f.Add([]byte{0xa2, 0x01, 0x01, 0x02, 0x83, 0x01, 0x62, 0x61, 0x62, 0x21})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, c := range aper.Codecs() {
			var e text.Edit
			if err := c.Unmarshal(b, &e); err != nil {
				continue
			}
			apertest.RoundTrip(t, e)
			tx := text.NewWithHistory("ab😀", 3)
			for i, who := range []aper.ClientID{"a", "b", "a", "b"} {
				apertest.MustApply(t, tx, ev(uint64(i+1), who, tx.Insert(i, "x")))
			}
			for _, who := range []aper.ClientID{"a", "b", "c"} {
				if _, err := apertest.TryApply(tx, ev(tx.Version()+1, who, e)); err != nil {
					t.Fatal(err)
				}
			}
			if err := text.CheckInvariants(tx); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestSpliceIsNormalized(t *testing.T) {
	// An empty splice is one retain, never two adjacent ones, so that it encodes as it decodes.
	for pos := 0; pos <= 3; pos++ {
		o, err := text.Splice(3, pos, 0, "")
		require.NoError(t, err)
		assert.Len(t, o.Components(), 1, "pos %d: %s", pos, o)
		want, err := text.NewOp(text.Retain(3))
		require.NoError(t, err)
		assert.True(t, o.Equal(want), "pos %d: %s", pos, o)
		apertest.RoundTrip(t, text.Edit{Op: o})
	}
}
