package main

import (
	"bytes"
	"errors"
	"fmt"
	"go/format"
	"go/token"
	"go/types"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"unicode"

	"golang.org/x/tools/go/packages"
)

const (
	aperPath     = "github.com/aper-go/aper"
	conflictPath = "github.com/aper-go/aper/conflict"
)

// Generate loads the package in dir and returns the generated source for the named struct
// types: those in typeNames as structs of fields that all hold state (a product), those in
// oneOf as one-of structs, which hold exactly one field for their life.
func Generate(dir string, typeNames, oneOf []string) ([]byte, error) {
	// packages.Load runs go list in dir: a missing dir would surface as a failed fork/exec.
	if st, err := os.Stat(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("aper-gen: package directory %s does not exist", dir)
		}
		return nil, fmt.Errorf("aper-gen: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("aper-gen: %s is not a directory; name the package's directory", dir)
	}
	cfg := &packages.Config{
		Mode: packages.NeedName | packages.NeedTypes | packages.NeedTypesInfo | packages.NeedSyntax,
		Dir:  dir,
	}
	pkgs, err := packages.Load(cfg, ".")
	if err != nil {
		return nil, fmt.Errorf("aper-gen: load %s: %w", dir, err)
	}
	if len(pkgs) != 1 {
		return nil, fmt.Errorf("aper-gen: %s holds %d packages, want 1", dir, len(pkgs))
	}
	pkg := pkgs[0]
	// Type errors in the package are tolerated when they come from the generated file not being
	// there yet (a missing Apply); anything aper-gen needs is checked below.
	if pkg.Types == nil {
		return nil, fmt.Errorf("aper-gen: %s: no type information", dir)
	}
	return generate(pkg, typeNames, oneOf)
}

type genField struct {
	Name       string // Go field name
	Type       string // the field's type, as the generated file writes it
	Elem       string // for a pointer field, the pointed-to type; else ""
	Transition string // the field's transition type
	JSONKey    string // the field's key in JSON: the state field's own
	CBORKey    string // the field's key in CBOR: the state field's own
	KeyAsInt   bool   // CBORKey is an integer (cbor:"N,keyasint")
	Helper     string // name of the constructor helper
}

type genType struct {
	Name       string
	Transition string
	OneOf      bool // exactly one field is set, for the value's life
	Fields     []genField
}

type genFile struct {
	Package string
	Imports []genImport
	Aper    string // "aper." or "" when generating inside package aper
	Types   []genType
}

// genImport is one import line; Name is empty when the package's own name serves.
type genImport struct{ Name, Path string }

func generate(pkg *packages.Package, typeNames, oneOf []string) ([]byte, error) {
	imp := newImports(pkg.Types)
	file := genFile{Package: pkg.Types.Name()}
	file.Aper = imp.prefix(aperPath, "aper")
	// The types generated in this run are state machines already, though their methods do not
	// exist yet: -type Outer,Inner with a field *Inner works in one run.
	gen := map[string]bool{}
	var errs []error
	for _, name := range append(slices.Clip(typeNames), oneOf...) {
		name = strings.TrimSpace(name)
		if gen[name] {
			errs = append(errs, fmt.Errorf("aper-gen: type %s is named twice (in -type or -oneof)", name))
		}
		gen[name] = true
	}
	for i, name := range append(slices.Clip(typeNames), oneOf...) {
		gt, err := analyze(pkg, imp, strings.TrimSpace(name), gen, i >= len(typeNames))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		file.Types = append(file.Types, gt)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	imp.prefix(conflictPath, "conflict")
	file.Imports = imp.list()
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, file); err != nil {
		return nil, fmt.Errorf("aper-gen: %w", err)
	}
	src, err := format.Source(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("aper-gen: generated code does not parse (a bug): %w\n%s", err, buf.Bytes())
	}
	return src, nil
}

