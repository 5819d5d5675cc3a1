package typeargs

import (
	"github.com/aper-go/aper"
	"github.com/aper-go/aper/tree"
)

// Planner names TaskTransition, which aper-gen writes in the same run; no generated file is
// committed here, so only the run's stubs declare it.
type Planner struct {
	Tasks *tree.Tree[*Task, TaskTransition] `json:"tasks"`
}

type Task struct {
	Title *aper.Atom[string] `json:"title"`
}
