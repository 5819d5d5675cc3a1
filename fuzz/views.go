package fuzz

import (
	"bytes"
	"fmt"
	"time"

	"github.com/aper-go/aper"
)

// checkViews checks, between any two steps, that every client's optimistic view is what the
// client knows: the server's ordered transitions up to the client's Seq, then its own pending
// transitions in order (less those that conflict on the view). Quiescence alone cannot catch a
// client that forgets to rebase: once nothing is pending its view is the confirmed state again.
// The replicas' histories say how each view was made: ordered entries (Seq > 0) come from the
// confirmed state it was cloned from; optimistic ones (Seq 0) were applied on top. A view may
// still hold, as optimistic entries, its own transitions the server has confirmed since (it need
// not rebase when nothing foreign came between), but never miss a foreign one.
func (s *System[S, T]) checkViews() error {
	log, err := s.ordered()
	if err != nil {
		return err
	}
	last := lastSeq(log)
	for i, sl := range s.clients {
		view, seq, pending, id := sl.c.State().hist, sl.c.Seq(), sl.c.Pending(), sl.c.ID()
		if seq > last {
			return fmt.Errorf("client %d is at Seq %d, past the server's %d", i, seq, last)
		}
		hist := historyAt(log, seq) // the ordered transitions in the state at seq
		n := 0                      // the ordered prefix
		for n < len(view) && view[n].Seq != 0 {
			if n >= len(hist) || !sameEntry(view[n], hist[n]) {
				return fmt.Errorf("client %d (at Seq %d): entry %d of its view is %v, not the server's", i, seq, n, view[n])
			}
			n++
		}
		opt := view[n:]
		for _, e := range opt {
			if e.Seq != 0 {
				return fmt.Errorf("client %d: an ordered entry %v after optimistic ones in its view", i, e)
			}
		}
		// Ordered since the view was made: all the client's own, and in the view already.
		for _, e := range hist[n:] {
			if e.Client != id {
				return fmt.Errorf("client %d (at Seq %d, %d pending) did not rebase: its view lacks %v, ordered since it was made", i, seq, pending, e)
			}
			if len(opt) == 0 || opt[0].Client != id || !bytes.Equal(opt[0].T, e.T) {
				return fmt.Errorf("client %d: its own confirmed %v is not next in its view", i, e)
			}
			opt = opt[1:]
		}
		// The rest: a subsequence of its pending transitions, the last `pending` it submitted.
		if pending > len(sl.submitted) {
			return fmt.Errorf("client %d has %d pending, it submitted %d", i, pending, len(sl.submitted))
		}
		rest := sl.submitted[len(sl.submitted)-pending:]
		pend, pendAt := rest, sl.times[len(sl.times)-pending:]
		for _, e := range opt {
			for len(rest) > 0 && !bytes.Equal(rest[0], e.T) {
				rest = rest[1:] // skipped: it conflicts on the view
			}
			if len(rest) == 0 || e.Client != id {
				return fmt.Errorf("client %d: its view holds %v, which is not one of its pending transitions in order", i, e)
			}
			rest = rest[1:]
		}
		if len(opt) < len(pend) {
			if err := s.checkSkipped(view[:len(view)-len(opt)], opt, pend, pendAt, id); err != nil {
				return fmt.Errorf("client %d (at Seq %d, %d pending): %w", i, seq, pending, err)
			}
		}
	}
	return nil
}

// checkSkipped checks that the pending transitions a view leaves out conflict there: it replays
// the view's making from the initial state (base, then pending in order, each either the next
// of opt or one that must conflict where it stands). It runs only when a view leaves some out,
// which is rare unless the client forgets them. The harness does not know the time the client
// applied a left-out transition with (its estimate of the server's clock): it must conflict
// at the time of the entry before it or at the time the harness applied it.
func (s *System[S, T]) checkSkipped(base, opt []entry, pend [][]byte, pendAt []time.Time, id aper.ClientID) error {
	st := s.initial.Clone()
	var last time.Time
	apply := func(e entry) error {
		var t T
		if err := aper.CBOR.Unmarshal(e.T, &t); err != nil {
			return fmt.Errorf("decode %v: %w", e, err)
		}
		ev := aper.Event[T]{Seq: e.Seq, Client: e.Client, Transition: t}
		if e.Time != 0 {
			ev.Time = time.Unix(0, e.Time)
		}
		last = ev.Time
		return st.Apply(ev)
	}
	for _, e := range base {
		if err := apply(e); err != nil {
			return fmt.Errorf("replaying its view: %v does not apply: %w", e, err)
		}
	}
	for k, b := range pend {
		if len(opt) > 0 && bytes.Equal(opt[0].T, b) {
			if err := apply(opt[0]); err != nil {
				return fmt.Errorf("replaying its view: %v does not apply: %w", opt[0], err)
			}
			opt = opt[1:]
			continue
		}
		var t T
		if err := aper.CBOR.Unmarshal(b, &t); err != nil {
			return fmt.Errorf("decode a pending transition: %w", err)
		}
		probe := st.Clone()
		if probe.Apply(aper.Event[T]{Client: id, Time: last, Transition: t}) == nil &&
			st.Apply(aper.Event[T]{Client: id, Time: pendAt[k], Transition: t}) == nil {
			return fmt.Errorf("its view leaves out the pending %x, which applies there", b)
		}
	}
	return nil
}

func sameEntry(a, b entry) bool {
	return a.Seq == b.Seq && a.Client == b.Client && bytes.Equal(a.T, b.T)
}
