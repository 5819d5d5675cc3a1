package fuzz

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/journal"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/memory"
	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/commands"
)

// Config describes the state machine under test and the world the harness builds around it.
// Only New and Transition are required.
type Config[S aper.StateMachine[S, T], T any] struct {
	// New returns the room's initial state. It is called once per run, on the server; the
	// clients receive it as a snapshot.
	New func() S
	// Transition returns a generator of transitions for client (0 to Clients-1) whose optimistic
	// view is state, so that transitions can name ids that exist there. The state is the
	// harness's copy: read it, do not change it. The generator draws from its GenParameters
	// only, so that a command replays: the harness seeds it from the command.
	Transition func(client int, state S) gopter.Gen
	// Clients is the number of clients (default 3).
	Clients int
	// Observe, if set, is called on the test goroutine after each transition a client applies,
	// with the client's view just before, the transition, and Apply's error (nil, or a
	// conflict: the transition was then not submitted). Use it to keep a model or to record
	// what a client saw when it acted.
	Observe func(client int, before S, t T, err error)
	// Check, if set, is called at each quiescent point after the built-in checks passed (see
	// [Quiescent]). Return an error to fail the run: an application invariant, or a comparison
	// with a model fed by Observe or by the ordered transitions.
	Check func(q Quiescent[S, T]) error
	// Reset, if set, is called on the test goroutine at the start of each run, before New: clear
	// there what Observe and Check keep across the steps of a run.
	Reset func()
	// Weights set how often each command is generated; the zero value means DefaultWeights.
	Weights Weights
	// ServerOptions and ClientOptions are appended to the harness's own (rooms never unload;
	// a reconnection backoff of 50ms to 1s of the fake clock).
	ServerOptions []apersync.ServerOption
	ClientOptions []apersync.ClientOption
}

// Quiescent is what Config.Check sees at a quiescent point: the server's state, each client's
// (equal to the server's by encoding by then), and every transition the server ordered so far
// that makes its state (less those a restore took out), in its order, with its Seq and sender
// (Time is left zero).
type Quiescent[S any, T any] struct {
	Server  S
	Clients []S
	IDs     []aper.ClientID // IDs[i] is client i's id, as in the events' Client
	Ordered []aper.Event[T]
}

// Weights are the relative frequencies of the commands. A zero weight turns a command off.
type Weights struct {
	Apply      int // apply a generated transition on a random client
	Deliver    int // deliver the oldest message on one direction of a random client's link
	Disconnect int // cut a random client's connection (messages in flight are lost)
	Partition  int // partition a random client from the server (hold or drop its traffic)
	Heal       int // heal a random client's partition
	Advance    int // advance the fake clock (reconnection backoff, pings, timeouts, timers)
	Settle     int // deliver everything, reach quiescence, check
	// Undo and Redo undo and redo a random client's own steps (sync.Client.Undo and Redo).
	// Either one set gives every client an undo stack (sync.WithUndo with its default
	// interval of the fake clock), which needs a state that is an aper.Inverter.
	Undo, Redo int
	// Restore restores the room to its state at a random Seq (sync.Server.Restore). Set, it
	// gives the server a journal that keeps every entry, and the checks follow the journal's
	// log, where a restore takes out what came after the Seq it names.
	Restore int
}

// DefaultWeights favour transitions and single deliveries, with a fault every twenty commands
// or so and a full check every fifty; no undo, redo or restore.
var DefaultWeights = Weights{Apply: 40, Deliver: 40, Disconnect: 3, Partition: 3, Heal: 3, Advance: 4, Settle: 2}

// restoreSnapshotEvery is how many transitions the room orders between two snapshots when the
// harness restores (Weights.Restore).
const restoreSnapshotEvery = 8

// Room is the name of the harness's one room.
const Room = "room"

// serverName is the listener's endpoint name; client i dials as clientName(i).
const serverName = "server"

func clientName(i int) string { return fmt.Sprintf("client-%d", i) }

