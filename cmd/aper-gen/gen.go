package main

import (
	"bytes"
	"errors"
	"fmt"
	"go/format"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/tools/go/packages"
)

const (
	aperPath     = "github.com/aper-go/aper"
	conflictPath = "github.com/aper-go/aper/conflict"
	undoPath     = "github.com/aper-go/aper/undo"
)

// options says what one run of aper-gen generates.
type options struct {
	Dir    string   // the package's directory
	Output string   // the file the run writes; "" for the default (see defaultOutput)
	Types  []string // product structs: every field is part of the state
	OneOf  []string // one-of structs: exactly one field is set for a value's life
	Sync   []string // types, among Types and OneOf, that get sync aliases and constructors
}

// defaultOutput is the file a run writes when -output is not given: <first type>_aper.go, in
// lower case, in the package's directory.
func defaultOutput(dir string, types, oneOf []string) string {
	return filepath.Join(dir, strings.ToLower(strings.TrimSpace(append(slices.Clip(types), oneOf...)[0]))+"_aper.go")
}

// Generate loads the package in opt.Dir and returns the generated source for the named struct
// types: those in opt.Types as structs of fields that all hold state (a product), those in
// opt.OneOf as one-of structs, which hold exactly one field for their life.
//
// The package is loaded with the output file replaced by stubs that declare what the run is
// about to write (each type's transition type, Apply and Clone), so that the types of one run
// may refer to each other in any order, even as type arguments (a field
// *tree.Tree[*Task, TaskTransition] of Planner in -type Planner,Task), and so that a stale
// generated file does not get in the way.
func Generate(opt options) ([]byte, error) {
	if len(opt.Types) == 0 && len(opt.OneOf) == 0 {
		return nil, errors.New("aper-gen: no type named")
	}
	// packages.Load runs go list in dir: a missing dir would surface as a failed fork/exec.
	if st, err := os.Stat(opt.Dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("aper-gen: package directory %s does not exist", opt.Dir)
		}
		return nil, fmt.Errorf("aper-gen: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("aper-gen: %s is not a directory; name the package's directory", opt.Dir)
	}
	out := opt.Output
	if out == "" {
		out = defaultOutput(opt.Dir, opt.Types, opt.OneOf)
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		return nil, fmt.Errorf("aper-gen: %w", err)
	}
	absDir, err := filepath.Abs(opt.Dir)
	if err != nil {
		return nil, fmt.Errorf("aper-gen: %w", err)
	}
	if filepath.Dir(abs) != absDir {
		// An output file elsewhere is not part of the package: the stubs go into a file of the
		// package that exists only while it loads.
		abs = filepath.Join(absDir, "aper_gen_stubs.go")
	}
	pkgName, err := packageName(opt.Dir)
	if err != nil {
		return nil, err
	}
	cfg := &packages.Config{
		Mode:    packages.NeedName | packages.NeedTypes | packages.NeedTypesInfo | packages.NeedSyntax,
		Dir:     opt.Dir,
		Overlay: map[string][]byte{abs: stubs(pkgName, append(slices.Clip(opt.Types), opt.OneOf...))},
	}
	pkgs, err := packages.Load(cfg, ".")
	if err != nil {
		return nil, fmt.Errorf("aper-gen: load %s: %w", opt.Dir, err)
	}
	if len(pkgs) != 1 {
		return nil, fmt.Errorf("aper-gen: %s holds %d packages, want 1", opt.Dir, len(pkgs))
	}
	pkg := pkgs[0]
	// Type errors in the package are tolerated here: analyze reports those of a field it needs.
	if pkg.Types == nil {
		return nil, fmt.Errorf("aper-gen: %s: no type information", opt.Dir)
	}
	return generate(pkg, opt)
}

// packageName is the name of the package in dir, read from the package clause of its first Go
// file that is not a test, so that the stub file joins the right package.
func packageName(dir string) (string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("aper-gen: %w", err)
	}
	fset := token.NewFileSet()
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, n), nil, parser.PackageClauseOnly)
		if err != nil {
			continue
		}
		return f.Name.Name, nil
	}
	return "", fmt.Errorf("aper-gen: %s holds no Go file", dir)
}

