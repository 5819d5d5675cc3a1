package list_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/list"
	"github.com/google/uuid"
)

// bigList builds a list of n items by appending, and returns it with the ids in order.
func bigList(b *testing.B, n int) (*counters, []uuid.UUID) {
	b.Helper()
	l := list.New[*aper.Counter, aper.CounterTransition]()
	ids := make([]uuid.UUID, 0, n)
	v := aper.NewCounter(0) // shared: it arrives in transitions, so it is never changed in place
	for range n {
		id, t := l.Append(v)
		if err := l.Apply(aper.On(t)); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
	}
	return l, ids
}

var sizes = []int{10_000, 100_000, 1_000_000}

func reportKeys(b *testing.B, l *counters) {
	longest, total := 0, 0
	for _, k := range l.Keys() {
		longest = max(longest, k.Len())
		total += k.Len()
	}
	b.ReportMetric(float64(longest), "max-key-bytes")
	b.ReportMetric(float64(total)/float64(max(1, l.Len())), "mean-key-bytes")
}

// BenchmarkInsertRandom inserts at random positions (by index) into a list of n items.
func BenchmarkInsertRandom(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			l, _ := bigList(b, n)
			rng := rand.New(rand.NewPCG(1, 2))
			v := aper.NewCounter(1)
			b.ReportAllocs()
			for b.Loop() {
				_, t := l.InsertAt(rng.IntN(l.Len()+1), v)
				if err := l.Apply(aper.On(t)); err != nil {
					b.Fatal(err)
				}
			}
			reportKeys(b, l)
		})
	}
}

// BenchmarkAt reads the item at a random position.
func BenchmarkAt(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			l, _ := bigList(b, n)
			rng := rand.New(rand.NewPCG(1, 2))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, ok := l.At(rng.IntN(n)); !ok {
					b.Fatal("missing")
				}
			}
		})
	}
}

// BenchmarkIndexOf finds the position of a random item.
func BenchmarkIndexOf(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			l, ids := bigList(b, n)
			rng := rand.New(rand.NewPCG(1, 2))
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := l.IndexOf(ids[rng.IntN(n)]); !ok {
					b.Fatal("missing")
				}
			}
		})
	}
}

// BenchmarkMove moves a random item to a random position.
func BenchmarkMove(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			l, ids := bigList(b, n)
			rng := rand.New(rand.NewPCG(1, 2))
			b.ReportAllocs()
			for b.Loop() {
				if err := l.Apply(aper.On(l.MoveTo(ids[rng.IntN(n)], rng.IntN(n)))); err != nil {
					b.Fatal(err)
				}
			}
			reportKeys(b, l)
		})
	}
}

// BenchmarkDeleteInsert deletes a random item and inserts one at a random position, so the
// list keeps its size.
func BenchmarkDeleteInsert(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			l, _ := bigList(b, n)
			rng := rand.New(rand.NewPCG(1, 2))
			v := aper.NewCounter(1)
			b.ReportAllocs()
			for b.Loop() {
				id, _, _ := l.At(rng.IntN(l.Len()))
				if err := l.Apply(aper.On(l.Delete(id))); err != nil {
					b.Fatal(err)
				}
				_, t := l.InsertAt(rng.IntN(l.Len()+1), v)
				if err := l.Apply(aper.On(t)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAll iterates over a list of 1,000,000 items, and over it again while changing it
// (an update of one item each loop, which makes the first change after the loop's start copy
// its path, as after a Clone).
func BenchmarkAll(b *testing.B) {
	l, ids := bigList(b, 1_000_000)
	b.Run("read", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			n := 0
			for range l.All() {
				n++
			}
			if n != l.Len() {
				b.Fatal(n)
			}
		}
	})
	b.Run("update-in-loop", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(1, 2))
		add := aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1}
		b.ReportAllocs()
		for b.Loop() {
			for range l.All() {
				if err := l.Apply(aper.On(l.Update(ids[rng.IntN(len(ids))], add))); err != nil {
					b.Fatal(err)
				}
				break
			}
		}
	})
}