func analyze(pkg *packages.Package, imp *imports, name string, gen map[string]bool, oneOf bool) (genType, error) {
	obj := pkg.Types.Scope().Lookup(name)
	if obj == nil {
		return genType{}, fmt.Errorf("aper-gen: no type %s in package %s", name, pkg.Types.Name())
	}
	pos := pkg.Fset.Position(obj.Pos())
	tn, ok := obj.(*types.TypeName)
	if !ok {
		return genType{}, fmt.Errorf("%s: aper-gen: %s is not a type", pos, name)
	}
	named, ok := tn.Type().(*types.Named)
	if !ok {
		return genType{}, fmt.Errorf("%s: aper-gen: %s is an alias; name the struct itself", pos, name)
	}
	if named.TypeParams().Len() > 0 {
		return genType{}, fmt.Errorf("%s: aper-gen: %s is generic; aper-gen handles plain structs", pos, name)
	}
	st, ok := named.Underlying().(*types.Struct)
	if !ok {
		return genType{}, fmt.Errorf("%s: aper-gen: %s is not a struct", pos, name)
	}
	if st.NumFields() == 0 {
		return genType{}, fmt.Errorf("%s: aper-gen: %s has no fields", pos, name)
	}
	// The generated names take the struct's visibility: Board gets BoardTransition and
	// UpdateTitle, board gets boardTransition and updateTitle.
	helper := "Update"
	if !token.IsExported(name) {
		helper = "update"
	}
	gt := genType{Name: name, Transition: name + "Transition", OneOf: oneOf}
	var errs []error
	jsonKeys, cborKeys := map[string]string{}, map[string]string{} // key -> field
	for i := range st.NumFields() {
		f := st.Field(i)
		fpos := pkg.Fset.Position(f.Pos())
		if f.Embedded() {
			errs = append(errs, fmt.Errorf("%s: aper-gen: %s: embedded field %s: name the field", fpos, name, f.Name()))
			continue
		}
		if !f.Exported() {
			errs = append(errs, fmt.Errorf("%s: aper-gen: field %s.%s is unexported; fields must be exported so that the state encodes", fpos, name, f.Name()))
			continue
		}
		trans, err := transitionOf(pkg.Types, f.Type(), gen, imp.qualifier)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: aper-gen: field %s.%s (%s) is not a state machine: %w", fpos, name, f.Name(), types.TypeString(f.Type(), imp.qualifier), err))
			continue
		}
		k, err := keysOf(f.Name(), st.Tag(i))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: aper-gen: field %s.%s: %w", fpos, name, f.Name(), err))
			continue
		}
		if other, dup := jsonKeys[k.json]; dup {
			errs = append(errs, fmt.Errorf("%s: aper-gen: fields %s.%s and %s.%s both have the JSON key %q; give one a json tag of its own", fpos, name, other, name, f.Name(), k.json))
		}
		if other, dup := cborKeys[k.cbor]; dup {
			errs = append(errs, fmt.Errorf("%s: aper-gen: fields %s.%s and %s.%s both have the CBOR key %s; give one a cbor tag of its own", fpos, name, other, name, f.Name(), k.cborString()))
		}
		jsonKeys[k.json], cborKeys[k.cbor] = f.Name(), f.Name()
		gf := genField{
			Name:       f.Name(),
			Type:       types.TypeString(f.Type(), imp.qualifier),
			Transition: trans,
			JSONKey:    k.json,
			CBORKey:    k.cbor,
			KeyAsInt:   k.asInt,
			Helper:     helper + f.Name(),
		}
		if p, ok := f.Type().(*types.Pointer); ok {
			gf.Elem = types.TypeString(p.Elem(), imp.qualifier)
		} else if oneOf {
			errs = append(errs, fmt.Errorf("%s: aper-gen: field %s.%s of the one-of %s is not a pointer; a one-of's fields are pointers, nil but for the one it holds", fpos, name, f.Name(), name))
			continue
		}
		gt.Fields = append(gt.Fields, gf)
	}
	if len(errs) > 0 {
		return genType{}, errors.Join(errs...)
	}
	return gt, nil
}

// wireKeys are the keys a field has in the two codecs.
type wireKeys struct {
	json  string
	cbor  string
	asInt bool // cbor is an integer key
}

func (k wireKeys) cborString() string {
	if k.asInt {
		return k.cbor
	}
	return strconv.Quote(k.cbor)
}