// stubs is the stand-in for the output file while the package loads: for each type the run
// generates, its transition type and the methods that make it a state machine.
func stubs(pkgName string, names []string) []byte {
	var b strings.Builder
	ev := "aperstub.Event"
	if pkgName == "aper" { // generating inside package aper itself
		fmt.Fprintf(&b, "package aper\n\n")
		ev = "Event"
	} else {
		fmt.Fprintf(&b, "package %s\n\nimport aperstub %q\n\n", pkgName, aperPath)
	}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if !token.IsIdentifier(n) {
			continue
		}
		fmt.Fprintf(&b, "type %sTransition struct{}\n\nfunc (*%s) Apply(%s[%sTransition]) error { return nil }\n\nfunc (s *%s) Clone() *%s { return s }\n\n", n, n, ev, n, n, n)
	}
	return []byte(b.String())
}

type genField struct {
	Name       string // Go field name
	Type       string // the field's type, as the generated file writes it
	Elem       string // for a pointer field, the pointed-to type; else ""
	Transition string // the field's transition type
	JSONKey    string // the field's key in JSON: the state field's own
	CBORKey    string // the field's key in CBOR: the state field's own
	KeyAsInt   bool   // CBORKey is an integer (cbor:"N,keyasint")
	Helper     string // name of the constructor method
	Func       string // name of the receiver-free constructor function

	// SetFunc, for a field *aper.Atom[V], names the function that sets it; AtomValue is V.
	SetFunc, AtomValue string
	// AtFunc, for a field whose type is a container of the library with Update(key, inner),
	// names the function that updates one entry; Key and Inner are the parameters' types.
	AtFunc, Key, Inner string

	inverter  bool   // the field's type has ApplyInverse for its transition
	forwarder bool   // the field's type has Forward for its transition (undo.Forwarder)
	orderer   bool   // the field's type has Ordered and Sent for its transition (aper.Orderer)
	sameRun   string // the field is *X for a type X generated in this run

	// Forward: the field's type has Forward (its own, or a type of this run that gets one),
	// so the struct's Forward delegates to it.
	Forward bool
	// Order: the field's type has Ordered and Sent (its own, or a type of this run that gets
	// them), so the struct's Ordered and Sent delegate to it.
	Order bool

	// Variant: the transition's UnmarshalCBOR decodes this field's usual form by hand (its CBOR
	// key is text, and its transition type is neither a pointer nor an interface, whose zero
	// value the general decoder would fill in differently); Direct: by calling the UnmarshalCBOR
	// of the field's transition type, which the general decoder would call with the same bytes.
	Variant, Direct bool
}

type genType struct {
	Name       string
	Transition string
	OneOf      bool // exactly one field is set, for the value's life
	Inverse    bool // every field's type has ApplyInverse: generate it for the struct
	Forward    bool // Inverse, and a field's type has Forward: generate Forward for the struct
	Order      bool // a field's type has Ordered and Sent: generate them for the struct
	Variant    bool // a field has Variant: UnmarshalCBOR reads its usual form by hand
	Fields     []genField

	// Sync names the aliases and constructors for the sync package, when the run asks for them.
	Sync *genSync
}

type genSync struct {
	Client, Server, Rejection, Dial, NewServer string
	Context, Transport, Pkg                    string // import names, with their dots
}

type genFile struct {
	Header  string
	Package string
	Imports []genImport
	Aper    string // "aper." or "" when generating inside package aper
	Fmt     string // "fmt."
	Undo    string // "undo.", when a type gets Forward
	Types   []genType
}

// genImport is one import line; Name is empty when the package's own name serves.
type genImport struct {
	Name, Path string
	Gap        bool // a blank line before it: the first import of the module's own packages after the standard library's
}

