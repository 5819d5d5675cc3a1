// Package apertest has test helpers for state machines: codec round-trips, the check that a
// conflict leaves the state unchanged, and the check that Clone is deep. The library's own
// packages use it, and so can yours, from a test function:
//
//	func TestScores(t *testing.T) {
//		m := aper.NewMap[string, *aper.Counter, aper.CounterTransition]()
//		apertest.MustApply(t, m, aper.On(m.Set("ann", aper.NewCounter(1))))
//		apertest.RoundTrip(t, m)
//		apertest.Conflicts(t, m, aper.On(m.Delete("bob")), conflict.NotFound)
//		apertest.CloneIsDeep(t, m, aper.On(m.Set("bob", aper.NewCounter(2))))
//	}
//
// Every helper reports a failure with t.Fatalf, so it must run on the test's goroutine.
package apertest

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
)

// RoundTrip checks, for every codec of the library, that v encodes, that the bytes decode into a
// fresh V, and that the decoded value encodes to the same bytes; and, across codecs, that what
// one codec decoded encodes under every other codec exactly as v does (a server may hear one
// client in JSON and another in CBOR, and their replicas must still be equal). It returns the
// decoded values, one per codec in the order of aper.Codecs, for further checks.
func RoundTrip[V any](t testing.TB, v V) []V {
	t.Helper()
	out := roundTrip(t, v)
	for i, got := range out {
		for _, c := range aper.Codecs() {
			want, have := Encode(t, c, v), Encode(t, c, got)
			if !bytes.Equal(want, have) {
				t.Fatalf("%T decoded from %s encodes differently under %s:\nwant: %s\nhave: %s", v, aper.Codecs()[i].Name(), c.Name(), printable(c, want), printable(c, have))
			}
		}
	}
	return out
}

func roundTrip[V any](t testing.TB, v V) []V {
	t.Helper()
	var out []V
	for _, c := range aper.Codecs() {
		b1, err := c.Marshal(v)
		if err != nil {
			t.Fatalf("%s: encode %T: %v", c.Name(), v, err)
		}
		var got V
		if err := c.Unmarshal(b1, &got); err != nil {
			t.Fatalf("%s: decode %T from %x: %v", c.Name(), v, b1, err)
		}
		b2, err := c.Marshal(got)
		if err != nil {
			t.Fatalf("%s: encode the decoded %T: %v", c.Name(), v, err)
		}
		if !bytes.Equal(b1, b2) {
			t.Fatalf("%s: %T does not round-trip:\nfirst:  %s\nsecond: %s", c.Name(), v, printable(c, b1), printable(c, b2))
		}
		out = append(out, got)
	}
	return out
}

func printable(c aper.Codec, b []byte) string {
	if c.Name() == "json" {
		return string(b)
	}
	return hex.EncodeToString(b)
}

// Encode returns v's encoding under codec c, failing the test on error.
func Encode(t testing.TB, c aper.Codec, v any) []byte {
	t.Helper()
	b, err := c.Marshal(v)
	if err != nil {
		t.Fatalf("%s: encode %T: %v", c.Name(), v, err)
	}
	return b
}

// Equal checks that a and b have the same encoding under every codec: the library's notion of
// equal replicas.
func Equal(t testing.TB, a, b any) {
	t.Helper()
	for _, c := range aper.Codecs() {
		ea, eb := Encode(t, c, a), Encode(t, c, b)
		if !bytes.Equal(ea, eb) {
			t.Fatalf("%s: values differ:\n%s\n%s", c.Name(), printable(c, ea), printable(c, eb))
		}
	}
}

// Conflicts applies ev to s and checks that it returns a conflict of the given kind (any kind if
// kind is empty) and that s encodes, under every codec, exactly as it did before. It returns the
// conflict.
func Conflicts[S aper.StateMachine[S, T], T any](t testing.TB, s S, ev aper.Event[T], kind conflict.Kind) *conflict.Conflict {
	t.Helper()
	cf, err := TryApply(s, ev)
	if err != nil {
		t.Fatal(err)
	}
	if cf == nil {
		t.Fatalf("Apply(%+v) = nil, want a conflict", ev.Transition)
	}
	if kind != "" && cf.Kind != kind {
		t.Fatalf("Apply(%+v) conflict kind = %q, want %q (%v)", ev.Transition, cf.Kind, kind, cf)
	}
	return cf
}

