package text_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/text"
	"github.com/stretchr/testify/require"
)

func buildLog(t *testing.T, seed uint64, authors, steps, keep int) (string, []aper.Event[text.Edit]) {
	r := rand.New(rand.NewPCG(seed, 7))
	start := string(alphabet[r.IntN(3)]) + "..."
	s := &sim{t: t, r: r, srv: text.NewWithHistory(start, keep), ref: refServer{doc: start}}
	for i := range authors {
		id := aper.ClientID(fmt.Sprintf("c%d", i))
		s.clients = append(s.clients, &simClient{id: id, conf: text.NewWithHistory(start, keep), ref: refClient{doc: start}})
	}
	for range steps {
		c := s.clients[r.IntN(len(s.clients))]
		switch r.IntN(3) {
		case 0:
			s.edit(c)
		case 1:
			if len(c.refOut) > 0 {
				s.serve(c)
			}
		case 2:
			if c.ref.rev < len(s.log) {
				s.deliver(c)
			}
		}
	}
	return start, s.log
}

func TestScratchCloneAndSnapshot(t *testing.T) {
	for seed := range uint64(200) {
		start, log := buildLog(t, seed, 3, 150, 40)
		if len(log) < 10 {
			continue
		}
		r := rand.New(rand.NewPCG(seed, 99))
		k := r.IntN(len(log))
		a := text.NewWithHistory(start, 40)
		for _, e := range log[:k] {
			apertest.MustApply(t, a, e)
		}
		c := a.Clone()
		snaps := apertest.RoundTrip(t, a)
		// diverge c with junk edits by a new author
		for i := 0; i < 70; i++ {
			e := c.Insert(r.IntN(c.Len()+1), "Q")
			apertest.MustApply(t, c, aper.Event[text.Edit]{Seq: uint64(k + i + 1), Client: "zz", Transition: e})
		}
		ref := text.NewWithHistory(start, 40)
		for _, e := range log {
			apertest.MustApply(t, ref, e)
		}
		for _, e := range log[k:] {
			apertest.MustApply(t, a, e)
			for _, s := range snaps {
				if err := s.Apply(e); err != nil {
					require.NoError(t, err)
				}
			}
		}
		apertest.Equal(t, ref, a)
		for _, s := range snaps {
			apertest.Equal(t, ref, s)
		}
		// c is unaffected by a's progress: replay to compare
		c2 := text.NewWithHistory(start, 40)
		for _, e := range log[:k] {
			apertest.MustApply(t, c2, e)
		}
		r2 := rand.New(rand.NewPCG(seed, 99))
		_ = r2.IntN(len(log))
		for i := 0; i < 70; i++ {
			e := c2.Insert(r2.IntN(c2.Len()+1), "Q")
			apertest.MustApply(t, c2, aper.Event[text.Edit]{Seq: uint64(k + i + 1), Client: "zz", Transition: e})
		}
		apertest.Equal(t, c2, c)
		require.NoError(t, text.CheckInvariants(c))
	}
}