func generate(pkg *packages.Package, opt options) ([]byte, error) {
	imp := newImports(pkg.Types)
	file := genFile{Header: generatedHeader, Package: pkg.Types.Name()}
	file.Aper = imp.prefix(aperPath, "aper")
	// The types generated in this run are state machines already, though their methods do not
	// exist yet: -type Outer,Inner with a field *Inner works in one run.
	gen := map[string]bool{}
	var errs []error
	all := append(slices.Clip(opt.Types), opt.OneOf...)
	for _, name := range all {
		name = strings.TrimSpace(name)
		if gen[name] {
			errs = append(errs, fmt.Errorf("aper-gen: type %s is named twice (in -type or -oneof)", name))
		}
		gen[name] = true
	}
	syncFor := map[string]bool{}
	for _, name := range opt.Sync {
		name = strings.TrimSpace(name)
		if !gen[name] {
			errs = append(errs, fmt.Errorf("aper-gen: -sync %s: name it in -type or -oneof too", name))
		}
		syncFor[name] = true
	}
	names := newNamer(pkg)
	for i, name := range all {
		name = strings.TrimSpace(name)
		gt, err := analyze(pkg, imp, names, name, gen, i >= len(opt.Types))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := names.methodFree(gt.Transition, "UnmarshalCBOR"); err != nil {
			errs = append(errs, err)
		}
		if syncFor[name] {
			gt.Sync = syncNames(imp, names, name)
		}
		file.Types = append(file.Types, gt)
	}
	errs = append(errs, names.errs...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	markInverters(file.Types)
	if markForwarders(file.Types) {
		file.Undo = imp.prefix(undoPath, "undo")
	}
	markOrderers(file.Types)
	imp.prefix(conflictPath, "conflict")
	file.Fmt = imp.prefix("fmt", "fmt")
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

// markInverters sets Inverse on each type whose fields all have ApplyInverse. A field of a type
// generated in the same run has it when that type gets it: the largest set of such types that
// is consistent, so that types of one run that hold each other all get it.
func markInverters(ts []genType) {
	inv := map[string]bool{}
	for _, t := range ts {
		inv[t.Name] = true
	}
	for changed := true; changed; {
		changed = false
		for _, t := range ts {
			if !inv[t.Name] {
				continue
			}
			for _, f := range t.Fields {
				if !(f.inverter || f.sameRun != "" && inv[f.sameRun]) {
					inv[t.Name], changed = false, true
					break
				}
			}
		}
	}
	for i := range ts {
		ts[i].Inverse = inv[ts[i].Name]
	}
}

// markForwarders sets Forward on each type with Inverse that has a field whose type has
// Forward (undo.Forwarder), its own or as a type of this run that gets one, and on such fields;
// it reports whether any type got it. An inverse of a field without Forward needs no
// re-expressing (it names what it restores by id), so a struct with none gets no Forward.
func markForwarders(ts []genType) bool {
	fwd := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for _, t := range ts {
			if !t.Inverse || fwd[t.Name] {
				continue
			}
			for _, f := range t.Fields {
				if f.forwarder || f.sameRun != "" && fwd[f.sameRun] {
					fwd[t.Name], changed = true, true
					break
				}
			}
		}
	}
	for i := range ts {
		ts[i].Forward = fwd[ts[i].Name]
		for j := range ts[i].Fields {
			f := &ts[i].Fields[j]
			f.Forward = f.forwarder || f.sameRun != "" && fwd[f.sameRun]
		}
	}
	return len(fwd) > 0
}

// markOrderers sets Order on each type that has a field whose type has Ordered and Sent
// (aper.Orderer), its own or as a type of this run that gets them, and on such fields. Unlike
// Forward it needs no ApplyInverse: a server asks any state for the ordered form.
func markOrderers(ts []genType) {
	ord := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for _, t := range ts {
			if ord[t.Name] {
				continue
			}
			for _, f := range t.Fields {
				if f.orderer || f.sameRun != "" && ord[f.sameRun] {
					ord[t.Name], changed = true, true
					break
				}
			}
		}
	}
	for i := range ts {
		ts[i].Order = ord[ts[i].Name]
		for j := range ts[i].Fields {
			f := &ts[i].Fields[j]
			f.Order = f.orderer || f.sameRun != "" && ord[f.sameRun]
		}
	}
}