// System is one run's system under test: a server and Config.Clients clients of one room on a
// transport/memory network in manual-delivery mode, inside a synctest bubble. The commands of
// [Commands] drive it; [Replay] builds one for a fixed list of commands.
type System[S aper.StateMachine[S, T], T any] struct {
	cfg     *Config[S, T]
	initial S // Config.New's state, which the server's is a Clone of
	net     *memory.Network
	srv     *apersync.Server[*replica[S, T], T]
	rec     *recorder
	clients []*slot[S, T]
	cancel  context.CancelFunc
	served  chan struct{}
	err     error // the first error that broke the system; every later command reports it

	journal  *journal.Memory // with Weights.Restore: the server's, which keeps every entry
	log      []logEntry      // with a journal: the room's ordered log read from it so far
	restores int             // how many restores the system made
}

// slot is one client and what the harness knows of it.
type slot[S aper.StateMachine[S, T], T any] struct {
	name      string
	c         *apersync.Client[*replica[S, T], T]
	submitted [][]byte    // encodings of the transitions Apply accepted, in order
	times     []time.Time // when Apply accepted each (the fake clock)
	rejected  chan [][]byte
	drained   chan struct{}
}

// codecConn tells the sync layer which codec a memory connection uses (odd clients speak JSON,
// even ones CBOR, so that replicas are compared across codecs).
type codecConn struct {
	*memory.Conn
	codec string
}

func (c codecConn) Codec() string { return c.codec }

type codecListener struct{ *memory.Listener }

func (l codecListener) Accept(ctx context.Context) (transport.Conn, error) {
	c, err := l.AcceptConn(ctx)
	if err != nil {
		return nil, err
	}
	codec, _ := c.Metadata().(string)
	if codec == "" {
		codec = "cbor"
	}
	return codecConn{c, codec}, nil
}

func (cfg *Config[S, T]) clients() int {
	if cfg.Clients <= 0 {
		return 3
	}
	return cfg.Clients
}

func (cfg *Config[S, T]) weights() Weights {
	if cfg.Weights == (Weights{}) {
		return DefaultWeights
	}
	return cfg.Weights
}

// newSystem builds the system. It must run inside a synctest bubble.
func newSystem[S aper.StateMachine[S, T], T any](cfg *Config[S, T]) (*System[S, T], error) {
	if cfg.Reset != nil {
		cfg.Reset()
	}
	s := &System[S, T]{cfg: cfg, initial: cfg.New(), net: memory.NewNetwork(&memory.Options{Manual: true}), rec: newRecorder(), served: make(chan struct{})}
	opts := []apersync.ServerOption{apersync.WithRoomIdle(-1)}
	if cfg.weights().Restore > 0 {
		// Snapshots every few transitions, so that StateAt starts from one of them as often as
		// from the room's initial state.
		s.journal = &journal.Memory{Retain: journal.KeepAll}
		opts = append(opts, apersync.WithJournal(s.journal), apersync.WithSnapshotEvery(restoreSnapshotEvery))
	}
	opts = append(opts, cfg.ServerOptions...)
	srv, err := apersync.NewServer(func(ctx context.Context, room string) (*replica[S, T], error) {
		return &replica[S, T]{state: s.initial.Clone(), rec: s.rec}, nil
	}, opts...)
	if err != nil {
		return nil, err
	}
	s.srv = srv
	l, err := s.net.Listen(serverName)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() {
		defer close(s.served)
		_ = srv.Serve(ctx, codecListener{l})
	}()
	for i := range cfg.clients() {
		if err := s.dial(i); err != nil {
			s.close()
			return nil, err
		}
	}
	return s, nil
}

