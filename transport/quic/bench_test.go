package quic_test

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"
	"time"

	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/quic"
	"github.com/aper-go/aper/transport/transporttest"
)

func BenchmarkQUIC(b *testing.B) {
	st, ct, err := quic.SelfSigned()
	if err != nil {
		b.Fatal(err)
	}
	transporttest.RunBenchmarks(b, transporttest.PairFrom(func(b *testing.B) (transport.Listener, transport.Dialer) {
		l, err := quic.Listen("127.0.0.1:0", st, nil)
		if err != nil {
			b.Fatal(err)
		}
		return l, quic.Dialer(l.Addr().String(), ct, nil)
	}))
}

// idleConns is how many connections BenchmarkIdleConn holds.
const idleConns = 2000

// idleCert is the environment variable that carries the server's certificate to the client
// process of BenchmarkIdleConn.
const idleCert = "APER_QUIC_IDLE_CERT"

// BenchmarkIdleConn reports what an idle server-side connection costs (run it with
// -benchtime=1x).
//
// With quic-go v0.65 it is about 48 KiB, and most of it is not this package's: about 31 KiB is
// quic-go's own (two goroutines, about 8 KiB of stacks; 1-RTT and next-key-phase AEADs; the
// Initial and Handshake crypto streams, kept after the handshake), about 10 KiB is crypto/tls
// state that quic-go keeps for the connection's life (its tls.QUICConn: the handshake
// messages' buffers, record-layer AEADs QUIC does not use), and about 5 KiB is this package's
// (the read-ahead goroutine, about 3 KiB, which keeps a peer's messages when it closes before
// they are received; the Conn, its inbox and read buffer).
func BenchmarkIdleConn(b *testing.B) {
	certPEM, keyPEM, err := quic.SelfSignedPEM(time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		b.Fatal(err)
	}
	b.Setenv(idleCert, string(certPEM))
	l, err := quic.Listen("127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	transporttest.BenchmarkIdle(b, l, l.Addr().String(), idleConns)
}

// TestIdleClients is the client side of BenchmarkIdleConn, in a process of its own.
func TestIdleClients(t *testing.T) {
	transporttest.IdleClients(t, func(t *testing.T, addr string) transport.Dialer {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(os.Getenv(idleCert))) {
			t.Fatal("no certificate")
		}
		return quic.Dialer(addr, &tls.Config{RootCAs: pool, ServerName: "localhost"}, nil)
	})
}
