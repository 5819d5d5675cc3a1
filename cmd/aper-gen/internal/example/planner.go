package example

import (
	"github.com/aper-go/aper"
	"github.com/aper-go/aper/tree"
)

//go:generate go run github.com/aper-go/aper/cmd/aper-gen -type Planner,Task -sync Planner

// Planner is a shared project planner: a tree of tasks. It is generated with Task in one run,
// Planner first, though its field names TaskTransition, which the same run writes.
type Planner struct {
	Name  *aper.Atom[string]                `json:"name"`
	Tasks *tree.Tree[*Task, TaskTransition] `json:"tasks"`
}

// Task is one task of a Planner.
type Task struct {
	Title *aper.Atom[string] `json:"title"`
	Done  *aper.Atom[bool]   `json:"done"`
}
