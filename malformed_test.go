package aper_test

import (
	"errors"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/stretchr/testify/assert"
)

// TestDecodeErrorsWrapErrMalformed feeds hostile bytes to every root type in both codecs: each
// must fail with an error that errors.Is matches to aper.ErrMalformed.
func TestDecodeErrorsWrapErrMalformed(t *testing.T) {
	cb := func(v any) []byte { return apertest.Encode(t, aper.CBOR, v) }
	type txCounters = aper.Transactional[*counters, countersT]
	targets := map[string]func() any{
		"Counter":            func() any { return aper.NewCounter(0) },
		"Atom[int]":          func() any { return new(aper.Atom[int]) },
		"Atom[[]string]":     func() any { return new(aper.Atom[[]string]) },
		"Atom[float64]":      func() any { return new(aper.Atom[float64]) },
		"Map":                func() any { return new(counters) },
		"Map of maps":        func() any { return new(nested) },
		"Map[int]":           func() any { return new(intCounters) },
		"Transactional":      func() any { return aper.NewTransactional(aper.NewMap[string, *aper.Counter, aper.CounterTransition]()) },
		"zero Transactional": func() any { return new(txCounters) },
		"CounterTransition":  func() any { return new(aper.CounterTransition) },
		"MapTransition":      func() any { return new(countersT) },
		"Event":              func() any { return new(aper.Event[aper.Transaction[nestedT]]) },
	}
	// Inputs that no target accepts.
	common := []struct {
		name  string
		codec aper.Codec
		in    []byte
	}{
		{"json empty", aper.JSON, nil},
		{"json syntax", aper.JSON, []byte(`[["a",1]`)},
		{"json trailing garbage", aper.JSON, []byte(`1 x`)},
		{"json string", aper.JSON, []byte(`"a"`)},
		{"cbor empty", aper.CBOR, nil},
		{"cbor truncated", aper.CBOR, cb([][]any{{"a", 1}})[:4]},
		{"cbor trailing bytes", aper.CBOR, append(cb(1), 0x01)},
		{"cbor reserved byte", aper.CBOR, []byte{0x1c}},
		{"cbor huge declared length", aper.CBOR, []byte{0x9b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{"cbor invalid utf-8", aper.CBOR, []byte{0x62, 0xff, 0xfe}},
		{"cbor deep nesting", aper.CBOR, append(bytesOf(0x81, 100), 0x01)},
		{"cbor break alone", aper.CBOR, []byte{0xff}},
	}
	for _, in := range common {
		for name, target := range targets {
			t.Run(in.name+"/"+name, func(t *testing.T) {
				err := in.codec.Unmarshal(in.in, target())
				assert.True(t, errors.Is(err, aper.ErrMalformed), "%v", err)
			})
		}
	}

	// Inputs that are well-formed but wrong for one type.
	specific := []struct {
		name   string
		codec  aper.Codec
		in     []byte
		target func() any
	}{
		{"json null counter", aper.JSON, []byte(`null`), targets["Counter"]},
		{"cbor null counter", aper.CBOR, []byte{0xf6}, targets["Counter"]},
		{"cbor undefined counter", aper.CBOR, []byte{0xf7}, targets["Counter"]},
		{"json float counter", aper.JSON, []byte(`1.5`), targets["Counter"]},
		{"json counter overflow", aper.JSON, []byte(`9223372036854775808`), targets["Counter"]},
		{"cbor counter overflow", aper.CBOR, cb(uint64(1 << 63)), targets["Counter"]},
		{"cbor text counter", aper.CBOR, cb("1"), targets["Counter"]},
		{"json null atom of int", aper.JSON, []byte(`null`), targets["Atom[int]"]},
		{"cbor null atom of int", aper.CBOR, []byte{0xf6}, targets["Atom[int]"]},
		{"json atom wrong type", aper.JSON, []byte(`{"a":1}`), targets["Atom[int]"]},
		{"cbor atom wrong type", aper.CBOR, cb([]int{1}), targets["Atom[[]string]"]},
		{"cbor atom NaN", aper.CBOR, []byte{0xf9, 0x7e, 0x00}, targets["Atom[float64]"]},
		{"cbor atom infinity", aper.CBOR, []byte{0xf9, 0x7c, 0x00}, targets["Atom[float64]"]},
		{"json null map", aper.JSON, []byte(`null`), targets["Map"]},
		{"cbor null map", aper.CBOR, []byte{0xf6}, targets["Map"]},
		{"json map duplicate key", aper.JSON, []byte(`[["a",1],["a",2]]`), targets["Map"]},
		{"cbor map duplicate key", aper.CBOR, cb([][]any{{"a", 1}, {"a", 2}}), targets["Map"]},
		{"json map null value", aper.JSON, []byte(`[["a",null]]`), targets["Map"]},
		{"cbor map null value", aper.CBOR, cb([][]any{{"a", nil}}), targets["Map"]},
		{"json map short pair", aper.JSON, []byte(`[["a"]]`), targets["Map"]},
		{"cbor map short pair", aper.CBOR, cb([][]any{{"a"}}), targets["Map"]},
		{"json map long pair", aper.JSON, []byte(`[["a",1,2]]`), targets["Map"]},
		{"cbor map long pair", aper.CBOR, cb([][]any{{"a", 1, 2}}), targets["Map"]},
		{"json map object", aper.JSON, []byte(`{"a":1}`), targets["Map"]},
		{"cbor map object", aper.CBOR, cb(map[string]int{"a": 1}), targets["Map"]},
		{"json map wrong key type", aper.JSON, []byte(`[[1,1]]`), targets["Map"]},
		{"cbor map wrong key type", aper.CBOR, cb([][]any{{1, 1}}), targets["Map"]},
		{"json int map string key", aper.JSON, []byte(`[["1",1]]`), targets["Map[int]"]},
		{"json map bad value", aper.JSON, []byte(`[["a","x"]]`), targets["Map"]},
		{"cbor map bad value", aper.CBOR, cb([][]any{{"a", "x"}}), targets["Map"]},
		{"json nested null inner map", aper.JSON, []byte(`[["a",null]]`), targets["Map of maps"]},
		{"json nested bad inner", aper.JSON, []byte(`[["a",[["b",null]]]]`), targets["Map of maps"]},
		{"cbor nested bad inner", aper.CBOR, cb([][]any{{"a", [][]any{{"b", "x"}}}}), targets["Map of maps"]},
		{"json null transactional", aper.JSON, []byte(`null`), targets["Transactional"]},
		{"cbor null transactional", aper.CBOR, []byte{0xf6}, targets["Transactional"]},
		{"json null zero transactional", aper.JSON, []byte(`null`), targets["zero Transactional"]},
		{"json transactional bad state", aper.JSON, []byte(`[["a",null]]`), targets["Transactional"]},
		{"cbor transactional bad state", aper.CBOR, cb([][]any{{"a", nil}}), targets["Transactional"]},
		{"json transition bad op type", aper.JSON, []byte(`{"op":"add","n":1}`), targets["CounterTransition"]},
		{"cbor transition bad amount", aper.CBOR, cb(map[int]any{1: 1, 2: "x"}), targets["CounterTransition"]},
		{"json map transition bad value", aper.JSON, []byte(`{"op":1,"key":"a","value":"x"}`), targets["MapTransition"]},
		{"cbor map transition bad value", aper.CBOR, cb(map[int]any{1: 1, 2: "a", 3: "x"}), targets["MapTransition"]},
		{"json event bad inner value", aper.JSON, []byte(`{"transition":[{"op":1,"key":"b","value":[["x",null]]}]}`), targets["Event"]},
	}
	for _, tt := range specific {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.codec.Unmarshal(tt.in, tt.target())
			assert.True(t, errors.Is(err, aper.ErrMalformed), "%v", err)
		})
	}
}