func analyze(pkg *packages.Package, imp *imports, names *namer, name string, gen map[string]bool, oneOf bool) (genType, error) {
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
		if f.Name() == "Field" || f.Name() == "String" {
			errs = append(errs, fmt.Errorf("%s: aper-gen: field %s.%s: %s has a method %s, so no field of that name; rename the field (a json tag keeps its key)", fpos, name, f.Name(), gt.Transition, f.Name()))
			continue
		}
		if invalid(f.Type()) {
			errs = append(errs, fmt.Errorf("%s: aper-gen: field %s.%s does not type-check: %s", fpos, name, f.Name(), typeErrorsAt(pkg, fpos, gen)))
			continue
		}
		trans, err := transitionOf(pkg.Types, f.Type(), gen)
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
			Transition: types.TypeString(trans, imp.qualifier),
			JSONKey:    k.json,
			CBORKey:    k.cbor,
			KeyAsInt:   k.asInt,
			Helper:     helper + f.Name(),
			Func:       names.take(helper+exported(name)+f.Name(), fpos),
			inverter:   hasInverse(f.Type(), trans),
			forwarder:  hasForward(f.Type(), trans),
			orderer:    hasOrderer(f.Type(), trans),
		}
		gf.Variant = !k.asInt && !pointerOrInterface(trans)
		gf.Direct = gf.Variant && hasUnmarshalCBOR(trans)
		if n := sameRunType(pkg.Types, f.Type(), gen); n != "" {
			gf.sameRun, gf.inverter, gf.forwarder, gf.orderer = n, false, false, false
			gf.Direct = gf.Variant // the run gives its transition type an UnmarshalCBOR
		}
		gt.Variant = gt.Variant || gf.Variant
		if p, ok := f.Type().(*types.Pointer); ok {
			gf.Elem = types.TypeString(p.Elem(), imp.qualifier)
			if v, ok := atomValue(p.Elem()); ok {
				gf.SetFunc = names.take(verb("Set", name)+exported(name)+f.Name(), fpos)
				gf.AtomValue = types.TypeString(v, imp.qualifier)
			}
			if key, inner, ok := keyedUpdate(f.Type(), trans); ok {
				gf.AtFunc = names.take(gf.Func+"At", fpos)
				gf.Key, gf.Inner = types.TypeString(key, imp.qualifier), types.TypeString(inner, imp.qualifier)
			}
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

// verb is v with the visibility of the struct name: "Set" for Board, "set" for board.
func verb(v, name string) string {
	if token.IsExported(name) {
		return v
	}
	return strings.ToLower(v[:1]) + v[1:]
}

// exported is name with its first letter in upper case, for the middle of a generated name.
func exported(name string) string {
	r := []rune(name)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// syncNames names the aliases and constructors of type name for package sync.
func syncNames(imp *imports, names *namer, name string) *genSync {
	pos := token.Position{}
	return &genSync{
		Client:    names.take(name+"Client", pos),
		Server:    names.take(name+"Server", pos),
		Rejection: names.take(name+"Rejection", pos),
		Dial:      names.take(verb("Dial", name)+exported(name), pos),
		NewServer: names.take(verb("New", name)+exported(name)+"Server", pos),
		Context:   imp.prefix("context", "context"),
		Transport: imp.prefix(aperPath+"/transport", "transport"),
		Pkg:       imp.alias(aperPath+"/sync", "sync", "apersync"),
	}
}

// namer hands out the package-level names a run declares, and reports a name that the package
// already declares (outside the generated file) or that the run would declare twice.
type namer struct {
	pkg   *packages.Package
	taken map[string]bool
	gen   map[string]bool // file name -> whether aper-gen wrote it
	errs  []error
}

func newNamer(pkg *packages.Package) *namer { return &namer{pkg: pkg, taken: map[string]bool{}} }

func (n *namer) take(name string, at token.Position) string {
	where := ""
	if at.IsValid() {
		where = at.String() + ": "
	}
	if n.taken[name] {
		n.errs = append(n.errs, fmt.Errorf("%saper-gen: the run would declare %s twice; rename a type or a field", where, name))
	}
	n.taken[name] = true
	if obj := n.pkg.Types.Scope().Lookup(name); obj != nil && !n.generated(obj.Pos()) {
		n.errs = append(n.errs, fmt.Errorf("%saper-gen: the generated %s would clash with the %s declared at %s; rename one", where, name, name, n.pkg.Fset.Position(obj.Pos())))
	}
	return name
}

// methodFree reports an error when the package declares, outside a generated file, the method
// that the run writes for the type typ (which the stubs declare without it).
func (n *namer) methodFree(typ, method string) error {
	tn, ok := n.pkg.Types.Scope().Lookup(typ).(*types.TypeName)
	if !ok {
		return nil
	}
	sel := types.NewMethodSet(types.NewPointer(tn.Type())).Lookup(n.pkg.Types, method)
	if sel == nil || n.generated(sel.Obj().Pos()) {
		return nil
	}
	return fmt.Errorf("%s: aper-gen: the generated method %s.%s would clash with the one declared here; remove it", n.pkg.Fset.Position(sel.Obj().Pos()), typ, method)
}

// generatedHeader starts every file aper-gen writes.
const generatedHeader = "// Code generated by aper-gen; DO NOT EDIT."

// generated reports whether pos is in a file that aper-gen wrote: a name declared there is one
// this run declares again (the output file written to a new place), not the user's.
func (n *namer) generated(pos token.Pos) bool {
	file := n.pkg.Fset.File(pos)
	if file == nil {
		return false
	}
	if n.gen == nil {
		n.gen = map[string]bool{}
	}
	g, ok := n.gen[file.Name()]
	if !ok {
		b, err := os.ReadFile(file.Name())
		g = err == nil && bytes.HasPrefix(b, []byte(generatedHeader))
		n.gen[file.Name()] = g
	}
	return g
}

// invalid reports whether t is, or is built from, a type that did not type-check.
func invalid(t types.Type) bool {
	return strings.Contains(types.TypeString(t, nil), "invalid type")
}

// typeErrorsAt names the type errors on the line of pos: the real cause of a field's invalid
// type, with a hint when a name in it is the transition type of a struct that the run does not
// generate.
func typeErrorsAt(pkg *packages.Package, pos token.Position, gen map[string]bool) string {
	var msgs []string
	for _, e := range pkg.TypeErrors {
		p := e.Fset.Position(e.Pos)
		if p.Filename != pos.Filename || p.Line != pos.Line {
			continue
		}
		msg := e.Msg
		if name, ok := strings.CutPrefix(msg, "undefined: "); ok {
			if base, ok := strings.CutSuffix(name, "Transition"); ok && !gen[base] {
				if obj, ok := pkg.Types.Scope().Lookup(base).(*types.TypeName); ok && obj != nil {
					msg += fmt.Sprintf(" (aper-gen writes it for %s: name %s in the same run, -type ...,%s)", base, base, base)
				}
			}
		}
		msgs = append(msgs, msg)
	}
	if len(msgs) == 0 {
		return "its type is invalid (see go vet for the package's type errors)"
	}
	return strings.Join(msgs, "; ")
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

// transitionOf returns T if t has Apply(aper.Event[T]) error and Clone() t, or the transition
// type that this run generates when t is a pointer to one of the types gen names in package self.
func transitionOf(self *types.Package, t types.Type, gen map[string]bool) (types.Type, error) {
	base := t
	ptr, isPtr := t.(*types.Pointer)
	if isPtr {
		base = ptr.Elem()
	}
	if n, ok := base.(*types.Named); ok && n.Obj().Pkg() == self && gen[n.Obj().Name()] {
		if !isPtr {
			return nil, fmt.Errorf("aper-gen gives %s pointer-receiver methods: declare the field as *%s", n.Obj().Name(), n.Obj().Name())
		}
		// The stub file declares the transition type (with a stand-in body) while the package
		// loads.
		if tr, ok := self.Scope().Lookup(n.Obj().Name() + "Transition").(*types.TypeName); ok {
			return tr.Type(), nil
		}
		return nil, fmt.Errorf("aper-gen could not declare %sTransition (a bug)", n.Obj().Name())
	}
	return methodTransition(t)
}

// sameRunType returns X when t is *X for a type X this run generates.
func sameRunType(self *types.Package, t types.Type, gen map[string]bool) string {
	if p, ok := t.(*types.Pointer); ok {
		if n, ok := p.Elem().(*types.Named); ok && n.Obj().Pkg() == self && gen[n.Obj().Name()] {
			return n.Obj().Name()
		}
	}
	return ""
}

// hasInverse reports whether t has ApplyInverse(aper.Event[tr]) (tr, error): the method of
// aper.Inverter, found by its method set so that a type need not name the interface.
func hasInverse(t, tr types.Type) bool {
	sel := types.NewMethodSet(t).Lookup(nil, "ApplyInverse")
	if sel == nil {
		return false
	}
	sig := sel.Type().(*types.Signature)
	if sig.Params().Len() != 1 || sig.Results().Len() != 2 || !isError(sig.Results().At(1).Type()) || !types.Identical(sig.Results().At(0).Type(), tr) {
		return false
	}
	ev, ok := sig.Params().At(0).Type().(*types.Named)
	return ok && isAper(ev.Obj(), "Event") && ev.TypeArgs().Len() == 1 && types.Identical(ev.TypeArgs().At(0), tr)
}

// hasForward reports whether t has Forward(tr, []undo.Reverted[tr]) (tr, error): the method of
// undo.Forwarder, found by its method set.
func hasForward(t, tr types.Type) bool {
	sel := types.NewMethodSet(t).Lookup(nil, "Forward")
	if sel == nil {
		return false
	}
	sig := sel.Type().(*types.Signature)
	if sig.Params().Len() != 2 || sig.Results().Len() != 2 || !isError(sig.Results().At(1).Type()) ||
		!types.Identical(sig.Results().At(0).Type(), tr) || !types.Identical(sig.Params().At(0).Type(), tr) {
		return false
	}
	sl, ok := sig.Params().At(1).Type().(*types.Slice)
	if !ok {
		return false
	}
	r, ok := sl.Elem().(*types.Named)
	return ok && r.Obj().Pkg() != nil && r.Obj().Pkg().Path() == undoPath && r.Obj().Name() == "Reverted" &&
		r.TypeArgs().Len() == 1 && types.Identical(r.TypeArgs().At(0), tr)
}

// hasOrderer reports whether t has Ordered(tr) tr and Sent(tr) tr: the methods of aper.Orderer,
// found by its method set.
func hasOrderer(t, tr types.Type) bool {
	mset := types.NewMethodSet(t)
	for _, name := range []string{"Ordered", "Sent"} {
		sel := mset.Lookup(nil, name)
		if sel == nil {
			return false
		}
		sig := sel.Type().(*types.Signature)
		if sig.Params().Len() != 1 || sig.Results().Len() != 1 || sig.Variadic() ||
			!types.Identical(sig.Params().At(0).Type(), tr) || !types.Identical(sig.Results().At(0).Type(), tr) {
			return false
		}
	}
	return true
}

// pointerOrInterface reports whether t is, or is defined as, a pointer or an interface: a type
// whose zero value the general CBOR decoder replaces (a new value to point to) rather than fills.
func pointerOrInterface(t types.Type) bool {
	switch t.Underlying().(type) {
	case *types.Pointer, *types.Interface:
		return true
	}
	return false
}

// hasUnmarshalCBOR reports whether *t has UnmarshalCBOR([]byte) error (cbor.Unmarshaler), so
// that the general CBOR decoder hands a value of type t its encoding as it is. A type of the
// cbor package itself is left out: the decoder may treat it by other rules.
func hasUnmarshalCBOR(t types.Type) bool {
	if n, ok := t.(*types.Named); ok && n.Obj().Pkg() != nil && strings.HasPrefix(n.Obj().Pkg().Path(), "github.com/fxamacker/cbor") {
		return false
	}
	sel := types.NewMethodSet(types.NewPointer(t)).Lookup(nil, "UnmarshalCBOR")
	if sel == nil {
		return false
	}
	sig, ok := sel.Type().(*types.Signature)
	if !ok || sig.Variadic() || sig.Params().Len() != 1 || sig.Results().Len() != 1 || !isError(sig.Results().At(0).Type()) {
		return false
	}
	sl, ok := sig.Params().At(0).Type().(*types.Slice)
	return ok && types.Identical(sl.Elem(), types.Typ[types.Byte])
}

// atomValue returns V when t is aper.Atom[V].
func atomValue(t types.Type) (types.Type, bool) {
	n, ok := t.(*types.Named)
	if !ok || !isAper(n.Obj(), "Atom") || n.TypeArgs().Len() != 1 {
		return nil, false
	}
	return n.TypeArgs().At(0), true
}

// keyedUpdate returns K and U when t is a pointer to a container of this module (aper.Map,
// list.List, tree.Tree, pool.Board, ...) with Update(K, U) tr: a constructor that reads nothing
// of its receiver, so the generated code may call it on a nil pointer. A user's type is left
// alone, since its Update might read its receiver.
func keyedUpdate(t, tr types.Type) (key, inner types.Type, ok bool) {
	p, isPtr := t.(*types.Pointer)
	if !isPtr {
		return nil, nil, false
	}
	n, isNamed := p.Elem().(*types.Named)
	if !isNamed || n.Obj().Pkg() == nil || !(n.Obj().Pkg().Path() == aperPath || strings.HasPrefix(n.Obj().Pkg().Path(), aperPath+"/")) {
		return nil, nil, false
	}
	sel := types.NewMethodSet(t).Lookup(nil, "Update")
	if sel == nil {
		return nil, nil, false
	}
	sig := sel.Type().(*types.Signature)
	if sig.Params().Len() != 2 || sig.Results().Len() != 1 || !types.Identical(sig.Results().At(0).Type(), tr) {
		return nil, nil, false
	}
	return sig.Params().At(0).Type(), sig.Params().At(1).Type(), true
}

// isAper reports whether obj is the declaration name of the root package aper.
func isAper(obj *types.TypeName, name string) bool {
	return obj.Pkg() != nil && obj.Pkg().Path() == aperPath && obj.Name() == name
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
	if !ok || !isAper(ev.Obj(), "Event") || ev.TypeArgs().Len() != 1 {
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
