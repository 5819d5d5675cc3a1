package sync

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/aper-go/aper/journal"
	"github.com/aper-go/aper/transport/websocket"
)

type serverConfig struct {
	roomIdle     time.Duration
	logSize      int
	queueLimit   int
	helloTimeout time.Duration
	maxMessage   int
	maxRejects   int
	logger       *slog.Logger
	now          func() time.Time
	ws           *websocket.ServerOptions

	auth          AuthFunc
	permit        any // func(Identity, S, T) error, checked by NewServer
	rate          float64
	burst         int
	maxPending    int
	maxTransition int
	maxPresence   int
	presenceEvery time.Duration
	maxClients    int
	maxRooms      int
	connTimeout   time.Duration
	leaveGrace    time.Duration
	journal       journal.Journal
	snapEvery     int
	owners        Ownership // see WithOwnership

	newRoomsPerClient int // see WithNewRoomsPerMinute
	newRoomsPerAddr   int

	metrics   any // a prometheus.Registerer; see WithMetrics (not in builds for the browser)
	roomLabel bool
}

// ServerOption configures a Server. Options validate their arguments: NewServer returns an
// error matching ErrInvalidOption for a bad one.
type ServerOption func(*serverConfig) error

// WithRoomIdle sets how long an empty room stays loaded before it is unloaded (default 30s). A
// negative duration keeps rooms loaded until the server closes. An unloaded room is made afresh
// by the factory on its next join.
func WithRoomIdle(d time.Duration) ServerOption {
	return func(c *serverConfig) error {
		c.roomIdle = d
		return nil
	}
}

// WithResumeLog sets how many of a room's latest transitions stay in memory so that a client
// that reconnects can resume from its last Seq (default 4096). A client that missed more gets a
// snapshot of the state instead.
func WithResumeLog(n int) ServerOption {
	return func(c *serverConfig) error {
		if n < 1 {
			return fmt.Errorf("%w: resume log of %d transitions, want at least 1", ErrInvalidOption, n)
		}
		c.logSize = n
		return nil
	}
}

// WithQueueLimit sets how many frames may wait on one connection's outgoing queue (default
// 65536): when more arrive while that many wait, unsent, the client is disconnected, so that it
// never stalls its room; it resumes when it reconnects. Its queue is dropped and an error frame
// of code "overflow" sent in its place (a *ServerError at the client); a client that reads
// nothing for 5s more is cut without it.
func WithQueueLimit(n int) ServerOption {
	return func(c *serverConfig) error {
		if n < 1 {
			return fmt.Errorf("%w: queue limit of %d frames, want at least 1", ErrInvalidOption, n)
		}
		c.queueLimit = n
		return nil
	}
}

// WithHelloTimeout sets how long a new connection may take to send its hello (default 10s).
func WithHelloTimeout(d time.Duration) ServerOption {
	return func(c *serverConfig) error {
		if d <= 0 {
			return fmt.Errorf("%w: hello timeout %v, want > 0", ErrInvalidOption, d)
		}
		c.helloTimeout = d
		return nil
	}
}

// WithMaxMessageSize sets the largest transport message the server sends (default
// transport.DefaultMaxMessageSize); frames are coalesced up to it. Set it no larger than the
// transport's own limit. A snapshot larger than half of it (or than 256 KiB) is sent in chunks,
// so a room of any size can be joined (see the package doc's Protocol section); a single frame
// over it (a huge transition) is reported to its client with code "too-large".
func WithMaxMessageSize(n int) ServerOption {
	return func(c *serverConfig) error {
		if n < 1024 {
			return fmt.Errorf("%w: max message size %d, want at least 1024", ErrInvalidOption, n)
		}
		c.maxMessage = n
		return nil
	}
}

// WithLogger sets where the server reports connections closed for an error (default: nowhere):
// a connection the server ends is logged at level Info with the reason it gave the client.
func WithLogger(l *slog.Logger) ServerOption {
	return func(c *serverConfig) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrInvalidOption)
		}
		c.logger = l
		return nil
	}
}

// WithWebSocket sets the options of the WebSocket endpoint that ServeHTTP serves (allowed
// origins, ping interval, message size); nil means the transport's defaults.
func WithWebSocket(opts *websocket.ServerOptions) ServerOption {
	return func(c *serverConfig) error {
		c.ws = opts
		return nil
	}
}

// WithAuth sets the authentication hook, asked once per connection after its hello, before it
// joins its room: it sees the transport's metadata and the hello's token and returns the
// client's identity (its ClientID, which replaces the one the client presented, and the rooms
// it may join), or an error that refuses the connection with the error's message. Agents
// (Server.Agent) are not asked, nor, in a cluster, about a client whose connection another
// server relays to this one, which that server authenticated (see WithOwnership).
func WithAuth(f AuthFunc) ServerOption {
	return func(c *serverConfig) error {
		if f == nil {
			return fmt.Errorf("%w: nil auth hook", ErrInvalidOption)
		}
		c.auth = f
		return nil
	}
}

