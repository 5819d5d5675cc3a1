// Command aper-gen makes a struct whose fields are state machines into a state machine itself,
// so that you do not write the transition sum type, the dispatch in Apply and the deep Clone by
// hand (Aper for Rust does this with a derive macro).
//
// Add the tool to your module once (go get -tool github.com/aper-go/aper/cmd/aper-gen), mark the
// struct with a go:generate line in its file, and run go generate:
//
//	//go:generate go tool aper-gen -type Board
//	type Board struct {
//		Title *aper.Atom[string]
//		Votes *aper.Map[string, *aper.Counter, aper.CounterTransition]
//	}
//
// For each named type it writes, into <type>_aper.go (lower case) beside the source:
//
//   - BoardTransition, a struct with one pointer field per field of Board, exactly one of which a
//     transition sets, with Field() (the name of the field it sets) and String() (that field and
//     its transition, as Title: set "Launch", for logs and errors);
//   - (*Board).Apply, which applies the transition to its field and puts the field's name in
//     front of a conflict's path (so a conflict in Votes["ann"] reports Votes/ann);
//   - (*Board).Clone, a deep copy field by field (O(1) per field for the library's structures);
//   - constructor helpers (*Board).UpdateTitle(t) and (*Board).UpdateVotes(t), which return a
//     BoardTransition and do not read or change the board (it may be nil);
//   - receiver-free constructors, so that a change deep in the state is one call with no Get:
//     UpdateBoardTitle(t) for every field; SetBoardTitle(v) for a field *aper.Atom[V]; and
//     UpdateBoardVotesAt(key, t) for a field that is one of the library's keyed containers
//     (aper.Map, list.List, tree.Tree, pool.Board), which applies t to one entry. These compose:
//     UpdatePlannerTasksAt(id, SetTaskTitle("Ship it")) renames one task of a planner's tree;
//   - (*Board).ApplyInverse, when every field's type has ApplyInverse(aper.Event[T]) (T, error)
//     (the method of aper.Inverter, found by the method set, so a type of your own counts): it
//     applies the transition as Apply does and returns the transition that undoes it;
//   - (*Board).Forward, when it has ApplyInverse and a field's type has Forward(T,
//     []undo.Reverted[T]) (T, error) (the method of undo.Forwarder; text.Text has it): it
//     re-expresses a stored inverse of that field over what was applied since, with that
//     field's Forward, so that a sync client's Undo of a text edit inside the struct keeps
//     others' typing where it is;
//   - (*Board).Ordered and (*Board).Sent, when a field's type has Ordered(T) T and Sent(T) T (the
//     methods of aper.Orderer; text.Text has them), its own or as a type of the same run that
//     gets them: for a transition of that field, they give it the field's own ordered or sent
//     form (for a text edit, the op as the server applied it, so that replicas apply it without
//     transforming it again), and return any other transition, and one of a nil field, as it is;
//   - (*BoardTransition).UnmarshalCBOR, which reads the usual CBOR form of a transition (a map
//     of one field's text key to that field's transition, as aper.CBORVariant splits it) by
//     hand: the field's transition goes straight to the UnmarshalCBOR of its type, when that
//     has one (and is neither a pointer nor an interface), or else to aper.CBOR; any other form,
//     and any failure, goes to the general decoder, so results and errors are those of a
//     BoardTransition without the method (see Wire form);
//   - a compile-time check that *Board is an aper.StateMachine[*Board, BoardTransition], and
//     one that it is an aper.Orderer[BoardTransition] when it gets Ordered and Sent.
//
// The generated names take the struct's visibility: an unexported struct board gets
// boardTransition, updateTitle and setBoardTitle. Every field must be exported (so that the state
// encodes) and a state machine: its type F must have Apply(aper.Event[T]) error and Clone() F.
//
// The types named in one run may refer to each other in any order, as fields (*Inner) and as
// type arguments (Tasks *tree.Tree[*Task, TaskTransition] in -type Planner,Task): aper-gen loads
// the package with stand-ins for what it is about to write in place of the output file. A field
// whose type does not type-check is reported with its type error; when that names the
// transition type of a struct left out of the run, the message says to add the struct. A
// generated name that the package already declares is an error naming both, and so is a
// hand-written UnmarshalCBOR of a transition type the run generates.
//
// # Sync aliases
//
// sync.Dial cannot infer its type arguments, and spelling sync.Client[*Planner,
// PlannerTransition] everywhere is noise. For each type named in -sync (and in -type or -oneof),
// aper-gen also writes, using package sync's public API:
//
//	type PlannerClient = apersync.Client[*Planner, PlannerTransition]
//	type PlannerServer = apersync.Server[*Planner, PlannerTransition]
//	type PlannerRejection = apersync.Rejection[PlannerTransition]
//	func DialPlanner(ctx, dialer, room, opts...) (*PlannerClient, error)
//	func NewPlannerServer(factory, opts...) (*PlannerServer, error)
//
// It is opt-in because it makes the package import package sync, which a package of shared state
// types may not want.
//
// # Nil fields and one-of structs
//
// A struct named with -type is a product: every field is part of the state. A pointer field may
// be nil; a transition to it starts from the zero value of the pointed-to type, which must be
// ready to use (as the library's structures are), and the field holds the result from then on.
// So a nil field is an empty one, and Board{} is a board with an empty title and no votes.
//
// A struct named with -oneof is a one-of: it is one of its fields for its whole life, like a
// room that is either a counter or a text. Its fields must be pointers, and exactly one is set:
//
//	//go:generate go tool aper-gen -oneof Widget
//	type Widget struct {
//		Note   *aper.Atom[string]
//		Clicks *aper.Counter
//	}
//
// The field is chosen by the value the state starts as (a room factory returns
// &Widget{Note: aper.NewAtom("")}), or, when it starts with every field nil, by the first
// transition that applies (which starts that field from its zero value). From then on, a
// transition to another field is a conflict of kind conflict.Invalid whose path is that field's
// name, and changes nothing: a server rejects it, so the state never holds a field its clients
// do not expect. A one-of holding more than one field (which no Apply makes) refuses every
// transition with an Invalid conflict. The transition type, the helpers and the wire form are
// those of a product.
//
// # Wire form
//
// Each field of BoardTransition is keyed on the wire exactly as the field of Board is keyed in
// the encoded state, and never by its position: in JSON by the json tag's name, else the field's
// name; in CBOR by the cbor tag, else the json tag's name, else the field's name. So inserting,
// removing or reordering fields leaves every other field's encoded transitions unchanged, and a
// journal written before the change replays into the same fields after it. Renaming a field
// renames its key, in the state as in its transitions; to rename a field and keep its data, pin
// the old key with a tag (json:"votes"). For compact CBOR, give a field an integer key of its own,
// cbor:"3,keyasint" (the state's field then uses it too); such a key must never be reused for
// another field. Two fields with the same key in either codec, a keyasint key that is not an
// integer, and a field left out of an encoding (json:"-", cbor:"-") are errors.
//
// Usage:
//
//	aper-gen [-type T[,T2...]] [-oneof U[,U2...]] [-sync T] [-output file] [package directory]
//
// With no directory it uses the current one (where go generate runs it).
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

