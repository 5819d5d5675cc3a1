package example

import (
	"github.com/aper-go/aper"
	"github.com/aper-go/aper/text"
)

//go:generate go run github.com/aper-go/aper/cmd/aper-gen -type Notes -sync Notes

// Notes is a shared note: a title and a body of text. Its body's type has Forward (an
// undo.Forwarder), so aper-gen gives Notes a Forward that delegates to it, and an undo of a
// client's edit of the body is re-expressed over the others' typing as a bare text's is. It has
// Ordered and Sent too (an aper.Orderer), so Notes gets them, and a server sends each edit of
// the body as it applied it.
type Notes struct {
	Title *aper.Atom[string] `json:"title"`
	Body  *text.Text         `json:"body"`
}
