package fuzz

import (
	"encoding/json"
	"errors"
	"fmt"
	stdsync "sync"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/internal/cow"
	"github.com/aper-go/aper/undo"
)

// replica wraps the state machine under test so that every replica also carries the list of
// transitions it has applied: those the server ordered (Seq > 0) and a client's own optimistic
// ones (Seq 0), and the server's copy reports what it applied and rejected. The harness runs the room on replicas: the history travels in snapshots
// like the state itself, so at the end each client's history can be compared with the server's,
// which shows that no client ever applied a transition the server did not order (a rejected one,
// say) and that each applied every ordered one exactly once.
type replica[S aper.StateMachine[S, T], T any] struct {
	state S
	hist  []entry   // shared between clones; appends copy
	rec   *recorder // the server's copy only
}

// entry is one transition a replica applied: ordered (Seq > 0) or optimistic (Seq 0).
type entry struct {
	_      struct{}      `cbor:",toarray"`
	Seq    uint64        `json:"seq"`
	Client aper.ClientID `json:"client"`
	T      []byte        `json:"t"`    // the transition's CBOR encoding
	Time   int64         `json:"time"` // the event's time, Unix nanoseconds (0: the zero time)
}

func (e entry) String() string { return fmt.Sprintf("#%d %s %x", e.Seq, e.Client, e.T) }

// Apply applies ev to the wrapped state and, if it applies, appends it to the history.
func (r *replica[S, T]) Apply(ev aper.Event[T]) error {
	if cow.IsNil(r.state) {
		return conflict.New(conflict.Invalid, "fuzz: replica without a state")
	}
	if err := r.state.Apply(ev); err != nil {
		if r.rec != nil && ev.Seq != 0 {
			r.rec.note(ev.Client, encodeT(ev.Transition), false)
		}
		return err
	}
	r.appendEntry(ev)
	return nil
}

// appendEntry appends ev, just applied, to the history, and reports it to the recorder.
func (r *replica[S, T]) appendEntry(ev aper.Event[T]) {
	b := encodeT(ev.Transition)
	var at int64
	if !ev.Time.IsZero() {
		at = ev.Time.UnixNano()
	}
	r.hist = append(r.hist[:len(r.hist):len(r.hist)], entry{Seq: ev.Seq, Client: ev.Client, T: b, Time: at})
	if r.rec != nil && ev.Seq != 0 {
		r.rec.note(ev.Client, b, true)
	}
}

// ApplyInverse applies ev as Apply does, with the wrapped state's ApplyInverse, and returns its
// inverse (aper.Inverter), so that a client with an undo stack can run on replicas. A wrapped
// state that is no Inverter gives aper.ErrNoInverse and changes nothing.
func (r *replica[S, T]) ApplyInverse(ev aper.Event[T]) (T, error) {
	var zero T
	if cow.IsNil(r.state) {
		return zero, conflict.New(conflict.Invalid, "fuzz: replica without a state")
	}
	inv, err := aper.ApplyInverse[T](r.state, ev)
	if errors.Is(err, aper.ErrNoInverse) {
		return zero, err
	}
	if err != nil {
		if r.rec != nil && ev.Seq != 0 {
			r.rec.note(ev.Client, encodeT(ev.Transition), false)
		}
		return zero, err
	}
	r.appendEntry(ev)
	return inv, nil
}

// Forward re-expresses t with the wrapped state's Forward (undo.Forwarder) if it has one, and
// returns it as it is otherwise, which is what a client does for a state without Forward.
func (r *replica[S, T]) Forward(t T, reverted []undo.Reverted[T]) (T, error) {
	if f, ok := any(r.state).(undo.Forwarder[T]); ok && !cow.IsNil(r.state) {
		return f.Forward(t, reverted)
	}
	return t, nil
}

// Clone clones the wrapped state and shares the history. The clone reports nothing.
func (r *replica[S, T]) Clone() *replica[S, T] {
	return &replica[S, T]{state: r.state.Clone(), hist: r.hist}
}

type wireReplica[S any] struct {
	State   S       `json:"state" cbor:"1,keyasint"`
	History []entry `json:"history" cbor:"2,keyasint"`
}

func (r *replica[S, T]) MarshalJSON() ([]byte, error) {
	return json.Marshal(wireReplica[S]{State: r.state, History: r.hist})
}

func (r *replica[S, T]) UnmarshalJSON(b []byte) error {
	var w wireReplica[S]
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("aper/fuzz: replica: %w", err)
	}
	return r.load(w)
}

func (r *replica[S, T]) MarshalCBOR() ([]byte, error) {
	return aper.CBOR.Marshal(wireReplica[S]{State: r.state, History: r.hist})
}

func (r *replica[S, T]) UnmarshalCBOR(b []byte) error {
	var w wireReplica[S]
	if err := aper.CBOR.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("aper/fuzz: replica: %w", err)
	}
	return r.load(w)
}

func (r *replica[S, T]) load(w wireReplica[S]) error {
	if cow.IsNil(w.State) {
		return errors.New("aper/fuzz: replica: null state")
	}
	r.state, r.hist = w.State, w.History
	return nil
}

func encodeT(t any) []byte {
	b, err := aper.CBOR.Marshal(t)
	if err != nil {
		// A transition that does not encode never reaches the server; the client reports it.
		return []byte(fmt.Sprintf("unencodable: %v", err))
	}
	return b
}

// recorder is what the server's replica saw, per client: the transitions it applied and those it
// rejected, in order.
type recorder struct {
	mu       stdsync.Mutex
	applied  map[aper.ClientID][][]byte
	rejected map[aper.ClientID][][]byte
}

func newRecorder() *recorder {
	return &recorder{applied: map[aper.ClientID][][]byte{}, rejected: map[aper.ClientID][][]byte{}}
}

func (r *recorder) note(c aper.ClientID, t []byte, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ok {
		r.applied[c] = append(r.applied[c], t)
	} else {
		r.rejected[c] = append(r.rejected[c], t)
	}
}

func (r *recorder) of(c aper.ClientID) (applied, rejected [][]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.applied[c], r.rejected[c]
}
