//go:build js && wasm

package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"syscall/js"
	"time"

	"github.com/aper-go/aper/conflict"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/websocket"
)

// Serve installs the global object aper (see the package doc) with the kinds given, and never
// returns: a wasm program's main calls it last.
func Serve(kinds map[string]Opener) {
	names := make([]string, 0, len(kinds))
	for n := range kinds {
		names = append(names, n)
	}
	slices.Sort(names)
	api := js.Global().Get("Object").New()
	api.Set("kinds", toJS(names))
	api.Set("dial", js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) < 1 || args[0].Type() != js.TypeObject {
			return rejected(errors.New("aper.dial takes {kind, url, room}"))
		}
		return dial(kinds, args[0])
	}))
	js.Global().Set("aper", api)
	if f := js.Global().Get("onAperReady"); f.Type() == js.TypeFunction {
		f.Invoke()
	}
	select {} // the page's calls run on callbacks
}

// dial opens a session as aper.dial does, in a Promise.
func dial(kinds map[string]Opener, o js.Value) js.Value {
	kind, url, room := str(o, "kind"), str(o, "url"), str(o, "room")
	op, ok := kinds[kind]
	if !ok {
		return rejected(fmt.Errorf("aper.dial: no kind %q", kind))
	}
	return promise(func(resolve, reject js.Value) {
		var d transport.Dialer = websocket.Dialer(url, &websocket.DialOptions{Codec: "json"})
		var link *Link
		frames := newCallbacks()
		if o.Get("link").Truthy() {
			link = NewLink(d, func(f Frame) { frames.call(toJS(f)) })
			d = link
		}
		opts := []apersync.ClientOption{apersync.WithBackoff(100*time.Millisecond, 2*time.Second)}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s, err := op.Open(ctx, d, room, opts...)
		if err != nil {
			if link != nil {
				_ = link.Close()
			}
			reject.Invoke(jsError(err))
			return
		}
		if p := o.Get("presence"); p.Truthy() {
			_ = s.SetPresence(json.RawMessage(js.Global().Get("JSON").Call("stringify", p).String()))
		}
		resolve.Invoke(clientObject(s, link, frames))
	})
}

// clientObject is the JavaScript face of s.
func clientObject(s *Session, link *Link, frames *callbacks) js.Value {
	changes, presence, status, rejections := newCallbacks(), newCallbacks(), newCallbacks(), newCallbacks()
	go func() { // ends when the client stops
		rej := s.Rejections()
		for {
			select {
			case <-s.Changes():
				changes.call()
			case <-s.PresenceChanges():
				presence.call()
			case <-s.StatusChanges():
				status.call()
				changes.call() // the page shows the status with the state
			case r, ok := <-rej:
				if !ok {
					rej = nil
					continue
				}
				rejections.call(toJS(r))
				changes.call()
			case <-s.Done():
				status.call()
				return
			}
		}
	}()
	c := js.Global().Get("Object").New()
	fn := func(name string, f func(args []js.Value) any) {
		c.Set(name, js.FuncOf(func(_ js.Value, args []js.Value) any { return f(args) }))
	}
	fn("apply", func(args []js.Value) any {
		if len(args) < 1 {
			return jsError(fmt.Errorf("%w: apply takes an action", ErrAction))
		}
		action := js.Global().Get("JSON").Call("stringify", args[0]).String()
		if err := s.Apply(json.RawMessage(action)); err != nil {
			return jsError(err)
		}
		changes.call()
		return js.Null()
	})
	fn("state", func([]js.Value) any {
		b, err := s.State()
		if err != nil {
			return jsError(err)
		}
		return js.Global().Get("JSON").Call("parse", string(b))
	})
	fn("setPresence", func(args []js.Value) any {
		v := "null"
		if len(args) > 0 && args[0].Truthy() {
			v = js.Global().Get("JSON").Call("stringify", args[0]).String()
		}
		if err := s.SetPresence(json.RawMessage(v)); err != nil {
			return jsError(err)
		}
		return js.Undefined()
	})
	fn("presence", func([]js.Value) any { return toJS(s.Presence()) })
	fn("status", func([]js.Value) any {
		st := s.Status()
		o := map[string]any{"state": st.State.String()}
		if st.Err != nil {
			o["error"] = st.Err.Error()
		}
		return toJS(o)
	})
	fn("id", func([]js.Value) any { return string(s.ID()) })
	fn("seq", func([]js.Value) any { return float64(s.Seq()) })
	fn("pending", func([]js.Value) any { return s.Pending() })
	fn("onChange", func(args []js.Value) any { return changes.add(args) })
	fn("onPresence", func(args []js.Value) any { return presence.add(args) })
	fn("onStatus", func(args []js.Value) any { return status.add(args) })
	fn("onRejection", func(args []js.Value) any { return rejections.add(args) })
	fn("close", func([]js.Value) any {
		go func() { // Close waits for the client's goroutines: not on the page's call
			_ = s.Close()
			if link != nil {
				_ = link.Close()
			}
		}()
		return js.Undefined()
	})
	if link != nil {
		l := js.Global().Get("Object").New()
		lf := func(name string, f func(args []js.Value) any) {
			l.Set(name, js.FuncOf(func(_ js.Value, args []js.Value) any { return f(args) }))
		}
		lf("onFrame", func(args []js.Value) any { return frames.add(args) })
		lf("delay", func(args []js.Value) any {
			if len(args) > 0 {
				link.SetDelay(time.Duration(args[0].Float() * float64(time.Millisecond)))
			}
			return js.Undefined()
		})
		lf("dropNext", func([]js.Value) any { link.DropNext(); return js.Undefined() })
		lf("partition", func([]js.Value) any { go link.Partition(); return js.Undefined() })
		lf("heal", func([]js.Value) any { link.Heal(); return js.Undefined() })
		lf("partitioned", func([]js.Value) any { return link.Partitioned() })
		c.Set("link", l)
	}
	return c
}

