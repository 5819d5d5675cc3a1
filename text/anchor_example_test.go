package text_test

import (
	"encoding/json"
	"fmt"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/text"
)

func ExampleText_Anchor() {
	server := text.New("Hello world")
	ann := server.Clone()

	// Ann types "," after "Hello" on her view; the edit is pending, and her caret after it is an
	// anchor, which she can publish as presence.
	comma := ann.Insert(5, ",")
	_ = ann.Apply(aper.Event[text.Edit]{Client: "ann", Transition: comma})
	caret, _ := ann.Anchor(6, text.Left)
	wire, _ := json.Marshal(caret)
	fmt.Println(ann, string(wire))

	// Bob's "!" at the same spot reaches the server first; then Ann's comma.
	_ = server.Apply(aper.Event[text.Edit]{Seq: 1, Client: "bob", Transition: server.Insert(5, "!")})
	_ = server.Apply(aper.Event[text.Edit]{Seq: 2, Client: "ann", Transition: comma})
	pos, _ := server.Resolve(caret)
	fmt.Println(server, pos) // right after the comma, where Ann's next keystroke lands

	// Position 6 of Ann's view at its version 1 names another place on the server, whose
	// version 1 is Bob's edit: a caret kept that way would move past the "!".
	moved, _ := server.TransformIndex(6, 1, text.Left)
	fmt.Println(moved)
	// Output:
	// Hello, world [0,5,0,"ann",1,0]
	// Hello,! world 6
	// 7
}
