package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/cmd/aper/internal/rooms"
	"github.com/aper-go/aper/list"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/memory"
	"github.com/aper-go/aper/transport/quic"
	"github.com/aper-go/aper/transport/websocket"
)

// simConfig is what aper sim runs.
type simConfig struct {
	transport   string
	clients     int
	transitions int
	faults      float64
	seed        uint64
	room        rooms.Kind
	window      int
	timeout     time.Duration
}

// simResult is what aper sim measured.
type simResult struct {
	elapsed     time.Duration
	confirmed   int // transitions the server applied
	rejected    int
	reconnects  int64
	faults      int64
	p50, p99    time.Duration
	converged   int // replicas whose encoding equals the server's
	replicas    int
	exactlyOnce bool   // every transition was confirmed or rejected once, and the state agrees
	onceWhy     string // what exactlyOnce checked, or what failed
	serverSeq   uint64
}

func sim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sim", "[flags]", stderr)
	var cfg simConfig
	fs.StringVar(&cfg.transport, "transport", "memory", "memory, ws or quic (over loopback)")
	fs.IntVar(&cfg.clients, "clients", 10, "simulated clients")
	fs.IntVar(&cfg.transitions, "transitions", 5000, "transitions in all, shared among the clients")
	fs.Float64Var(&cfg.faults, "faults", 0, "probability per message that it disconnects its connection")
	fs.Uint64Var(&cfg.seed, "seed", 1, "seed of the clients' choices and of the faults")
	room := fs.String("room", "counter", "kind of room: counter, text or todo")
	fs.IntVar(&cfg.window, "window", 16, "transitions a client may have pending at once")
	fs.DurationVar(&cfg.timeout, "timeout", 5*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	k, err := rooms.KindOf(*room)
	switch {
	case err != nil:
		return fmt.Errorf("%w: -room: %v", errUsage, err)
	case cfg.clients < 1 || cfg.transitions < 0 || cfg.window < 1:
		return fmt.Errorf("%w: -clients and -window must be at least 1, -transitions at least 0", errUsage)
	case cfg.faults < 0 || cfg.faults >= 1:
		return fmt.Errorf("%w: -faults is a probability below 1", errUsage)
	}
	cfg.room = k
	fmt.Fprintf(stdout, "aper sim: %d clients, %d transitions, room %s over %s, faults %g per message, seed %d\n",
		cfg.clients, cfg.transitions, cfg.room, cfg.transport, cfg.faults, cfg.seed)
	progress := io.Discard
	if isTerminal(stdout) {
		progress = stdout
	}
	res, err := runSim(ctx, cfg, progress)
	if err != nil {
		return err
	}
	printSimResult(stdout, cfg, res)
	if res.converged != res.replicas || !res.exactlyOnce {
		return errSilentFailure
	}
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func printSimResult(w io.Writer, cfg simConfig, r simResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	secs := r.elapsed.Seconds()
	fmt.Fprintf(tw, "elapsed\t%v\n", r.elapsed.Round(time.Millisecond))
	fmt.Fprintf(tw, "throughput\t%.0f transitions/s confirmed\n", float64(r.confirmed)/secs)
	fmt.Fprintf(tw, "confirm latency\tp50 %v, p99 %v\n", r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond))
	fmt.Fprintf(tw, "confirmed\t%d (server at seq %d)\n", r.confirmed, r.serverSeq)
	fmt.Fprintf(tw, "rejections\t%d\n", r.rejected)
	fmt.Fprintf(tw, "faults injected\t%d\n", r.faults)
	fmt.Fprintf(tw, "reconnects\t%d\n", r.reconnects)
	conv := "yes"
	if r.converged != r.replicas {
		conv = "NO"
	}
	fmt.Fprintf(tw, "converged\t%s: %d of %d replicas equal the server's state (by encoding)\n", conv, r.converged, r.replicas)
	once := "yes: "
	if !r.exactlyOnce {
		once = "NO: "
	}
	fmt.Fprintf(tw, "exactly once\t%s%s\n", once, r.onceWhy)
	tw.Flush()
}

// faultDialer dials through next and wraps each connection so that each message it sends or
// receives disconnects it with probability p.
type faultDialer struct {
	next   transport.Dialer
	p      float64
	mu     sync.Mutex
	rng    *rand.Rand
	dials  atomic.Int64
	faults *atomic.Int64
}

func (d *faultDialer) Dial(ctx context.Context) (transport.Conn, error) {
	c, err := d.next.Dial(ctx)
	if err != nil {
		return nil, err
	}
	d.dials.Add(1)
	if d.p == 0 {
		return c, nil
	}
	return &faultConn{Conn: c, d: d}, nil
}

func (d *faultDialer) hit() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rng.Float64() < d.p
}

