package main

import "text/template"

// preamble is what Apply and ApplyInverse share: the checks that come before the field's own
// transition, each returning Ret followed by the error.
type preamble struct {
	genType
	Ret  string // "" for Apply, "XTransition{}, " for ApplyInverse
	Aper string
}

// delegation is the body of Ordered or Sent: Method of the field that the transition sets.
type delegation struct {
	genType
	Method string
}

var tmpl = template.Must(template.New("gen").Funcs(template.FuncMap{
	"preamble":   func(t genType, ret, aper string) preamble { return preamble{t, ret, aper} },
	"delegation": func(t genType, method string) delegation { return delegation{t, method} },
	"one": func(t genType, f genField) genType {
		t.Fields = []genField{f}
		return t
	},
}).Parse(`
{{- define "checks" -}}
	t := &ev.Transition
{{- if .OneOf}}
	set, holds, held := 0, 0, ""
{{- range .Fields}}
	if t.{{.Name}} != nil {
		set++
	}
	if s.{{.Name}} != nil {
		holds, held = holds+1, "{{.Name}}"
	}
{{- end}}
	if set != 1 {
		return {{.Ret}}conflict.New(conflict.Invalid, "{{.Name}}: a transition sets exactly one field")
	}
	if holds > 1 {
		return {{.Ret}}conflict.New(conflict.Invalid, "{{.Name}}: a one-of holds more than one field")
	}
{{- else}}
	set := 0
{{- range .Fields}}
	if t.{{.Name}} != nil {
		set++
	}
{{- end}}
	if set != 1 {
		return {{.Ret}}conflict.New(conflict.Invalid, "{{.Name}}: a transition sets exactly one field")
	}
{{- end}}
{{- end}}

{{- define "delegate" -}}
{{- /* dot is a delegation: the body of Ordered or Sent */ -}}
func (s *{{.Name}}) {{.Method}}(t {{.Transition}}) {{.Transition}} {
	if t.Field() == "" {
		return t
	}
	switch {
{{- range .Fields}}
{{- if .Order}}
	case t.{{.Name}} != nil:
{{- if .Elem}}
		if s.{{.Name}} == nil {
			return t
		}
{{- end}}
		u := s.{{.Name}}.{{$.Method}}(*t.{{.Name}})
		return {{$.Transition}}{ {{- .Name}}: &u}
{{- end}}
{{- end}}
	}
	return t
}
{{- end}}

{{- define "start" -}}
{{- /* dot is a preamble whose genType has the one field in Fields */ -}}
{{- $f := index .Fields 0}}
		f := s.{{$f.Name}}
{{- if .OneOf}}
		if f == nil {
			if holds != 0 {
				return {{.Ret}}conflict.WithPath(conflict.New(conflict.Invalid, "{{.Name}} holds "+held+", not {{$f.Name}}"), "{{$f.Name}}")
			}
			f = new({{$f.Elem}})
		}
{{- else if $f.Elem}}
		if f == nil {
			f = new({{$f.Elem}})
		}
{{- end}}
{{- end -}}

{{.Header}}

package {{.Package}}

import (
{{- range .Imports}}
{{- if .Gap}}
{{end}}
	{{if .Name}}{{.Name}} {{end}}"{{.Path}}"
{{- end}}
)
{{$aper := .Aper}}{{$fmt := .Fmt}}{{$undo := .Undo}}
{{range .Types}}{{$t := .}}
// {{.Transition}} is a transition of {{.Name}}. It sets exactly one field:
// the transition for the field of {{.Name}} of the same name. Each field is keyed on the wire
// as the field of {{.Name}} is (its json and cbor tags, else its name), not by its position, so
// adding or reordering fields of {{.Name}} leaves encoded transitions as they were.
type {{.Transition}} struct {
{{- range .Fields}}
	{{.Name}} *{{.Transition}} ` + "`" + `json:"{{.JSONKey}},omitempty" cbor:"{{.CBORKey}},{{if .KeyAsInt}}keyasint,{{end}}omitempty"` + "`" + `
{{- end}}
}

var _ {{$aper}}StateMachine[*{{.Name}}, {{.Transition}}] = (*{{.Name}})(nil)
{{- if .Order}}

var _ {{$aper}}Orderer[{{.Transition}}] = (*{{.Name}})(nil)
{{- end}}

// Field returns the name of the field of {{.Name}} that t changes, or "" when t sets no field or
// more than one (which Apply refuses).
func (t {{.Transition}}) Field() string {
	n, field := 0, ""
{{- range .Fields}}
	if t.{{.Name}} != nil {
		n, field = n+1, "{{.Name}}"
	}
{{- end}}
	if n != 1 {
		return ""
	}
	return field
}

// String returns the field t changes and that field's transition, as "{{(index .Fields 0).Name}}: ...".
func (t {{.Transition}}) String() string {
	out, sep := "", ""
{{- range .Fields}}
	if t.{{.Name}} != nil {
		out, sep = out+sep+"{{.Name}}: "+{{$fmt}}Sprint(*t.{{.Name}}), "; "
	}
{{- end}}
	if out == "" {
		return "{{.Transition}}{}"
	}
	return out
}

// UnmarshalCBOR decodes b into t with the result and the error that the general CBOR decoder
// ({{$aper}}CBOR) gives for {{.Transition}} without this method.
{{- if .Variant}}
// Every replica of a room decodes every transition, so the usual form, a map of one field's CBOR
// key to that field's transition as the library's encoder writes it ({{$aper}}CBORVariant),
// decoded into a zero t, is read by hand: the field's transition goes straight to its own type's
// UnmarshalCBOR, or to the general decoder, with no pass of the general decoder over the whole.
// Anything else (another key, one that matches a field only in another case, a failure of the
// field's decoder) is decoded by the general decoder from the whole of b.
{{- end}}
func (t *{{.Transition}}) UnmarshalCBOR(b []byte) error {
{{- if .Variant}}
	if key, v, ok := {{$aper}}CBORVariant(b); ok && *t == ({{.Transition}}{}) {
		switch string(key) {
{{- range .Fields}}
{{- if .Variant}}
		case {{printf "%q" .CBORKey}}:
			var x {{.Transition}}
{{- if .Direct}}
			if err := x.UnmarshalCBOR(v); err == nil {
{{- else}}
			if err := {{$aper}}CBOR.Unmarshal(v, &x); err == nil {
{{- end}}
				t.{{.Name}} = &x
				return nil
			}
{{- end}}
{{- end}}
		}
	}
{{- end}}
	// The same fields and tags without this method, under the same name for the errors.
	type methods = {{.Transition}}
	type {{.Transition}} methods
	return {{$aper}}CBOR.Unmarshal(b, (*{{.Transition}})(t))
}
{{if .OneOf}}
// Apply applies the transition to the one field it sets, which must be the field that s
// holds: {{.Name}} is a one-of, with exactly one field set for its life. A transition to
// another field is an Invalid conflict with that field's name as its path; when s holds no field
// yet, the transition's field starts from the zero value of its type and s holds it from then
// on. A conflict of the field comes back with the field's name in front of its path, and
// {{.Name}} is unchanged; a transition that sets no field, or more than one, and a {{.Name}}
// that holds more than one field, are Invalid conflicts.
{{- else}}
// Apply applies the transition to the one field it sets; a nil field starts from the zero value
// of its type (empty, for the library's structures). A conflict of the field comes back with the
// field's name in front of its path, and {{.Name}} is unchanged; a transition that sets no
// field, or more than one, is an Invalid conflict.
{{- end}}
func (s *{{.Name}}) Apply(ev {{$aper}}Event[{{.Transition}}]) error {
	{{template "checks" preamble . "" $aper}}
	switch {
{{- range .Fields}}
	case t.{{.Name}} != nil:
		{{- template "start" preamble (one $t .) "" $aper}}
		if err := f.Apply({{$aper}}Event[{{.Transition}}]{Seq: ev.Seq, Client: ev.Client, Time: ev.Time, Transition: *t.{{.Name}}}); err != nil {
			return conflict.WithPath(err, "{{.Name}}")
		}
		s.{{.Name}} = f
{{- end}}
	}
	return nil
}
{{if .Inverse}}
// ApplyInverse applies the transition as Apply does, with the same conflicts, and returns the
// transition that undoes it: the inverse that its field's own ApplyInverse gives, for the same
// field. A nil field that the transition starts is not nil after its inverse, but holds its
// type's zero value{{if .OneOf}}, and the one-of goes on holding it{{end}}.
func (s *{{.Name}}) ApplyInverse(ev {{$aper}}Event[{{.Transition}}]) ({{.Transition}}, error) {
	{{template "checks" preamble . (print .Transition "{}, ") $aper}}
	switch {
{{- range .Fields}}
	case t.{{.Name}} != nil:
		{{- template "start" preamble (one $t .) (print $t.Transition "{}, ") $aper}}
		inv, err := f.ApplyInverse({{$aper}}Event[{{.Transition}}]{Seq: ev.Seq, Client: ev.Client, Time: ev.Time, Transition: *t.{{.Name}}})
		if err != nil {
			return {{$t.Transition}}{}, conflict.WithPath(err, "{{.Name}}")
		}
		s.{{.Name}} = f
		return {{$t.Transition}}{ {{- .Name}}: &inv}, nil
{{- end}}
	}
	return {{.Transition}}{}, nil
}
{{end}}
{{- if .Forward}}
// Forward re-expresses t, a transition made against an earlier state of s (an inverse that
// ApplyInverse gave), over everything applied since, as [{{$undo}}Forwarder] asks: for a field
// whose type has Forward of its own, that field's Forward, given the entries of reverted that
// are transitions of the same field; for any other field, t as it is (its inverse needs no
// re-expressing). A conflict of the field comes back with the field's name in front of its path.
// A transition that sets no field, or more than one, or a field that s does not hold, is
// returned as it is: applying it gives the conflict.
func (s *{{.Name}}) Forward(t {{.Transition}}, reverted []{{$undo}}Reverted[{{.Transition}}]) ({{.Transition}}, error) {
	if t.Field() == "" {
		return t, nil
	}
	switch {
{{- range .Fields}}
{{- if .Forward}}
	case t.{{.Name}} != nil:
{{- if .Elem}}
		if s.{{.Name}} == nil {
			return t, nil
		}
{{- end}}
		var rs []{{$undo}}Reverted[{{.Transition}}]
		for _, r := range reverted {
			if r.Inverse.{{.Name}} != nil && r.Back.{{.Name}} != nil {
				rs = append(rs, {{$undo}}Reverted[{{.Transition}}]{Inverse: *r.Inverse.{{.Name}}, Back: *r.Back.{{.Name}}})
			}
		}
		ft, err := s.{{.Name}}.Forward(*t.{{.Name}}, rs)
		if err != nil {
			return {{$t.Transition}}{}, conflict.WithPath(err, "{{.Name}}")
		}
		return {{$t.Transition}}{ {{- .Name}}: &ft}, nil
{{- end}}
{{- end}}
	}
	return t, nil
}
{{end}}
{{- if .Order}}
// Ordered returns the form of t, a transition s has just applied, that a server sends to
// replicas, as [{{$aper}}Orderer] asks: for a field whose type has Ordered of its own, t with that
// field's transition replaced by the field's Ordered form of it; for any other field, t as it
// is. A transition that sets no field, or more than one, or a field that s does not hold, is
// returned as it is. t is not changed.
{{template "delegate" delegation . "Ordered"}}

// Sent returns t, an ordered form or not, as its author sent it, as [{{$aper}}Orderer] asks: for
// a field whose type has Sent of its own, t with that field's transition replaced by the field's
// Sent form of it; for any other field, t as it is. A transition that sets no field, or more than
// one, or a field that s does not hold, is returned as it is. t is not changed.
{{template "delegate" delegation . "Sent"}}
{{end}}
// Clone returns a deep copy of {{.Name}}, field by field.
func (s *{{.Name}}) Clone() *{{.Name}} {
	c := new({{.Name}})
{{- range .Fields}}
{{- if .Elem}}
	if s.{{.Name}} != nil {
		c.{{.Name}} = s.{{.Name}}.Clone()
	}
{{- else}}
	c.{{.Name}} = s.{{.Name}}.Clone()
{{- end}}
{{- end}}
	return c
}
{{range .Fields}}
// {{.Helper}} returns the transition of {{$t.Name}} that applies t to {{.Name}}. It does not
// read or change s, which may be nil (as {{.Func}} needs no s at all).
func (s *{{$t.Name}}) {{.Helper}}(t {{.Transition}}) {{$t.Transition}} {
	return {{$t.Transition}}{ {{- .Name}}: &t}
}

// {{.Func}} returns the transition of {{$t.Name}} that applies t to {{.Name}}.
func {{.Func}}(t {{.Transition}}) {{$t.Transition}} {
	return {{$t.Transition}}{ {{- .Name}}: &t}
}
{{if .SetFunc}}
// {{.SetFunc}} returns the transition of {{$t.Name}} that sets {{.Name}} to v.
func {{.SetFunc}}(v {{.AtomValue}}) {{$t.Transition}} {
	u := {{$aper}}SetAtom(v)
	return {{$t.Transition}}{ {{- .Name}}: &u}
}
{{end}}
{{- if .AtFunc}}
// {{.AtFunc}} returns the transition of {{$t.Name}} that applies t to the entry k of
// {{.Name}}: {{.Func}}(s.{{.Name}}.Update(k, t)) with no {{$t.Name}} at hand.
func {{.AtFunc}}(k {{.Key}}, t {{.Inner}}) {{$t.Transition}} {
	u := (*{{.Elem}})(nil).Update(k, t)
	return {{$t.Transition}}{ {{- .Name}}: &u}
}
{{end}}
{{- end}}
{{- with .Sync}}
// {{.Client}} is a client of a room whose state is a {{$t.Name}}, spelled once:
// {{.Pkg}}Client[*{{$t.Name}}, {{$t.Transition}}].
type {{.Client}} = {{.Pkg}}Client[*{{$t.Name}}, {{$t.Transition}}]

// {{.Server}} is a server of rooms whose state is a {{$t.Name}}:
// {{.Pkg}}Server[*{{$t.Name}}, {{$t.Transition}}].
type {{.Server}} = {{.Pkg}}Server[*{{$t.Name}}, {{$t.Transition}}]

// {{.Rejection}} is a transition of {{$t.Name}} that a server rejected.
type {{.Rejection}} = {{.Pkg}}Rejection[{{$t.Transition}}]

// {{.Dial}} is {{.Pkg}}Dial for a room whose state is a {{$t.Name}}, with the type arguments
// that Dial cannot infer filled in.
func {{.Dial}}(ctx {{.Context}}Context, d {{.Transport}}Dialer, room string, opts ...{{.Pkg}}ClientOption) (*{{.Client}}, error) {
	return {{.Pkg}}Dial[*{{$t.Name}}, {{$t.Transition}}](ctx, d, room, opts...)
}

// {{.NewServer}} is {{.Pkg}}NewServer for rooms whose state is a {{$t.Name}}, each made by
// factory.
func {{.NewServer}}(factory func(ctx {{.Context}}Context, room string) (*{{$t.Name}}, error), opts ...{{.Pkg}}ServerOption) (*{{.Server}}, error) {
	return {{.Pkg}}NewServer[*{{$t.Name}}, {{$t.Transition}}](factory, opts...)
}
{{end}}
{{- end}}`))