// WithPermission sets the per-transition permission hook, asked in the room's goroutine before
// each client transition is applied, with the sender's identity (see WithAuth; without it, an
// Identity holding only the Client), the room's state (read it, do not change it or keep it) and
// the transition. A non-nil error refuses the transition: its sender alone gets a rejection
// whose Err is a *RefusedError matching ErrForbidden; nobody else hears of it. Server events
// (timers, joins and leaves) are not asked. S and T must be the server's: NewServer returns an
// error matching ErrInvalidOption otherwise.
func WithPermission[S, T any](check func(id Identity, room string, state S, t T) error) ServerOption {
	return func(c *serverConfig) error {
		if check == nil {
			return fmt.Errorf("%w: nil permission hook", ErrInvalidOption)
		}
		c.permit = check
		return nil
	}
}

// WithRateLimit limits each client to perSecond transitions per second on average, in bursts of
// up to burst (a token bucket; burst < 1 means max(1, perSecond)). A transition over the limit
// is refused: its sender gets a rejection whose Err matches ErrLimit (code "rate"); the room
// carries on. Default: no limit.
func WithRateLimit(perSecond float64, burst int) ServerOption {
	return func(c *serverConfig) error {
		if perSecond <= 0 || burst < 0 {
			return fmt.Errorf("%w: rate limit of %g per second, burst %d", ErrInvalidOption, perSecond, burst)
		}
		c.rate, c.burst = perSecond, burst
		return nil
	}
}

// WithMaxPending bounds how many of one connection's transitions may wait, received but not yet
// processed by the room (default: no bound; the room's inbox pushes back on its readers). Those
// over it are refused (code "pending", matching ErrLimit).
func WithMaxPending(n int) ServerOption {
	return func(c *serverConfig) error {
		if n < 1 {
			return fmt.Errorf("%w: max pending %d, want at least 1", ErrInvalidOption, n)
		}
		c.maxPending = n
		return nil
	}
}

// WithMaxTransitionSize bounds the encoded size of one transition (default: no bound below the
// transport's message limit). A larger one is refused (code "size", matching ErrLimit).
func WithMaxTransitionSize(n int) ServerOption {
	return func(c *serverConfig) error {
		if n < 1 {
			return fmt.Errorf("%w: max transition size %d, want at least 1", ErrInvalidOption, n)
		}
		c.maxTransition = n
		return nil
	}
}

// WithMaxPresenceSize bounds the encoded size of one presence value (default 4 KiB). A larger
// one is dropped, as is one nested deeper than 16 levels of arrays and maps: the room's other
// clients keep the sender's previous value.
func WithMaxPresenceSize(n int) ServerOption {
	return func(c *serverConfig) error {
		if n < 1 {
			return fmt.Errorf("%w: max presence size %d, want at least 1", ErrInvalidOption, n)
		}
		c.maxPresence = n
		return nil
	}
}

// WithPresenceThrottle sets the shortest time between two presence values of one connection
// that the server passes on to the room (default 25ms, at most 40 a second): a value that comes
// sooner is held, and replaced by any later one, until the time has passed; the last one is
// always passed on. So a client that moves its cursor a thousand times a second, whatever its
// own WithPresenceInterval, costs the room at most 40 broadcasts a second. 0 passes every value
// on at once.
func WithPresenceThrottle(d time.Duration) ServerOption {
	return func(c *serverConfig) error {
		if d < 0 {
			return fmt.Errorf("%w: presence throttle %v", ErrInvalidOption, d)
		}
		c.presenceEvery = d
		return nil
	}
}

// WithMaxClientsPerRoom bounds how many connections a room serves at once (default: no bound).
// One more is refused with a *ServerError of code "limit" (matching ErrLimit); the client
// retries with backoff.
func WithMaxClientsPerRoom(n int) ServerOption {
	return func(c *serverConfig) error {
		if n < 1 {
			return fmt.Errorf("%w: max clients per room %d, want at least 1", ErrInvalidOption, n)
		}
		c.maxClients = n
		return nil
	}
}

// WithMaxRooms bounds how many rooms the server holds loaded at once (default
// DefaultMaxRooms; 0 means no bound). A connection to one more is refused with a *ServerError
// of code "limit" (matching ErrLimit; not fatal: the client retries with backoff). A loaded room
// that nobody is connected to costs a few KiB besides its state, and unloads after the idle time
// (see WithRoomIdle). See also WithNewRoomsPerMinute.
func WithMaxRooms(n int) ServerOption {
	return func(c *serverConfig) error {
		if n < 0 {
			return fmt.Errorf("%w: max rooms %d, want at least 0", ErrInvalidOption, n)
		}
		c.maxRooms = n
		return nil
	}
}

// WithConnTimeout sets how long a connection may stay silent before the server drops it as dead
// (default 45s; a client pings every 2s unless WithPingInterval says otherwise, and its
// interval must stay well under this timeout). Its client then leaves the room:
// its presence goes for everyone at once, and (for a Membership) its grace period starts.
func WithConnTimeout(d time.Duration) ServerOption {
	return func(c *serverConfig) error {
		if d <= 0 {
			return fmt.Errorf("%w: connection timeout %v, want > 0", ErrInvalidOption, d)
		}
		c.connTimeout = d
		return nil
	}
}

// WithLeaveGrace sets how long a member of a room (see Membership) may be disconnected before
// it has left for good and its Left transition is applied (default 30s). Zero applies it as soon
// as its connection ends.
func WithLeaveGrace(d time.Duration) ServerOption {
	return func(c *serverConfig) error {
		if d < 0 {
			return fmt.Errorf("%w: leave grace %v, want ≥ 0", ErrInvalidOption, d)
		}
		c.leaveGrace = d
		return nil
	}
}