// BenchmarkCloneInsert clones a list of n items and inserts one item into the clone: the cost
// stays flat as n grows, since Clone shares the trees and the insert copies one path.
func BenchmarkCloneInsert(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			l, _ := bigList(b, n)
			rng := rand.New(rand.NewPCG(1, 2))
			v := aper.NewCounter(1)
			b.ReportAllocs()
			for b.Loop() {
				c := l.Clone()
				_, t := c.InsertAt(rng.IntN(n+1), v)
				if err := c.Apply(aper.On(t)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkKeys makes 100,000 keys under each editing pattern of TestKeyLengths.
func BenchmarkKeys(b *testing.B) {
	lo, hi := list.MustParseZenoIndex("80"), list.MustParseZenoIndex("81")
	patterns := []struct {
		name  string
		start list.ZenoIndex
		next  func(list.ZenoIndex) list.ZenoIndex
	}{
		{"append", lo, func(p list.ZenoIndex) list.ZenoIndex { return p.After() }},
		{"prepend", lo, func(p list.ZenoIndex) list.ZenoIndex { return p.Before() }},
		{"forward", lo, func(p list.ZenoIndex) list.ZenoIndex { z, _ := list.Between(p, hi); return z }},
		{"backward", hi, func(p list.ZenoIndex) list.ZenoIndex { z, _ := list.Between(lo, p); return z }},
	}
	for _, p := range patterns {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			var longest int
			for b.Loop() {
				longest, _ = keyRun(b, 100_000, p.start, p.next)
			}
			b.ReportMetric(float64(longest), "max-key-bytes")
		})
	}
}

// BenchmarkReplicas replays on 50 replicas of a list of 2,000 strings what the replicas of a busy
// room apply: each transition on every replica in turn, each replica with its own copy (decoded,
// as a client's is), the transitions inserts at random places (two in three), moves and deletes
// of random items. It runs without clones, and with a Clone of each replica every 8 transitions
// (a client's view, which makes the next writes copy their paths). An op is one transition
// applied to one replica.
func BenchmarkReplicas(b *testing.B) {
	type (
		strs  = list.List[*aper.Atom[string], aper.AtomTransition[string]]
		trans = list.Transition[*aper.Atom[string], aper.AtomTransition[string]]
	)
	const replicas = 50
	gen := list.New[*aper.Atom[string], aper.AtomTransition[string]]()
	r := rand.New(rand.NewPCG(3, 4))
	next := func() trans {
		if gen.Len() > 0 && r.IntN(3) == 0 {
			id, _, _ := gen.At(r.IntN(gen.Len()))
			if r.IntN(2) == 0 {
				return gen.Delete(id)
			}
			return gen.MoveTo(id, r.IntN(gen.Len()))
		}
		_, t := gen.InsertAt(r.IntN(gen.Len()+1), aper.NewAtom(fmt.Sprint("item ", r.IntN(1000))))
		return t
	}
	for gen.Len() < 2000 {
		if err := gen.Apply(aper.On(next())); err != nil {
			b.Fatal(err)
		}
	}
	snap, err := aper.CBOR.Marshal(gen)
	if err != nil {
		b.Fatal(err)
	}
	var encoded [][]byte
	for range 1024 {
		t := next()
		if err := gen.Apply(aper.On(t)); err != nil {
			b.Fatal(err)
		}
		e, err := aper.CBOR.Marshal(t)
		if err != nil {
			b.Fatal(err)
		}
		encoded = append(encoded, e)
	}
	var starts [replicas]*strs
	var traces [replicas][]trans
	for k := range replicas {
		starts[k] = list.New[*aper.Atom[string], aper.AtomTransition[string]]()
		if err := aper.CBOR.Unmarshal(snap, starts[k]); err != nil {
			b.Fatal(err)
		}
		for _, e := range encoded {
			var t trans
			if err := aper.CBOR.Unmarshal(e, &t); err != nil {
				b.Fatal(err)
			}
			traces[k] = append(traces[k], t)
		}
	}
	for _, every := range []int{0, 8} {
		b.Run(fmt.Sprint("clone-every-", every), func(b *testing.B) {
			var ls, views [replicas]*strs
			b.ReportAllocs()
			i := 0
			cpu := cpuTime()
			for b.Loop() {
				k, j := i%replicas, i/replicas%len(encoded)
				if j == 0 {
					ls[k] = starts[k].Clone()
				}
				if every > 0 && j%every == 0 {
					views[k] = ls[k].Clone()
				}
				if err := ls[k].Apply(aper.On(traces[k][j])); err != nil {
					b.Fatal(err)
				}
				i++
			}
			if cpu := cpuTime() - cpu; cpu > 0 {
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
			}
		})
	}
}
