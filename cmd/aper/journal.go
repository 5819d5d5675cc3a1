package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	stdsync "sync"

	"github.com/aper-go/aper/journal"
	apersync "github.com/aper-go/aper/sync"
)

// serverJournal is what aper serve keeps its rooms' transitions in.
type serverJournal struct {
	options  []apersync.ServerOption // for NewServer
	describe string                  // for the start-up lines
	close    func() error            // flushes and closes; idempotent
}

// openJournal opens the on-disk journal in the folder "journal" of the data folder dir: every
// transition the server confirms is durable there first, and the rooms are rebuilt from it on
// the next start. Only one server at a time may hold it.
func openJournal(dir string, logger *slog.Logger) (*serverJournal, error) {
	path := filepath.Join(dir, "journal")
	j, err := journal.Open(path, nil)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	rooms, err := j.Rooms(context.Background())
	if err != nil {
		j.Close()
		return nil, fmt.Errorf("journal: %w", err)
	}
	logger.Info("journal open", "path", path, "rooms", len(rooms))
	return &serverJournal{
		options:  []apersync.ServerOption{apersync.WithJournal(j)},
		describe: fmt.Sprintf("%s (%d rooms kept from earlier runs)", path, len(rooms)),
		close:    stdsync.OnceValue(j.Close),
	}, nil
}
