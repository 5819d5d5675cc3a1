package main

import (
	"log/slog"

	apersync "github.com/aper-go/aper/sync"
)

// serverJournal is what aper serve keeps its rooms' transitions in.
type serverJournal struct {
	options  []apersync.ServerOption // for NewServer
	describe string                  // for the start-up lines
	close    func() error            // flushes and closes; idempotent
}

// openJournal opens the journal of the data folder dir.
//
// Until the sync package takes a journal (the on-disk journal of package journal through a server
// option), the rooms live in memory: they are kept loaded while the server runs, and lost when it
// stops. This function is the one place where the journal plugs in.
func openJournal(dir string, logger *slog.Logger) (*serverJournal, error) {
	_ = dir
	logger.Warn("journal: in memory; the rooms' state is lost when the server stops")
	return &serverJournal{
		options:  []apersync.ServerOption{apersync.WithRoomIdle(-1)},
		describe: "in memory (the state is lost when the server stops; the on-disk journal is not wired in yet)",
		close:    func() error { return nil },
	}, nil
}
