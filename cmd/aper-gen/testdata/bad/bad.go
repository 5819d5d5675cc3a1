package bad

import "github.com/aper-go/aper"

type Bad struct {
	Name    string
	Value   aper.Counter
	hidden  *aper.Counter
	OK      *aper.Counter
	Applier *halfMachine
}

type halfMachine struct{}

func (*halfMachine) Apply(ev aper.Event[int]) error { return nil }

type Generic[T any] struct{ X *aper.Counter }
