package unexported

import (
	"github.com/aper-go/aper"
)

type board struct {
	Done  *aper.Atom[bool]
	Moves *aper.Counter
}
