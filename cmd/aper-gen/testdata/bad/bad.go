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

// Keys has fields whose keys clash or cannot be used.
type Keys struct {
	A     *aper.Counter `json:"x"`
	B     *aper.Counter `json:"x" cbor:"b"`
	C     *aper.Counter `cbor:"1,keyasint"`
	D     *aper.Counter `json:"d" cbor:"1,keyasint"`
	E     *aper.Counter `cbor:"e,keyasint"`
	F     *aper.Counter `json:"-"`
	G     *aper.Counter `cbor:"-"`
	H     *aper.Counter `json:"b"`
	Fine  *aper.Counter `json:"-,"`
	Space *aper.Counter `json:"a\\b"`
}

// value is a state machine with value receivers.
type value struct{}

func (v value) Apply(aper.Event[int]) error { return nil }
func (v value) Clone() value                { return v }

// Either is fine as a product (-type) but not as a one-of (-oneof): B cannot be nil.
type Either struct {
	A *aper.Counter
	B value
}

// Methods has fields named as the methods of its transition type.
type Methods struct {
	Field  *aper.Counter
	String *aper.Counter
}
