package list_test

import (
	"encoding/json"
	"errors"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/list"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fraction is the naive reference: the index's bytes read as a base-256 fraction, exactly.
func fraction(z list.ZenoIndex) *big.Rat {
	b := z.Bytes()
	num := new(big.Int).SetBytes(b)
	den := new(big.Int).Lsh(big.NewInt(1), uint(8*len(b)))
	return new(big.Rat).SetFrac(num, den)
}

func mustBetween(t testing.TB, a, b list.ZenoIndex) list.ZenoIndex {
	t.Helper()
	z, err := list.Between(a, b)
	if err != nil {
		t.Fatalf("Between(%s, %s): %v", a, b, err)
	}
	if !a.IsZero() && !a.Less(z) || !b.IsZero() && !z.Less(b) {
		t.Fatalf("Between(%s, %s) = %s, not between", a, b, z)
	}
	return z
}

// keyRun makes n keys, each from the previous one, and returns the longest key's length and
// the last key.
func keyRun(t testing.TB, n int, start list.ZenoIndex, next func(prev list.ZenoIndex) list.ZenoIndex) (int, list.ZenoIndex) {
	t.Helper()
	z, longest := start, 0
	for range n {
		z = next(z)
		longest = max(longest, z.Len())
	}
	return longest, z
}

// TestKeyLengths checks the lengths of keys under the patterns real editing produces, 100,000
// inserts each. The figures are in the package documentation.
func TestKeyLengths(t *testing.T) {
	const n = 100_000
	mid := list.ZenoIndex{}.After()
	lo, hi := list.MustParseZenoIndex("80"), list.MustParseZenoIndex("81")
	tests := []struct {
		name  string
		start list.ZenoIndex
		next  func(prev list.ZenoIndex) list.ZenoIndex
		limit int
	}{
		{"append", mid, func(p list.ZenoIndex) list.ZenoIndex { return mustBetween(t, p, list.ZenoIndex{}) }, 4},
		{"prepend", mid, func(p list.ZenoIndex) list.ZenoIndex { return mustBetween(t, list.ZenoIndex{}, p) }, 4},
		{"typing forward", lo, func(p list.ZenoIndex) list.ZenoIndex { return mustBetween(t, p, hi) }, 8},
		{"typing backward", hi, func(p list.ZenoIndex) list.ZenoIndex { return mustBetween(t, lo, p) }, 8},
		{"typing forward, long neighbours", list.MustParseZenoIndex("7f3a05"), func(p list.ZenoIndex) list.ZenoIndex {
			return mustBetween(t, p, list.MustParseZenoIndex("7f3a0501"))
		}, 8},
		// The same gap, each new key between one fixed lower key and the previous new key: the
		// issue allows one byte per 8 inserts; backward typing, which it is, stays shorter.
		{"same gap", hi, func(p list.ZenoIndex) list.ZenoIndex { return mustBetween(t, list.MustParseZenoIndex("7f3a05"), p) }, 8},
	}
	var report []string
	for _, tt := range tests {
		longest, last := keyRun(t, n, tt.start, tt.next)
		assert.LessOrEqual(t, longest, tt.limit, "%s: longest key", tt.name)
		report = append(report, tt.name+": "+itoa(longest)+" bytes (last "+last.String()+")")
	}
	t.Logf("longest key after %d inserts: %s", n, strings.Join(report, "; "))
}

// TestListSameGap inserts 100,000 items at the same index of a list, each before the previous
// insert: at index 1 (after one fixed item), and at index 0 (before everything, which a list
// places with room above, for typing at the start). Each goes close to its anchor, and the
// indexes still grow with log n, not n.
func TestListSameGap(t *testing.T) {
	for _, at := range []int{0, 1} {
		l := list.New[*aper.Atom[int], aper.AtomTransition[int]]()
		for range 2 {
			_, tr := l.Append(aper.NewAtom(0))
			apertest.MustApply(t, l, aper.On(tr))
		}
		longest := 0
		for i := range 100_000 {
			id, tr := l.InsertAt(at, aper.NewAtom(i))
			if err := l.Apply(aper.On(tr)); err != nil {
				t.Fatal(err)
			}
			if got, _ := l.IndexOf(id); got != at {
				t.Fatalf("insert %d at %d landed at %d", i, at, got)
			}
			k, _ := l.KeyOf(id)
			longest = max(longest, k.Len())
		}
		assert.LessOrEqual(t, longest, 8, "longest key at index %d", at)
		t.Logf("100,000 inserts at index %d: longest key %d bytes", at, longest)
	}
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }

// TestBetweenAgainstReference compares Between, Compare and the order of text forms with exact
// fractions, on random pairs including long and adjacent ones.
func TestBetweenAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	randKey := func() list.ZenoIndex {
		b := make([]byte, 1+rng.IntN(6))
		for i := range b {
			switch rng.IntN(4) {
			case 0:
				b[i] = 0
			case 1:
				b[i] = 0xff
			default:
				b[i] = byte(rng.IntN(256))
			}
		}
		if b[len(b)-1] == 0 {
			b[len(b)-1] = 1 + byte(rng.IntN(255))
		}
		z, err := list.ZenoIndexFromBytes(b)
		require.NoError(t, err)
		return z
	}
	for range 20_000 {
		a, b := randKey(), randKey()
		c := fraction(a).Cmp(fraction(b))
		require.Equal(t, c, list.Compare(a, b), "%s vs %s", a, b)
		require.Equal(t, c, strings.Compare(a.String(), b.String()), "text order of %s, %s", a, b)
		if c == 0 {
			_, err := list.Between(a, b)
			require.ErrorIs(t, err, list.ErrIndexOrder)
			continue
		}
		if c > 0 {
			a, b = b, a
		}
		z := mustBetween(t, a, b)
		require.Equal(t, -1, fraction(a).Cmp(fraction(z)))
		require.Equal(t, -1, fraction(z).Cmp(fraction(b)))
		// The budget of a digit close to the top of its range is at most 7 bytes.
		require.LessOrEqual(t, z.Len(), max(a.Len(), b.Len())+7, "Between(%s, %s) = %s", a, b, z)
		// Open ends.
		require.Equal(t, 1, fraction(a.After()).Cmp(fraction(a)))
		require.Equal(t, 1, fraction(b.After()).Cmp(fraction(b)))
		require.Equal(t, -1, fraction(a.Before()).Cmp(fraction(a)))
		require.Equal(t, 1, fraction(a.Before()).Sign())
	}
}

