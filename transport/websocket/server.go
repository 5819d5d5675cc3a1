package websocket

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/aper-go/aper/transport"
)

// ServerOptions configure a Server. A nil *ServerOptions means the defaults.
type ServerOptions struct {
	ConnOptions

	// OriginPatterns are the origins, besides the request's own host, that may connect: host
	// patterns matched with path.Match (as in github.com/coder/websocket's AcceptOptions).
	// Requests from other origins are refused with 403, which protects browsers' users from
	// cross-site WebSocket hijacking. Empty means same-origin (and non-browser) clients only.
	OriginPatterns []string

	// InsecureSkipVerify accepts every origin. Use only for tests and local tools.
	InsecureSkipVerify bool

	// HandshakeTimeout bounds the reading of an upgrade request's headers by a Server started
	// with Listen, so that a client that sends them slowly, or not at all, does not hold a
	// connection open; 0 means DefaultHandshakeTimeout. A Server mounted in another HTTP server
	// relies on that server's ReadHeaderTimeout.
	HandshakeTimeout time.Duration

	// Addr is what Addr reports for a Server made with NewServer and mounted in another HTTP
	// server; nil reports the Addr "http.Handler". Listen sets it to the listening address.
	Addr net.Addr

	// Backlog is the most upgraded connections that wait for Accept; 0 means DefaultBacklog.
	// Past it, upgrade requests are refused with 503 Service Unavailable, before the upgrade.
	Backlog int
}

// DefaultBacklog is the default of ServerOptions.Backlog.
const DefaultBacklog = 128

// Server is the server side: an http.Handler that upgrades requests to WebSocket connections,
// and a transport.Listener whose Accept returns them. Mount it at any path of any router, or
// start it with Listen.
//
// Concurrency: all methods may be called concurrently. ServeHTTP hands each upgraded
// connection to one Accept call and waits, with the request, until Accept takes it, the
// connection ends (its client closed it, or stopped answering pings), or the Server is closed;
// a connection that ended is dropped. At most Backlog connections wait. Close stops accepting
// (later requests get 503), waits for the waiting handlers, and leaves accepted connections
// open.
type Server struct {
	opts    ServerOptions
	conns   chan *Conn
	done    chan struct{}
	mu      sync.Mutex
	closed  bool
	waiting int            // upgrades in progress and connections waiting for Accept
	event   func(string)   // a test's hook: "parked" (offered to Accept), "dropped"
	wg      sync.WaitGroup // ServeHTTP calls in progress
	httpSrv *http.Server   // set by Listen
	serveWG sync.WaitGroup
}

var (
	_ transport.Listener = (*Server)(nil)
	_ http.Handler       = (*Server)(nil)
)

// NewServer makes a Server; opts may be nil.
func NewServer(opts *ServerOptions) *Server {
	var o ServerOptions
	if opts != nil {
		o = *opts
	}
	o.ConnOptions = o.withDefaults()
	if o.Backlog <= 0 {
		o.Backlog = DefaultBacklog
	}
	return &Server{opts: o, conns: make(chan *Conn), done: make(chan struct{})}
}

// Listen starts a Server on its own HTTP server listening on the TCP address addr (such as
// "127.0.0.1:0"), serving WebSocket on every path. Close shuts the HTTP server down too.
// Dial it with the URL "ws://" + s.Addr().String().
func Listen(addr string, opts *ServerOptions) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("aper/transport/websocket: listen: %w", err)
	}
	var o ServerOptions
	if opts != nil {
		o = *opts
	}
	o.Addr = ln.Addr()
	s := NewServer(&o)
	timeout := o.HandshakeTimeout
	if timeout <= 0 {
		timeout = DefaultHandshakeTimeout
	}
	s.httpSrv = &http.Server{Handler: s, ReadHeaderTimeout: timeout}
	s.serveWG.Go(func() { _ = s.httpSrv.Serve(ln) })
	return s, nil
}

