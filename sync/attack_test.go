package sync

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	stdsync "sync"
	"testing"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/journal"
	"github.com/aper-go/aper/transport/memory"
)

type (
	todoMap = aper.Map[string, *aper.Counter, aper.CounterTransition]
	todoT   = aper.MapTransition[string, *aper.Counter, aper.CounterTransition]
)

// maxAttackHeap bounds how much the live heap and the goroutine stacks may grow while
// TestRoomSpam's attackers try to load thousands of rooms with one transition each.
const maxAttackHeap = 32 << 20

// One anonymous client tries to make thousands of rooms, one transition each, as fast as it
// can: half of them with one key from ever new addresses, half with a new key for each room
// from one address. The server, with the defaults aper serve uses (a journal on disk), loads
// only what the new-room budgets allow, its live heap stays under maxAttackHeap, and honest
// clients of another room keep converging. Their confirm latency before and during the attack
// is logged, not asserted.
func TestRoomSpam(t *testing.T) {
	j, err := journal.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	n := memory.NewNetwork(nil)
	defer n.Close()
	l, err := n.Listen("server")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(func(ctx context.Context, room string) (*todoMap, error) {
		return aper.NewMap[string, *aper.Counter, aper.CounterTransition](), nil
	}, WithJournal(j))
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(context.Background(), l) }()
	defer func() {
		srv.Close()
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Honest clients in their own room, measuring how long a transition takes to be confirmed.
	const honest = 3
	var clients []*Client[*todoMap, todoT]
	for range honest {
		c, err := Dial[*todoMap, todoT](ctx, n.Dialer("server"), "todo/honest", WithBackoff(time.Millisecond, 50*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		clients = append(clients, c)
	}
	var m *todoMap
	roundTrips := func(c *Client[*todoMap, todoT], key string, stop <-chan struct{}, min int) ([]time.Duration, error) {
		var lat []time.Duration
		for i := 0; ; i++ {
			if i >= min {
				select {
				case <-stop:
					return lat, nil
				default:
				}
			}
			t0 := time.Now()
			var tr todoT
			if i == 0 {
				tr = m.Set(key, aper.NewCounter(0))
			} else {
				tr = m.Update(key, aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1})
			}
			if err := c.Apply(tr); err != nil {
				return lat, err
			}
			if err := c.Sync(ctx); err != nil {
				return lat, err
			}
			lat = append(lat, time.Since(t0))
		}
	}
	measure := func(stop <-chan struct{}, min int, phase string) [][]time.Duration {
		lats := make([][]time.Duration, honest)
		errs := make([]error, honest)
		var wg stdsync.WaitGroup
		for i, c := range clients {
			wg.Go(func() { lats[i], errs[i] = roundTrips(c, fmt.Sprintf("%s-%d", phase, i), stop, min) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("honest clients, %s: %v", phase, err)
		}
		return lats
	}
	closed := make(chan struct{})
	close(closed)
	before := measure(closed, 50, "before")
	heap0, stack0 := liveMem()

	// The attack, on attackers goroutines, while the honest clients go on.
	attackRooms := 3000
	if raceEnabled {
		attackRooms = 1200
	}
	const attackers = 4
	var (
		mu       stdsync.Mutex
		loaded   int
		refused  = map[string]int{}
		peakHeap uint64
	)
	attack := func(w int) error {
		for i := w; i < attackRooms; i += attackers {
			room := fmt.Sprintf("todo/spam-%d", i)
			from, key := fmt.Sprintf("bot-%d", i), "the-one-key-of-the-attacker"
			if i%2 == 1 {
				from, key = "attacker", fmt.Sprintf("a-new-key-for-room-%08d", i)
			}
			p, err := rawJoin(ctx, n.DialerWith("server", &memory.DialOptions{From: from}), room, key)
			var se *ServerError
			if errors.As(err, &se) {
				mu.Lock()
				refused[se.Code]++
				mu.Unlock()
				continue
			}
			if err != nil {
				return err
			}
			err = submitRaw(ctx, p, 1, m.Set("x", aper.NewCounter(1)))
			p.conn.Close()
			if err != nil {
				return fmt.Errorf("room %s: %w", room, err)
			}
			mu.Lock()
			loaded++
			if loaded%100 == 0 {
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				peakHeap = max(peakHeap, ms.HeapAlloc)
			}
			mu.Unlock()
		}
		return nil
	}
	stop := make(chan struct{})
	var (
		wg     stdsync.WaitGroup
		errs   [attackers]error
		during [][]time.Duration
	)
	wg.Go(func() { during = measure(stop, 1, "during") })
	var attackWG stdsync.WaitGroup
	for w := range attackers {
		attackWG.Go(func() { errs[w] = attack(w) })
	}
	attackWG.Wait()
	close(stop)
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		t.Fatal(err)
	}
	heap1, stack1 := liveMem()
	srv.mu.Lock()
	roomsLoaded := len(srv.rooms)
	srv.mu.Unlock()

	// The honest clients converge on the server's state.
	state, seq, err := srv.Snapshot(ctx, "todo/honest")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range clients {
		if err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		waitClientSeq(t, ctx, c, seq)
		a, _ := aper.CBOR.Marshal(c.State())
		b, _ := aper.CBOR.Marshal(state)
		if string(a) != string(b) {
			t.Fatalf("an honest client holds %s, the server %s", a, b)
		}
	}

	grew := heap1 - heap0 + stack1 - stack0
	t.Logf("attack: %d rooms tried, %d loaded, refused %v; %d rooms loaded at the end", attackRooms, loaded, refused, roomsLoaded)
	t.Logf("live heap %.1f MiB -> %.1f MiB, stacks %.1f -> %.1f MiB (+%.1f MiB in all, bound %d MiB); heap sampled during the attack peaked at %.1f MiB",
		mib(heap0), mib(heap1), mib(stack0), mib(stack1), mib(grew), maxAttackHeap>>20, mib(int64(peakHeap)))
	t.Logf("honest confirm latency before the attack: %s; during it: %s", latencies(before), latencies(during))
	if grew > maxAttackHeap {
		t.Errorf("the attack grew the live heap and stacks by %.1f MiB, want at most %d MiB", mib(grew), maxAttackHeap>>20)
	}
	if refused[codeNewRooms] == 0 {
		t.Errorf("no join was refused for the new-room budgets: %v", refused)
	}
}

// waitClientSeq waits until c has confirmed seq.
func waitClientSeq[S aper.StateMachine[S, T], T any](t *testing.T, ctx context.Context, c *Client[S, T], seq uint64) {
	t.Helper()
	for c.Seq() < seq {
		select {
		case <-c.Changes():
		case <-ctx.Done():
			t.Fatalf("a client is stuck at Seq %d, want %d", c.Seq(), seq)
		}
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// latencies summarizes round trips: how many, median, 99th percentile and maximum.
func latencies(per [][]time.Duration) string {
	var all []time.Duration
	for _, l := range per {
		all = append(all, l...)
	}
	if len(all) == 0 {
		return "none"
	}
	slices.Sort(all)
	q := func(p float64) time.Duration { return all[min(len(all)-1, int(p*float64(len(all))))] }
	return fmt.Sprintf("%d round trips, p50 %v, p99 %v, max %v", len(all), q(0.5), q(0.99), all[len(all)-1])
}
