package sync_test

import (
	"errors"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport/memory"
)

// drain returns the events buffered in s now, without waiting.
func drain(s *apersync.Subscription[cmt]) []apersync.Event[cmt] {
	var evs []apersync.Event[cmt]
	for {
		e, ok := s.TryNext()
		if !ok {
			return evs
		}
		evs = append(evs, e)
	}
}

func kinds(evs []apersync.Event[cmt]) []apersync.EventKind {
	var ks []apersync.EventKind
	for _, e := range evs {
		ks = append(ks, e.Kind)
	}
	return ks
}

func TestEventsSayWhatHappened(t *testing.T) {
	srv, n := memoryServer(t, nil)
	a := dial(t, n.DialerWith("server", &memory.DialOptions{From: "alice"}), "r")
	b := dial(t, n.Dialer("server"), "r")
	subA1, subA2 := a.Subscribe(0), a.Subscribe(0)
	defer subA1.Close()
	defer subA2.Close()

	h, err := a.Submit(m.Set("k", aper.NewCounter(1)))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Wait(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if h.Seq() != 1 {
		t.Fatalf("handle confirmed at %d, want 1", h.Seq())
	}
	mustApply(t, b, m.Set("j", aper.NewCounter(2)))
	if err := b.Sync(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := a.WaitSeq(ctxT(t), 2); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*apersync.Subscription[cmt]{subA1, subA2} {
		evs := drain(s)
		if len(evs) != 2 || evs[0].Kind != apersync.EventConfirmed || evs[1].Kind != apersync.EventRemote {
			t.Fatalf("events %v, want confirmed then remote", kinds(evs))
		}
		if evs[0].Handle != h || evs[0].Seq != 1 || evs[0].Client != a.ID() || evs[0].Transition.Key != "k" {
			t.Fatalf("confirmed event %+v", evs[0])
		}
		if evs[1].Seq != 2 || evs[1].Client != b.ID() || evs[1].Transition.Key != "j" || evs[1].Time.IsZero() {
			t.Fatalf("remote event %+v", evs[1])
		}
	}

	// b deletes k while a's update of it is held: a's update is rebased over the delete, then
	// rejected. Once Settled returns, the rejection is in the events and the handle.
	n.Partition("alice", "server", memory.Hold)
	hu, err := a.Submit(m.Update("k", add(5)))
	if err != nil {
		t.Fatal(err)
	}
	mustApply(t, b, m.Delete("k"))
	if err := b.Sync(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	n.Heal("alice", "server")
	if err := a.Settled(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-hu.Done():
	default:
		t.Fatal("Settled returned before the handle resolved")
	}
	if err := hu.Wait(ctxT(t)); !errors.Is(err, conflict.ErrNotFound) {
		t.Fatalf("Wait = %v, want a not-found conflict", err)
	}
	evs := drain(subA1)
	if len(evs) != 3 || evs[0].Kind != apersync.EventRemote || evs[1].Kind != apersync.EventRebased ||
		evs[1].Pending != 1 || evs[2].Kind != apersync.EventRejected {
		t.Fatalf("events %v, want remote, rebased (1 pending), rejected", kinds(evs))
	}
	if rej := evs[2]; rej.Handle != hu || !errors.Is(rej.Err, conflict.ErrNotFound) || rej.Transition.Key != "k" {
		t.Fatalf("rejection %+v, want the update's with its handle", rej)
	}
	if seq, err := srv.Seq(ctxT(t), "r"); err != nil || seq != 3 {
		t.Fatalf("Server.Seq = %d, %v; want 3", seq, err)
	}
}

func TestEventsSlowSubscriberLosesNotBlocks(t *testing.T) {
	srv, n := memoryServer(t, nil)
	a := dial(t, n.Dialer("server"), "r")
	b := dial(t, n.Dialer("server"), "r")
	slow := a.Subscribe(2)
	defer slow.Close()
	for range 5 {
		mustApply(t, b, m.Set("k", aper.NewCounter(1)))
	}
	quiesce(t, srv, "r", a, b)
	evs := drain(slow)
	want := []apersync.EventKind{apersync.EventRemote, apersync.EventRemote, apersync.EventLost}
	if len(evs) != 3 || evs[0].Kind != want[0] || evs[1].Kind != want[1] || evs[2].Kind != want[2] || evs[2].Lost != 3 {
		t.Fatalf("events %v (%+v), want %v with 3 lost", kinds(evs), evs, want)
	}
	mustApply(t, b, m.Set("k", aper.NewCounter(2)))
	quiesce(t, srv, "r", a, b)
	if evs := drain(slow); len(evs) != 1 || evs[0].Kind != apersync.EventRemote || evs[0].Seq != 6 {
		t.Fatalf("after catching up: %v", kinds(evs))
	}
}

func TestEventsEndWithClose(t *testing.T) {
	_, n := memoryServer(t, nil)
	a := dial(t, n.Dialer("server"), "r")
	s := a.Subscribe(0)
	a.Close()
	if _, err := s.Next(ctxT(t)); !errors.Is(err, apersync.ErrClosed) {
		t.Fatalf("Next after Close = %v", err)
	}
	if late := a.Subscribe(0); late == nil {
		t.Fatal("nil subscription")
	} else if _, err := late.Next(ctxT(t)); !errors.Is(err, apersync.ErrClosed) {
		t.Fatalf("Next of a subscription after Close = %v", err)
	}
	if _, err := a.Submit(m.Set("k", aper.NewCounter(1))); !errors.Is(err, apersync.ErrClosed) {
		t.Fatalf("Submit after Close = %v", err)
	}
}
