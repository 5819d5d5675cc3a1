package main

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/aper-go/aper/cmd/aper/internal/rooms"
)

// lateGrace bounds how long the sim waits, once every client has resolved its transitions, for
// rejections still on their way to its Rejections channel.
const lateGrace = 5 * time.Second

// awaitRejections receives from chans until need values came in all, ctx ends, or grace passes
// without them, passing each to got with its channel's index. A client counts a transition
// resolved (Pending) as soon as the server's verdict is in, but its own goroutine hands a
// rejection to the Rejections channel a moment later: a drain that does not wait, once Pending
// is 0, can miss it, and the sim then counted a transition neither confirmed nor rejected. It
// returns how many values it received.
func awaitRejections[R any](ctx context.Context, chans []<-chan R, need int, grace time.Duration, got func(i int, r R)) int {
	if need <= 0 {
		return 0
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	cases := make([]reflect.SelectCase, 0, len(chans)+2)
	cases = append(cases,
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())},
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(timer.C)})
	for _, ch := range chans {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
	}
	n := 0
	for n < need {
		i, v, ok := reflect.Select(cases)
		switch {
		case i < 2:
			return n
		case !ok:
			cases[i].Chan = reflect.Value{} // closed (the client stopped): never chosen again
		default:
			got(i-2, v.Interface().(R))
			n++
		}
	}
	return n
}

// exactlyOnce checks that every transition the clients applied was confirmed once or rejected
// once: the seqs the server gave during the run (one per confirmed transition) plus the
// rejections make up the transitions applied, none lost and none doubled; and the state is what
// the confirmed transitions add up to, from the state before the run: the counter grew by the
// sum of the confirmed adds, the todo list by the confirmed inserts less the confirmed deletes
// (a concurrent delete of a deleted item is rejected, so each confirmed one removed an item). A
// text's length is not so exact (two concurrent deletes of one letter both succeed and remove it
// once), so for text the count is the check, with the growth between the confirmed inserts less
// deletes and the inserts.
func exactlyOnce(cfg simConfig, before, state *rooms.Room, confirmed, rejected int, added int64, inserts, deletes int) (bool, string) {
	counted := fmt.Sprintf("%d confirmed + %d rejected = %d applied", confirmed, rejected, cfg.transitions)
	if confirmed+rejected != cfg.transitions {
		return false, fmt.Sprintf("%d confirmed + %d rejected, but %d applied", confirmed, rejected, cfg.transitions)
	}
	if !holds(cfg.room, state) || !holds(cfg.room, before) {
		return false, fmt.Sprintf("%s, but the server's room holds no %s", counted, cfg.room)
	}
	switch cfg.room {
	case rooms.Counter:
		if d := state.Counter.Value() - before.Counter.Value(); d != added {
			return false, fmt.Sprintf("%s, but the counter grew by %d, not by the sum of the confirmed adds, %d", counted, d, added)
		}
		return true, counted + "; the counter grew by the sum of the confirmed adds"
	case rooms.TodoKind:
		if d := state.Todo.Len() - before.Todo.Len(); d != inserts-deletes {
			return false, fmt.Sprintf("%s, but the list grew by %d items, not by %d inserted - %d deleted", counted, d, inserts, deletes)
		}
		return true, fmt.Sprintf("%s; the list grew by the %d confirmed inserts - %d deletes", counted, inserts, deletes)
	case rooms.Text:
		if d := state.Text.Len() - before.Text.Len(); d > inserts || d < inserts-deletes {
			return false, fmt.Sprintf("%s, but the text grew by %d letters, not between %d inserted - %d deleted and %[3]d", counted, d, inserts, deletes)
		}
		return true, fmt.Sprintf("%s; the text grew by %d letters, in [%d inserted - %d deleted, %[3]d]", counted, state.Text.Len()-before.Text.Len(), inserts, deletes)
	}
	return true, counted
}

// holds reports whether s holds the state of a room of kind k.
func holds(k rooms.Kind, s *rooms.Room) bool {
	switch {
	case s == nil:
		return false
	case k == rooms.Counter:
		return s.Counter != nil
	case k == rooms.TodoKind:
		return s.Todo != nil
	case k == rooms.Text:
		return s.Text != nil
	}
	return false
}
