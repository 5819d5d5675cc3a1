package jetstream

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// A replaced snapshot's object is deleted reliably, in three steps, so that neither a delete
// that times out under load nor a process that dies in between leaves it in the store for
// good:
//
//  1. The room's new pointer lists, in Garbage, the object it replaces and every older one not
//     known to be deleted; the pointer is the durable record of what remains to delete.
//  2. Once the pointer moved, SaveSnapshot deletes them. One that fails goes to the journal's
//     cleaner, a goroutine that retries it with a growing pause until it is deleted or the
//     journal closes.
//  3. The room's next SaveSnapshot, on whichever node, deletes the pointer's Garbage again
//     (skipping what this journal saw deleted) and keeps in the new pointer only what it
//     could not delete.
//
// Only objects a pointer no longer names are ever deleted: an object that a concurrent
// SaveSnapshot has written but not pointed to yet is not in any Garbage list.

// maxGarbage bounds a pointer's Garbage list; past it the oldest names are dropped (and their
// objects stay, if they still exist: an orphan costs space, not correctness).
const maxGarbage = 32

// Pauses between the cleaner's attempts at a delete.
const (
	cleanFirst = 500 * time.Millisecond
	cleanMax   = 30 * time.Second
)

// maxPending bounds the deletes the cleaner holds; past it, a failed delete is left to the
// room's next snapshot.
const maxPending = 1 << 12

// maxDeleted bounds the names of the objects the journal remembers having deleted.
const maxDeleted = 1 << 12

// garbageOf returns the Garbage of the pointer that replaces old with object: old's own
// Garbage that is not known to be deleted, and old's object.
func (j *Journal) garbageOf(old pointer, object string) []string {
	var g []string
	j.mu.Lock()
	for _, name := range old.Garbage {
		if _, gone := j.deleted[name]; !gone && name != object {
			g = append(g, name)
		}
	}
	j.mu.Unlock()
	if old.Object != "" && old.Object != object {
		g = append(g, old.Object)
	}
	if len(g) > maxGarbage {
		g = g[len(g)-maxGarbage:]
	}
	return slices.Compact(g)
}

// collect deletes objects no pointer names (those a pointer replaced, or a refused
// SaveSnapshot's own); those it cannot delete now go to the cleaner.
func (j *Journal) collect(ctx context.Context, garbage []string) {
	for _, name := range garbage {
		if err := j.removeObject(context.WithoutCancel(ctx), name); err != nil {
			select {
			case j.toClean <- name:
			default: // the cleaner is busy: the room's next snapshot tries again
			}
		}
	}
}

// removeObject deletes the object called name, reporting success if it is gone already; the
// journal then remembers it as deleted.
func (j *Journal) removeObject(ctx context.Context, name string) error {
	rctx, cancel := j.request(ctx)
	err := j.objs.Delete(rctx, name)
	cancel()
	if err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		return err
	}
	j.mu.Lock()
	if len(j.deleted) >= maxDeleted {
		clear(j.deleted) // a cache: a name not in it costs one more delete
	}
	j.deleted[name] = struct{}{}
	j.mu.Unlock()
	return nil
}

// clean is the cleaner's goroutine: it retries the deletes that failed until each succeeds,
// with a pause that doubles from cleanFirst to cleanMax, until the journal closes.
func (j *Journal) clean() {
	defer j.wg.Done()
	var pending []string
	pause := cleanFirst
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-j.life.Done():
			return
		case name := <-j.toClean:
			if len(pending) == 0 {
				pause = cleanFirst
				timer.Reset(pause)
			}
			if len(pending) < maxPending && !slices.Contains(pending, name) {
				pending = append(pending, name)
			}
		case <-timer.C:
			pending = slices.DeleteFunc(pending, func(name string) bool {
				return j.life.Err() == nil && j.removeObject(j.life, name) == nil
			})
			if len(pending) > 0 {
				pause = min(2*pause, cleanMax)
				timer.Reset(pause)
			}
		}
	}
}
