package sync_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aper-go/aper/journal"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/websocket"
)

// The child process of TestClientStoreSurvivesSIGKILL reads its orders from these variables.
const (
	storeChildEnv  = "APER_SYNC_STORE_CHILD" // the store directory
	storeChildAddr = "APER_SYNC_STORE_ADDR"  // the server's host:port
	storeChildMode = "APER_SYNC_STORE_MODE"  // "apply" or "sync"
)

func storeChildDialer(addr string) transport.Dialer {
	return websocket.Dialer("ws://"+addr, nil)
}

// storeChild is the child process of TestClientStoreSurvivesSIGKILL: a client of room "store"
// with its store in dir. In mode "apply" it applies "say" transitions n, n+1, ... as fast as it
// can and prints "APPLIED n" once each Apply has returned, until it is killed; in mode "sync" it
// waits until the server has resolved everything pending and prints "SYNCED". It starts with a
// line "ID id status k": its id, its status, and how many of its transitions the view it starts
// with holds (n above is k+1). It never returns.
func storeChild(dir string) {
	fail := func(err error) {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := apersync.Dial[*game, gameT](ctx, storeChildDialer(os.Getenv(storeChildAddr)), "store",
		apersync.WithClientStore(dir), apersync.WithBackoff(5*time.Millisecond, 50*time.Millisecond))
	if err != nil {
		fail(err)
	}
	n := count(c.State().Log, string(c.ID())+":")
	fmt.Println("ID", c.ID(), c.Status().State, n)
	switch os.Getenv(storeChildMode) {
	case "apply":
		for n++; ; n++ {
			if err := c.Apply(gameT{Op: "say", Text: strconv.Itoa(n)}); err != nil {
				fail(err)
			}
			fmt.Println("APPLIED", n)
		}
	case "sync":
		if err := c.Sync(ctx); err != nil {
			fail(err)
		}
		fmt.Println("SYNCED")
		c.Close()
		os.Exit(0)
	}
	fail(errors.New("unknown mode"))
}

// storeServer is a game server with a journal in dir, on WebSocket at addr.
type storeServer struct {
	j    *journal.Disk
	srv  *apersync.Server[*game, gameT]
	done chan error
}

func startStoreServer(t *testing.T, dir, addr string) *storeServer {
	t.Helper()
	j, err := journal.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := apersync.NewServer(func(ctx context.Context, room string) (*game, error) {
		return &game{}, nil
	}, apersync.WithJournal(j))
	if err != nil {
		t.Fatal(err)
	}
	l, err := websocket.Listen(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &storeServer{j: j, srv: srv, done: make(chan error, 1)}
	go func() { s.done <- srv.Serve(context.Background(), l) }()
	return s
}

func (s *storeServer) stop(t *testing.T) {
	t.Helper()
	s.srv.Close()
	if err := <-s.done; !errors.Is(err, apersync.ErrServerClosed) {
		t.Errorf("Serve returned %v", err)
	}
	s.j.Close()
}

// storeRun is a run of the child client.
type storeRun struct {
	cmd   *exec.Cmd
	lines *bufio.Scanner
}

func startStoreChild(t *testing.T, dir, addr, mode string) *storeRun {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), storeChildEnv+"="+dir, storeChildAddr+"="+addr, storeChildMode+"="+mode)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return &storeRun{cmd: cmd, lines: bufio.NewScanner(out)}
}

// next returns the child's next line.
func (r *storeRun) next(t *testing.T) string {
	t.Helper()
	if !r.lines.Scan() {
		t.Fatalf("the child ended: %v", r.lines.Err())
	}
	line := r.lines.Text()
	if strings.HasPrefix(line, "ERR") {
		t.Fatalf("the child failed: %s", line)
	}
	return line
}

// kill SIGKILLs the child and returns the last n it printed as applied, reading what it printed
// before it died. The child may have applied one more, whose line the kill cut off.
func (r *storeRun) kill(t *testing.T, last int) int {
	t.Helper()
	r.cmd.Process.Kill() // SIGKILL
	for r.lines.Scan() {
		if n, ok := strings.CutPrefix(r.lines.Text(), "APPLIED "); ok {
			last, _ = strconv.Atoi(n)
		}
	}
	r.cmd.Wait()
	return last
}

// A client process applies transitions with the server down and is SIGKILLed; restarted on
// the same store, it applies more while the server is up and is SIGKILLed again, with some of
// them in flight; restarted once more, it syncs. The server (restarted too, from its journal)
// holds every transition the client applied, exactly once each and in order.
func TestClientStoreSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	jdir, sdir := t.TempDir(), t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	// The store's first Dial needs the server: it has no state yet.
	srv := startStoreServer(t, jdir, addr)
	c, err := apersync.Dial[*game, gameT](ctxT(t), storeChildDialer(addr), "store", apersync.WithClientStore(sdir))
	if err != nil {
		t.Fatal(err)
	}
	id := c.ID()
	c.Close()
	srv.stop(t)

	// start runs the child and checks its first line: its id, its status and that its view
	// holds the k transitions it applied before (or k+1), which it returns.
	start := func(mode, status string, k int) (*storeRun, int) {
		t.Helper()
		r := startStoreChild(t, sdir, addr, mode)
		line := r.next(t)
		for _, want := range []int{k, k + 1} {
			if line == fmt.Sprintf("ID %s %s %d", id, status, want) {
				return r, want
			}
		}
		t.Fatalf("the child starts with %q, want id %s, %s and %d (or %d) transitions in its view", line, id, status, k, k+1)
		return nil, 0
	}

	// 1. Offline: the child starts from its store, applies, and is killed.
	r, _ := start("apply", "disconnected", 0)
	for r.next(t) != "APPLIED 20" {
	}
	last := r.kill(t, 20)
	t.Logf("offline: applied 1..%d", last)

	// 2. Online: the child shows them at once, resends them and applies more, and is killed
	// with some in flight.
	srv = startStoreServer(t, jdir, addr)
	r, last = start("apply", "disconnected", last)
	stop := fmt.Sprintf("APPLIED %d", last+40)
	for r.next(t) != stop {
	}
	last = r.kill(t, last+40)
	t.Logf("online: applied up to %d", last)

	mid, _, err := srv.srv.Snapshot(ctxT(t), "store")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the server had %d transitions of the client when the child was killed", count(mid.Log, string(id)+":"))

	// 3. Restarted once more, the child syncs.
	r, last = start("sync", "disconnected", last)
	if line := r.next(t); line != "SYNCED" {
		t.Fatalf("child says %q, want SYNCED", line)
	}
	if err := r.cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	srv.stop(t)

	// The room, rebuilt from the journal, holds 1..last once each, in order.
	srv = startStoreServer(t, jdir, addr)
	defer srv.stop(t)
	state, _, err := srv.srv.Snapshot(ctxT(t), "store")
	if err != nil {
		t.Fatal(err)
	}
	var said []string
	for _, e := range state.Log {
		if text, ok := strings.CutPrefix(e, string(id)+":"); ok {
			said = append(said, text)
		}
	}
	if len(said) != last {
		t.Fatalf("the room has %d transitions of the client, want %d: %v", len(said), last, said)
	}
	for i, text := range said {
		if text != strconv.Itoa(i+1) {
			t.Fatalf("transition %d of the client is %q, want %d: %v", i, text, i+1, said)
		}
	}
}

func count(log []string, prefix string) int {
	n := 0
	for _, e := range log {
		if strings.HasPrefix(e, prefix) {
			n++
		}
	}
	return n
}
