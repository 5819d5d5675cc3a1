package sync

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/text"
)

// BenchmarkRebase: the cost of one remote transition on a client with 10 pending transitions,
// as the state grows 10× and 100×. With Clone O(1) (copy-on-write) it stays flat.
func BenchmarkRebase(b *testing.B) {
	for _, size := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("keys=%d", size), func(b *testing.B) {
			var m *cmap
			state := aper.NewMap[string, *aper.Counter, aper.CounterTransition]()
			for i := range size {
				state.Apply(aper.On(m.Set(fmt.Sprintf("k%07d", i), aper.NewCounter(0))))
			}
			c := &clientCore[*cmap, cmt]{id: "me", confirmed: state, view: state, viewIsC: true, hasState: true, live: true}
			for i := range 10 {
				if _, _, err := c.apply(m.Update(fmt.Sprintf("k%07d", i*97%size), add(1)), t0); err != nil {
					b.Fatal(err)
				}
			}
			remote := m.Update("k0000005", add(1))
			f := frameHead{Type: frameConfirmed, Client: "other"}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				f.Seq = c.seq + 1
				if _, err := c.confirmedFrame(&f, remote); err != nil {
					b.Fatal(err)
				}
				c.rebase()
			}
		})
	}
}

// BenchmarkRebaseText: a client's cost per remote text edit as the number of concurrent writers
// grows. Each round, every other writer types one character (caught up with the room, at its own
// place), the client reads its view after each (as an editor does), the server confirms the
// client's oldest pending edit (sent before the round's edits were ordered, so the confirmed text
// transforms it over them) and the client types another: it keeps 10 edits pending, each
// concurrent with ten rounds of the others' edits. "rebaser" rebases the pending edits by the
// text's Rebase, O(pending) per remote edit; "replay" re-applies them to a clone of the confirmed
// text, which transforms each over every edit since its Base, O(pending × writers).
// The metric ns/remote is the cost of one round divided by its remote edits.
func BenchmarkRebaseText(b *testing.B) {
	const pending = 10
	for _, mode := range []string{"rebaser", "replay"} {
		for _, writers := range []int{2, 10, 100} {
			b.Run(fmt.Sprintf("%s/writers=%d", mode, writers), func(b *testing.B) {
				start := text.New(strings.Repeat("x", 10_000))
				c := &clientCore[*text.Text, text.Edit]{id: "me", inst: "me", confirmed: start, view: start, viewIsC: true, hasState: true, live: true}
				var sent []text.Edit // as the server has them
				typeOne := func() {
					c.rebase()
					e := c.view.Insert(c.view.Len(), "m")
					local, form, err := c.apply(e, t0)
					if err != nil {
						b.Fatal(err)
					}
					c.held = local // sent at once
					sent = append(sent, form)
				}
				for range pending {
					typeOne()
				}
				if mode == "replay" {
					c.replay = true
				}
				f := frameHead{Type: frameConfirmed}
				round := func() {
					for w := 1; w < writers; w++ {
						tx := c.confirmed
						f.Seq, f.Client, f.Inst, f.Local = c.seq+1, aper.ClientID(fmt.Sprintf("w%d", w)), "", 0
						if _, err := c.confirmedFrame(&f, tx.Insert(w*50, "o")); err != nil {
							b.Fatal(err)
						}
						c.rebase()
					}
					f.Seq, f.Client, f.Inst, f.Local = c.seq+1, "me", "me", c.pending[0].local
					if _, err := c.confirmedFrame(&f, sent[0]); err != nil {
						b.Fatal(err)
					}
					sent = sent[1:]
					typeOne()
				}
				for range pending { // reach the steady state
					round()
				}
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					round()
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*(writers-1)), "ns/remote")
			})
		}
	}
}
