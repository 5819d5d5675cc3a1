// Package conflict defines the typed error that a state machine returns when a transition no
// longer makes sense against its state.
//
// A state machine's Apply returns nil or an error that wraps a *Conflict, and a conflict leaves
// the state exactly as it was. The server of a room rejects a transition whose Apply conflicts and
// sends the conflict back to its sender only; it is never broadcast.
//
// Every Conflict has a Kind, a Path from the root state machine down to where it arose, and a
// human message. Each built-in kind has a sentinel for errors.Is:
//
//	if errors.Is(err, conflict.ErrNotFound) { ... }
//
// and errors.As finds the *Conflict through any fmt.Errorf("%w") wrapping. Composite state
// machines extend the path as a conflict travels up with [WithPath], so a conflict inside
// Map["a"] inside Map["b"] reports the path b/a.
//
// Applications declare their own kinds as constants of type [Kind] and their own sentinels with
// [Sentinel]:
//
//	const IllegalMove conflict.Kind = "illegal move"
//	var ErrIllegalMove = conflict.Sentinel(IllegalMove)
package conflict

import (
	"errors"
	"strings"
)

// Kind names a class of conflict. The built-in kinds are below; applications may declare their
// own. A Kind travels over the wire as its string, so keep it stable once clients depend on it.
type Kind string

// The built-in kinds.
const (
	// NotFound: the transition names an id or key that is unknown or was deleted.
	NotFound Kind = "not found"
	// Duplicate: the transition inserts an id or key that is already present.
	Duplicate Kind = "duplicate"
	// OutOfRange: a position, length or number lies outside what the state allows
	// (an index past the end, an integer overflow).
	OutOfRange Kind = "out of range"
	// Cycle: the transition would make a node its own ancestor.
	Cycle Kind = "cycle"
	// StaleBase: the transition was made against a version older than the kept history.
	StaleBase Kind = "stale base"
	// Mismatch: a compare-and-set found a value other than the expected one.
	Mismatch Kind = "mismatch"
	// Invalid: the transition is malformed (an unknown operation, a missing value).
	Invalid Kind = "invalid"
	// Rejected: the application's own rule refuses the transition (an illegal move in a game).
	Rejected Kind = "rejected"
)

// Sentinels for errors.Is, one per built-in kind. errors.Is(err, ErrNotFound) reports whether err
// wraps a *Conflict of kind NotFound, whatever its path and message.
var (
	ErrNotFound   = Sentinel(NotFound)
	ErrDuplicate  = Sentinel(Duplicate)
	ErrOutOfRange = Sentinel(OutOfRange)
	ErrCycle      = Sentinel(Cycle)
	ErrStaleBase  = Sentinel(StaleBase)
	ErrMismatch   = Sentinel(Mismatch)
	ErrInvalid    = Sentinel(Invalid)
	ErrRejected   = Sentinel(Rejected)
)

// Conflict is the error a state machine returns when a transition cannot be applied. The state
// that returned it is unchanged.
//
// A Conflict is a plain value: its fields are exported so that it can cross the wire (JSON and
// CBOR) inside a rejection and be rebuilt on the other side.
type Conflict struct {
	// Kind says what went wrong.
	Kind Kind `json:"kind" cbor:"1,keyasint"`
	// Path leads from the root state machine to where the conflict arose: map keys, item and node
	// ids, field names, outermost first.
	Path []string `json:"path,omitempty" cbor:"2,keyasint,omitempty"`
	// Message is for humans; code should test Kind.
	Message string `json:"message,omitempty" cbor:"3,keyasint,omitempty"`

	sentinel bool
}

var _ error = (*Conflict)(nil)

// New returns a conflict of the given kind with an empty path.
func New(kind Kind, message string) *Conflict {
	return &Conflict{Kind: kind, Message: message}
}

// Sentinel returns a value for errors.Is that matches every conflict of the given kind. Use it to
// declare the sentinel of an application's own kind.
func Sentinel(kind Kind) *Conflict {
	return &Conflict{Kind: kind, sentinel: true}
}

// Error formats the conflict as "<kind> conflict at <path>: <message>".
func (c *Conflict) Error() string {
	var b strings.Builder
	b.WriteString(string(c.Kind))
	b.WriteString(" conflict")
	if len(c.Path) > 0 {
		b.WriteString(" at ")
		b.WriteString(strings.Join(c.Path, "/"))
	}
	if c.Message != "" {
		b.WriteString(": ")
		b.WriteString(c.Message)
	}
	return b.String()
}

// Is reports whether target is the sentinel of c's kind (see [Sentinel]), or a conflict equal to c
// in kind, path and message.
func (c *Conflict) Is(target error) bool {
	t, ok := target.(*Conflict)
	if !ok || t == nil {
		return false
	}
	if t.Kind != c.Kind {
		return false
	}
	if t.sentinel {
		return true
	}
	return t.Message == c.Message && equalPath(t.Path, c.Path)
}

func equalPath(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// WithPath returns err with elem put in front of the path of the conflict it wraps, for a
// composite state machine to say in which of its parts a conflict arose. The conflict is copied,
// never changed in place, so sentinels and conflicts held elsewhere are safe. If err wraps no
// *Conflict, WithPath returns it unchanged; a nil err gives nil.
//
// The result is the copied *Conflict itself: text that wrapped it inside err is dropped, since the
// path now says where the conflict arose.
func WithPath(err error, elem string) error {
	if err == nil {
		return nil
	}
	var c *Conflict
	if !errors.As(err, &c) {
		return err
	}
	path := make([]string, 0, len(c.Path)+1)
	path = append(path, elem)
	path = append(path, c.Path...)
	return &Conflict{Kind: c.Kind, Path: path, Message: c.Message}
}

// As returns the *Conflict that err wraps, or nil if it wraps none.
func As(err error) *Conflict {
	var c *Conflict
	if errors.As(err, &c) {
		return c
	}
	return nil
}
