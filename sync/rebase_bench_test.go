package sync

import (
	"fmt"
	"testing"

	"github.com/aper-go/aper"
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
				if _, err := c.apply(m.Update(fmt.Sprintf("k%07d", i*97%size), add(1)), t0); err != nil {
					b.Fatal(err)
				}
			}
			remote := m.Update("k0000005", add(1))
			f := frame{Type: frameConfirmed, Client: "other"}
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