// TestBetweenNeverFails inserts at random places among many keys and checks the order.
func TestBetweenKeepsOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	keys := []list.ZenoIndex{list.ZenoIndex{}.After()}
	for range 5_000 {
		i := rng.IntN(len(keys) + 1)
		var a, b list.ZenoIndex
		if i > 0 {
			a = keys[i-1]
		}
		if i < len(keys) {
			b = keys[i]
		}
		keys = slices.Insert(keys, i, mustBetween(t, a, b))
	}
	assert.True(t, slices.IsSortedFunc(keys, list.Compare))
	assert.Len(t, slices.CompactFunc(slices.Clone(keys), func(a, b list.ZenoIndex) bool { return a == b }), len(keys))
}

// TestLongKeys works on the longest keys the parsers accept; the allocator's own test runs it on
// keys of a megabyte (TestAllocateLongKeys).
func TestLongKeys(t *testing.T) {
	ffs := strings.Repeat("ff", list.MaxIndexLen-1)
	a := list.MustParseZenoIndex(ffs + "01")
	b := list.MustParseZenoIndex(ffs + "02")
	assert.Equal(t, list.MaxIndexLen, a.Len())
	z := mustBetween(t, a, b)
	assert.Greater(t, z.Len(), list.MaxIndexLen-1)
	assert.True(t, a.Less(a.After()))
	zeros := list.MustParseZenoIndex(strings.Repeat("00", list.MaxIndexLen-1) + "01")
	assert.True(t, zeros.Before().Less(zeros))
}

// TestMaxIndexLen checks that no parser or decoder accepts an index over MaxIndexLen bytes.
func TestMaxIndexLen(t *testing.T) {
	long := make([]byte, list.MaxIndexLen+1)
	for i := range long {
		long[i] = 0x80
	}
	ok := long[:list.MaxIndexLen]
	_, err := list.ZenoIndexFromBytes(ok)
	require.NoError(t, err)
	_, err = list.ZenoIndexFromBytes(long)
	assert.ErrorIs(t, err, list.ErrMalformedIndex)
	_, err = list.ParseZenoIndex(hexString(long))
	assert.ErrorIs(t, err, list.ErrMalformedIndex)
	var z list.ZenoIndex
	assert.ErrorIs(t, z.UnmarshalText([]byte(hexString(long))), list.ErrMalformedIndex)
	assert.ErrorIs(t, z.UnmarshalBinary(long), list.ErrMalformedIndex)
	assert.ErrorIs(t, json.Unmarshal([]byte(`"`+hexString(long)+`"`), &z), list.ErrMalformedIndex)
	cb, err := aper.CBOR.Marshal(long)
	require.NoError(t, err)
	assert.ErrorIs(t, aper.CBOR.Unmarshal(cb, &z), list.ErrMalformedIndex)
	assert.True(t, z.IsZero(), "a failed decode leaves the index unchanged")
	// At exactly MaxIndexLen every form round-trips.
	zok, err := list.ZenoIndexFromBytes(ok)
	require.NoError(t, err)
	for _, got := range apertest.RoundTrip(t, zok) {
		assert.Equal(t, zok, got)
	}
}

