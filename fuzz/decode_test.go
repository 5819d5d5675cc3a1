package fuzz_test

import (
	"bytes"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/list"
	"github.com/aper-go/aper/text"
	"github.com/google/uuid"
)

// Native fuzz targets for the decoders of untrusted bytes that their own packages do not fuzz:
// List snapshots and transitions, the binary form of ZenoIndex, and Transactional snapshots.
// (Already fuzzed elsewhere: sync frames, transport frames, ZenoIndex text and CBOR, text ops,
// edits and snapshots, tree and board snapshots, Map, Atom, Event and Conflict.) An error is
// fine; a panic, or a decoded value that does not round-trip or breaks its invariants, is not.
// Seeds are below and in testdata/fuzz; make fuzz runs each target for FUZZTIME.

func seedList(f testing.TB) *counterList {
	l := list.New[*aper.Counter, aper.CounterTransition]()
	a := uuid.MustParse("6c51b55c-0712-4772-9c39-4837334523e1")
	b := uuid.MustParse("d4fcbf1a-dc70-4244-9265-c172fe576391")
	for _, t := range []counterListT{
		{Op: list.OpInsert, ID: a, Pos: list.End(), Value: aper.NewCounter(1)},
		{Op: list.OpInsert, ID: b, Pos: l.PositionBefore(a), Value: aper.NewCounter(-2)},
	} {
		apertest.MustApply(f, l, aper.On(t))
	}
	return l
}

func FuzzListDecode(f *testing.F) {
	l := seedList(f)
	for _, c := range aper.Codecs() {
		f.Add(apertest.Encode(f, c, l))
	}
	f.Add([]byte(`[["80","6c51b55c-0712-4772-9c39-4837334523e1",1],["80","d4fcbf1a-dc70-4244-9265-c172fe576391",2]]`))
	f.Add([]byte(`[["00","6c51b55c-0712-4772-9c39-4837334523e1",1]]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, c := range aper.Codecs() {
			var got counterList
			if c.Unmarshal(b, &got) != nil {
				continue
			}
			if err := listInvariants(&got); err != nil {
				t.Fatalf("%s: %v", c.Name(), err)
			}
			apertest.RoundTrip(t, &got)
			// The decoded list takes transitions: an insert at each end, a move and a delete.
			for id := range got.All() {
				_ = got.Apply(aper.On(got.MoveTo(id, got.Len())))
				_ = got.Apply(aper.On(got.Delete(id)))
				break
			}
			_ = got.Apply(aper.On(counterListT{Op: list.OpInsert, ID: uuid.MustParse("9fd1c093-4452-4520-a454-9f7f5a6c3783"), Pos: list.Beginning(), Value: aper.NewCounter(0)}))
			if err := listInvariants(&got); err != nil {
				t.Fatalf("%s: after transitions: %v", c.Name(), err)
			}
		}
	})
}

func FuzzListTransitionDecode(f *testing.F) {
	l := seedList(f)
	for id := range l.All() {
		for _, tr := range []counterListT{l.MoveTo(id, 2), l.Delete(id), l.Update(id, aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 3})} {
			for _, c := range aper.Codecs() {
				f.Add(apertest.Encode(f, c, tr))
			}
		}
	}
	f.Add([]byte(`{"op":1,"id":"9fd1c093-4452-4520-a454-9f7f5a6c3783","pos":{"kind":5,"id":"6c51b55c-0712-4772-9c39-4837334523e1","index":"7f"},"value":4}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, c := range aper.Codecs() {
			var tr counterListT
			if c.Unmarshal(b, &tr) != nil {
				continue
			}
			apertest.RoundTrip(t, tr)
			l := seedList(t)
			if _, err := apertest.TryApply(l, aper.On(tr)); err != nil {
				t.Fatalf("%s: %v", c.Name(), err)
			}
			if err := listInvariants(l); err != nil {
				t.Fatalf("%s: %v", c.Name(), err)
			}
		}
	})
}

// FuzzZenoIndexBinary: the binary form (MarshalBinary / UnmarshalBinary) of ZenoIndex, which
// FuzzZenoIndex in package list does not reach.
func FuzzZenoIndexBinary(f *testing.F) {
	f.Add([]byte{0x80})
	f.Add([]byte{0x7f, 0xff, 0x01})
	f.Add([]byte{})
	f.Add([]byte{0x80, 0x00})
	f.Add([]byte{0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		var z list.ZenoIndex
		if z.UnmarshalBinary(b) != nil {
			return
		}
		again, err := z.MarshalBinary()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("% x decodes to %v, which encodes to % x (%v)", b, z, again, err)
		}
		if z.IsZero() {
			return
		}
		p, err := list.ParseZenoIndex(z.String())
		if err != nil || list.Compare(p, z) != 0 {
			t.Fatalf("%v does not round-trip through text: %v %v", z, p, err)
		}
		lo, hi := z.Before(), z.After()
		if !lo.Less(z) || !z.Less(hi) {
			t.Fatalf("Before %v and After %v do not surround %v", lo, hi, z)
		}
	})
}

func FuzzTransactionalDecode(f *testing.F) {
	d := aper.NewTransactional(newDoc())
	c := aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 2}
	apertest.MustApply(f, d, aper.On(txDocT{{Count: &c}}))
	for _, codec := range aper.Codecs() {
		f.Add(apertest.Encode(f, codec, d))
		f.Add(apertest.Encode(f, codec, txDocT{{Count: &c}, {Count: &c}}))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, codec := range aper.Codecs() {
			var got txDoc
			// doc itself (a test type) does not check for missing fields; the structures do.
			if codec.Unmarshal(b, &got) == nil && got.State().Count != nil && got.State().Items != nil && got.State().Body != nil {
				apertest.RoundTrip(t, &got)
				_ = got.Apply(aper.On(txDocT{{Count: &c}, {Body: &[]text.Edit{got.State().Body.Insert(0, "x")}[0]}}))
			}
			var tx txDocT
			if codec.Unmarshal(b, &tx) == nil {
				apertest.RoundTrip(t, tx)
				x := aper.NewTransactional(newDoc())
				if _, err := apertest.TryApply(x, aper.On(tx)); err != nil {
					t.Fatalf("%s: %v", codec.Name(), err)
				}
			}
		}
	})
}
