package main

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/tools/go/packages"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestGolden(t *testing.T) {
	tests := []struct {
		dir, typ, oneOf, golden string
		sync                    string
	}{
		// The example package's committed generated file is its golden file: it also compiles and
		// has behaviour tests of its own.
		{"internal/example", "Scoreboard", "", "internal/example/scoreboard_aper.go", ""},
		{"internal/example", "ScoreboardV2", "", "internal/example/scoreboardv2_aper.go", ""},
		{"internal/example", "", "Widget", "internal/example/widget_aper.go", ""},
		{"testdata/unexported", "board", "", "testdata/unexported/board_aper.go.golden", ""},
		{"testdata/tags", "Tagged", "", "testdata/tags/tagged_aper.go.golden", ""},
		// Outer holds *Inner; both are generated in one run, before Inner has methods. Choice is
		// a one-of generated in the same run, with a field of Inner.
		{"testdata/nested", "Outer,Inner", "Choice", "testdata/nested/outer_aper.go.golden", ""},
		// Planner's field names TaskTransition, which the same run writes; Planner gets the sync
		// aliases and constructors.
		{"internal/example", "Planner,Task", "", "internal/example/planner_aper.go", "Planner"},
		// Pair, Single and the one-of Either get ApplyInverse, Mixed does not.
		{"internal/example", "Pair,Single,Mixed", "Either", "internal/example/pair_aper.go", ""},
		// Notes gets Forward, Ordered and Sent, delegating to its text Body; the others above get
		// none (no field's type has them). In testdata/nested, Inner gets them from its text,
		// Outer and the one-of Choice from their field *Inner.
		{"internal/example", "Notes", "", "internal/example/notes_aper.go", "Notes"},
	}
	for _, tt := range tests {
		t.Run(tt.typ+"/"+tt.oneOf, func(t *testing.T) {
			got, err := Generate(options{Dir: tt.dir, Types: names(tt.typ), OneOf: names(tt.oneOf), Sync: names(tt.sync)})
			require.NoError(t, err)
			if *update {
				require.NoError(t, os.WriteFile(tt.golden, got, 0o644))
			}
			want, err := os.ReadFile(tt.golden)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got), "run go test ./cmd/aper-gen -update to accept a change")
			if strings.HasSuffix(tt.golden, ".golden") {
				// A committed generated file is compiled with its package; a golden file is not.
				typeChecks(t, tt.dir, tt.golden, got)
			}
		})
	}
}

// gen runs Generate on dir for the types and one-ofs named.
func gen(dir string, types, oneOf []string) ([]byte, error) {
	return Generate(options{Dir: dir, Types: types, OneOf: oneOf})
}

