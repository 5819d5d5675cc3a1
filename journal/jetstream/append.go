package jetstream

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/aper-go/aper/journal"
)

// maxBackoff is the longest pause before Append publishes again after a spurious refusal.
const maxBackoff = 50 * time.Millisecond

// Append implements [journal.Journal.Append]: the entries become one message on the room's
// subject, published on condition that the subject's last message is the one that holds
// expectedLast (none for 0). Two writers with the same expectation: exactly one is stored.
func (j *Journal) Append(ctx context.Context, room string, expectedLast uint64, entries []journal.Entry) error {
	if err := j.check(ctx, "append", room); err != nil {
		return err
	}
	for i, e := range entries {
		want := expectedLast + 1 + uint64(i)
		if want == 0 || e.Seq != want {
			return fmt.Errorf("%w: room %q: entry %d has Seq %d, want %d (consecutive after %d)", journal.ErrInvalid, room, i, e.Seq, want, expectedLast)
		}
	}
	fence, err := j.fence(ctx, room, expectedLast, false)
	if err != nil || len(entries) == 0 {
		return err
	}
	data := encodeEntries(entries)
	if len(data) > j.maxData {
		return fmt.Errorf("%w: room %q: a batch of %d bytes, more than one message holds (%d)", journal.ErrInvalid, room, len(data), j.maxData)
	}
	_, subj := j.locate(room)
	msg := &nats.Msg{Subject: subj, Data: data, Header: nats.Header{}}
	msg.Header.Set(hdrSeq, strconv.FormatUint(expectedLast+1, 10))
	msg.Header.Set(hdrCount, strconv.Itoa(len(entries)))
	batch := nuid.Next()
	msg.Header.Set(hdrBatch, batch)
	if hashed(token(room)) {
		msg.Header.Set(hdrRoom, encodeName(room))
	}
	newLast := expectedLast + uint64(len(entries))

	// From here on the caller's cancellation no longer applies: the outcome is settled first.
	wctx := context.WithoutCancel(ctx)
	var retryUntil time.Time
	backoff := time.Millisecond
	for {
		rctx, cancel := j.request(wctx)
		ack, err := j.js.PublishMsg(rctx, msg, jetstream.WithExpectLastSequencePerSubject(fence))
		cancel()
		if err == nil {
			j.remember(room, tail{newLast, ack.Sequence})
			return nil
		}
		var apiErr *jetstream.APIError
		if !errors.As(err, &apiErr) {
			return j.settle(wctx, room, expectedLast, newLast, batch, err)
		}
		if !isWrongLast(err) {
			return j.wrap("append to", room, err) // refused for another reason: nothing stored
		}
		// Refused: nothing was stored. Another writer appended, or the refusal was spurious
		// (a replicated stream's leader refuses with 10164 while a write to the subject is
		// still being applied) and the room is still where we expected it: then try again,
		// after a short, growing pause, for up to the journal's timeout.
		j.forget(room)
		var ferr error
		if fence, ferr = j.fence(wctx, room, expectedLast, true); ferr != nil {
			return ferr
		}
		if retryUntil.IsZero() {
			retryUntil = time.Now().Add(j.opts.Timeout)
		}
		if time.Now().Add(backoff).After(retryUntil) {
			return j.wrap("append to", room, err)
		}
		pause := time.NewTimer(backoff)
		select {
		case <-pause.C:
		case <-j.life.Done():
			pause.Stop()
			return fmt.Errorf("aper/journal/jetstream: append: %w", journal.ErrClosed)
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// fence returns the stream sequence of room's last message if that message ends at
// expectedLast (0 if expectedLast is 0 and the subject is empty), and a *SeqMismatchError if
// the room is elsewhere. fresh skips what the journal remembers.
func (j *Journal) fence(ctx context.Context, room string, expectedLast uint64, fresh bool) (uint64, error) {
	if !fresh {
		j.mu.Lock()
		t, ok := j.tails[room]
		j.mu.Unlock()
		if ok && t.last == expectedLast {
			return t.streamSeq, nil // if stale, the publish is refused and we look again
		}
	}
	m, ok, err := j.lastMessage(ctx, room)
	if err != nil {
		return 0, err
	}
	var t tail
	if ok {
		t = tail{m.last, m.streamSeq}
		j.remember(room, t)
	}
	if t.last != expectedLast {
		return 0, &journal.SeqMismatchError{Room: room, Expected: expectedLast, Actual: t.last}
	}
	return t.streamSeq, nil
}

// settle finds out what became of a publish whose answer was lost (a timeout, a connection
// broken): by reading the room's last message, not by publishing again, which could store the
// batch twice or over another owner's entries.
func (j *Journal) settle(ctx context.Context, room string, expectedLast, newLast uint64, batch string, cause error) error {
	var err error
	for range 3 {
		var m message
		var ok bool
		m, ok, err = j.lastMessage(ctx, room)
		if err != nil {
			continue
		}
		switch {
		case ok && m.batch == batch:
			j.remember(room, tail{newLast, m.streamSeq})
			return nil
		case ok && m.last > expectedLast:
			// Someone else's entries follow expectedLast, so ours, conditional on the same
			// last message, can never be stored.
			j.forget(room)
			return fmt.Errorf("%w (after: %v)", &journal.SeqMismatchError{Room: room, Expected: expectedLast, Actual: m.last}, cause)
		}
	}
	if err != nil {
		cause = errors.Join(cause, err)
	}
	j.forget(room)
	return fmt.Errorf("aper/journal/jetstream: append to room %q: %w: %w", room, ErrUnknownOutcome, cause)
}

// encodeEntries is a message's payload: a single entry's data as it is, or for several, each
// entry's data after its length as a uvarint.
func encodeEntries(entries []journal.Entry) []byte {
	if len(entries) == 1 {
		return append([]byte(nil), entries[0].Data...)
	}
	n := 0
	for _, e := range entries {
		n += binary.MaxVarintLen32 + len(e.Data)
	}
	b := make([]byte, 0, n)
	for _, e := range entries {
		b = binary.AppendUvarint(b, uint64(len(e.Data)))
		b = append(b, e.Data...)
	}
	return b
}

// eachEntry calls yield with the entries of m, in order, until it returns false.
func (m message) eachEntry(room, subj string, yield func(journal.Entry) bool) error {
	if m.first == m.last {
		yield(journal.Entry{Seq: m.first, Data: m.data})
		return nil
	}
	b := m.data
	for seq := m.first; seq <= m.last; seq++ {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return &journal.CorruptError{Room: room, File: subj, Offset: int64(m.streamSeq), Reason: fmt.Sprintf("entry %d of the message is cut short", seq)}
		}
		if !yield(journal.Entry{Seq: seq, Data: b[k : k+int(n) : k+int(n)]}) {
			return nil
		}
		b = b[k+int(n):]
	}
	if len(b) != 0 {
		return &journal.CorruptError{Room: room, File: subj, Offset: int64(m.streamSeq), Reason: "bytes after the message's last entry"}
	}
	return nil
}
