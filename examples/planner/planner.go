package main

import (
	"github.com/aper-go/aper"
	"github.com/aper-go/aper/text"
	"github.com/aper-go/aper/tree"
)

//go:generate go run github.com/aper-go/aper/cmd/aper-gen -type Planner,Task -sync Planner

// Task is one task of the plan: a title and a done flag.
type Task struct {
	Title *aper.Atom[string] `json:"title"`
	Done  *aper.Atom[bool]   `json:"done"`
}

// Planner is the shared state: a tree of tasks and a text of notes.
type Planner struct {
	Tasks *tree.Tree[*Task, TaskTransition] `json:"tasks"`
	Notes *text.Text                        `json:"notes"`
}
