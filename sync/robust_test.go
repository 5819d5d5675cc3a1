package sync_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/journal"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/memory"
	"github.com/fxamacker/cbor/v2"
)

// bomb is a counter whose Apply panics on the amount 666.
type bomb struct {
	V int64 `cbor:"1,keyasint"`
}

const bombAmount = 666

func (b *bomb) Apply(ev aper.Event[aper.CounterTransition]) error {
	if ev.Transition.Amount == bombAmount {
		panic("boom in Apply")
	}
	b.V += ev.Transition.Amount
	return nil
}

func (b *bomb) Clone() *bomb { c := *b; return &c }

type bombSrv = apersync.Server[*bomb, aper.CounterTransition]

// lockedBuffer collects a logger's output.
type lockedBuffer struct {
	mu stdsync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// bombServer serves a bomb server on a memory network; it is closed when the test ends.
func bombServer(t *testing.T, factory func(ctx context.Context, room string) (*bomb, error), opts ...apersync.ServerOption) (*bombSrv, *memory.Network) {
	t.Helper()
	if factory == nil {
		factory = func(ctx context.Context, room string) (*bomb, error) { return &bomb{}, nil }
	}
	srv, err := apersync.NewServer(factory, opts...)
	if err != nil {
		t.Fatal(err)
	}
	n := memory.NewNetwork(nil)
	l, err := n.Listen("server")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.Serve(context.Background(), l)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-served
	})
	return srv, n
}

func encFrame(t *testing.T, m map[uint64]any) []byte {
	t.Helper()
	b, err := cbor.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawKey returns a fresh client key for a raw hello.
func rawKey() string { return rand.Text() }

// rawPeer speaks the CBOR protocol by hand, so that a test can send what a Client never would.
type rawPeer struct {
	t       *testing.T
	c       transport.Conn
	pending []map[uint64]any
}

// dialRaw connects and sends hello (extra fields added to it) without reading the answer.
func dialRaw(t *testing.T, n *memory.Network, room string, extra map[uint64]any) *rawPeer {
	t.Helper()
	c, err := n.Dialer("server").Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	h := map[uint64]any{1: 1, 2: apersync.ProtocolVersion, 3: room, 19: rawKey()}
	for k, v := range extra {
		h[k] = v
	}
	p := &rawPeer{t: t, c: c}
	p.send(h)
	return p
}

// joinRaw connects to room and waits for the welcome, which it returns.
func joinRaw(t *testing.T, n *memory.Network, room string, extra map[uint64]any) (*rawPeer, map[uint64]any) {
	t.Helper()
	p := dialRaw(t, n, room, extra)
	w := p.await(2)
	return p, w
}

func (p *rawPeer) send(m map[uint64]any) {
	p.t.Helper()
	if err := p.c.Send(context.Background(), encFrame(p.t, m)); err != nil {
		p.t.Fatalf("send: %v", err)
	}
}

func (p *rawPeer) submit(local uint64, amount int64) {
	p.t.Helper()
	d, err := aper.CBOR.Marshal(aper.CounterTransition{Op: aper.CounterOpAdd, Amount: amount})
	if err != nil {
		p.t.Fatal(err)
	}
	p.send(map[uint64]any{1: 3, 7: local, 11: cbor.RawMessage(d)})
}

// next returns the next frame, or nil when the connection ends (or after 5s: a failure).
func (p *rawPeer) next() map[uint64]any {
	p.t.Helper()
	for len(p.pending) == 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		msg, err := p.c.Recv(ctx)
		expired := ctx.Err() != nil
		cancel()
		if expired {
			p.t.Fatal("no frame within 5s")
		}
		if err != nil {
			return nil
		}
		for rest := msg; len(rest) > 0; {
			var f map[uint64]any
			if rest, err = cbor.UnmarshalFirst(rest, &f); err != nil {
				p.t.Fatalf("decode: %v", err)
			}
			p.pending = append(p.pending, f)
		}
	}
	f := p.pending[0]
	p.pending = p.pending[1:]
	return f
}