func main() {
	typeNames := flag.String("type", "", "comma-separated names of the struct types to generate for, each field a part of the state")
	oneOfNames := flag.String("oneof", "", "comma-separated names of one-of struct types to generate for, exactly one field set for a value's life")
	syncNames := flag.String("sync", "", "comma-separated names, among -type's and -oneof's, of room states to generate sync aliases and constructors for (PlannerClient, DialPlanner, ...)")
	output := flag.String("output", "", "output file (default <first type>_aper.go in the package directory, -type's before -oneof's)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: aper-gen [-type T[,T2...]] [-oneof U[,U2...]] [-sync T] [-output file] [dir]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if (*typeNames == "" && *oneOfNames == "") || flag.NArg() > 1 {
		flag.Usage()
		os.Exit(2)
	}
	dir := "."
	if flag.NArg() == 1 {
		dir = flag.Arg(0)
	}
	opt := options{Dir: dir, Output: *output, Types: split(*typeNames), OneOf: split(*oneOfNames), Sync: split(*syncNames)}
	if opt.Output == "" {
		opt.Output = defaultOutput(dir, opt.Types, opt.OneOf)
	}
	src, err := Generate(opt)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.WriteFile(opt.Output, src, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "aper-gen:", err)
		os.Exit(1)
	}
}

// split splits a comma-separated list of names; "" is none.
func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
