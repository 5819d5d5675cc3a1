package apertest_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/conflict"
)

// recorder is a testing.TB that records what a helper reports instead of failing the test. Fatal
// stops the helper's goroutine with runtime.Goexit, as testing.T's FailNow does; run calls the
// helper on a goroutine of its own for that. Methods it does not override go to the real test.
type recorder struct {
	testing.TB
	mu      sync.Mutex
	reports []string
	failed  bool
	stopped bool
}

func (r *recorder) Helper() {}

func (r *recorder) report(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reports = append(r.reports, msg)
	r.failed = true
}

func (r *recorder) Error(args ...any)                 { r.report(fmt.Sprint(args...)) }
func (r *recorder) Errorf(format string, args ...any) { r.report(fmt.Sprintf(format, args...)) }
func (r *recorder) Fatal(args ...any)                 { r.report(fmt.Sprint(args...)); r.FailNow() }
func (r *recorder) Fatalf(format string, args ...any) {
	r.report(fmt.Sprintf(format, args...))
	r.FailNow()
}
func (r *recorder) Fail() { r.mu.Lock(); r.failed = true; r.mu.Unlock() }
func (r *recorder) FailNow() {
	r.mu.Lock()
	r.failed, r.stopped = true, true
	r.mu.Unlock()
	runtime.Goexit()
}
func (r *recorder) Failed() bool { r.mu.Lock(); defer r.mu.Unlock(); return r.failed }

// run calls check with a recorder and reports whether check returned (rather than being stopped
// by a Fatal).
func run(t *testing.T, check func(t testing.TB)) (r *recorder, returned bool) {
	t.Helper()
	r = &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		check(r)
		returned = true
	}()
	<-done
	return r, returned
}

// mustReport checks that check failed, stopped, and said something containing want.
func mustReport(t *testing.T, want string, check func(t testing.TB)) {
	t.Helper()
	r, returned := run(t, check)
	if !r.Failed() || returned || !r.stopped {
		t.Fatalf("the helper did not fail and stop (failed %v, returned %v); reports: %q", r.Failed(), returned, r.reports)
	}
	if !slices.ContainsFunc(r.reports, func(s string) bool { return strings.Contains(s, want) }) {
		t.Fatalf("no report says %q: %q", want, r.reports)
	}
}

// mustPass checks that check reported nothing and returned.
func mustPass(t *testing.T, check func(t testing.TB)) {
	t.Helper()
	r, returned := run(t, check)
	if r.Failed() || !returned {
		t.Fatalf("the helper failed on a correct value (returned %v): %q", returned, r.reports)
	}
}

// items is a small state machine with switchable bugs: a list of ints, a transition sets one.
type items struct {
	Items []int `json:"items" cbor:"1,keyasint"`

	dirty   bool // Apply changes the list before it returns a conflict
	shallow bool // Clone shares the list
	plain   bool // Apply returns a plain error where it should return a conflict
}

// set sets Items[I] to V; an I out of range is an OutOfRange conflict.
type set struct {
	I int `json:"i" cbor:"1,keyasint"`
	V int `json:"v" cbor:"2,keyasint"`
}

func (s *items) Apply(ev aper.Event[set]) error {
	t := ev.Transition
	if t.I < 0 || t.I >= len(s.Items) {
		if s.dirty {
			s.Items = append(s.Items, t.V) // the bug: a change, then the conflict
		}
		if s.plain {
			return errors.New("no such item")
		}
		return conflict.New(conflict.OutOfRange, "no such item")
	}
	s.Items[t.I] = t.V
	return nil
}

func (s *items) Clone() *items {
	c := *s
	if !s.shallow {
		c.Items = slices.Clone(s.Items)
	}
	return &c
}

// halving forgets half its value on the way in from JSON: each round trip changes it.
type halving struct{ N int }

func (h halving) MarshalJSON() ([]byte, error) { return json.Marshal(h.N) }
func (h *halving) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &h.N); err != nil {
		return err
	}
	h.N /= 2
	return nil
}

// refusing encodes but refuses to decode.
type refusing struct{ N int }

func (refusing) UnmarshalJSON([]byte) error { return errors.New("never") }

func TestRoundTripReports(t *testing.T) {
	mustPass(t, func(t testing.TB) { apertest.RoundTrip(t, aper.NewCounter(3)) })
	mustPass(t, func(t testing.TB) { apertest.RoundTrip(t, &items{Items: []int{1, 2}}) })
	t.Run("lossy in one codec", func(t *testing.T) {
		mustReport(t, "json: apertest_test.halving does not round-trip", func(t testing.TB) {
			apertest.RoundTrip(t, halving{N: 8})
		})
	})
	t.Run("lossy across codecs", func(t *testing.T) {
		// Each codec alone round-trips an Atom[any] holding 1, but JSON gives back float64(1),
		// which CBOR writes as a float: two replicas that heard different codecs would differ.
		mustReport(t, "decoded from json encodes differently under cbor", func(t testing.TB) {
			apertest.RoundTrip(t, aper.NewAtom[any](1))
		})
	})
	t.Run("does not decode", func(t *testing.T) {
		mustReport(t, "json: decode apertest_test.refusing", func(t testing.TB) {
			apertest.RoundTrip(t, refusing{N: 1})
		})
	})
	t.Run("does not encode", func(t *testing.T) {
		mustReport(t, "encode", func(t testing.TB) { apertest.RoundTrip(t, make(chan int)) })
	})
}

