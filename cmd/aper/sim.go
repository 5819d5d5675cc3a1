package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/cmd/aper/internal/rooms"
	"github.com/aper-go/aper/list"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport"
)

// simConfig is what aper sim runs.
type simConfig struct {
	transport   string
	codec       string // ws: cbor or json
	server      string // a running server's URL; empty starts one
	cert        string // quic: the running server's certificate
	insecure    bool   // quic: do not verify the running server's certificate
	kill        int    // SIGKILLs of a child aper serve during the run
	data        string // the child server's data folder; empty: a temporary one
	name        string // the room's name after its kind
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
	confirmed   int // transitions the server applied during the run
	rejected    int
	reasons     map[string]int // rejections by conflict kind or error
	unknown     int            // transitions whose outcome the server could not tell
	reconnects  int64
	faults      int64
	kills       int
	restart     time.Duration // the longest from a SIGKILL to the restarted server's ready line
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
	fs.StringVar(&cfg.transport, "transport", "memory", "memory, ws or quic (over loopback); with -server, the URL's")
	fs.StringVar(&cfg.codec, "codec", "cbor", "ws: the codec, cbor or json")
	fs.StringVar(&cfg.server, "server", "", "drive the running server at this URL (ws://HOST:PORT/aper or quic://HOST:PORT) instead of one in this process")
	fs.StringVar(&cfg.cert, "cert", filepath.Join("aper-data", certFileName), "with -server quic://...: the server's certificate")
	fs.BoolVar(&cfg.insecure, "insecure", false, "with -server quic://...: do not verify the server's certificate")
	fs.IntVar(&cfg.kill, "kill", 0, "run aper serve as a child process (-transport ws or quic) and SIGKILL and restart it this many times during the run")
	fs.StringVar(&cfg.data, "data", "", "with -kill: the child server's data folder (default: a temporary one, removed at the end)")
	fs.StringVar(&cfg.name, "name", "", `the room's name after "KIND/" (default "sim" in this process, "sim-" and the start time against a server)`)
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
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("%w: aper sim takes no arguments", errUsage)
	}
	transportSet := false
	fs.Visit(func(f *flag.Flag) { transportSet = transportSet || f.Name == "transport" })
	k := rooms.Kind(*room)
	switch {
	case k != rooms.Counter && k != rooms.Text && k != rooms.TodoKind:
		return fmt.Errorf("%w: -room %q: aper sim simulates counter, text and todo rooms (a kind, not a room's name; -name names the room)", errUsage, *room)
	case cfg.clients < 1 || cfg.transitions < 0 || cfg.window < 1 || cfg.kill < 0:
		return fmt.Errorf("%w: -clients and -window must be at least 1, -transitions and -kill at least 0", errUsage)
	case cfg.faults < 0 || cfg.faults >= 1:
		return fmt.Errorf("%w: -faults is a probability below 1", errUsage)
	case cfg.codec != "cbor" && cfg.codec != "json":
		return fmt.Errorf("%w: -codec %q: want cbor or json", errUsage, cfg.codec)
	case cfg.server != "" && cfg.kill > 0:
		return fmt.Errorf("%w: -kill starts a server of its own; it does not go with -server", errUsage)
	case cfg.kill > 0 && cfg.transport != "ws" && cfg.transport != "quic":
		return fmt.Errorf("%w: -kill needs -transport ws or quic", errUsage)
	case cfg.data != "" && cfg.kill == 0:
		return fmt.Errorf("%w: -data is the folder of the server that -kill starts", errUsage)
	}
	if cfg.server != "" {
		tr, _, err := parseServerURL(cfg.server)
		if err != nil {
			return err
		}
		if transportSet && tr != cfg.transport {
			return fmt.Errorf("%w: -transport %s, but -server %s is %s", errUsage, cfg.transport, cfg.server, tr)
		}
		cfg.transport = tr
	}
	if cfg.name == "" {
		cfg.name = "sim"
		if cfg.server != "" || cfg.kill > 0 {
			// A running server keeps its rooms: a fresh name keeps runs apart.
			cfg.name = "sim-" + time.Now().UTC().Format("20060102T150405.000000")
		}
	}
	cfg.room = k
	where := "a server in this process"
	switch {
	case cfg.server != "":
		where = cfg.server
	case cfg.kill > 0:
		where = fmt.Sprintf("a child aper serve killed %d times", cfg.kill)
	}
	fmt.Fprintf(stdout, "aper sim: %d clients, %d transitions, room %s/%s over %s (%s), faults %g per message, seed %d\n",
		cfg.clients, cfg.transitions, cfg.room, cfg.name, cfg.transport, where, cfg.faults, cfg.seed)
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