// TryApply applies ev to s, for tests whose transitions may or may not apply (random, fuzzed or
// decoded ones), and checks the rule that [Conflicts] checks for one that must not: Apply
// returns nil or an error that wraps a *conflict.Conflict, and after a conflict s encodes,
// under every codec, exactly as it did before. It returns the conflict (nil if ev applied), or
// an error saying how the rule was broken. It takes no testing.TB, so that a property function
// can return the error to its framework, which then shrinks the input.
func TryApply[S aper.StateMachine[S, T], T any](s S, ev aper.Event[T]) (*conflict.Conflict, error) {
	before := make([][]byte, 0, len(aper.Codecs()))
	for _, c := range aper.Codecs() {
		b, err := c.Marshal(s)
		if err != nil {
			return nil, fmt.Errorf("%s: encode %T: %w", c.Name(), s, err)
		}
		before = append(before, b)
	}
	err := s.Apply(ev)
	if err == nil {
		return nil, nil
	}
	var cf *conflict.Conflict
	if !errors.As(err, &cf) {
		return nil, fmt.Errorf("Apply(%+v) = %v, which wraps no *conflict.Conflict", ev.Transition, err)
	}
	for i, c := range aper.Codecs() {
		after, err := c.Marshal(s)
		if err != nil {
			return cf, fmt.Errorf("%s: encode %T after the conflict %v: %w", c.Name(), s, cf, err)
		}
		if !bytes.Equal(before[i], after) {
			return cf, fmt.Errorf("%s: state changed by a conflicting Apply(%+v) (%v):\nbefore: %s\nafter:  %s", c.Name(), ev.Transition, cf, printable(c, before[i]), printable(c, after))
		}
	}
	return cf, nil
}

// MustApply applies ev to s and fails the test on error.
func MustApply[S aper.StateMachine[S, T], T any](t testing.TB, s S, ev aper.Event[T]) {
	t.Helper()
	if err := s.Apply(ev); err != nil {
		t.Fatalf("Apply(%+v): %v", ev.Transition, err)
	}
}

// CloneIsDeep checks that s.Clone gives an independent copy: the clone encodes as s does, and
// applying ev to a clone leaves the value it was cloned from as it was, and the other way round.
// ev must apply without error and change the encoding of the state it is applied to (else the
// check could not see a shared part). It applies ev only to clones of s, so s is left as it was
// unless its Clone is shallow.
func CloneIsDeep[S aper.StateMachine[S, T], T any](t testing.TB, s S, ev aper.Event[T]) {
	t.Helper()
	before := encodings(t, s)
	a := s.Clone()
	same(t, "the clone differs from the original", before, a)

	b := a.Clone()
	MustApply(t, b, ev)
	for i, c := range aper.Codecs() {
		if bytes.Equal(before[i], Encode(t, c, b)) {
			t.Fatalf("%s: Apply(%+v) did not change the encoding of %T; pick a transition that does", c.Name(), ev.Transition, s)
		}
	}
	same(t, "applying to a clone changed the original", before, s)
	same(t, "applying to a clone changed the value it was cloned from", before, a)

	c := a.Clone()
	MustApply(t, a, ev)
	same(t, "applying to the original changed its clone", before, c)
}

// encodings returns v's encoding under each codec, in the order of aper.Codecs.
func encodings(t testing.TB, v any) [][]byte {
	t.Helper()
	out := make([][]byte, 0, len(aper.Codecs()))
	for _, c := range aper.Codecs() {
		out = append(out, Encode(t, c, v))
	}
	return out
}

// same fails with msg unless v encodes as want under each codec.
func same(t testing.TB, msg string, want [][]byte, v any) {
	t.Helper()
	for i, c := range aper.Codecs() {
		if have := Encode(t, c, v); !bytes.Equal(want[i], have) {
			t.Fatalf("%s: %T: %s:\nwant: %s\nhave: %s", c.Name(), v, msg, printable(c, want[i]), printable(c, have))
		}
	}
}
