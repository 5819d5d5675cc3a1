package conflict_test

import (
	"errors"
	"fmt"

	"github.com/aper-go/aper/conflict"
)

func Example() {
	// A state machine deep inside a composite one returns a conflict...
	err := conflict.New(conflict.NotFound, "no card with that id")
	// ...and each composite level on the way up puts its key in front of the path.
	err2 := conflict.WithPath(err, "card-7")
	err3 := conflict.WithPath(err2, "board")

	fmt.Println(err3)
	fmt.Println(errors.Is(err3, conflict.ErrNotFound))
	if c := conflict.As(fmt.Errorf("apply: %w", err3)); c != nil {
		fmt.Println(c.Kind, c.Path)
	}
	// Output:
	// not found conflict at board/card-7: no card with that id
	// true
	// not found [board card-7]
}
