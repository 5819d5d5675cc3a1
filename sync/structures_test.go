package sync_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	stdsync "sync"
	"testing"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/list"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/text"
	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/memory"
	"github.com/aper-go/aper/transport/websocket"
	"github.com/aper-go/aper/tree"
	"github.com/google/uuid"
)

// structureScenario: five clients edit a state of the library's structures concurrently over
// the given transport (op makes a transition from a client's own view), then quiescence: every
// client equal to the server, compared by encoding.
func structureScenario[S aper.StateMachine[S, T], T any](t *testing.T, initial func() S, op func(rng *rand.Rand, view S) (T, bool), overWS bool) {
	const clients, ops = 5, 60
	srv, err := apersync.NewServer(func(ctx context.Context, room string) (S, error) { return initial(), nil })
	if err != nil {
		t.Fatal(err)
	}
	var dialer func(i int) transport.Dialer
	var l transport.Listener
	if overWS {
		wl, err := websocket.Listen("127.0.0.1:0", nil)
		if err != nil {
			t.Fatal(err)
		}
		l = wl
		dialer = func(i int) transport.Dialer {
			codec := "cbor"
			if i%2 == 0 {
				codec = "json"
			}
			return websocket.Dialer("ws://"+wl.Addr().String(), &websocket.DialOptions{Codec: codec})
		}
	} else {
		n := memory.NewNetwork(&memory.Options{Latency: time.Millisecond, Jitter: time.Millisecond, Seed: 3})
		t.Cleanup(func() { n.Close() })
		ml, err := n.Listen("server")
		if err != nil {
			t.Fatal(err)
		}
		l = ml
		dialer = func(int) transport.Dialer { return n.Dialer("server") }
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), l) }()
	t.Cleanup(func() { srv.Close(); <-done })

	var cs []*apersync.Client[S, T]
	for i := range clients {
		c, err := apersync.Dial[S, T](ctxT(t), dialer(i), "s", apersync.WithBackoff(time.Millisecond, 20*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		cs = append(cs, c)
	}
	var wg stdsync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 11))
			for range ops {
				if tr, ok := op(rng, c.State()); ok {
					c.Apply(tr) // a local conflict changes nothing
				}
			}
		}()
	}
	wg.Wait()
	for _, c := range cs {
		if err := c.Sync(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	state, seq, err := srv.Snapshot(ctxT(t), "s")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		timer := time.NewTimer(waitLimit)
		for c.Seq() < seq {
			select {
			case <-c.Changes():
			case <-timer.C:
				t.Fatalf("client stuck at %d, want %d", c.Seq(), seq)
			}
		}
		timer.Stop()
		apertest.Equal(t, c.State(), state)
	}
	t.Logf("%d transitions confirmed", seq)
}

type (
	clist = list.List[*aper.Counter, aper.CounterTransition]
	clt   = list.Transition[*aper.Counter, aper.CounterTransition]
	ctree = tree.Tree[*aper.Counter, aper.CounterTransition]
	ctt   = tree.Transition[*aper.Counter, aper.CounterTransition]
)

func listOp(rng *rand.Rand, v *clist) (clt, bool) {
	n := v.Len()
	switch r := rng.IntN(10); {
	case n == 0 || r < 4:
		_, tr := v.InsertAt(rng.IntN(n+1), aper.NewCounter(int64(rng.IntN(9))))
		return tr, true
	case r < 6:
		id, _, _ := v.At(rng.IntN(n))
		return v.Delete(id), true
	default:
		id, _, _ := v.At(rng.IntN(n))
		return v.Update(id, add(1)), true
	}
}

func textOp(rng *rand.Rand, v *text.Text) (text.Edit, bool) {
	n := v.Len()
	if n > 0 && rng.IntN(3) == 0 {
		pos := rng.IntN(n)
		return v.Delete(pos, min(1+rng.IntN(3), n-pos)), true
	}
	return v.Insert(rng.IntN(n+1), fmt.Sprint(rng.IntN(100))), true
}

func treeOp(rng *rand.Rand, v *ctree) (ctt, bool) {
	var ids []uuid.UUID
	for id := range v.All() {
		ids = append(ids, id)
	}
	if len(ids) < 3 || rng.IntN(3) == 0 {
		parent := tree.Root
		if len(ids) > 0 && rng.IntN(2) == 0 {
			parent = ids[rng.IntN(len(ids))]
		}
		_, tr := v.Insert(parent, list.End(), aper.NewCounter(1))
		return tr, true
	}
	id, to := ids[rng.IntN(len(ids))], ids[rng.IntN(len(ids))]
	return v.Move(id, to, list.End()), true // a cycle is a conflict, locally or on the server
}

func TestScenarioList(t *testing.T) {
	for _, ws := range []bool{false, true} {
		t.Run(fmt.Sprint("websocket=", ws), func(t *testing.T) {
			structureScenario(t, list.New[*aper.Counter, aper.CounterTransition], listOp, ws)
		})
	}
}

func TestScenarioText(t *testing.T) {
	for _, ws := range []bool{false, true} {
		t.Run(fmt.Sprint("websocket=", ws), func(t *testing.T) {
			structureScenario(t, func() *text.Text { return text.New("") }, textOp, ws)
		})
	}
}

func TestScenarioTree(t *testing.T) {
	for _, ws := range []bool{false, true} {
		t.Run(fmt.Sprint("websocket=", ws), func(t *testing.T) {
			structureScenario(t, tree.New[*aper.Counter, aper.CounterTransition], treeOp, ws)
		})
	}
}