// callbacks are the page's functions registered for one event.
type callbacks struct {
	mu   chan struct{} // a lock that the page's thread and the client's goroutines share
	next int
	fns  map[int]js.Value
}

func newCallbacks() *callbacks {
	return &callbacks{mu: make(chan struct{}, 1), fns: make(map[int]js.Value)}
}

// add registers args[0] and returns a function that unregisters it.
func (cb *callbacks) add(args []js.Value) any {
	if len(args) < 1 || args[0].Type() != js.TypeFunction {
		return jsError(errors.New("aper: a callback must be a function"))
	}
	cb.mu <- struct{}{}
	cb.next++
	id := cb.next
	cb.fns[id] = args[0]
	<-cb.mu
	var off js.Func
	off = js.FuncOf(func(js.Value, []js.Value) any {
		cb.mu <- struct{}{}
		delete(cb.fns, id)
		<-cb.mu
		off.Release()
		return js.Undefined()
	})
	return off
}

// call calls every registered function with args; one that throws is reported on the console.
func (cb *callbacks) call(args ...any) {
	cb.mu <- struct{}{}
	fns := make([]js.Value, 0, len(cb.fns))
	for _, f := range cb.fns {
		fns = append(fns, f)
	}
	<-cb.mu
	for _, f := range fns {
		callSafely(f, args...)
	}
}

// callSafely calls f, reporting on the console what it throws: a page's bug must not stop the
// client.
func callSafely(f js.Value, args ...any) {
	defer func() {
		if r := recover(); r != nil {
			js.Global().Get("console").Call("error", "aper: a callback threw:", fmt.Sprint(r))
		}
	}()
	f.Invoke(args...)
}

// toJS converts v to a JavaScript value through its JSON encoding.
func toJS(v any) js.Value {
	b, err := json.Marshal(v)
	if err != nil {
		return jsError(err)
	}
	return js.Global().Get("JSON").Call("parse", string(b))
}

// jsError is err as an Error object whose kind is the conflict's kind, if err holds one.
func jsError(err error) js.Value {
	e := js.Global().Get("Error").New(err.Error())
	var c *conflict.Conflict
	switch {
	case errors.As(err, &c):
		e.Set("kind", string(c.Kind))
	case errors.Is(err, ErrAction):
		e.Set("kind", "action")
	default:
		e.Set("kind", "error")
	}
	return e
}

// promise runs f in a goroutine and returns a Promise that it resolves or rejects.
func promise(f func(resolve, reject js.Value)) js.Value {
	var executor js.Func
	executor = js.FuncOf(func(_ js.Value, args []js.Value) any {
		resolve, reject := args[0], args[1]
		go f(resolve, reject)
		executor.Release()
		return js.Undefined()
	})
	return js.Global().Get("Promise").New(executor)
}

// rejected is a Promise rejected with err.
func rejected(err error) js.Value {
	return js.Global().Get("Promise").Call("reject", jsError(err))
}

// str is the string field name of o, or "".
func str(o js.Value, name string) string {
	v := o.Get(name)
	if v.Type() != js.TypeString {
		return ""
	}
	return v.String()
}
