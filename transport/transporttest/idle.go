package transporttest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"

	"github.com/aper-go/aper/transport"
)

// Environment of the child process of BenchmarkIdle.
const (
	idleEnvN    = "APER_TRANSPORTTEST_IDLE_N"
	idleEnvAddr = "APER_TRANSPORTTEST_IDLE_ADDR"
)

// IdleClients is the child side of BenchmarkIdle: run it from a test named TestIdleClients of the
// transport's test package. When the process was started by BenchmarkIdle, it dials the
// connections with the Dialer that dial makes for the address the benchmark gave, sends one
// message ("hello") on each, tells the benchmark, and holds them until its standard input
// closes; otherwise it skips the test.
func IdleClients(t *testing.T, dial func(t *testing.T, addr string) transport.Dialer) {
	n, err := strconv.Atoi(os.Getenv(idleEnvN))
	if err != nil {
		t.Skip("the client side of BenchmarkIdle")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*Timeout)
	defer cancel()
	d := dial(t, os.Getenv(idleEnvAddr))
	conns := make([]transport.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for range n {
		c, err := d.Dial(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if err := c.Send(ctx, []byte("hello")); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// BenchmarkIdle measures what an idle server-side connection costs: it accepts n connections on
// l from clients in a child process (this test binary again, running TestIdleClients with the
// address addr, so that only the server side is in this process), takes one message from each,
// and then reports the growth of the live heap and of the goroutine stacks per connection
// (B/conn, heap-B/conn, stack-B/conn) and the goroutines per connection (goroutines/conn).
// Each iteration measures anew; run it with -benchtime=1x.
func BenchmarkIdle(b *testing.B, l transport.Listener, addr string, n int) {
	for b.Loop() {
		heap, stack, gs := idleCost(b, l, addr, n)
		b.ReportMetric(float64(heap+stack)/float64(n), "B/conn")
		b.ReportMetric(float64(heap)/float64(n), "heap-B/conn")
		b.ReportMetric(float64(stack)/float64(n), "stack-B/conn")
		b.ReportMetric(float64(gs)/float64(n), "goroutines/conn")
	}
}

func idleCost(b *testing.B, l transport.Listener, addr string, n int) (heap, stack int64, goroutines int) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*Timeout)
	defer cancel()
	before := settle()
	g0 := runtime.NumGoroutine()

	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestIdleClients$", "-test.count=1")
	cmd.Env = append(os.Environ(), idleEnvN+"="+strconv.Itoa(n), idleEnvAddr+"="+addr)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	}()
	conns := make([]transport.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for range n {
		c, err := l.Accept(ctx)
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
		if _, err := c.Recv(ctx); err != nil {
			b.Fatal(err)
		}
	}
	ready, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || ready != "ready\n" {
		b.Fatalf("the clients did not get ready: %q, %v", ready, err)
	}
	after := settle()
	heap = int64(after.HeapAlloc) - int64(before.HeapAlloc)
	stack = int64(after.StackInuse) - int64(before.StackInuse)
	return heap, stack, runtime.NumGoroutine() - g0
}

// settle collects garbage (twice, so that sync.Pool's victim caches are emptied too) and reads
// the memory statistics.
func settle() runtime.MemStats {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}