// TestMisuseIsNotErrMalformed: a decode that fails because of the caller, not the bytes, does
// not claim the input was malformed.
func TestMisuseIsNotErrMalformed(t *testing.T) {
	for _, c := range aper.Codecs() {
		var n int64
		err := c.Unmarshal(apertest.Encode(t, c, 1), n) // not a pointer
		assert.Error(t, err, c.Name())
		assert.False(t, errors.Is(err, aper.ErrMalformed), "%s: %v", c.Name(), err)
	}
}

func bytesOf(b byte, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

// A string that is not valid UTF-8 is refused when it is encoded (the decoder would refuse the
// encoding: a room's journal or snapshot written with it could not be read back), in a map key,
// an atom or a transition; valid strings of every length still encode and decode.
func TestCBORRefusesInvalidUTF8(t *testing.T) {
	m := aper.NewMap[string, *aper.Counter, aper.CounterTransition]()
	assert.NoError(t, m.Apply(aper.On(m.Set("\xff", aper.NewCounter(1)))))
	a := aper.NewAtom("ok\xfe")
	for name, v := range map[string]any{
		"map":        m,
		"atom":       a,
		"transition": m.Set("bad\xffkey", aper.NewCounter(1)),
	} {
		if b, err := aper.CBOR.Marshal(v); err == nil {
			t.Errorf("%s: encoded to % x", name, b)
		}
	}
	for _, s := range []string{"", "plain", "é😀", string(make([]byte, 300))} {
		b, err := aper.CBOR.Marshal(aper.NewAtom(s))
		if !assert.NoError(t, err) {
			continue
		}
		var got aper.Atom[string]
		assert.NoError(t, aper.CBOR.Unmarshal(b, &got))
		assert.Equal(t, s, got.Get())
	}
}