// dial connects client i, delivering messages until Dial returns.
func (s *System[S, T]) dial(i int) error {
	name, codec := clientName(i), "cbor"
	if i%2 == 1 {
		codec = "json"
	}
	dialer := transport.DialerFunc(func(ctx context.Context) (transport.Conn, error) {
		c, err := s.net.DialWith(ctx, serverName, &memory.DialOptions{From: name, Metadata: codec})
		if err != nil {
			return nil, err
		}
		return codecConn{c, codec}, nil
	})
	opts := append([]apersync.ClientOption{
		apersync.WithBackoff(50*time.Millisecond, time.Second),
		apersync.WithClientKey(fmt.Sprintf("the fuzz harness's client %d", i)), // the same id in every run
	}, s.cfg.ClientOptions...)
	if w := s.cfg.weights(); w.Undo > 0 || w.Redo > 0 {
		opts = append(opts, apersync.WithUndo(nil))
	}
	type result struct {
		c   *apersync.Client[*replica[S, T], T]
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := apersync.Dial[*replica[S, T], T](context.Background(), dialer, Room, opts...)
		done <- result{c, err}
	}()
	for {
		synctest.Wait()
		select {
		case r := <-done:
			if r.err != nil {
				return r.err
			}
			sl := &slot[S, T]{name: name, c: r.c, rejected: make(chan [][]byte, 1), drained: make(chan struct{})}
			sl.rejected <- nil
			go sl.drain()
			s.clients = append(s.clients, sl)
			return nil
		default:
		}
		if s.net.DeliverAll() == 0 {
			// Nothing to deliver and Dial still blocked: let the fake clock run (handshake
			// timeout, backoff).
			time.Sleep(time.Second)
		}
	}
}

// drain collects the client's rejections (as encodings) until the client closes.
func (sl *slot[S, T]) drain() {
	defer close(sl.drained)
	for r := range sl.c.Rejections() {
		l := <-sl.rejected
		sl.rejected <- append(l, encodeT(r.Transition))
	}
}

func (sl *slot[S, T]) rejections() [][]byte {
	l := <-sl.rejected
	sl.rejected <- l
	return l
}

func (s *System[S, T]) close() {
	for _, sl := range s.clients {
		sl.c.Close()
		<-sl.drained
	}
	s.srv.Close()
	s.cancel()
	<-s.served
	s.net.Close()
	if s.journal != nil {
		s.journal.Close()
	}
	synctest.Wait()
}

func (s *System[S, T]) state(i int) *replica[S, T] { return s.clients[i].c.State() }

// run runs one step and waits until every goroutine of the system is blocked again, so that the
// step's effects (messages sent, frames handled) have all happened before the next step.
func (s *System[S, T]) run(st *Step) error {
	if s.err != nil {
		return fmt.Errorf("the system broke earlier: %w", s.err)
	}
	err := s.step(st)
	synctest.Wait()
	if err == nil {
		err = s.healthy()
	}
	if err == nil && st.Kind != KindSettle {
		err = s.checkViews()
	}
	if err != nil {
		s.err = err
	}
	return err
}