// keysOf returns the keys under which the codecs encode a state field with this name and tag,
// found as they find them: JSON (encoding/json) takes the json tag's name, else the field's
// name; CBOR (fxamacker/cbor) takes the cbor tag, else the json tag, else the field's name, and
// an integer key with the keyasint option. A field's transition is keyed the same way, so that
// it does not depend on where the field stands in the struct.
func keysOf(field, tag string) (wireKeys, error) {
	st := reflect.StructTag(tag)
	jsonTag, hasJSON := st.Lookup("json")
	cborTag, hasCBOR := st.Lookup("cbor")
	k := wireKeys{json: field}
	if hasJSON {
		name, _, _ := strings.Cut(jsonTag, ",")
		if name == "-" && jsonTag == "-" {
			return wireKeys{}, errors.New(`its json tag "-" leaves it out of the state's JSON encoding; a state machine field must encode`)
		}
		if name != "" {
			if !validJSONKey(name) {
				return wireKeys{}, fmt.Errorf("its json tag's name %q is not one encoding/json accepts (it would fall back to the field name)", name)
			}
			k.json = name
		}
	}
	if !hasCBOR {
		cborTag, hasCBOR = jsonTag, hasJSON
	}
	k.cbor = field
	if hasCBOR {
		name, opts, _ := strings.Cut(cborTag, ",")
		if cborTag == "-" {
			return wireKeys{}, errors.New(`its cbor tag "-" leaves it out of the state's CBOR encoding; a state machine field must encode`)
		}
		if name != "" {
			k.cbor = name
		}
		if slices.Contains(strings.Split(opts, ","), "keyasint") {
			n, err := strconv.ParseInt(name, 10, 64)
			if err != nil {
				return wireKeys{}, fmt.Errorf("its cbor tag %q has keyasint but %q is not an integer", cborTag, name)
			}
			k.cbor, k.asInt = strconv.FormatInt(n, 10), true
		}
	}
	return k, nil
}

