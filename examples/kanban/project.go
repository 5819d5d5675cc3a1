package main

import (
	"github.com/aper-go/aper"
	"github.com/aper-go/aper/pool"
)

//go:generate go run github.com/aper-go/aper/cmd/aper-gen -type Project -sync Project

// Project is the shared state of the example: a title and a Kanban board whose cards are
// strings. aper-gen writes its transition type (ProjectTransition), Apply, Clone, the helpers
// UpdateTitle and UpdateBoard, the receiver-free SetProjectTitle and UpdateProjectBoardAt, and
// (for -sync) ProjectClient, DialProject and NewProjectServer into project_aper.go.
type Project struct {
	Title *aper.Atom[string]                                           `json:"title"`
	Board *pool.Board[*aper.Atom[string], aper.AtomTransition[string]] `json:"board"`
}
