package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/aper-go/aper/journal"
)

// pointer is the value of a room's key in the snapshot bucket: which object holds the room's
// snapshot, and the Seq it covers.
type pointer struct {
	Room   string `json:"room"`
	Seq    uint64 `json:"seq"`
	Object string `json:"object"`
	// Garbage names the objects of replaced snapshots that may not be deleted yet (see
	// cleanup.go).
	Garbage []string `json:"garbage,omitempty"`
}

// maxCASRetries bounds the compare-and-set loop of SaveSnapshot.
const maxCASRetries = 16

// getPointer returns room's snapshot pointer and its revision (0 if it has none).
func (j *Journal) getPointer(ctx context.Context, room string) (pointer, uint64, error) {
	rctx, cancel := j.request(ctx)
	defer cancel()
	e, err := j.snaps.Get(rctx, token(room))
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return pointer{}, 0, nil
	}
	if err != nil {
		return pointer{}, 0, j.wrap("read snapshot pointer of", room, err)
	}
	var p pointer
	if err := json.Unmarshal(e.Value(), &p); err != nil || p.Room != room {
		return pointer{}, 0, &journal.CorruptError{Room: room, File: j.opts.Prefix + "_SNAP/" + token(room), Offset: int64(e.Revision()), Reason: "bad snapshot pointer"}
	}
	return p, e.Revision(), nil
}

// SaveSnapshot implements [journal.Journal.SaveSnapshot]. The data goes to a new object of the
// snapshot store; then the room's pointer moves to it by compare-and-set on its revision,
// refused if it would move back (a stale owner cannot undo a newer snapshot). Then the old
// object is deleted (reliably: see cleanup.go) and the room's subject purged below the
// message that holds s.Seq; a failed purge is left to the next snapshot, which purges again.
func (j *Journal) SaveSnapshot(ctx context.Context, room string, s journal.Snapshot) error {
	if err := j.check(ctx, "save snapshot", room); err != nil {
		return err
	}
	lastMsg, hasLast, err := j.lastMessage(ctx, room)
	if err != nil {
		return err
	}
	if !hasLast {
		lastMsg = message{}
	}
	if s.Seq > lastMsg.last {
		return fmt.Errorf("%w: room %q: snapshot at Seq %d is past the last entry %d", journal.ErrInvalid, room, s.Seq, lastMsg.last)
	}
	object := token(room) + "/" + strconv.FormatUint(s.Seq, 10) + "/" + nuid.Next()
	rctx, cancel := j.request(ctx)
	_, err = j.objs.PutBytes(rctx, object, s.Data)
	cancel()
	if err != nil {
		return j.wrap("save snapshot of", room, err)
	}
	var garbage []string
	for attempt := 0; ; attempt++ {
		old, rev, err := j.getPointer(ctx, room)
		if err == nil && rev != 0 && old.Seq > s.Seq {
			err = fmt.Errorf("%w: room %q: snapshot at Seq %d is older than the saved one at %d", journal.ErrInvalid, room, s.Seq, old.Seq)
		}
		if err != nil {
			j.collect(ctx, []string{object}) // no pointer names it: the cleaner retries a failed delete
			return err
		}
		garbage = j.garbageOf(old, object)
		value, _ := json.Marshal(pointer{Room: room, Seq: s.Seq, Object: object, Garbage: garbage})
		rctx, cancel := j.request(ctx)
		if rev == 0 {
			_, err = j.snaps.Create(rctx, token(room), value)
		} else {
			_, err = j.snaps.Update(rctx, token(room), value, rev)
		}
		cancel()
		if err == nil {
			break
		}
		if (errors.Is(err, jetstream.ErrKeyExists) || isWrongLast(err)) && attempt < maxCASRetries {
			continue // moved meanwhile: look again
		}
		// The move's outcome may be unknown (a timeout): the object is deleted only if the
		// pointer is seen not to name it, so that a pointer never names a deleted object.
		if now, _, rerr := j.getPointer(context.WithoutCancel(ctx), room); rerr == nil && now.Object == object {
			break
		} else if rerr == nil {
			j.collect(ctx, []string{object})
		}
		return j.wrap("save snapshot of", room, err)
	}
	j.collect(ctx, garbage)
	if s.Seq > 0 {
		j.purge(ctx, room, s.Seq, lastMsg)
	}
	return nil
}