// validJSONKey is encoding/json's rule for a tag name it uses.
func validJSONKey(s string) bool {
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

// transitionOf returns, as the generated file writes it, T if t has Apply(aper.Event[T]) error
// and Clone() t, or the transition type that this run generates when t is a pointer to one of
// the types gen names in package self.
func transitionOf(self *types.Package, t types.Type, gen map[string]bool, q types.Qualifier) (string, error) {
	ptr, isPtr := t.(*types.Pointer)
	base := t
	if isPtr {
		base = ptr.Elem()
	}
	if n, ok := base.(*types.Named); ok && n.Obj().Pkg() == self && gen[n.Obj().Name()] {
		if !isPtr {
			return "", fmt.Errorf("aper-gen gives %s pointer-receiver methods: declare the field as *%s", n.Obj().Name(), n.Obj().Name())
		}
		return n.Obj().Name() + "Transition", nil
	}
	tr, err := methodTransition(t)
	if err != nil {
		return "", err
	}
	return types.TypeString(tr, q), nil
}

// methodTransition returns T if t has Apply(aper.Event[T]) error and Clone() t.
func methodTransition(t types.Type) (types.Type, error) {
	mset := types.NewMethodSet(t)
	applySel, cloneSel := mset.Lookup(nil, "Apply"), mset.Lookup(nil, "Clone")
	if applySel == nil || cloneSel == nil {
		if _, isPtr := t.(*types.Pointer); !isPtr {
			if p := types.NewMethodSet(types.NewPointer(t)); p.Lookup(nil, "Apply") != nil {
				return nil, errors.New("its methods have pointer receivers: declare the field as a pointer")
			}
		}
		return nil, errors.New("it needs the methods Apply(aper.Event[T]) error and Clone() of its own type")
	}
	// Methods of an embedded or generic type: use the selection's signature.
	apply := applySel.Type().(*types.Signature)
	if apply.Params().Len() != 1 || apply.Results().Len() != 1 || !isError(apply.Results().At(0).Type()) {
		return nil, errors.New("its Apply is not Apply(aper.Event[T]) error")
	}
	ev, ok := apply.Params().At(0).Type().(*types.Named)
	if !ok || ev.Obj().Pkg() == nil || ev.Obj().Pkg().Path() != aperPath || ev.Obj().Name() != "Event" || ev.TypeArgs().Len() != 1 {
		return nil, errors.New("its Apply does not take an aper.Event[T]")
	}
	clone := cloneSel.Type().(*types.Signature)
	if clone.Params().Len() != 0 || clone.Results().Len() != 1 || !types.Identical(clone.Results().At(0).Type(), t) {
		return nil, fmt.Errorf("its Clone does not return %s", t)
	}
	return ev.TypeArgs().At(0), nil
}

func isError(t types.Type) bool {
	return types.Identical(t, types.Universe.Lookup("error").Type())
}

// imports names the packages the generated file refers to, avoiding clashes.
type imports struct {
	self   *types.Package
	byPath map[string]string // import path -> name used in the generated file
	own    map[string]string // import path -> the package's declared name
	used   map[string]bool
}

func newImports(self *types.Package) *imports {
	return &imports{self: self, byPath: map[string]string{}, own: map[string]string{}, used: map[string]bool{}}
}

func (im *imports) name(path, want string) string {
	if n, ok := im.byPath[path]; ok {
		return n
	}
	n := want
	for i := 2; im.used[n] || n == "s" || n == "t" || n == "ev" || n == "f" || n == "c" || n == "err"; i++ {
		n = want + strconv.Itoa(i)
	}
	im.byPath[path] = n
	im.own[path] = want
	im.used[n] = true
	return n
}

// prefix returns "name." for path, or "" when path is the package being generated.
func (im *imports) prefix(path, want string) string {
	if path == im.self.Path() {
		return ""
	}
	return im.name(path, want) + "."
}

func (im *imports) qualifier(p *types.Package) string {
	if p == im.self {
		return ""
	}
	return im.name(p.Path(), p.Name())
}

func (im *imports) list() []genImport {
	out := make([]genImport, 0, len(im.byPath))
	for path, name := range im.byPath {
		if name == im.own[path] {
			name = ""
		}
		out = append(out, genImport{Name: name, Path: path})
	}
	slices.SortFunc(out, func(a, b genImport) int { return strings.Compare(a.Path, b.Path) })
	return out
}

var tmpl = template.Must(template.New("gen").Parse(`// Code generated by aper-gen; DO NOT EDIT.

package {{.Package}}

import (
{{- range .Imports}}
	{{if .Name}}{{.Name}} {{end}}"{{.Path}}"
{{- end}}
)
{{$aper := .Aper}}
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
{{if .OneOf}}
// Apply applies the transition to the one field it sets, which must be the field that s
// holds: {{.Name}} is a one-of, with exactly one field set for its life. A transition to
// another field is an Invalid conflict with that field's name as its path; when s holds no field
// yet, the transition's field starts from the zero value of its type and s holds it from then
// on. A conflict of the field comes back with the field's name in front of its path, and
// {{.Name}} is unchanged; a transition that sets no field, or more than one, and a {{.Name}}
// that holds more than one field, are Invalid conflicts.
func (s *{{.Name}}) Apply(ev {{$aper}}Event[{{.Transition}}]) error {
	t := &ev.Transition
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
		return conflict.New(conflict.Invalid, "{{.Name}}: a transition sets exactly one field")
	}
	if holds > 1 {
		return conflict.New(conflict.Invalid, "{{.Name}}: a one-of holds more than one field")
	}
	switch {
{{- range .Fields}}
	case t.{{.Name}} != nil:
		f := s.{{.Name}}
		if f == nil {
			if holds != 0 {
				return conflict.WithPath(conflict.New(conflict.Invalid, "{{$t.Name}} holds "+held+", not {{.Name}}"), "{{.Name}}")
			}
			f = new({{.Elem}})
		}
		if err := f.Apply({{$aper}}Event[{{.Transition}}]{Seq: ev.Seq, Client: ev.Client, Time: ev.Time, Transition: *t.{{.Name}}}); err != nil {
			return conflict.WithPath(err, "{{.Name}}")
		}
		s.{{.Name}} = f
{{- end}}
	}
	return nil
}
{{- else}}
// Apply applies the transition to the one field it sets; a nil field starts from the zero value
// of its type (empty, for the library's structures). A conflict of the field comes back with the
// field's name in front of its path, and {{.Name}} is unchanged; a transition that sets no
// field, or more than one, is an Invalid conflict.
func (s *{{.Name}}) Apply(ev {{$aper}}Event[{{.Transition}}]) error {
	t := &ev.Transition
	set := 0
{{- range .Fields}}
	if t.{{.Name}} != nil {
		set++
	}
{{- end}}
	if set != 1 {
		return conflict.New(conflict.Invalid, "{{.Name}}: a transition sets exactly one field")
	}
	switch {
{{- range .Fields}}
	case t.{{.Name}} != nil:
		f := s.{{.Name}}
{{- if .Elem}}
		if f == nil {
			f = new({{.Elem}})
		}
{{- end}}
		if err := f.Apply({{$aper}}Event[{{.Transition}}]{Seq: ev.Seq, Client: ev.Client, Time: ev.Time, Transition: *t.{{.Name}}}); err != nil {
			return conflict.WithPath(err, "{{.Name}}")
		}
		s.{{.Name}} = f
{{- end}}
	}
	return nil
}
{{- end}}

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
// change s.
func (s *{{$t.Name}}) {{.Helper}}(t {{.Transition}}) {{$t.Transition}} {
	return {{$t.Transition}}{ {{- .Name}}: &t}
}
{{end}}
{{- end}}`))
