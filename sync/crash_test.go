package sync_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aper-go/aper/journal"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/websocket"
)

const crashServerEnv = "APER_SYNC_CRASH_SERVER_DIR"

// crashServer is the child process of TestCrashRecoverySIGKILL: a game server with a durable
// journal in dir, on WebSocket over loopback. It prints its address and serves until killed.
func crashServer(dir string) {
	j, err := journal.Open(dir, nil)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	srv, err := apersync.NewServer(func(ctx context.Context, room string) (*game, error) {
		return &game{}, nil
	}, apersync.WithJournal(j), apersync.WithSnapshotEvery(150))
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	l, err := websocket.Listen("127.0.0.1:0", nil)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	fmt.Println("ADDR", l.Addr().String())
	srv.Serve(context.Background(), l)
	os.Exit(0)
}

// The server runs in a child process with a journal on disk; writers submit continuously over
// WebSocket; the server is killed with SIGKILL at several random moments and restarted on the
// same directory; clients reconnect. Every transition any client saw confirmed is present
// exactly once and in the same order, and nothing is applied twice.
func TestCrashRecoverySIGKILL(t *testing.T) {
	const (
		writers = 3
		kills   = 4
	)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir := t.TempDir()
	var addr atomic.Pointer[string]
	var child *exec.Cmd
	start := func() {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashServerEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		a, ok := strings.CutPrefix(strings.TrimSpace(line), "ADDR ")
		if err != nil || !ok {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("child server said %q (%v)", line, err)
		}
		addr.Store(&a)
		child = cmd
	}
	kill := func() {
		child.Process.Kill() // SIGKILL
		child.Wait()
	}
	start()
	defer func() { kill() }()

	dialer := transport.DialerFunc(func(ctx context.Context) (transport.Conn, error) {
		return websocket.Dialer("ws://"+*addr.Load(), nil).Dial(ctx)
	})
	opts := []apersync.ClientOption{apersync.WithBackoff(5*time.Millisecond, 50*time.Millisecond), apersync.WithPendingLimit(32)}
	dialOne := func() *gameClient {
		c, err := apersync.Dial[*game, gameT](ctx, dialer, "crash", opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	watcher := dialOne() // submits nothing: its State is the confirmed state
	var (
		stop    = make(chan struct{})
		wg      stdsync.WaitGroup
		applied [writers]int
		ws      [writers]*gameClient
	)
	for i := range writers {
		ws[i] = dialOne()
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := ws[i]
			for {
				select {
				case <-stop:
					return
				default:
				}
				err := c.Apply(gameT{Op: "say", Text: fmt.Sprintf("w%d-%d", i, applied[i])})
				switch {
				case err == nil:
					applied[i]++
				case errors.Is(err, apersync.ErrLimit):
					select { // wait for the server's verdicts
					case <-c.Changes():
					case <-stop:
						return
					}
				default:
					t.Errorf("writer %d: %v", i, err)
					return
				}
			}
		}()
	}

	// The watcher's confirmed log only ever grows: a confirmed transition never disappears or
	// changes place, across every crash.
	var seen []string
	check := func() {
		t.Helper()
		log := watcher.State().Log
		if len(log) < len(seen) || !slices.Equal(log[:len(seen)], seen) {
			t.Fatalf("the confirmed log changed: had %d entries, now %d", len(seen), len(log))
		}
		seen = log
	}
	waitFor := func(seq uint64) {
		t.Helper()
		for watcher.Seq() < seq {
			select {
			case <-watcher.Changes():
			case <-ctx.Done():
				t.Fatalf("watcher stuck at %d, want %d", watcher.Seq(), seq)
			}
			check()
		}
		check()
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for k := range kills {
		target := watcher.Seq() + 100 + uint64(rng.IntN(400))
		waitFor(target)
		kill()
		t.Logf("kill %d at Seq ≥ %d", k+1, target)
		start()
	}
	waitFor(watcher.Seq() + 100)
	close(stop)
	wg.Wait()
	for _, c := range ws {
		if err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	final := dialOne()
	want := final.State().Log
	waitFor(final.Seq())
	if !slices.Equal(seen, want) {
		t.Fatalf("watcher and server differ: %d and %d entries", len(seen), len(want))
	}
	// Each writer's transitions: all there, once each, in its order.
	for i := range writers {
		prefix := fmt.Sprintf("%s:w%d-", ws[i].ID(), i)
		next := 0
		for _, l := range want {
			if rest, ok := strings.CutPrefix(l, prefix); ok {
				if rest != fmt.Sprint(next) {
					t.Fatalf("writer %d: got %s, want %d next", i, l, next)
				}
				next++
			}
		}
		if next != applied[i] {
			t.Fatalf("writer %d applied %d, the server has %d", i, applied[i], next)
		}
	}
	t.Logf("%d transitions over %d kills", len(want), kills)
}