func TestParseZenoIndex(t *testing.T) {
	tests := []struct {
		in   string
		want []byte
		ok   bool
	}{
		{"80", []byte{0x80}, true},
		{"00ff01", []byte{0, 0xff, 1}, true},
		{"", nil, false},
		{"8", nil, false},
		{"80ff00", nil, false},
		{"00", nil, false},
		{"8G", nil, false},
		{"8A", nil, false},
		{" 80", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			z, err := list.ParseZenoIndex(tt.in)
			if !tt.ok {
				require.ErrorIs(t, err, list.ErrMalformedIndex)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, z.Bytes())
			assert.Equal(t, tt.in, z.String())
		})
	}
	_, err := list.ZenoIndexFromBytes([]byte{1, 0})
	assert.ErrorIs(t, err, list.ErrMalformedIndex)
	assert.Panics(t, func() { list.MustParseZenoIndex("zz") })
}

func TestZenoIndexCodecs(t *testing.T) {
	z := list.MustParseZenoIndex("7f00ff01")
	for _, got := range apertest.RoundTrip(t, z) {
		assert.Equal(t, z, got)
	}
	for _, got := range apertest.RoundTrip(t, list.ZenoIndex{}) {
		assert.True(t, got.IsZero())
	}
	b, err := json.Marshal(z)
	require.NoError(t, err)
	assert.Equal(t, `"7f00ff01"`, string(b))
	b, err = aper.CBOR.Marshal(z)
	require.NoError(t, err)
	assert.Equal(t, []byte{0x44, 0x7f, 0, 0xff, 1}, b)
	bin, err := z.MarshalBinary()
	require.NoError(t, err)
	var back list.ZenoIndex
	require.NoError(t, back.UnmarshalBinary(bin))
	assert.Equal(t, z, back)

	var bad list.ZenoIndex
	for _, in := range [][]byte{{0x42, 0x80, 0x00}, {0x61, 'a'}, {0x5f}, {0x58}} {
		err := aper.CBOR.Unmarshal(in, &bad)
		assert.Error(t, err, "% x", in)
	}
	assert.True(t, errors.Is(json.Unmarshal([]byte(`"8000"`), &bad), list.ErrMalformedIndex))
	assert.True(t, bad.IsZero())
}

// FuzzZenoIndex parses untrusted text and bytes: never a panic, and a valid index behaves.
func FuzzZenoIndex(f *testing.F) {
	f.Add([]byte("80"), []byte{0x80})
	f.Add([]byte("7fff01"), []byte{0x41, 0x80})
	f.Add([]byte(""), []byte{})
	f.Add([]byte("8000"), []byte{0x42, 0x80, 0})
	f.Fuzz(func(t *testing.T, text, cb []byte) {
		var a, b list.ZenoIndex
		errA := a.UnmarshalText(text)
		errB := aper.CBOR.Unmarshal(cb, &b)
		if errA != nil || errB != nil || a.IsZero() || b.IsZero() {
			return
		}
		if a == b {
			return
		}
		if b.Less(a) {
			a, b = b, a
		}
		z := mustBetween(t, a, b)
		if _, err := list.ParseZenoIndex(z.String()); err != nil {
			t.Fatalf("Between gave an invalid index %s: %v", z, err)
		}
	})
}

// TestTypingAtTheStart types 1,000 items at the start of a list, the first with InsertAt(0) and
// each next one after the previous: the first is placed with room above it, so the run typed
// after it stays short (placed close below the old first item, it would squeeze the run into a
// tiny gap).
func TestTypingAtTheStart(t *testing.T) {
	l := list.New[*aper.Atom[int], aper.AtomTransition[int]]()
	_, tr := l.Append(aper.NewAtom(0))
	apertest.MustApply(t, l, aper.On(tr))
	longest := 0
	prev, tr := l.InsertAt(0, aper.NewAtom(1))
	apertest.MustApply(t, l, aper.On(tr))
	for i := range 1000 {
		id, tr := l.InsertAfter(prev, aper.NewAtom(i))
		apertest.MustApply(t, l, aper.On(tr))
		if got, _ := l.IndexOf(id); got != i+1 {
			t.Fatalf("insert %d landed at %d", i, got)
		}
		k, _ := l.KeyOf(id)
		longest = max(longest, k.Len())
		prev = id
	}
	assert.LessOrEqual(t, longest, 2, "longest key")
	t.Logf("1,000 items typed at the start: longest key %d bytes", longest)
}