// reasons formats rejection counts by reason, most first: " (stale base 3, not found 1)".
func reasons(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(a, b)
	})
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", k, m[k])
	}
	return " (" + b.String() + ")"
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
	fmt.Fprintf(tw, "confirmed\t%d (room at seq %d)\n", r.confirmed, r.serverSeq)
	fmt.Fprintf(tw, "rejections\t%d%s\n", r.rejected, reasons(r.reasons))
	if r.unknown > 0 {
		fmt.Fprintf(tw, "outcome unknown\t%d\n", r.unknown)
	}
	fmt.Fprintf(tw, "faults injected\t%d\n", r.faults)
	fmt.Fprintf(tw, "reconnects\t%d\n", r.reconnects)
	if cfg.kill > 0 {
		fmt.Fprintf(tw, "server kills\t%d of %d (SIGKILL to ready again: at most %v)\n", r.kills, cfg.kill, r.restart.Round(time.Millisecond))
	}
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
	reasons   map[string]int // rejections by conflict kind or error
	unknown   int            // rejections whose outcome the server could not tell
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

// newTarget starts or reaches the server that cfg names.
func newTarget(ctx context.Context, cfg simConfig) (simTarget, *childServer, func(), error) {
	switch {
	case cfg.server != "":
		r, err := newRemote(cfg.server, cfg)
		return r, nil, func() {}, err
	case cfg.kill > 0:
		bin, err := os.Executable()
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%w: %w", errKill, err)
		}
		data, cleanup := cfg.data, func() {}
		if data == "" {
			if data, err = os.MkdirTemp("", "aper-sim-"); err != nil {
				return nil, nil, nil, fmt.Errorf("%w: %w", errKill, err)
			}
			cleanup = func() { os.RemoveAll(data) }
		}
		child, err := startChild(ctx, bin, data)
		if err != nil {
			cleanup()
			return nil, nil, nil, err
		}
		c := cfg
		c.cert = child.cert
		r, err := newRemote(child.serverURL(cfg.transport), c)
		if err != nil {
			child.close()
			cleanup()
			return nil, nil, nil, err
		}
		return r, child, func() { child.close(); cleanup() }, nil
	}
	p, err := newInProcess(cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	return p, nil, func() { p.close() }, nil
}

