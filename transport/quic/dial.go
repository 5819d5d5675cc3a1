package quic

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"

	quicgo "github.com/quic-go/quic-go"

	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/internal/frame"
)

// Dial connects to the QUIC server at addr ("127.0.0.1:4433"). tlsConf must let the client
// verify the server (RootCAs, ServerName, which defaults to addr's host); its NextProtos is
// replaced by ALPN. opts may be nil.
//
// The connection has a UDP socket of its own, connected to the server's address, so that an
// ICMP "port unreachable" is seen: a Dial to an address where nothing listens fails at once
// with an error that matches syscall.ECONNREFUSED (as a refused TCP connection does), and a
// connection whose server has gone (and whose host says so) fails at its next packet instead
// of after MaxIdleTimeout.
func Dial(ctx context.Context, addr string, tlsConf *tls.Config, opts *Options) (*Conn, error) {
	o := opts.withDefaults()
	qc, udp, err := dialQUIC(ctx, addr, tlsConf, o)
	if err != nil {
		return nil, fmt.Errorf("aper/transport/quic: dial %s: %w", addr, err)
	}
	st, err := qc.OpenStreamSync(ctx)
	if err == nil {
		// The hello makes the stream visible to the server's AcceptStream.
		_, err = st.Write(frame.Hello)
	}
	if err != nil {
		_ = qc.CloseWithError(codeProtocol, "stream setup failed")
		_ = udp.Close()
		return nil, fmt.Errorf("aper/transport/quic: dial %s: %w", addr, err)
	}
	c := newConn(qc, st, bufio.NewReaderSize(st, readBuffer), o, func() { _ = udp.Close() })
	return c, nil
}

// dialQUIC opens the QUIC connection on a connected UDP socket of its own.
func dialQUIC(ctx context.Context, addr string, tlsConf *tls.Config, o Options) (*quicgo.Conn, *net.UDPConn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, err
	}
	ra, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, nil, err
	}
	udp, err := net.DialUDP("udp", nil, ra)
	if err != nil {
		return nil, nil, err
	}
	conf := withALPN(tlsConf)
	if conf.ServerName == "" {
		conf.ServerName = host
	}
	qconf := o.quicConfig()
	qconf.MaxIncomingStreams = -1 // the server opens none
	qc, err := quicgo.Dial(ctx, connectedUDP{udp}, ra, conf, qconf)
	if err != nil {
		_ = udp.Close()
		return nil, nil, err
	}
	return qc, udp, nil
}

// connectedUDP is a UDP socket connected to the server. The kernel reports an ICMP error about
// the server's address on such a socket (ECONNREFUSED on the next read), which ends quic-go's
// transport, and so the dial or the connection, at once. quic-go writes with the peer's
// address, which a connected socket refuses: these methods drop it.
type connectedUDP struct{ *net.UDPConn }

func (c connectedUDP) WriteTo(b []byte, _ net.Addr) (int, error) { return c.Write(b) }

func (c connectedUDP) WriteMsgUDP(b, oob []byte, _ *net.UDPAddr) (n, oobn int, err error) {
	return c.UDPConn.WriteMsgUDP(b, oob, nil)
}

// Dialer returns a transport.Dialer that dials addr with tlsConf and opts.
func Dialer(addr string, tlsConf *tls.Config, opts *Options) transport.Dialer {
	return transport.DialerFunc(func(ctx context.Context) (transport.Conn, error) {
		c, err := Dial(ctx, addr, tlsConf, opts)
		if err != nil {
			return nil, err
		}
		return c, nil
	})
}