func TestEncodeReports(t *testing.T) {
	mustReport(t, "json: encode chan int", func(t testing.TB) { apertest.Encode(t, aper.JSON, make(chan int)) })
	mustPass(t, func(t testing.TB) { apertest.Encode(t, aper.CBOR, 1) })
}

func TestEqualReports(t *testing.T) {
	mustPass(t, func(t testing.TB) { apertest.Equal(t, aper.NewCounter(1), aper.NewCounter(1)) })
	mustReport(t, "json: values differ", func(t testing.TB) {
		apertest.Equal(t, aper.NewCounter(1), aper.NewCounter(2))
	})
	// Equal in JSON, different in CBOR: Equal checks every codec.
	mustReport(t, "cbor: values differ", func(t testing.TB) {
		apertest.Equal(t, aper.NewAtom[any](1), aper.NewAtom[any](1.0))
	})
	mustReport(t, "encode", func(t testing.TB) { apertest.Equal(t, make(chan int), 1) })
}

func TestConflictsReports(t *testing.T) {
	outOfRange := aper.On(set{I: 5, V: 9})
	t.Run("correct", func(t *testing.T) {
		var got *conflict.Conflict
		mustPass(t, func(t testing.TB) {
			got = apertest.Conflicts(t, &items{Items: []int{1}}, outOfRange, conflict.OutOfRange)
		})
		if got == nil || got.Kind != conflict.OutOfRange {
			t.Fatalf("Conflicts returned %v", got)
		}
		mustPass(t, func(t testing.TB) { apertest.Conflicts(t, &items{}, outOfRange, "") })
	})
	t.Run("changes the state", func(t *testing.T) {
		mustReport(t, "state changed by a conflicting Apply", func(t testing.TB) {
			apertest.Conflicts(t, &items{Items: []int{1}, dirty: true}, outOfRange, conflict.OutOfRange)
		})
	})
	t.Run("no conflict", func(t *testing.T) {
		mustReport(t, "want a conflict", func(t testing.TB) {
			apertest.Conflicts(t, &items{Items: []int{1}}, aper.On(set{I: 0, V: 2}), conflict.OutOfRange)
		})
	})
	t.Run("plain error", func(t *testing.T) {
		mustReport(t, "wraps no *conflict.Conflict", func(t testing.TB) {
			apertest.Conflicts(t, &items{plain: true}, outOfRange, "")
		})
	})
	t.Run("wrong kind", func(t *testing.T) {
		mustReport(t, `kind = "out of range", want "not found"`, func(t testing.TB) {
			apertest.Conflicts(t, &items{}, outOfRange, conflict.NotFound)
		})
	})
}

// TryApply accepts a transition that applies and a clean conflict, and describes, without
// failing the test, an error that is no conflict and a conflict that changed the state.
func TestTryApply(t *testing.T) {
	outOfRange := aper.On(set{I: 5, V: 9})
	s := &items{Items: []int{1}}
	if cf, err := apertest.TryApply(s, aper.On(set{I: 0, V: 2})); cf != nil || err != nil {
		t.Errorf("a transition that applies: %v, %v", cf, err)
	}
	if s.Items[0] != 2 {
		t.Errorf("TryApply did not apply the transition: %v", s.Items)
	}
	if cf, err := apertest.TryApply(s, outOfRange); err != nil || cf == nil || cf.Kind != conflict.OutOfRange {
		t.Errorf("a clean conflict: %v, %v", cf, err)
	}
	for name, tc := range map[string]struct {
		s    *items
		want string
	}{
		"plain error":       {&items{plain: true}, "wraps no *conflict.Conflict"},
		"changes the state": {&items{Items: []int{1}, dirty: true}, "state changed by a conflicting Apply"},
	} {
		if _, err := apertest.TryApply(tc.s, outOfRange); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one that says %q", name, err, tc.want)
		}
	}
}

func TestMustApplyReports(t *testing.T) {
	mustPass(t, func(t testing.TB) { apertest.MustApply(t, &items{Items: []int{1}}, aper.On(set{I: 0, V: 2})) })
	mustReport(t, "out of range conflict", func(t testing.TB) {
		apertest.MustApply(t, &items{}, aper.On(set{I: 0, V: 2}))
	})
}

func TestCloneIsDeepReports(t *testing.T) {
	ev := aper.On(set{I: 0, V: 7})
	mustPass(t, func(t testing.TB) { apertest.CloneIsDeep(t, &items{Items: []int{1, 2}}, ev) })
	c := aper.NewCounter(1)
	mustPass(t, func(t testing.TB) { apertest.CloneIsDeep(t, c, aper.On(c.Add(1))) })
	m := aper.NewMap[string, *aper.Counter, aper.CounterTransition]()
	if err := m.Apply(aper.On(m.Set("a", aper.NewCounter(1)))); err != nil {
		t.Fatal(err)
	}
	mustPass(t, func(t testing.TB) { apertest.CloneIsDeep(t, m, aper.On(m.Update("a", c.Add(1)))) })

	mustReport(t, "changed the original", func(t testing.TB) {
		apertest.CloneIsDeep(t, &items{Items: []int{1, 2}, shallow: true}, ev)
	})
	mustReport(t, "out of range conflict", func(t testing.TB) {
		apertest.CloneIsDeep(t, &items{}, ev) // the transition must apply
	})
}
