package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	stdsync "sync"
	"text/tabwriter"

	"github.com/aper-go/aper/journal"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport"
)

// serverJournal is what aper serve keeps its rooms' transitions in.
type serverJournal struct {
	options  []apersync.ServerOption // for NewServer
	describe string                  // for the start-up lines
	close    func() error            // flushes and closes; idempotent
	relay    transport.Listener      // in a cluster: the connections other servers relay here
	nats     func() bool             // in a cluster: whether the NATS connection is up (/readyz)
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

// journalCmd lists the rooms of the journal in a data folder, or deletes some of them. It opens
// the journal itself, so the server that uses the folder must be stopped first.
func journalCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("journal", "[flags] list | delete ROOM...", stderr)
	dataDir := fs.String("data", "./aper-data", "data folder of aper serve, whose journal/ to open")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return fmt.Errorf("%w: aper journal takes list, or delete and the rooms", errUsage)
	}
	op, rooms := fs.Arg(0), fs.Args()[1:]
	switch {
	case op == "list" && len(rooms) == 0:
	case op == "delete" && len(rooms) > 0:
	default:
		fs.Usage()
		return fmt.Errorf("%w: aper journal takes list, or delete and the rooms", errUsage)
	}
	path := filepath.Join(*dataDir, "journal")
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("journal: no journal in %s: %w", *dataDir, err)
	}
	j, err := journal.Open(path, nil)
	if errors.Is(err, journal.ErrLocked) {
		return fmt.Errorf("journal: %s is in use: stop the server that uses it first", path)
	}
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer j.Close()
	if op == "list" {
		return listRooms(ctx, j, stdout)
	}
	for _, room := range rooms {
		if err := j.Delete(ctx, room); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		fmt.Fprintf(stdout, "deleted %s\n", room)
	}
	if err := j.Close(); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// listRooms prints one line per room of j: its last Seq, the Seq of its snapshot ("-" for
// none) and its name.
func listRooms(ctx context.Context, j *journal.Disk, stdout io.Writer) error {
	names, err := j.Rooms(ctx)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tSNAPSHOT\tROOM")
	for _, name := range names {
		last, err := j.Last(ctx, name)
		if err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		snap := "-"
		if s, ok, err := j.LoadSnapshot(ctx, name); err != nil {
			return fmt.Errorf("journal: %w", err)
		} else if ok {
			snap = fmt.Sprint(s.Seq)
		}
		fmt.Fprintf(tw, "%d\t%s\t%q\n", last, snap, name)
		// Rooms loaded to be listed hold files open: release them as we go.
		if err := j.Release(name); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
	}
	return tw.Flush()
}