// names splits a comma-separated list; "" is none.
func names(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// typeChecks loads the package in dir with src in place of the generated file golden (an
// overlay: nothing is written) and fails on any type error, so every golden file compiles.
func typeChecks(t *testing.T, dir, golden string, src []byte) {
	t.Helper()
	abs, err := filepath.Abs(strings.TrimSuffix(golden, ".golden"))
	require.NoError(t, err)
	cfg := &packages.Config{
		Mode:    packages.NeedName | packages.NeedTypes | packages.NeedSyntax | packages.NeedTypesInfo,
		Dir:     dir,
		Overlay: map[string][]byte{abs: src},
	}
	pkgs, err := packages.Load(cfg, ".")
	require.NoError(t, err)
	require.Len(t, pkgs, 1)
	for _, e := range pkgs[0].Errors {
		t.Errorf("the generated code does not compile: %v", e)
	}
}

// fieldTag matches a field of a generated transition type: its name and its tag.
var fieldTag = regexp.MustCompile("(?m)^\\t(\\w+) .*(`json:.*`)$")

// The keys of a field's transition are the keys the state's field has, whatever its position:
// the same struct with its fields reordered and one inserted generates the same tag per field.
func TestKeysDoNotDependOnFieldOrder(t *testing.T) {
	tags := func(src []byte) map[string]string {
		out := map[string]string{}
		for _, m := range fieldTag.FindAllStringSubmatch(string(src), -1) {
			out[m[1]] = m[2]
		}
		return out
	}
	// TestGolden checks that these committed files are what aper-gen writes.
	v1, err := os.ReadFile("internal/example/scoreboard_aper.go")
	require.NoError(t, err)
	v2, err := os.ReadFile("internal/example/scoreboardv2_aper.go")
	require.NoError(t, err)
	t1, t2 := tags(v1), tags(v2)
	require.Len(t, t1, 3)
	require.Len(t, t2, 4)
	for field, tag := range t1 {
		assert.Equal(t, tag, t2[field], field)
	}
	assert.Equal(t, "`json:\"round,omitempty\" cbor:\"round,omitempty\"`", t1["Round"])
}

func TestVisibility(t *testing.T) {
	src, err := gen("testdata/unexported", []string{"board"}, nil)
	require.NoError(t, err)
	for _, want := range []string{
		"type boardTransition struct",
		"func (s *board) updateDone(t aper.AtomTransition[bool]) boardTransition",
		"func (s *board) updateMoves(t aper.CounterTransition) boardTransition",
		"func updateBoardMoves(t aper.CounterTransition) boardTransition",
		"func setBoardDone(v bool) boardTransition",
	} {
		assert.Contains(t, string(src), want)
	}
	assert.NotContains(t, string(src), "BoardTransition")
}

func TestErrorsNameEachBadField(t *testing.T) {
	_, err := gen("testdata/bad", []string{"Bad", "Generic", "Missing"}, nil)
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		filepath.Join("testdata", "bad", "bad.go") + ":6:2: aper-gen: field Bad.Name (string) is not a state machine",
		"field Bad.Value (aper.Counter) is not a state machine: its methods have pointer receivers: declare the field as a pointer",
		"field Bad.hidden is unexported",
		"field Bad.Applier (*halfMachine) is not a state machine",
		"Generic is generic",
		"no type Missing in package bad",
	} {
		assert.Contains(t, msg, want)
	}
	assert.NotContains(t, msg, "Bad.OK", "a good field is not reported")
}

func TestErrorsForKeys(t *testing.T) {
	_, err := gen("testdata/bad", []string{"Keys"}, nil)
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		`fields Keys.A and Keys.B both have the JSON key "x"`,
		"fields Keys.C and Keys.D both have the CBOR key 1",
		`field Keys.E: its cbor tag "e,keyasint" has keyasint but "e" is not an integer`,
		`field Keys.F: its json tag "-" leaves it out of the state's JSON encoding`,
		`field Keys.G: its cbor tag "-" leaves it out of the state's CBOR encoding`,
		`fields Keys.B and Keys.H both have the CBOR key "b"`,
		`field Keys.Space: its json tag's name "a\\b" is not one encoding/json accepts`,
	} {
		assert.Contains(t, msg, want)
	}
	assert.NotContains(t, msg, "Keys.Fine", `json:"-," is the key "-"`)
}

func TestMissingDirectory(t *testing.T) {
	_, err := gen(filepath.Join("testdata", "no-such-dir"), []string{"T"}, nil)
	require.Error(t, err)
	assert.Equal(t, "aper-gen: package directory "+filepath.Join("testdata", "no-such-dir")+" does not exist", err.Error())
	_, err = gen(filepath.Join("testdata", "bad", "bad.go"), []string{"T"}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is not a directory")
}

// A type generated in the same run counts as a state machine, but only behind a pointer, since
// its methods have pointer receivers.
func TestSameRunTypeNeedsAPointer(t *testing.T) {
	dir := t.TempDir()
	src := "package p\n\ntype Outer struct{ In Inner }\n\ntype Inner struct{ Next *Inner }\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "p.go"), []byte(src), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module p\n\ngo 1.26\n"), 0o644))
	_, err := gen(dir, []string{"Outer", "Inner"}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "field Outer.In (Inner) is not a state machine: aper-gen gives Inner pointer-receiver methods: declare the field as *Inner")
	assert.NotContains(t, err.Error(), "Inner.Next")
	_, err = gen(dir, []string{"Outer"}, nil) // without Inner in the run, Inner has no methods
	require.Error(t, err)
	assert.Contains(t, err.Error(), "field Outer.In (Inner) is not a state machine: it needs the methods")
}

func TestErrorsForNonStructs(t *testing.T) {
	dir := t.TempDir()
	src := "package p\n\ntype N int\n\nfunc F() {}\n\ntype E struct{}\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "p.go"), []byte(src), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module p\n\ngo 1.26\n"), 0o644))
	for typ, want := range map[string]string{"N": "N is not a struct", "F": "F is not a type", "E": "E has no fields"} {
		_, err := gen(dir, []string{typ}, nil)
		require.Error(t, err, typ)
		assert.Contains(t, err.Error(), want)
	}
}