// ServeHTTP upgrades the request and hands the connection to Accept.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "aper/transport/websocket: server closed", http.StatusServiceUnavailable)
		return
	}
	if s.waiting >= s.opts.Backlog {
		s.mu.Unlock()
		http.Error(w, "aper/transport/websocket: too many connections waiting to be accepted",
			http.StatusServiceUnavailable)
		return
	}
	s.waiting++
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	ws, err := websocket.Accept(smallBuffers{w}, r, &websocket.AcceptOptions{
		Subprotocols:       []string{SubprotocolCBOR, SubprotocolJSON},
		OriginPatterns:     s.opts.OriginPatterns,
		InsecureSkipVerify: s.opts.InsecureSkipVerify,
	})
	if err != nil {
		s.leave()
		return // Accept has written the HTTP error
	}
	c := newConn(ws, r, s.opts.ConnOptions)
	s.notify("parked")
	select {
	case s.conns <- c: // Accept has counted it out
		return
	case <-s.done:
	case <-c.readDone: // the connection ended while it waited: nobody will want it
	case <-r.Context().Done(): // not after the hijack of HTTP/1, but a router may differ
	}
	_ = c.Close()
	s.leave()
	s.notify("dropped")
}

// Sizes of the buffers of an upgraded connection. net/http hands a hijacked connection 4 KiB for
// each; a connection that is idle most of its life keeps less. A read or write larger than its
// buffer goes to the socket directly, so a large message costs at most one more system call.
const (
	readBufferSize  = 1 << 10
	writeBufferSize = 1 << 10
)

// smallBuffers is a ResponseWriter whose Hijack gives the connection buffers of readBufferSize
// and writeBufferSize, keeping what the client sent after its request in the read buffer.
type smallBuffers struct{ http.ResponseWriter }

// Unwrap gives the wrapped ResponseWriter to http.ResponseController.
func (w smallBuffers) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack hijacks the wrapped ResponseWriter's connection and replaces its buffers.
func (w smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if brw.Writer.Buffered() > 0 {
		if err := brw.Writer.Flush(); err != nil {
			_ = nc.Close()
			return nil, nil, err
		}
	}
	br := bufio.NewReaderSize(nc, readBufferSize)
	if n := brw.Reader.Buffered(); n > 0 {
		// What the client sent after its request is in the old buffer: it goes in the new
		// one, as buffered bytes, which is where the caller of Hijack looks for them.
		early, _ := brw.Reader.Peek(n)
		br = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(early)), nc), max(n, readBufferSize))
		if _, err := br.Peek(n); err != nil {
			_ = nc.Close()
			return nil, nil, err
		}
	}
	return nc, bufio.NewReadWriter(br, bufio.NewWriterSize(nc, writeBufferSize)), nil
}

// leave counts a connection out of the backlog.
func (s *Server) leave() {
	s.mu.Lock()
	s.waiting--
	s.mu.Unlock()
}

func (s *Server) notify(event string) {
	s.mu.Lock()
	f := s.event
	s.mu.Unlock()
	if f != nil {
		f(event)
	}
}

// Accept returns the next upgraded connection, as a *Conn.
func (s *Server) Accept(ctx context.Context) (transport.Conn, error) {
	select {
	case <-s.done:
		return nil, fmt.Errorf("aper/transport/websocket: accept: %w", net.ErrClosed)
	default:
	}
	select {
	case c := <-s.conns:
		s.leave()
		return c, nil
	case <-s.done:
		return nil, fmt.Errorf("aper/transport/websocket: accept: %w", net.ErrClosed)
	case <-ctx.Done():
		return nil, fmt.Errorf("aper/transport/websocket: accept: %w", ctx.Err())
	}
}

type handlerAddr struct{}

func (handlerAddr) Network() string { return "websocket" }
func (handlerAddr) String() string  { return "http.Handler" }

// Addr returns the listening address for a Server started by Listen, else ServerOptions.Addr or
// a placeholder.
func (s *Server) Addr() net.Addr {
	if s.opts.Addr != nil {
		return s.opts.Addr
	}
	return handlerAddr{}
}

// Close stops accepting; it is idempotent. For a Server started by Listen it also closes the
// HTTP server. Accepted connections stay open.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	s.mu.Unlock()
	var err error
	if s.httpSrv != nil {
		err = s.httpSrv.Close()
		s.serveWG.Wait()
	}
	s.wg.Wait()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("aper/transport/websocket: close: %w", err)
	}
	return nil
}
