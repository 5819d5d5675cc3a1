package sync

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/quic"
	"github.com/aper-go/aper/transport/websocket"
)

// Environment of the child process of BenchmarkIdleServerConn.
const (
	idleEnvN     = "APER_SYNC_IDLE_N"
	idleEnvKind  = "APER_SYNC_IDLE_KIND"
	idleEnvAddr  = "APER_SYNC_IDLE_ADDR"
	idleEnvCert  = "APER_SYNC_IDLE_CERT"
	idleRoomName = "counter/idle"
)

// BenchmarkIdleServerConn reports what an idle connection costs the server, transport and sync
// server together, after its hello and welcome: the clients run in a child process (this test
// binary again, running TestIdleServerConnClients), so that only the server side is counted.
// Metrics: B/conn (live heap and goroutine stacks), heap-B/conn, stack-B/conn and
// goroutines/conn. Run it with -benchtime=1x.
//
// Over WebSocket it is about 19 KB: two goroutines of 4 KiB of stack each (the transport's
// read-ahead and the sync server's reader; a writer runs only while there is something to
// send), about 8 KB of the transport's heap (coder/websocket's connection, the hijacked HTTP
// connection's bufio reader and writer, the upgrade request kept for Metadata) and about 3 KB of
// the sync server's (the connection, its queue and session, the reader's timeout context).
// Over QUIC it is about 56 KB, four goroutines: most of it is quic-go's and crypto/tls's (see
// BenchmarkIdleConn in transport/quic).
func BenchmarkIdleServerConn(b *testing.B) {
	const conns = 2000
	b.Run("websocket", func(b *testing.B) {
		l, err := websocket.Listen("127.0.0.1:0", &websocket.ServerOptions{Backlog: conns})
		if err != nil {
			b.Fatal(err)
		}
		addr := "ws://" + l.Addr().String()
		benchIdleServerConn(b, l, websocket.Dialer(addr, nil), "websocket", addr, conns)
	})
	b.Run("quic", func(b *testing.B) {
		certPEM, keyPEM, err := quic.SelfSignedPEM(time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			b.Fatal(err)
		}
		b.Setenv(idleEnvCert, string(certPEM))
		l, err := quic.Listen("127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}}, nil)
		if err != nil {
			b.Fatal(err)
		}
		addr := l.Addr().String()
		benchIdleServerConn(b, l, idleDialer(b, "quic", addr), "quic", addr, conns)
	})
}

// idleDialer returns the dialer of the clients of BenchmarkIdleServerConn.
func idleDialer(tb testing.TB, kind, addr string) transport.Dialer {
	if kind == "websocket" {
		return websocket.Dialer(addr, nil)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(os.Getenv(idleEnvCert))) {
		tb.Fatal("no certificate")
	}
	return quic.Dialer(addr, &tls.Config{RootCAs: pool, ServerName: "localhost"}, nil)
}

func benchIdleServerConn(b *testing.B, l transport.Listener, d transport.Dialer, kind, addr string, conns int) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	srv, err := NewServer(func(ctx context.Context, room string) (*aper.Counter, error) { return aper.NewCounter(0), nil })
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ctx, l) }()
	defer func() {
		srv.Close()
		<-done
	}()
	// One connection from this process first, so that what is made once (the room, codec
	// caches, the transport's shared state) is not counted.
	first, err := rawJoin(ctx, d, idleRoomName, "key-of-the-first-idle-client")
	if err != nil {
		b.Fatal(err)
	}
	defer first.conn.Close()
	for b.Loop() {
		heap0, stack0 := liveMem()
		g0 := runtime.NumGoroutine()
		holdIdleClients(b, ctx, kind, addr, conns, func() {
			heap1, stack1 := liveMem()
			g1 := runtime.NumGoroutine()
			n := float64(conns)
			b.ReportMetric(float64(heap1-heap0+stack1-stack0)/n, "B/conn")
			b.ReportMetric(float64(heap1-heap0)/n, "heap-B/conn")
			b.ReportMetric(float64(stack1-stack0)/n, "stack-B/conn")
			b.ReportMetric(float64(g1-g0)/n, "goroutines/conn")
		})
	}
}

// holdIdleClients runs the child process that holds conns idle clients, calls measure once they
// all have their welcome, and then ends the child.
func holdIdleClients(b *testing.B, ctx context.Context, kind, addr string, conns int, measure func()) {
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestIdleServerConnClients$", "-test.count=1")
	cmd.Env = append(os.Environ(), idleEnvN+"="+strconv.Itoa(conns), idleEnvKind+"="+kind, idleEnvAddr+"="+addr)
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
	ready, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || ready != "ready\n" {
		b.Fatalf("the clients did not get ready: %q, %v", ready, err)
	}
	measure()
}

// TestIdleServerConnClients is the client side of BenchmarkIdleServerConn, in a process of its
// own: it joins the room with as many raw clients as the benchmark asks, says so, and holds them
// until its standard input closes. Otherwise it skips.
func TestIdleServerConnClients(t *testing.T) {
	n, err := strconv.Atoi(os.Getenv(idleEnvN))
	if err != nil {
		t.Skip("the client side of BenchmarkIdleServerConn")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	d := idleDialer(t, os.Getenv(idleEnvKind), os.Getenv(idleEnvAddr))
	peers := make([]*rawPeer, 0, n)
	defer func() {
		for _, p := range peers {
			p.conn.Close()
		}
	}()
	for i := range n {
		p, err := rawJoin(ctx, d, idleRoomName, fmt.Sprintf("key-of-idle-client-%08d", i))
		if err != nil {
			t.Fatal(err)
		}
		peers = append(peers, p)
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
}