// faultConn is a connection that a fault may cut at any message.
type faultConn struct {
	transport.Conn
	d *faultDialer
}

// Codec passes the codec of the wrapped connection on (CBOR when it names none).
func (c *faultConn) Codec() string {
	if cc, ok := c.Conn.(transport.Codec); ok {
		return cc.Codec()
	}
	return "cbor"
}

var errFault = errors.New("aper sim: injected fault")

func (c *faultConn) fault() bool {
	if c.d.hit() {
		c.d.faults.Add(1)
		c.Conn.Close()
		return true
	}
	return false
}

func (c *faultConn) Send(ctx context.Context, b []byte) error {
	if c.fault() {
		return fmt.Errorf("send: %w", errFault)
	}
	return c.Conn.Send(ctx, b)
}

func (c *faultConn) Recv(ctx context.Context) ([]byte, error) {
	b, err := c.Conn.Recv(ctx)
	if err == nil && c.fault() {
		return nil, fmt.Errorf("recv: %w", errFault)
	}
	return b, err
}

// simServer starts a server over the named transport and returns a dialer factory and a stop
// function.
func simServer(cfg simConfig) (srv *apersync.Server[*rooms.Room, rooms.RoomTransition], dial func() transport.Dialer, stop func(), err error) {
	srv, err = apersync.NewServer(rooms.New, apersync.WithRoomIdle(-1))
	if err != nil {
		return nil, nil, nil, err
	}
	var l transport.Listener
	var cleanup func()
	switch cfg.transport {
	case "memory":
		network := memory.NewNetwork(nil)
		ml, err := network.Listen("server")
		if err != nil {
			return nil, nil, nil, err
		}
		l, dial, cleanup = ml, func() transport.Dialer { return network.Dialer("server") }, func() { network.Close() }
	case "ws":
		wl, err := websocket.Listen("127.0.0.1:0", nil)
		if err != nil {
			return nil, nil, nil, err
		}
		u := "ws://" + wl.Addr().String()
		l, dial, cleanup = wl, func() transport.Dialer { return websocket.Dialer(u, nil) }, func() {}
	case "quic":
		server, client, err := quic.SelfSigned()
		if err != nil {
			return nil, nil, nil, err
		}
		ql, err := quic.Listen("127.0.0.1:0", server, nil)
		if err != nil {
			return nil, nil, nil, err
		}
		a := ql.Addr().String()
		l, dial, cleanup = ql, func() transport.Dialer { return quic.Dialer(a, client, nil) }, func() {}
	default:
		return nil, nil, nil, fmt.Errorf("%w: -transport %q: want memory, ws or quic", errUsage, cfg.transport)
	}
	done := make(chan struct{})
	go func() { // owned by stop, which waits for it
		defer close(done)
		srv.Serve(context.Background(), l)
	}()
	stop = func() {
		srv.Close()
		<-done
		cleanup()
	}
	return srv, dial, stop, nil
}

// simClient is one simulated client and what it measured.
type simClient struct {
	c         *roomClient
	dialer    *faultDialer
	rng       *rand.Rand
	quota     int
	applied   int
	sentAt    []time.Time // apply times of the transitions not yet resolved, oldest first
	resolved  int
	latencies []time.Duration
	rejected  int
	// What the confirmed transitions add up to: applied minus rejected.
	added   int64 // counter rooms: the sum of the adds
	inserts int   // todo rooms: the items inserted; text rooms: the letters
	deletes int   // todo rooms: the items deleted; text rooms: the letters
}

// tally counts t, applied (sign 1) or rejected (sign -1), in what the confirmed ones add up to.
func (sc *simClient) tally(t rooms.RoomTransition, sign int) {
	switch {
	case t.Counter != nil:
		sc.added += int64(sign) * t.Counter.Amount
	case t.Todo != nil && t.Todo.Op == list.OpInsert:
		sc.inserts += sign
	case t.Todo != nil && t.Todo.Op == list.OpDelete:
		sc.deletes += sign
	case t.Text != nil:
		if d := t.Text.Op.OutLen() - t.Text.Op.InLen(); d > 0 {
			sc.inserts += sign * d
		} else {
			sc.deletes -= sign * d
		}
	}
}

