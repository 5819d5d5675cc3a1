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
	exactlyOnce bool // counter rooms: the server's value is the sum of every confirmed add
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
	if res.converged != res.replicas || (cfg.room == rooms.Counter && !res.exactlyOnce) {
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
	if cfg.room == rooms.Counter {
		once := "yes: the counter is the sum of every confirmed add"
		if !r.exactlyOnce {
			once = "NO: the counter is not the sum of the confirmed adds"
		}
		fmt.Fprintf(tw, "exactly once\t%s\n", once)
	}
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
	added     int64 // counter rooms: the sum of the adds applied
	rejected  int
	rejAdds   int64 // the sum of the adds rejected
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
	var sum int64
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
		sum += sc.added - sc.rejAdds
	}
	res.confirmed = int(seq)
	res.faults = faults.Load()
	if cfg.room == rooms.Counter {
		res.exactlyOnce = state.Counter != nil && state.Counter.Value() == sum && int(seq)+res.rejected == cfg.transitions
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		res.p50 = lat[len(lat)/2]
		res.p99 = lat[min(len(lat)-1, len(lat)*99/100)]
	}
	return res, nil
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
			t, add, ok := sc.next(cfg.room, c.State())
			if !ok {
				continue
			}
			if err := c.Apply(t); err != nil {
				continue // conflicts with the optimistic view: not sent, choose again
			}
			sc.applied++
			sc.added += add
			sc.sentAt = append(sc.sentAt, time.Now())
			continue
		}
		select {
		case <-c.Changes():
		case r, ok := <-c.Rejections():
			if ok {
				sc.rejected++
				if r.Transition.Counter != nil {
					sc.rejAdds += r.Transition.Counter.Amount
				}
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
			if r.Transition.Counter != nil {
				sc.rejAdds += r.Transition.Counter.Amount
			}
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

// next chooses a transition for a room of kind k in state s; add is the amount of a counter add.
func (sc *simClient) next(k rooms.Kind, s *rooms.Room) (t rooms.RoomTransition, add int64, ok bool) {
	switch k {
	case rooms.Counter:
		n := int64(sc.rng.IntN(9) + 1)
		return s.UpdateCounter(s.Counter.Add(n)), n, true
	case rooms.Text:
		tx := s.Text
		if tx.Len() > 0 && sc.rng.IntN(3) == 0 {
			p := sc.rng.IntN(tx.Len())
			return s.UpdateText(tx.Delete(p, 1)), 0, true
		}
		return s.UpdateText(tx.Insert(sc.rng.IntN(tx.Len()+1), string(rune('a'+sc.rng.IntN(26))))), 0, true
	case rooms.TodoKind:
		l := s.Todo
		if l.Len() > 0 && sc.rng.IntN(3) == 0 {
			id, _, _ := l.At(sc.rng.IntN(l.Len()))
			if sc.rng.IntN(2) == 0 {
				return s.UpdateTodo(l.Delete(id)), 0, true
			}
			return s.UpdateTodo(l.MoveTo(id, sc.rng.IntN(l.Len()))), 0, true
		}
		_, tr := l.InsertAt(sc.rng.IntN(l.Len()+1), aper.NewAtom(fmt.Sprintf("item %d", sc.rng.IntN(1000))))
		return s.UpdateTodo(tr), 0, true
	}
	return rooms.RoomTransition{}, 0, false
}