// await skips frames until one of type typ (failing if the connection ends first).
func (p *rawPeer) await(typ uint64) map[uint64]any {
	p.t.Helper()
	for {
		f := p.next()
		if f == nil {
			p.t.Fatalf("connection ended while waiting for a frame of type %d", typ)
		}
		if num(f[1]) == typ {
			return f
		}
		if num(f[1]) == 6 {
			p.t.Fatalf("error frame while waiting for type %d: %v", typ, f)
		}
	}
}

// awaitError skips frames until an error frame and checks that the connection then ends.
func (p *rawPeer) awaitError() map[uint64]any {
	p.t.Helper()
	for {
		f := p.next()
		if f == nil {
			p.t.Fatal("connection ended without an error frame")
		}
		if num(f[1]) == 6 {
			if g := p.next(); g != nil {
				p.t.Fatalf("frame after the error frame: %v", g)
			}
			return f
		}
	}
}

func num(v any) uint64 {
	switch x := v.(type) {
	case uint64:
		return x
	case int64:
		return uint64(x)
	}
	return 0
}

// counterWorks checks that a Client of room can still apply a transition and see it confirmed.
func counterWorks(t *testing.T, n *memory.Network, room string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := apersync.Dial[*bomb, aper.CounterTransition](ctx, n.Dialer("server"), room)
	if err != nil {
		t.Fatalf("dial %q: %v", room, err)
	}
	defer c.Close()
	before := c.State().V
	if err := c.Apply(aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sync(ctx); err != nil {
		t.Fatalf("sync %q: %v", room, err)
	}
	if got := c.State().V; got != before+1 {
		t.Fatalf("room %q: V = %d after adding 1 to %d", room, got, before)
	}
}

func TestApplyPanicStopsTheRoomNotTheServer(t *testing.T) {
	logs := &lockedBuffer{}
	_, n := bombServer(t, nil, apersync.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	other, _ := joinRaw(t, n, "other", nil)
	other.submit(1, 1)
	other.await(4)
	bystander, _ := joinRaw(t, n, "r", nil)
	sender, _ := joinRaw(t, n, "r", nil)
	sender.submit(1, 5)
	sender.await(4)
	sender.submit(2, bombAmount)

	f := sender.awaitError()
	if f[14] != "room" || f[16] != true {
		t.Fatalf("sender got %v, want a fatal error of code room", f)
	}
	if msg, _ := f[15].(string); strings.Contains(msg, "boom") {
		t.Fatalf("the panic's value reached the client: %q", msg)
	}
	// Without a journal the state is lost: the others get a fatal error too.
	if f := bystander.awaitError(); f[14] != "room" || f[16] != true {
		t.Fatalf("bystander got %v, want a fatal error of code room", f)
	}
	if !strings.Contains(logs.String(), "boom in Apply") || !strings.Contains(logs.String(), "robust_test.go") {
		t.Fatalf("the panic and its stack are not logged:\n%s", logs.String())
	}
	// Another room carries on, and the stopped room loads again.
	other.submit(2, 1)
	if f := other.await(4); num(f[7]) != 2 {
		t.Fatalf("other room confirmed %v", f)
	}
	counterWorks(t, n, "other")
	counterWorks(t, n, "r")
}

func TestApplyPanicRebuildsFromTheJournal(t *testing.T) {
	j, err := journal.Open(t.TempDir(), &journal.Options{Sync: journal.SyncNever})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	srv, n := bombServer(t, nil, apersync.WithJournal(j))
	bystander, _ := joinRaw(t, n, "r", nil)
	sender, _ := joinRaw(t, n, "r", nil)
	sender.submit(1, 5)
	sender.await(4)
	sender.submit(2, 7) // in the same batch as the bomb, or not: either way not confirmed unless durable
	sender.submit(3, bombAmount)
	if f := sender.awaitError(); f[14] != "room" || f[16] != true {
		t.Fatalf("sender got %v, want a fatal error of code room", f)
	}
	if f := bystander.awaitError(); f[14] != "room" || f[16] == true {
		t.Fatalf("bystander got %v, want a non-fatal error of code room", f)
	}
	st, _, err := srv.Snapshot(context.Background(), "r")
	if err != nil {
		t.Fatal(err)
	}
	if st.V != 5 && st.V != 12 {
		t.Fatalf("rebuilt V = %d, want 5 or 12", st.V)
	}
	counterWorks(t, n, "r")
}

func TestPermitPanicRefusesThatTransition(t *testing.T) {
	_, n := bombServer(t, nil, apersync.WithPermission(func(id apersync.Identity, room string, s *bomb, tr aper.CounterTransition) error {
		if tr.Amount == 7 {
			panic("boom in permit")
		}
		return nil
	}))
	bystander, _ := joinRaw(t, n, "r", nil)
	sender, _ := joinRaw(t, n, "r", nil)
	sender.submit(1, 7)
	f := sender.await(5)
	if num(f[7]) != 1 || f[14] != "forbidden" {
		t.Fatalf("got %v, want a rejection of local 1 with code forbidden", f)
	}
	sender.submit(2, 3)
	if f := sender.await(4); num(f[7]) != 2 {
		t.Fatalf("got %v, want local 2 confirmed", f)
	}
	if f := bystander.await(4); num(f[5]) != 1 {
		t.Fatalf("bystander got %v, want Seq 1 confirmed", f)
	}
	counterWorks(t, n, "r")
}

func TestAuthPanicRefusesTheConnection(t *testing.T) {
	logs := &lockedBuffer{}
	_, n := bombServer(t, nil, apersync.WithLogger(slog.New(slog.NewTextHandler(logs, nil))),
		apersync.WithAuth(func(ctx context.Context, r apersync.AuthRequest) (apersync.Identity, error) {
			if r.Token == "evil" {
				panic("boom in auth")
			}
			return apersync.Identity{}, nil
		}))
	good, _ := joinRaw(t, n, "r", nil)
	evil := dialRaw(t, n, "r", map[uint64]any{17: "evil"})
	f := evil.awaitError()
	if f[14] != "unauthorized" || f[16] != true {
		t.Fatalf("got %v, want a fatal error of code unauthorized", f)
	}
	if msg := fmt.Sprint(f[15]); !strings.Contains(msg, "internal error") || strings.Contains(msg, "boom") {
		t.Fatalf("message %q, want a generic internal error", msg)
	}
	if !strings.Contains(logs.String(), "boom in auth") {
		t.Fatalf("the panic is not logged:\n%s", logs.String())
	}
	good.submit(1, 2)
	good.await(4)
	counterWorks(t, n, "r")
}

func TestFactoryPanicFailsTheRoom(t *testing.T) {
	_, n := bombServer(t, func(ctx context.Context, room string) (*bomb, error) {
		if room == "bad" {
			panic("boom in factory")
		}
		return &bomb{}, nil
	})
	p := dialRaw(t, n, "bad", nil)
	if f := p.awaitError(); f[14] != "room" || strings.Contains(fmt.Sprint(f[15]), "boom") {
		t.Fatalf("got %v, want an error of code room without the panic's value", f)
	}
	counterWorks(t, n, "good")
}

func openFDs(t *testing.T) int {
	t.Helper()
	e, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(e)
}

func TestUnloadedRoomsReleaseTheirJournalFiles(t *testing.T) {
	j, err := journal.Open(t.TempDir(), &journal.Options{Sync: journal.SyncNever})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	_, n := bombServer(t, nil, apersync.WithJournal(j), apersync.WithRoomIdle(time.Millisecond))
	before := openFDs(t)
	const rooms = 300
	for i := range rooms {
		p, _ := joinRaw(t, n, fmt.Sprintf("room-%d", i), nil)
		p.submit(1, 1)
		p.await(4)
		p.c.Close()
	}
	// Rooms unload 1ms after their client leaves: poll until (nearly) all their files are closed.
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := openFDs(t)
		if got < before+rooms/10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("open files: %d before, %d after %d rooms came and unloaded", before, got, rooms)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSubmitMustFollowTheLastProcessedLocalSeq(t *testing.T) {
	srv, n := bombServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	key := rawKey()
	victim, w := joinRaw(t, n, "r", map[uint64]any{19: key})
	id := w[4].(string)

	// A peer that claims the victim's id (ids are public: every confirmed frame carries one)
	// gets an id of its own, since only the victim's key makes the victim's id; its huge local
	// seq, which would make the room ignore the victim's later transitions if it were the
	// victim's, is a gap that cuts it.
	att, aw := joinRaw(t, n, "r", map[uint64]any{4: id})
	if aw[4] == id {
		t.Fatalf("a peer that claimed the victim's id got it: %v", aw)
	}
	att.submit(1<<62, 1000)
	if f := att.awaitError(); f[14] != "protocol" || f[16] != true {
		t.Fatalf("attacker got %v, want a fatal protocol error", f)
	}
	victim.submit(1, 1)
	if f := victim.await(4); num(f[7]) != 1 || f[4] != id {
		t.Fatalf("victim got %v, want its local 1 confirmed", f)
	}
	// The victim's key gives its id again on a new connection, which supersedes the old one.
	again, w2 := joinRaw(t, n, "r", map[uint64]any{19: key, 23: 1}) // its next connection attempt
	if w2[4] != id || num(w2[7]) != 1 {
		t.Fatalf("welcome %v, want id %s with local 1 processed", w2, id)
	}
	if f := victim.awaitError(); f[14] != "superseded" {
		t.Fatalf("the old connection got %v, want superseded", f)
	}
	again.c.Close()
	st, seq, err := srv.Snapshot(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	if st.V != 1 || seq != 1 {
		t.Fatalf("server V=%d seq=%d, want the victim's transition alone", st.V, seq)
	}

	// A gap is refused for a new client too; a duplicate is ignored.
	p, _ := joinRaw(t, n, "r", nil)
	p.submit(1, 2)
	p.await(4)
	p.submit(1, 2) // a duplicate: ignored
	p.submit(3, 2)
	if f := p.awaitError(); f[14] != "protocol" {
		t.Fatalf("got %v, want a protocol error", f)
	}
	if st, _, _ := srv.Snapshot(ctx, "r"); st.V != 3 {
		t.Fatalf("V=%d, want 3", st.V)
	}
}

func nestedValue(depth int) any {
	var v any = 1
	for range depth {
		v = []any{v}
	}
	return v
}

func TestPresenceTooDeepOrTooLargeIsDropped(t *testing.T) {
	_, n := bombServer(t, nil, apersync.WithMaxPresenceSize(1000))
	att, _ := joinRaw(t, n, "r", nil)
	// The first is acceptable; the others are dropped, the last of them because it would make
	// every welcome of the room too deep to decode.
	for _, v := range []any{nestedValue(16), nestedValue(17), make([]byte, 1001), nestedValue(30)} {
		data, err := cbor.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		att.send(map[uint64]any{1: 9, 11: cbor.RawMessage(data)})
	}
	att.submit(1, 1) // after the presence values: once confirmed, the room has seen them
	att.await(4)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := apersync.Dial[*bomb, aper.CounterTransition](ctx, n.Dialer("server"), "r")
	if err != nil {
		t.Fatalf("a new client cannot join: %v", err)
	}
	defer c.Close()
	ps := c.Presence()
	if len(ps) != 1 {
		t.Fatalf("presence %v, want the attacker's acceptable value", ps)
	}
	var got any
	if err := ps[0].Decode(&got); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(nestedValue(16)) {
		t.Fatalf("presence %v, want the last acceptable value", got)
	}
	// The sender is still connected.
	att.send(map[uint64]any{1: 7})
	att.await(8)
}

func TestShutdownReturnsWhenItsContextEnds(t *testing.T) {
	block, entered := make(chan struct{}), make(chan struct{})
	defer close(block) // before the cleanup's Close, which waits for the factory
	srv, n := bombServer(t, func(ctx context.Context, room string) (*bomb, error) {
		close(entered)
		<-block // ignores ctx
		return &bomb{}, nil
	})
	dialRaw(t, n, "r", nil)
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the factory was not called")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown: %v, want its context's error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return when its context ended")
	}
}
