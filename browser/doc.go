// Package browser lets a web page drive aper's Go client from JavaScript: the page's code is
// plain JavaScript (or any framework), the rules of the state machine are Go, compiled once to
// WebAssembly with the rest of the client. Nothing of a structure is written again in JavaScript.
//
// A program built with GOOS=js GOARCH=wasm names the kinds of room a page may open and calls
// [Serve]:
//
//	func main() {
//		browser.Serve(map[string]browser.Opener{
//			"counter": browser.Kind[*aper.Counter, aper.CounterTransition]{},
//		})
//	}
//
// A [Kind] says how a page's JSON maps to the state machine: Action turns an action the page
// sends (a JSON document, such as {"op": "add", "text": "milk"}) into a transition against the
// client's optimistic state, and View gives the JSON the page reads as the state. Both default
// to the state machine's own JSON encoding: a page may send transitions and read states as they
// travel.
//
// Serve installs one global object, aper, and never returns:
//
//	aper.kinds                       // the names given to Serve
//	const c = await aper.dial({kind, url, room, presence, link})
//	                                 // url: "ws://host/aper"; presence: a first presence value;
//	                                 // link: true to get c.link (below); resolves once the
//	                                 // client holds the room's state
//	c.apply(action)                  // applies at once and queues for the server: null, or
//	                                 // an Error (err.kind: the conflict's kind, or "action")
//	                                 // when it conflicts with the view, which stays as it was
//	c.state()                        // the optimistic view, as View gives it
//	c.onChange(fn)                   // fn() after any change; returns a function that unsubscribes
//	c.setPresence(value)             // a cursor, a name: not part of the state
//	c.presence()                     // [{client, value}] of the other clients
//	c.onPresence(fn), c.onStatus(fn) // fn() when those change
//	c.onRejection(fn)                // fn({kind, message}) for each transition the server refused
//	c.status()                       // {state: "connected"|"disconnected"|"closed", error}
//	c.id(), c.seq(), c.pending()
//	c.close()
//
// With link: true, the client's connection passes through a [Link] the page controls (the
// demonstration view does): c.link.onFrame(fn) sees every frame as it passes ({dir: "up" or
// "down", type: "hello", "submit", ..., text, dropped}), and c.link.delay(ms),
// c.link.dropNext(), c.link.partition() and c.link.heal() disturb it.
//
// Callbacks run on the page's one thread, as everything of a wasm program does; a callback that
// throws is reported on the console and does not stop the client.
package browser
