package text_test

import (
	"fmt"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/text"
)

func Example() {
	// The server's text, and Ann's view of it. Ann types "Hi" as two edits without waiting for
	// the server to confirm the first: both are based on version 0.
	server := text.New("world")
	ann := server.Clone()
	var sent []text.Edit
	for i, c := range "Hi" {
		e := ann.Insert(i, string(c))
		sent = append(sent, e)
		_ = ann.Apply(aper.Event[text.Edit]{Client: "ann", Transition: e}) // optimistic
	}
	fmt.Println(ann.String(), sent[0].Base, sent[1].Base)

	// Bob's edit reaches the server first.
	bob := server.Replace(0, 1, "W")
	_ = server.Apply(aper.Event[text.Edit]{Seq: 1, Client: "bob", Transition: bob})

	// Ann's edits are transformed over Bob's, and the second one knows that the first is hers.
	for i, e := range sent {
		_ = server.Apply(aper.Event[text.Edit]{Seq: uint64(2 + i), Client: "ann", Transition: e})
	}
	fmt.Println(server.String(), server.Version())
	// Output:
	// Hiworld 0 0
	// HiWorld 3
}