func (s *System[S, T]) step(st *Step) error {
	n := len(s.clients)
	k := st.Client % n
	sl := s.clients[k]
	switch st.Kind {
	case KindApply:
		view := s.state(k).state
		g := s.cfg.Transition(k, view.Clone())
		p := gopter.DefaultGenParameters().CloneWithSeed(st.Seed)
		p.MaxSize = 8
		v, ok := g(p).Retrieve()
		if !ok {
			st.note = "no transition generated"
			return nil
		}
		t := v.(T)
		b := encodeT(t)
		err := sl.c.Apply(t)
		if s.cfg.Observe != nil {
			s.cfg.Observe(k, view, t, err)
		}
		switch {
		case err == nil:
			sl.submitted = append(sl.submitted, b)
			sl.times = append(sl.times, time.Now())
			st.note = fmt.Sprintf("%+v", t)
		case conflict.As(err) != nil:
			st.note = fmt.Sprintf("%+v conflicts: %v", t, err)
		default:
			return fmt.Errorf("client %d: apply %+v: %w", k, t, err)
		}
	case KindDeliver:
		from, to := sl.name, serverName
		if !st.Up {
			from, to = to, from
		}
		for _, m := range s.net.Pending() {
			if m.From == from && m.To == to {
				if err := s.net.Deliver(m.ID); err != nil {
					return err
				}
				st.note = fmt.Sprintf("delivered %d bytes", len(m.Data))
				return nil
			}
		}
		st.note = "nothing pending"
	case KindDisconnect:
		st.note = fmt.Sprintf("%d connections cut", s.net.Disconnect(sl.name))
	case KindPartition:
		s.net.Partition(sl.name, serverName, st.Mode)
		if st.Mode == memory.Drop {
			// A connection whose traffic is lost while it stays open is not a fault a real
			// transport has (TCP or QUIC would fail it): the sync layer relies on ordered,
			// reliable connections. A dropping partition therefore also cuts the connection.
			s.net.Disconnect(sl.name)
		}
	case KindHeal:
		s.net.Heal(sl.name, serverName)
	case KindAdvance:
		time.Sleep(st.D)
	case KindSettle:
		return s.Settle()
	case KindUndo, KindRedo:
		return s.undo(st, k)
	case KindRestore:
		return s.restore(st)
	default:
		return fmt.Errorf("unknown step %v", st.Kind)
	}
	return nil
}

// Settle heals every partition and delivers every message, letting the fake clock run when
// nothing is pending until every client is connected with nothing pending; then it checks the
// invariants (see the package doc). It must run inside the system's synctest bubble.
func (s *System[S, T]) Settle() error {
	s.net.HealAll()
	for round := 0; ; round++ {
		synctest.Wait()
		if s.net.DeliverAll() > 0 {
			continue
		}
		if err := s.healthy(); err != nil {
			return err
		}
		if s.quiet() {
			break
		}
		if round > 1000 {
			return fmt.Errorf("no quiescence after %d rounds: %s", round, s.describe())
		}
		time.Sleep(time.Second) // reconnection backoff, handshake timeouts
	}
	return s.check()
}

// healthy fails if a client lost its connection for a reason that the harness's faults do not
// explain: a protocol error, or a confirmed transition that does not apply on the client (one the
// server should have rejected, say). Cut connections, partitions, timeouts (a server the client
// found silent, its answers held while the clock ran) and a server that supersedes a client's old
// connection are the harness's doing, and so is a restore's closing of every connection once
// the harness has restored the room.
func (s *System[S, T]) healthy() error {
	for i, sl := range s.clients {
		st := sl.c.Status()
		if st.Err == nil || errors.Is(st.Err, net.ErrClosed) || errors.Is(st.Err, memory.ErrUnreachable) ||
			errors.Is(st.Err, context.DeadlineExceeded) || errors.Is(st.Err, apersync.ErrServerSilent) {
			continue
		}
		if se := (*apersync.ServerError)(nil); s.restores > 0 && errors.As(st.Err, &se) && se.Code == "restored" && !se.Fatal {
			continue
		}
		return fmt.Errorf("client %d is %v: %w", i, st.State, st.Err)
	}
	return nil
}

func (s *System[S, T]) quiet() bool {
	for _, sl := range s.clients {
		if sl.c.Status().State != apersync.Connected || sl.c.Pending() > 0 {
			return false
		}
	}
	return true
}

func (s *System[S, T]) describe() string {
	var b strings.Builder
	for i, sl := range s.clients {
		fmt.Fprintf(&b, "client %d: %v, %d pending, seq %d; ", i, sl.c.Status(), sl.c.Pending(), sl.c.Seq())
	}
	fmt.Fprintf(&b, "%d messages pending", len(s.net.Pending()))
	return b.String()
}