func runSim(ctx context.Context, cfg simConfig, progress io.Writer) (simResult, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	srv, dial, stop, err := simServer(cfg)
	if err != nil {
		return simResult{}, err
	}
	defer stop()
	const room = "sim"
	name := string(cfg.room) + "/" + room

	var faults atomic.Int64
	clients := make([]*simClient, cfg.clients)
	for i := range clients {
		d := &faultDialer{next: dial(), p: cfg.faults, rng: rand.New(rand.NewPCG(cfg.seed, uint64(2*i+1))), faults: &faults}
		sc := &simClient{dialer: d, rng: rand.New(rand.NewPCG(cfg.seed, uint64(2*i+2))), quota: cfg.transitions / cfg.clients}
		if i < cfg.transitions%cfg.clients {
			sc.quota++
		}
		for attempt := 0; ; attempt++ { // the first dial may meet a fault too
			sc.c, err = apersync.Dial[*rooms.Room, rooms.RoomTransition](ctx, d, name,
				apersync.WithBackoff(2*time.Millisecond, 100*time.Millisecond), apersync.WithHandshakeTimeout(5*time.Second))
			if err == nil || ctx.Err() != nil || attempt > 100 {
				break
			}
		}
		if err != nil {
			for _, c := range clients[:i] {
				c.c.Close()
			}
			return simResult{}, fmt.Errorf("sim: client %d: %w", i, err)
		}
		clients[i] = sc
	}
	defer func() {
		for _, c := range clients {
			c.c.Close()
		}
	}()

	var total atomic.Int64 // transitions resolved (confirmed or rejected), for the progress bar
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(clients))
	for i, sc := range clients {
		wg.Go(func() { errs[i] = sc.run(ctx, cfg, &total) })
	}
	stopBar := make(chan struct{})
	barDone := make(chan struct{})
	go func() { // owned here: stopped and waited for below
		defer close(barDone)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stopBar:
				drawBar(progress, int(total.Load()), cfg.transitions, faults.Load())
				fmt.Fprint(progress, "\n")
				return
			case <-t.C:
				drawBar(progress, int(total.Load()), cfg.transitions, faults.Load())
			}
		}
	}()
	wg.Wait()
	close(stopBar)
	<-barDone
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return simResult{}, err
	}

	// Quiescence: every client catches up with the server's last seq; then compare encodings.
	state, seq, err := srv.Snapshot(ctx, name)
	if err != nil {
		return simResult{}, fmt.Errorf("sim: snapshot: %w", err)
	}
	want, err := aper.CBOR.Marshal(state)
	if err != nil {
		return simResult{}, fmt.Errorf("sim: encode: %w", err)
	}
	res := simResult{elapsed: elapsed, replicas: len(clients), serverSeq: seq}
	var lat []time.Duration
	var added int64
	var inserts, deletes int
	for _, sc := range clients {
		for sc.c.Seq() < seq {
			select {
			case <-sc.c.Changes():
			case <-ctx.Done():
				return simResult{}, fmt.Errorf("sim: waiting for replicas to catch up: %w", context.Cause(ctx))
			}
		}
		got, err := aper.CBOR.Marshal(sc.c.State())
		if err == nil && bytes.Equal(got, want) && sc.c.Pending() == 0 {
			res.converged++
		}
		res.rejected += sc.rejected
		res.reconnects += sc.dialer.dials.Load() - 1
		lat = append(lat, sc.latencies...)
		added += sc.added
		inserts += sc.inserts
		deletes += sc.deletes
	}
	res.confirmed = int(seq)
	res.faults = faults.Load()
	res.exactlyOnce, res.onceWhy = exactlyOnce(cfg, state, seq, res.rejected, added, inserts, deletes)
	slices.Sort(lat)
	if len(lat) > 0 {
		res.p50 = lat[len(lat)/2]
		res.p99 = lat[min(len(lat)-1, len(lat)*99/100)]
	}
	return res, nil
}

// exactlyOnce checks that every transition the clients applied was confirmed once or rejected
// once: the server's seq (one per confirmed transition) plus the rejections make up the
// transitions applied, none lost and none doubled; and the state is what the confirmed
// transitions add up to: the counter the sum of the confirmed adds, the todo list's length the
// confirmed inserts less the confirmed deletes (a concurrent delete of a deleted item is
// rejected, so each confirmed one removed an item). A text's length is not so exact (two
// concurrent deletes of one letter both succeed and remove it once), so for text the count is
// the check, with the length between the confirmed inserts less deletes and the inserts.
func exactlyOnce(cfg simConfig, state *rooms.Room, seq uint64, rejected int, added int64, inserts, deletes int) (bool, string) {
	counted := fmt.Sprintf("%d confirmed + %d rejected = %d applied", seq, rejected, cfg.transitions)
	if int(seq)+rejected != cfg.transitions {
		return false, fmt.Sprintf("%d confirmed + %d rejected, but %d applied", seq, rejected, cfg.transitions)
	}
	if state == nil || (cfg.room == rooms.Counter && state.Counter == nil) || (cfg.room == rooms.TodoKind && state.Todo == nil) || (cfg.room == rooms.Text && state.Text == nil) {
		return false, fmt.Sprintf("%s, but the server's room holds no %s", counted, cfg.room)
	}
	switch cfg.room {
	case rooms.Counter:
		if state.Counter.Value() != added {
			return false, fmt.Sprintf("%s, but the counter is %v, not the sum of the confirmed adds, %d", counted, state.Counter.Value(), added)
		}
		return true, counted + "; the counter is the sum of the confirmed adds"
	case rooms.TodoKind:
		if n := state.Todo.Len(); n != inserts-deletes {
			return false, fmt.Sprintf("%s, but the list holds %d items, not %d inserted - %d deleted", counted, n, inserts, deletes)
		}
		return true, fmt.Sprintf("%s; the list holds the %d confirmed inserts - %d deletes", counted, inserts, deletes)
	case rooms.Text:
		if n := state.Text.Len(); n > inserts || n < inserts-deletes {
			return false, fmt.Sprintf("%s, but the text has %d letters, not between %d inserted - %d deleted and %[3]d", counted, n, inserts, deletes)
		}
		return true, fmt.Sprintf("%s; the text's %d letters lie in [%d inserted - %d deleted, %[3]d]", counted, state.Text.Len(), inserts, deletes)
	}
	return true, counted
}

