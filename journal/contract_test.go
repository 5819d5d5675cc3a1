package journal_test

import (
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aper-go/aper/journal"
	"github.com/aper-go/aper/journal/journaltest"
)

// impl is one Journal implementation under the contract tests.
type impl struct {
	name string
	// open returns a fresh, empty journal, closed at the end of the test.
	open func(t *testing.T) journal.Journal
}

func impls() []impl {
	return []impl{
		{"Memory", func(t *testing.T) journal.Journal {
			m := journal.NewMemory()
			t.Cleanup(func() { m.Close() })
			return m
		}},
		{"Disk", func(t *testing.T) journal.Journal {
			// Small segments, so that compaction and reads across segments happen.
			d, err := journal.Open(t.TempDir(), &journal.Options{SegmentSize: 512})
			require.NoError(t, err)
			t.Cleanup(func() { d.Close() })
			return d
		}},
	}
}

// forEach runs test against every implementation.
func forEach(t *testing.T, test func(t *testing.T, j journal.Journal)) {
	t.Helper()
	for _, im := range impls() {
		t.Run(im.name, func(t *testing.T) {
			t.Parallel()
			test(t, im.open(t))
		})
	}
}

// TestContract runs the contract suite, shared with every other implementation, against each
// implementation of this package.
func TestContract(t *testing.T) {
	for _, im := range impls() {
		t.Run(im.name, func(t *testing.T) {
			t.Parallel()
			journaltest.Run(t, im.open)
		})
	}
}

// The suite's helpers, under the names this package's tests use.
var (
	entries        = journaltest.Entries
	appendN        = journaltest.AppendN
	readAll        = journaltest.ReadAll
	requireEntries = journaltest.RequireEntries
	hostileNames   = journaltest.HostileNames
)

// follow follows room of j from from; see [journaltest.Follow].
func follow(ctx context.Context, j journal.Journal, room string, from uint64) *journaltest.Follower {
	return journaltest.Follow(ctx, j, room, from)
}

// TestHostileRoomNamesStayInside checks that a Disk writes nothing outside its directory and
// that every room has a directory of its own directly under rooms/.
func TestHostileRoomNamesStayInside(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "j")
	d, err := journal.Open(dir, nil)
	require.NoError(t, err)
	for _, name := range hostileNames {
		appendN(t, d, name, 1, 1)
		require.NoError(t, d.SaveSnapshot(t.Context(), name, journal.Snapshot{Seq: 1, Data: []byte(name)}))
	}
	require.NoError(t, d.Close())

	var outside []string
	roomDirs := map[string]bool{}
	require.NoError(t, filepath.WalkDir(parent, func(path string, e fs.DirEntry, err error) error {
		require.NoError(t, err)
		rel, _ := filepath.Rel(dir, path)
		if path != parent && strings.HasPrefix(rel, "..") {
			outside = append(outside, path)
		}
		parts := strings.Split(rel, string(filepath.Separator))
		if len(parts) == 2 && parts[0] == "rooms" {
			roomDirs[strings.ToLower(parts[1])] = true
			assert.LessOrEqual(t, len(parts[1]), 140, "directory names stay short")
		}
		return nil
	}))
	assert.Empty(t, outside)
	assert.Len(t, roomDirs, len(hostileNames), "one directory per room, distinct even ignoring case")
}
