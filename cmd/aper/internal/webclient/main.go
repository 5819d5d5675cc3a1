//go:build js && wasm

// Command webclient is the WebAssembly program of aper serve's web pages: the sync client and
// the example rooms' state machines, driven from the pages' JavaScript through package browser.
// aper serve builds it (GOOS=js GOARCH=wasm) on the first request for it; `make wasm` builds it
// too.
package main

import (
	"github.com/aper-go/aper/browser"
	"github.com/aper-go/aper/cmd/aper/internal/rooms"
)

func main() {
	browser.Serve(map[string]browser.Opener{
		"room": browser.Kind[*rooms.Room, rooms.RoomTransition]{Action: rooms.FromAction, View: rooms.ViewOf},
	})
}
