package example

import "github.com/aper-go/aper"

//go:generate go run github.com/aper-go/aper/cmd/aper-gen -type Pair,Single,Mixed -oneof Either

// Register is a state machine of this package's own with ApplyInverse, the method of
// aper.Inverter: aper-gen gives a struct whose fields all have it an ApplyInverse of its own.
type Register struct{ V int }

// RegisterSet sets a Register.
type RegisterSet struct{ V int }

// Apply sets the value.
func (r *Register) Apply(ev aper.Event[RegisterSet]) error {
	r.V = ev.Transition.V
	return nil
}

// ApplyInverse sets the value and returns the transition that sets it back.
func (r *Register) ApplyInverse(ev aper.Event[RegisterSet]) (RegisterSet, error) {
	old := r.V
	r.V = ev.Transition.V
	return RegisterSet{V: old}, nil
}

// Clone returns a copy.
func (r *Register) Clone() *Register { c := *r; return &c }

// Plain is a state machine without ApplyInverse.
type Plain struct{ V int }

// Apply sets the value.
func (p *Plain) Apply(ev aper.Event[int]) error {
	p.V = ev.Transition
	return nil
}

// Clone returns a copy.
func (p *Plain) Clone() *Plain { c := *p; return &c }

// Pair gets ApplyInverse: its fields are Registers and a Single, which gets one too.
type Pair struct {
	A   *Register `json:"a"`
	One *Single   `json:"one"`
}

// Single holds one Register.
type Single struct {
	R *Register `json:"r"`
}

// Mixed gets no ApplyInverse: Plain has none.
type Mixed struct {
	R *Register `json:"r"`
	P *Plain    `json:"p"`
}

// Either is a one-of whose fields both have ApplyInverse, so it gets one too.
type Either struct {
	R   *Register `json:"r,omitempty"`
	One *Single   `json:"one,omitempty"`
}
