package journal

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Deleter is an optional interface of a Journal that can drop a room, for an operator who
// removes rooms that are no longer wanted (abandoned, or made in bulk by a hostile client). Disk
// and Memory implement it.
type Deleter interface {
	// Delete removes the room's log and snapshot: afterwards the room does not exist (Rooms
	// does not list it, it reads as empty with Last 0, and an Append to it starts again at
	// Seq 1). Deleting a room that does not exist does nothing. A room that is in use is not
	// deleted and the error matches ErrInUse: a Follow of it is in progress (on a Disk, a Read
	// too), or (Disk) it is open for appending, as every room a server holds loaded is until it
	// unloads (see Disk.Release): stop the server, or wait for the room's idle time.
	Delete(ctx context.Context, room string) error
}

// ErrInUse marks a Delete of a room that is in use; see [Deleter].
var ErrInUse = errors.New("aper/journal: room in use")

var (
	_ Deleter = (*Disk)(nil)
	_ Deleter = (*Memory)(nil)
)

// Delete implements [Deleter]. The room's directory is renamed out of the way first, then
// removed, so that a crash in between leaves no half-deleted room (Open removes what is left).
func (d *Disk) Delete(ctx context.Context, name string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if err := checkRoom(name); err != nil {
		return err
	}
	r, err := d.room(name)
	if err != nil {
		return err
	}
	r.snapMu.Lock() // no snapshot being saved
	defer r.snapMu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.closed:
		return closedErr("delete")
	case r.f != nil || r.syncing || r.users > 0:
		return fmt.Errorf("%w: room %q is open for appending or being read", ErrInUse, name)
	}
	parent := filepath.Join(d.dir, roomsDir)
	tmp, err := os.MkdirTemp(parent, tmpExt)
	if err != nil {
		return r.ioErr("delete", err)
	}
	gone := filepath.Join(tmp, "room")
	if err := os.Rename(r.dir, gone); err != nil && !errors.Is(err, fs.ErrNotExist) {
		os.Remove(tmp)
		return r.ioErr("delete", err)
	}
	err = syncDir(parent)
	r.forgetLocked()
	if rerr := os.RemoveAll(tmp); err == nil && rerr != nil {
		err = rerr
	}
	if err != nil {
		return r.ioErr("delete", err)
	}
	return nil
}

// forgetLocked makes the room's record forget what it knew of the disk: the next use loads the
// room afresh.
func (r *room) forgetLocked() {
	r.loaded, r.loadErr, r.failed, r.exists = false, nil, nil, false
	r.segs, r.size, r.wbuf = nil, 0, nil
	r.written, r.synced, r.acked, r.marked, r.batchStart = 0, 0, 0, 0, 0
	r.snapSeq, r.hasSnap = 0, false
}

// Delete implements [Deleter].
func (m *Memory) Delete(ctx context.Context, room string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if err := checkRoom(room); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return closedErr("delete")
	}
	r := m.rooms[room]
	if r == nil {
		return nil
	}
	if r.users > 0 {
		return fmt.Errorf("%w: room %q is being followed", ErrInUse, room)
	}
	delete(m.rooms, room)
	return nil
}
