package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport"
)

// ErrAction is the error of an action that a Kind cannot turn into a transition (malformed
// JSON, an unknown operation, a position out of range). errors.Is finds it.
var ErrAction = errors.New("aper/browser: bad action")

// Kind is one kind of room a page may open: the state machine S with transitions T, and how the
// page's JSON maps to them. The zero value uses S's and T's own JSON encoding.
type Kind[S aper.StateMachine[S, T], T any] struct {
	// Action turns a page's action, a JSON document, into a transition against the client's
	// optimistic state, which it must not change. Its error should wrap ErrAction (or a
	// *conflict.Conflict). Nil decodes the action as a T.
	Action func(state S, action json.RawMessage) (T, error)
	// View returns what the page reads as the state, which is encoded as JSON. Nil encodes the
	// state itself.
	View func(state S) any
}

// Opener opens a session of one kind of room. Kind implements it; Serve takes a map of them.
type Opener interface {
	Open(ctx context.Context, d transport.Dialer, room string, opts ...apersync.ClientOption) (*Session, error)
}

// Rejection is a transition of the session's client that the server refused, as the page
// reads it.
type Rejection struct {
	// Kind is the conflict's kind ("not found", "rejected", ...), or "refused" when the server
	// refused it before applying it (a limit, a permission).
	Kind string `json:"kind"`
	// Message says why.
	Message string `json:"message"`
}

// PresenceValue is another client's presence value, as the page reads it.
type PresenceValue struct {
	Client aper.ClientID   `json:"client"`
	Value  json.RawMessage `json:"value"`
}

// Session is a client of one room with a JSON face: what the JavaScript object of a dial calls.
// It holds an *apersync.Client whatever its state machine, so that code for the page is written
// once. All methods may be called concurrently.
type Session struct {
	apply       func(json.RawMessage) error
	state       func() ([]byte, error)
	presence    func() []PresenceValue
	setPresence func(json.RawMessage) error
	status      func() apersync.Status
	id          func() aper.ClientID
	seq         func() uint64
	pending     func() int
	close       func() error

	changes, presenceChanges, statusChanges <-chan struct{}
	rejections                              <-chan Rejection
	done                                    <-chan struct{}
}

// Open dials the room with the sync client (see apersync.Dial) and returns its session. The
// connection should use the JSON codec, in which presence values reach the page as they were
// set.
func (k Kind[S, T]) Open(ctx context.Context, d transport.Dialer, room string, opts ...apersync.ClientOption) (*Session, error) {
	c, err := apersync.Dial[S, T](ctx, d, room, opts...)
	if err != nil {
		return nil, fmt.Errorf("aper/browser: open %s: %w", room, err)
	}
	rej := make(chan Rejection, 16)
	go func() { // ends when the client closes its Rejections channel, after Close
		defer close(rej)
		for r := range c.Rejections() {
			rej <- rejectionOf(r.Err, r.Conflict)
		}
	}()
	return &Session{
		apply: func(action json.RawMessage) error {
			t, err := k.transition(c.State(), action)
			if err != nil {
				return err
			}
			return c.Apply(t)
		},
		state: func() ([]byte, error) {
			s := c.State()
			if k.View != nil {
				return json.Marshal(k.View(s))
			}
			return json.Marshal(s)
		},
		presence: func() []PresenceValue {
			ps := c.Presence()
			out := make([]PresenceValue, 0, len(ps))
			for _, p := range ps {
				var v json.RawMessage
				if p.Decode(&v) != nil {
					continue // a value that does not decode as JSON is not shown
				}
				out = append(out, PresenceValue{Client: p.Client, Value: v})
			}
			return out
		},
		setPresence: func(v json.RawMessage) error {
			if len(v) == 0 || string(v) == "null" {
				return c.SetPresence(nil)
			}
			return c.SetPresence(v)
		},
		status:          c.Status,
		id:              c.ID,
		seq:             c.Seq,
		pending:         c.Pending,
		close:           c.Close,
		changes:         c.Changes(),
		presenceChanges: c.PresenceChanges(),
		statusChanges:   c.StatusChanges(),
		rejections:      rej,
		done:            c.Done(),
	}, nil
}

func (k Kind[S, T]) transition(s S, action json.RawMessage) (T, error) {
	if k.Action != nil {
		return k.Action(s, action)
	}
	var t T
	if err := json.Unmarshal(action, &t); err != nil {
		return t, fmt.Errorf("%w: %w", ErrAction, err)
	}
	return t, nil
}

func rejectionOf(err error, c *conflict.Conflict) Rejection {
	if c != nil {
		return Rejection{Kind: string(c.Kind), Message: c.Error()}
	}
	if err != nil {
		return Rejection{Kind: "refused", Message: err.Error()}
	}
	return Rejection{Kind: "rejected"}
}

// Apply turns the action into a transition (see Kind.Action) and applies it to the optimistic
// view; the client sends it to the server. A conflict with the view changes nothing and is
// returned: errors.As finds the *conflict.Conflict.
func (s *Session) Apply(action json.RawMessage) error { return s.apply(action) }

// State returns the optimistic view as JSON (see Kind.View).
func (s *Session) State() ([]byte, error) { return s.state() }

// Presence returns the other clients' presence values.
func (s *Session) Presence() []PresenceValue { return s.presence() }

// SetPresence sets this client's presence value, a JSON document; null clears it.
func (s *Session) SetPresence(v json.RawMessage) error { return s.setPresence(v) }

// Status returns the client's connection state.
func (s *Session) Status() apersync.Status { return s.status() }

// ID returns the client's id in the room.
func (s *Session) ID() aper.ClientID { return s.id() }

// Seq returns the Seq of the last transition the server confirmed to the client.
func (s *Session) Seq() uint64 { return s.seq() }

// Pending returns how many of the client's transitions wait for the server.
func (s *Session) Pending() int { return s.pending() }

// Changes signals (coalesced) a change of State that the server caused (see
// apersync.Client.Changes); the session's own Apply is not signalled.
func (s *Session) Changes() <-chan struct{} { return s.changes }

// PresenceChanges signals (coalesced) a change of Presence.
func (s *Session) PresenceChanges() <-chan struct{} { return s.presenceChanges }

// StatusChanges signals (coalesced) a change of Status.
func (s *Session) StatusChanges() <-chan struct{} { return s.statusChanges }

// Rejections delivers the client's transitions that the server refused; it is closed after
// Close.
func (s *Session) Rejections() <-chan Rejection { return s.rejections }

// Done is closed when the client stops (see apersync.Client.Done).
func (s *Session) Done() <-chan struct{} { return s.done }

// Close closes the client; it is idempotent.
func (s *Session) Close() error { return s.close() }