func drawBar(w io.Writer, done, total int, faults int64) {
	if w == io.Discard {
		return
	}
	const width = 40
	frac := 1.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	n := int(frac * width)
	fmt.Fprintf(w, "\r[%-*s] %3.0f%%  %d/%d resolved, %d faults", width, bytes.Repeat([]byte("#"), n), 100*frac, done, total, faults)
}

// run applies the client's quota with at most cfg.window pending, recording how long each took
// to be resolved by the server, then waits until none is pending.
func (sc *simClient) run(ctx context.Context, cfg simConfig, total *atomic.Int64) error {
	c := sc.c
	for sc.applied < sc.quota || sc.resolved < sc.applied {
		sc.collect(total)
		if sc.applied < sc.quota && sc.applied-sc.resolved < cfg.window {
			t, ok := sc.next(cfg.room, c.State())
			if !ok {
				continue
			}
			if err := c.Apply(t); err != nil {
				continue // conflicts with the optimistic view: not sent, choose again
			}
			sc.applied++
			sc.tally(t, 1)
			sc.sentAt = append(sc.sentAt, time.Now())
			continue
		}
		select {
		case <-c.Changes():
		case r, ok := <-c.Rejections():
			if ok {
				sc.rejected++
				sc.tally(r.Transition, -1)
			}
		case <-c.Done():
			return fmt.Errorf("sim: client stopped: %w", c.Status().Err)
		case <-ctx.Done():
			return fmt.Errorf("sim: %d of %d transitions resolved: %w", sc.resolved, sc.applied, context.Cause(ctx))
		case <-time.After(50 * time.Millisecond): // Pending can fall without a Changes signal (a rejection)
		}
	}
	// Drain the rejections that are still queued.
	for {
		select {
		case r := <-c.Rejections():
			sc.rejected++
			sc.tally(r.Transition, -1)
		default:
			return nil
		}
	}
}

// collect records the transitions the server resolved since the last call: the oldest pending
// ones, since a client's transitions are resolved in order.
func (sc *simClient) collect(total *atomic.Int64) {
	resolved := sc.applied - sc.c.Pending()
	now := time.Now()
	for sc.resolved < resolved {
		sc.latencies = append(sc.latencies, now.Sub(sc.sentAt[0]))
		sc.sentAt = sc.sentAt[1:]
		sc.resolved++
		total.Add(1)
	}
}

// next chooses a transition for a room of kind k in state s.
func (sc *simClient) next(k rooms.Kind, s *rooms.Room) (t rooms.RoomTransition, ok bool) {
	switch k {
	case rooms.Counter:
		n := int64(sc.rng.IntN(9) + 1)
		return s.UpdateCounter(s.Counter.Add(n)), true
	case rooms.Text:
		tx := s.Text
		if tx.Len() > 0 && sc.rng.IntN(3) == 0 {
			p := sc.rng.IntN(tx.Len())
			return s.UpdateText(tx.Delete(p, 1)), true
		}
		return s.UpdateText(tx.Insert(sc.rng.IntN(tx.Len()+1), string(rune('a'+sc.rng.IntN(26))))), true
	case rooms.TodoKind:
		l := s.Todo
		if l.Len() > 0 && sc.rng.IntN(3) == 0 {
			id, _, _ := l.At(sc.rng.IntN(l.Len()))
			if sc.rng.IntN(2) == 0 {
				return s.UpdateTodo(l.Delete(id)), true
			}
			return s.UpdateTodo(l.MoveTo(id, sc.rng.IntN(l.Len()))), true
		}
		_, tr := l.InsertAt(sc.rng.IntN(l.Len()+1), aper.NewAtom(fmt.Sprintf("item %d", sc.rng.IntN(1000))))
		return s.UpdateTodo(tr), true
	}
	return rooms.RoomTransition{}, false
}