// A one-of's fields are pointers (nil but for the one it holds); a type is generated once.
func TestErrorsForOneOf(t *testing.T) {
	_, err := gen("testdata/bad", nil, []string{"Either"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "field Either.B of the one-of Either is not a pointer")
	assert.NotContains(t, err.Error(), "Either.A")
	_, err = gen("testdata/bad", []string{"Either"}, nil) // as a product, B is fine
	require.NoError(t, err)
	_, err = gen("testdata/bad", []string{"Either"}, []string{"Either"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "type Either is named twice")
}

// The types of one run may name each other's transition types as type arguments, in either
// order, with the output in the package or elsewhere; without the other type in the run, the
// error is the real type error and says what to do.
func TestTypeArgumentsOfTheSameRun(t *testing.T) {
	for _, tt := range []struct {
		types []string
		out   string
	}{
		{[]string{"Planner", "Task"}, ""},
		{[]string{"Task", "Planner"}, ""},
		{[]string{"Planner", "Task"}, filepath.Join(t.TempDir(), "x.go")},
	} {
		src, err := Generate(options{Dir: "testdata/typeargs", Output: tt.out, Types: tt.types})
		require.NoError(t, err, tt)
		assert.Contains(t, string(src), "func UpdatePlannerTasksAt(k uuid.UUID, t TaskTransition) PlannerTransition")
	}
	_, err := gen("testdata/typeargs", []string{"Planner"}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "field Planner.Tasks does not type-check: undefined: TaskTransition (aper-gen writes it for Task: name Task in the same run, -type ...,Task)")
	assert.NotContains(t, err.Error(), "invalid type")
}

// A field may not be named as a method of the generated transition type.
func TestFieldsNamedAsMethods(t *testing.T) {
	_, err := gen("testdata/bad", []string{"Methods"}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "field Methods.Field: MethodsTransition has a method Field")
	assert.Contains(t, err.Error(), "field Methods.String: MethodsTransition has a method String")
}

// A generated name that the package already declares, and -sync for a type not in the run, are
// errors that say so.
func TestNameClashes(t *testing.T) {
	dir := module(t, "package p\n\nimport \"github.com/aper-go/aper\"\n\ntype T struct{ Title *aper.Atom[string] }\n\nfunc SetTTitle() {}\n\ntype TClient int\n")
	_, err := Generate(options{Dir: dir, Types: []string{"T"}, Sync: []string{"T", "U"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the generated SetTTitle would clash with the SetTTitle declared at")
	assert.Contains(t, err.Error(), "the generated TClient would clash with the TClient declared at")
	assert.Contains(t, err.Error(), "-sync U: name it in -type or -oneof too")
}

// module writes src as the one file of a package inside this module (under testdata, which go
// ./... skips), removed when the test ends, and returns its directory.
func module(t *testing.T, src string) string {
	t.Helper()
	dir, err := os.MkdirTemp("testdata", "tmp")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.WriteFile(filepath.Join(dir, "p.go"), []byte(src), 0o644))
	return dir
}

// A field counts as an aper.Orderer when its type has both Ordered(T) T and Sent(T) T for its
// transition type T, its own (a type of the user's) or as a type of the same run that gets them;
// the struct's Ordered and Sent delegate to such fields only.
func TestOrderedNeedsBothMethods(t *testing.T) {
	dir := module(t, `package p

import "github.com/aper-go/aper"

type M struct{}

func (*M) Apply(aper.Event[int]) error { return nil }
func (m *M) Clone() *M                 { return m }
func (*M) Ordered(t int) int           { return t }
func (*M) Sent(t int) int              { return t }

type H struct{}

func (*H) Apply(aper.Event[int]) error { return nil }
func (h *H) Clone() *H                 { return h }
func (*H) Ordered(t int) int           { return t }

type W struct{}

func (*W) Apply(aper.Event[int]) error { return nil }
func (w *W) Clone() *W                 { return w }
func (*W) Ordered(t int) int           { return t }
func (*W) Sent(t string) string        { return t }

type Full struct {
	A *M
	B *aper.Counter
}

type Half struct{ A *H }

type Wrong struct{ A *W }

type Via struct{ F *Full }
`)
	src, err := gen(dir, []string{"Via", "Full", "Half", "Wrong"}, nil)
	require.NoError(t, err)
	s := string(src)
	for _, want := range []string{
		"var _ aper.Orderer[FullTransition] = (*Full)(nil)",
		"func (s *Full) Ordered(t FullTransition) FullTransition {",
		"u := s.A.Ordered(*t.A)",
		"u := s.A.Sent(*t.A)",
		"var _ aper.Orderer[ViaTransition] = (*Via)(nil)",
		"u := s.F.Sent(*t.F)",
	} {
		assert.True(t, strings.Contains(s, want), "the generated code lacks %s", want)
	}
	for _, not := range []string{"s.B.Ordered", "(s *Half) Ordered", "(s *Half) Sent", "(s *Wrong) Ordered", "Orderer[HalfTransition]", "Orderer[WrongTransition]"} {
		assert.False(t, strings.Contains(s, not), "the generated code has %s", not)
	}
}

// A transition's UnmarshalCBOR reads by hand the fields with a text CBOR key and a transition
// type that is neither a pointer nor an interface; it hands the field's transition to that type's
// UnmarshalCBOR when *T has one of the right signature (or T is a transition of the same run), and
// to the general decoder otherwise.
func TestUnmarshalCBORFields(t *testing.T) {
	dir := module(t, `package p

import (
	"fmt"

	"github.com/aper-go/aper"
)

type Own struct{ A int }

func (o *Own) UnmarshalCBOR([]byte) error { return nil }

type Val map[string]int

func (Val) UnmarshalCBOR([]byte) error { return nil }

type Odd struct{}

func (*Odd) UnmarshalCBOR(string) error { return nil }

type Ptr *Own

type Machine[T any] struct{}

func (*Machine[T]) Apply(aper.Event[T]) error  { return nil }
func (m *Machine[T]) Clone() *Machine[T]        { return m }

type S struct {
	Own    *Machine[Own]
	Val    *Machine[Val]   `+"`json:\"val\"`"+`
	Odd    *Machine[Odd]
	Int    *Machine[int]   `+"`cbor:\"1,keyasint\"`"+`
	Ptr    *Machine[*Own]
	Named  *Machine[Ptr]
	Iface  *Machine[fmt.Stringer]
	Any    *Machine[any]
	In     *In
}

type In struct{ C *aper.Counter }
`)
	src, err := gen(dir, []string{"S", "In"}, nil)
	require.NoError(t, err)
	body := string(src)
	body = body[strings.Index(body, "func (t *STransition) UnmarshalCBOR"):]
	body = body[:strings.Index(body, "\n}\n")]
	for _, want := range []string{
		"case \"Own\":\n\t\t\tvar x Own\n\t\t\tif err := x.UnmarshalCBOR(v); err == nil {\n\t\t\t\tt.Own = &x",
		"case \"val\":\n\t\t\tvar x Val\n\t\t\tif err := x.UnmarshalCBOR(v); err == nil {\n\t\t\t\tt.Val = &x",
		"case \"Odd\":\n\t\t\tvar x Odd\n\t\t\tif err := aper.CBOR.Unmarshal(v, &x); err == nil {\n\t\t\t\tt.Odd = &x",
		"case \"In\":\n\t\t\tvar x InTransition\n\t\t\tif err := x.UnmarshalCBOR(v); err == nil {\n\t\t\t\tt.In = &x",
		"type STransition methods\n\treturn aper.CBOR.Unmarshal(b, (*STransition)(t))",
	} {
		assert.Contains(t, body, want)
	}
	for _, not := range []string{"case \"Int\"", "case \"1\"", "case \"Ptr\"", "case \"Named\"", "case \"Iface\"", "case \"Any\""} {
		assert.NotContains(t, body, not)
	}
	typeChecks(t, dir, filepath.Join(dir, "s_aper.go"), src)
}

// A hand-written UnmarshalCBOR of a transition type that the run generates is an error that
// names it, not generated code that does not compile.
func TestUnmarshalCBORClash(t *testing.T) {
	dir := module(t, `package p

import "github.com/aper-go/aper"

type S struct{ C *aper.Counter }

func (t *STransition) UnmarshalCBOR([]byte) error { return nil }
`)
	_, err := gen(dir, []string{"S"}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "p.go:7:")
	assert.Contains(t, err.Error(), "STransition.UnmarshalCBOR would clash")
}