func runSim(ctx context.Context, cfg simConfig, progress io.Writer) (simResult, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	target, child, stop, err := newTarget(ctx, cfg)
	if err != nil {
		return simResult{}, err
	}
	defer stop()
	name := string(cfg.room) + "/" + cfg.name
	opts := []apersync.ClientOption{apersync.WithBackoff(2*time.Millisecond, 100*time.Millisecond), apersync.WithHandshakeTimeout(5 * time.Second)}
	if child != nil {
		// A killed server says nothing: a connection to it is found dead by the client's pings.
		opts = append(opts, apersync.WithPingInterval(300*time.Millisecond))
	}

	// What the room holds before the run: a room of a server in another process need not be
	// new (its data folder may be reused, or the name given).
	before, seq0 := rooms.Empty(cfg.room), uint64(0)
	if _, ok := target.(*remote); ok {
		if before, seq0, err = target.state(ctx, name); err != nil {
			return simResult{}, fmt.Errorf("sim: join %s: %w", name, err)
		}
	}

	var faults atomic.Int64
	clients := make([]*simClient, cfg.clients)
	for i := range clients {
		d := &faultDialer{next: target.dialer(), p: cfg.faults, rng: rand.New(rand.NewPCG(cfg.seed, uint64(2*i+1))), faults: &faults}
		sc := &simClient{dialer: d, rng: rand.New(rand.NewPCG(cfg.seed, uint64(2*i+2))), quota: cfg.transitions / cfg.clients}
		if i < cfg.transitions%cfg.clients {
			sc.quota++
		}
		for attempt := 0; ; attempt++ { // the first dial may meet a fault too
			sc.c, err = apersync.Dial[*rooms.Room, rooms.RoomTransition](ctx, d, name, opts...)
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
	errs := make([]error, len(clients)+1)
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
	killDone := make(chan struct{})
	if child != nil {
		kctx, kcancel := context.WithCancel(ctx)
		go func() { // owned here: stopped by stopBar and waited for below
			defer close(killDone)
			if err := child.killer(kctx, cfg.kill, cfg.transitions, &total, stopBar); err != nil {
				errs[len(clients)] = err
				cancel() // the clients cannot finish without a server
			}
			kcancel()
		}()
	} else {
		close(killDone)
	}
	wg.Wait()
	close(stopBar)
	<-barDone
	<-killDone
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return simResult{}, err
	}

	// Quiescence: every client catches up with the server's last seq; then compare encodings.
	state, seq, err := target.state(ctx, name)
	if err != nil {
		return simResult{}, fmt.Errorf("sim: the server's state: %w", err)
	}
	want, err := aper.CBOR.Marshal(state)
	if err != nil {
		return simResult{}, fmt.Errorf("sim: encode: %w", err)
	}
	res := simResult{elapsed: elapsed, replicas: len(clients), serverSeq: seq}
	if child != nil {
		res.kills = child.kills
		for _, d := range child.restarts {
			res.restart = max(res.restart, d)
		}
	}
	// Every transition not confirmed was rejected: wait for the rejections still on their way
	// (see awaitRejections). One that never comes is a transition lost, which the check reports.
	outcomes := 0
	chans := make([]<-chan apersync.Rejection[rooms.RoomTransition], len(clients))
	for i, sc := range clients {
		outcomes += sc.rejected + sc.unknown
		chans[i] = sc.c.Rejections()
	}
	awaitRejections(ctx, chans, cfg.transitions-int(seq-seq0)-outcomes, lateGrace, func(i int, r apersync.Rejection[rooms.RoomTransition]) {
		clients[i].reject(r)
	})
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
		res.unknown += sc.unknown
		for why, n := range sc.reasons {
			if res.reasons == nil {
				res.reasons = map[string]int{}
			}
			res.reasons[why] += n
		}
		res.reconnects += sc.dialer.dials.Load() - 1
		lat = append(lat, sc.latencies...)
		added += sc.added
		inserts += sc.inserts
		deletes += sc.deletes
	}
	res.confirmed = int(seq - seq0)
	res.faults = faults.Load()
	res.exactlyOnce, res.onceWhy = exactlyOnce(cfg, before, state, res.confirmed, res.rejected, added, inserts, deletes)
	if res.unknown > 0 {
		res.exactlyOnce = false
		res.onceWhy = fmt.Sprintf("%d transitions came back with their outcome unknown (the server forgot it), so this cannot be checked; the rest: %s", res.unknown, res.onceWhy)
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
			if err := ctx.Err(); err != nil {
				// Every choice may conflict with the view for a while: stop when told to.
				return fmt.Errorf("sim: %d of %d transitions resolved: %w", sc.resolved, sc.applied, context.Cause(ctx))
			}
			t, ok := sc.next(cfg.room, c.State())
			if !ok {
				return fmt.Errorf("sim: no transition to make in a %s room", cfg.room)
			}
			if err := c.Apply(t); errors.Is(err, apersync.ErrClosed) {
				return fmt.Errorf("sim: client stopped: %w", c.Status().Err)
			} else if err != nil {
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
				sc.reject(r)
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
			sc.reject(r)
		default:
			return nil
		}
	}
}

// reject counts a rejection by its reason, and a transition whose outcome the server could not
// tell (ErrOutcomeUnknown) apart: it may have been applied.
func (sc *simClient) reject(r apersync.Rejection[rooms.RoomTransition]) {
	if errors.Is(r.Err, apersync.ErrOutcomeUnknown) {
		sc.unknown++
		return
	}
	sc.rejected++
	sc.tally(r.Transition, -1)
	why := "other"
	switch {
	case r.Conflict != nil:
		why = string(r.Conflict.Kind)
	case r.Err != nil:
		why = r.Err.Error()
	}
	if sc.reasons == nil {
		sc.reasons = map[string]int{}
	}
	sc.reasons[why]++
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
