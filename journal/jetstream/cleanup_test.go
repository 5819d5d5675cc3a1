package jetstream_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aper-go/aper/journal"
	ajs "github.com/aper-go/aper/journal/jetstream"
	"github.com/aper-go/aper/journal/journaltest"
)

// lossyObjects is a snapshot store whose first deletes are lost: they fail as a timed-out
// request does, and delete nothing. It reports the deletes that went through.
type lossyObjects struct {
	jetstream.ObjectStore
	mu      sync.Mutex
	lose    int
	deleted chan string
}

var errLost = errors.New("delete lost: " + context.DeadlineExceeded.Error())

func (o *lossyObjects) Delete(ctx context.Context, name string) error {
	o.mu.Lock()
	lost := o.lose > 0
	if lost {
		o.lose--
	}
	o.mu.Unlock()
	if lost {
		return errLost
	}
	err := o.ObjectStore.Delete(ctx, name)
	if err == nil {
		select {
		case o.deleted <- name:
		default:
		}
	}
	return err
}

// lossy opens a journal on js with prefix whose first lose deletes of snapshot objects are lost.
func lossy(t *testing.T, js jetstream.JetStream, prefix string, lose int) (*ajs.Journal, *lossyObjects) {
	t.Helper()
	j := open(t, js, ajs.Options{Prefix: prefix, Streams: 1})
	lo := &lossyObjects{lose: lose, deleted: make(chan string, 16)}
	ajs.WrapObjects(j, func(o jetstream.ObjectStore) jetstream.ObjectStore {
		lo.ObjectStore = o
		return lo
	})
	return j, lo
}

// objectNames lists the snapshot store's objects (not the deleted ones).
func objectNames(t *testing.T, js jetstream.JetStream, prefix string) []string {
	t.Helper()
	obs, err := js.ObjectStore(t.Context(), prefix+"_SNAPDATA")
	require.NoError(t, err)
	infos, err := obs.List(t.Context())
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil
	}
	require.NoError(t, err)
	var names []string
	for _, info := range infos {
		names = append(names, info.Name)
	}
	slices.Sort(names)
	return names
}

// TestSnapshotCleanup: the object of a replaced snapshot goes even when the delete that
// follows the pointer's move is lost.
func TestSnapshotCleanup(t *testing.T) {
	js := connect(t, single.node)

	t.Run("Retried", func(t *testing.T) {
		ctx := t.Context()
		prefix := newPrefix()
		j, lo := lossy(t, js, prefix, 1)
		journaltest.AppendN(t, j, "r", 20, 5)
		require.NoError(t, j.SaveSnapshot(ctx, "r", journal.Snapshot{Seq: 10, Data: []byte("at 10")}))
		first := objectNames(t, js, prefix)
		require.Len(t, first, 1)
		require.NoError(t, j.SaveSnapshot(ctx, "r", journal.Snapshot{Seq: 20, Data: []byte("at 20")}))

		// The delete after the move was lost; the journal retries it by itself.
		wait, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		select {
		case name := <-lo.deleted:
			assert.Equal(t, first[0], name)
		case <-wait.Done():
			t.Fatal("the replaced snapshot's object was not deleted again")
		}
		names := objectNames(t, js, prefix)
		require.Len(t, names, 1)
		assert.NotEqual(t, first[0], names[0])
		s, ok, err := j.LoadSnapshot(ctx, "r")
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, journal.Snapshot{Seq: 20, Data: []byte("at 20")}, s)
	})

	t.Run("RefusedOwnObject", func(t *testing.T) {
		// A stale owner's snapshot, older than the saved one, is refused after its object was
		// written; the delete of that object is lost, and the journal retries it by itself.
		ctx := t.Context()
		prefix := newPrefix()
		j, lo := lossy(t, js, prefix, 1)
		journaltest.AppendN(t, j, "r", 20, 5)
		require.NoError(t, j.SaveSnapshot(ctx, "r", journal.Snapshot{Seq: 20, Data: []byte("at 20")}))
		kept := objectNames(t, js, prefix)
		require.Len(t, kept, 1)
		err := j.SaveSnapshot(ctx, "r", journal.Snapshot{Seq: 10, Data: []byte("at 10")})
		require.ErrorIs(t, err, journal.ErrInvalid)

		wait, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		select {
		case name := <-lo.deleted:
			assert.NotEqual(t, kept[0], name)
		case <-wait.Done():
			t.Fatal("the refused snapshot's object was not deleted again")
		}
		assert.Equal(t, kept, objectNames(t, js, prefix))
	})

	t.Run("NextSnapshot", func(t *testing.T) {
		// The delete is lost and the journal closes before it retries (as if its process
		// died): the room's next snapshot, on another journal, deletes the object.
		ctx := t.Context()
		prefix := newPrefix()
		a, _ := lossy(t, js, prefix, 1000)
		journaltest.AppendN(t, a, "r", 30, 5)
		require.NoError(t, a.SaveSnapshot(ctx, "r", journal.Snapshot{Seq: 10, Data: []byte("at 10")}))
		require.NoError(t, a.SaveSnapshot(ctx, "r", journal.Snapshot{Seq: 20, Data: []byte("at 20")}))
		require.Len(t, objectNames(t, js, prefix), 2)
		require.NoError(t, a.Close())

		b := open(t, js, ajs.Options{Prefix: prefix, Streams: 1})
		require.NoError(t, b.SaveSnapshot(ctx, "r", journal.Snapshot{Seq: 30, Data: []byte("at 30")}))
		assert.Len(t, objectNames(t, js, prefix), 1)
		s, ok, err := b.LoadSnapshot(ctx, "r")
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, journal.Snapshot{Seq: 30, Data: []byte("at 30")}, s)
	})
}