// isWrongLast reports whether err is a conditional write refused by JetStream.
func isWrongLast(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// purge removes room's messages below the one that holds seq; the last message always stays.
func (j *Journal) purge(ctx context.Context, room string, seq uint64, last message) {
	start, err := j.start(ctx, room, seq, last)
	if err != nil {
		return // already purged that far, or a read failed: the next snapshot tries again
	}
	stream, subj := j.locate(room)
	rctx, cancel := j.request(ctx)
	defer cancel()
	_ = stream.Purge(rctx, jetstream.WithPurgeSubject(subj), jetstream.WithPurgeSequence(start))
}

// LoadSnapshot implements [journal.Journal.LoadSnapshot].
func (j *Journal) LoadSnapshot(ctx context.Context, room string) (journal.Snapshot, bool, error) {
	if err := j.check(ctx, "load snapshot", room); err != nil {
		return journal.Snapshot{}, false, err
	}
	for attempt := 0; ; attempt++ {
		p, rev, err := j.getPointer(ctx, room)
		if err != nil || rev == 0 {
			return journal.Snapshot{}, false, err
		}
		rctx, cancel := j.request(ctx)
		data, err := j.objs.GetBytes(rctx, p.Object)
		cancel()
		if errors.Is(err, jetstream.ErrObjectNotFound) && attempt < maxCASRetries {
			continue // replaced by a newer snapshot since the pointer was read
		}
		if err != nil {
			return journal.Snapshot{}, false, j.wrap("load snapshot of", room, err)
		}
		return journal.Snapshot{Seq: p.Seq, Data: data}, true, nil
	}
}

// Rooms implements [journal.Journal.Rooms]: the rooms with messages in the log streams, and
// those with a snapshot pointer.
func (j *Journal) Rooms(ctx context.Context) ([]string, error) {
	if err := j.check(ctx, "rooms", "-"); err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for i, s := range j.streams {
		prefix := j.subjectPrefix(i)
		rctx, cancel := j.request(ctx)
		info, err := s.Info(rctx, jetstream.WithSubjectFilter(prefix+">"))
		cancel()
		if err != nil {
			return nil, fmt.Errorf("aper/journal/jetstream: rooms: %w", err)
		}
		for subj := range info.State.Subjects {
			tok := strings.TrimPrefix(subj, prefix)
			if name, ok := untoken(tok); ok {
				names[name] = true
				continue
			}
			if !hashed(tok) {
				continue
			}
			rctx, cancel := j.request(ctx)
			raw, err := s.GetLastMsgForSubject(rctx, subj)
			cancel()
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("aper/journal/jetstream: rooms: %w", err)
			}
			if name, ok := decodeName(raw.Header.Get(hdrRoom)); ok && token(name) == tok {
				names[name] = true
			}
		}
	}
	rctx, cancel := j.request(ctx)
	defer cancel()
	keys, err := j.snaps.ListKeys(rctx)
	if err != nil {
		return nil, fmt.Errorf("aper/journal/jetstream: rooms: %w", err)
	}
	defer keys.Stop()
	for key := range keys.Keys() {
		if name, ok := untoken(key); ok {
			names[name] = true
			continue
		}
		var p pointer
		if e, err := j.snaps.Get(rctx, key); err == nil && json.Unmarshal(e.Value(), &p) == nil && token(p.Room) == key {
			names[p.Room] = true
		}
	}
	rooms := make([]string, 0, len(names))
	for name := range names {
		rooms = append(rooms, name)
	}
	slices.Sort(rooms)
	return rooms, nil
}
