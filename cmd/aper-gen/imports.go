package main

import (
	"go/types"
	"slices"
	"strconv"
	"strings"
)

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
	for i := 2; im.used[n] || reserved[n]; i++ {
		n = want + strconv.Itoa(i)
	}
	im.byPath[path] = n
	im.own[path] = want
	im.used[n] = true
	return n
}

// reserved are the local names of the generated code, which an import must not shadow.
var reserved = map[string]bool{"s": true, "t": true, "ev": true, "f": true, "c": true, "err": true, "k": true, "v": true, "u": true, "inv": true, "out": true, "sep": true, "n": true, "ctx": true, "d": true, "room": true, "opts": true, "factory": true, "reverted": true, "rs": true, "r": true, "ft": true}

// alias is prefix for a package whose declared name is own but that the generated file imports
// as want (package sync as apersync, beside the standard library's sync).
func (im *imports) alias(path, own, want string) string {
	if path == im.self.Path() {
		return ""
	}
	n := im.name(path, want)
	im.own[path] = own
	return n + "."
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
	// The standard library's packages first, then the others, as goimports groups them.
	std := func(path string) bool { return !strings.Contains(strings.Split(path, "/")[0], ".") }
	slices.SortFunc(out, func(a, b genImport) int {
		if sa, sb := std(a.Path), std(b.Path); sa != sb {
			if sa {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Path, b.Path)
	})
	for i := 1; i < len(out); i++ {
		out[i].Gap = std(out[i-1].Path) && !std(out[i].Path)
	}
	return out
}