// Commands returns the gopter commands of cfg: each run builds a fresh [System] and runs a
// sequence of random steps whose last one is always [Settle], so that every run ends with the
// full check. The runs must happen inside a synctest bubble: use [Check], or wrap
// commands.Prop(Commands(cfg)) in synctest.Test yourself.
func Commands[S aper.StateMachine[S, T], T any](cfg Config[S, T]) commands.Commands {
	c := &cfg
	w := c.weights()
	n := c.clients()
	total := w.Apply + w.Deliver + w.Disconnect + w.Partition + w.Heal + w.Advance + w.Settle + w.Undo + w.Redo + w.Restore
	return &commands.ProtoCommands{
		NewSystemUnderTestFunc: func(commands.State) commands.SystemUnderTest {
			s, err := newSystem(c)
			if err != nil {
				return &broken{err}
			}
			return s
		},
		DestroySystemUnderTestFunc: func(sut commands.SystemUnderTest) {
			if s, ok := sut.(*System[S, T]); ok {
				s.close()
			}
		},
		InitialStateGen: func(*gopter.GenParameters) *gopter.GenResult {
			return gopter.NewGenResult(0, gopter.NoShrinker)
		},
		GenCommandFunc: func(state commands.State) gopter.Gen {
			i := state.(int)
			return func(p *gopter.GenParameters) *gopter.GenResult {
				if i >= p.MaxSize-1 || total <= 0 {
					return gopter.NewGenResult(Settle(), gopter.NoShrinker)
				}
				return gopter.NewGenResult(randomStep(p.Rng, w, total, n), gopter.NoShrinker)
			}
		},
	}
}

// broken stands for a system that could not be built.
type broken struct{ err error }

func (b *broken) run(*Step) error { return fmt.Errorf("building the system: %w", b.err) }

func randomStep(r *rand.Rand, w Weights, total, clients int) *Step {
	x := r.Intn(total)
	k := r.Intn(clients)
	pick := func(weight int) bool {
		if x < weight {
			return true
		}
		x -= weight
		return false
	}
	switch {
	case pick(w.Apply):
		return Apply(k, r.Int63())
	case pick(w.Deliver):
		return Deliver(k, r.Intn(2) == 0)
	case pick(w.Disconnect):
		return Disconnect(k)
	case pick(w.Partition):
		if r.Intn(2) == 0 {
			return Partition(k, memory.Hold)
		}
		return Partition(k, memory.Drop)
	case pick(w.Heal):
		return Heal(k)
	case pick(w.Advance):
		// Mostly short (backoff), sometimes past the clients' ping timeout (45s of silence).
		ds := []time.Duration{100 * time.Millisecond, time.Second, 5 * time.Second, time.Minute}
		return Advance(ds[r.Intn(len(ds))])
	case pick(w.Undo):
		return Undo(k)
	case pick(w.Redo):
		return Redo(k)
	case pick(w.Restore):
		return Restore(r.Int63())
	}
	return Settle()
}

// Check runs the property "every run converges" over cfg with gopter's commands, inside a
// synctest bubble, with the given parameters (see [Parameters]).
func Check[S aper.StateMachine[S, T], T any](t *testing.T, name string, cfg Config[S, T], params *gopter.TestParameters) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		props := gopter.NewProperties(params)
		props.Property(name, commands.Prop(Commands(cfg)))
		props.TestingRun(t)
	})
}

// Replay runs a fixed sequence of steps on a fresh system, inside a synctest bubble, and fails
// t if a step fails: a shrunk counterexample pinned as a regression test. Add [Settle] at the
// end if the sequence does not end with one.
func Replay[S aper.StateMachine[S, T], T any](t *testing.T, cfg Config[S, T], steps ...*Step) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		t.Helper()
		s, err := newSystem(&cfg)
		if err != nil {
			t.Fatalf("building the system: %v", err)
		}
		defer s.close()
		cmds := make([]commands.Command, len(steps))
		for i, st := range steps {
			cmds[i] = st
		}
		res := commands.Replay(s, 0, cmds...)
		if !res.Success() {
			t.Errorf("replay failed: %v\nsteps: %v", res.Error, steps)
		}
	})
}
