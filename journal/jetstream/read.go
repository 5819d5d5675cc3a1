package jetstream

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/aper-go/aper/journal"
)

// Read implements [journal.Journal.Read] with an ordered consumer on the room's subject, from
// the message that holds from, up to the room's last message when the Read began.
func (j *Journal) Read(ctx context.Context, room string, from uint64) iter.Seq2[journal.Entry, error] {
	return j.iterate(ctx, room, from, false)
}

// Follow implements [journal.Journal.Follow] with an ordered consumer on the room's subject
// that keeps waiting for new messages.
func (j *Journal) Follow(ctx context.Context, room string, from uint64) iter.Seq2[journal.Entry, error] {
	return j.iterate(ctx, room, from, true)
}

func (j *Journal) iterate(ctx context.Context, room string, from uint64, follow bool) iter.Seq2[journal.Entry, error] {
	return func(yield func(journal.Entry, error) bool) {
		if err := j.check(ctx, "read", room); err != nil {
			yield(journal.Entry{}, err)
			return
		}
		from = max(from, 1)
		err := j.consume(ctx, room, from, follow, yield)
		if err != nil {
			yield(journal.Entry{}, err)
		}
	}
}

// How long one pull request of a Read or Follow waits on the server, and how often the server
// says it is still there.
const (
	pullExpiry    = 5 * time.Second
	pullHeartbeat = 500 * time.Millisecond // the least JetStream allows
)

func (j *Journal) consume(ctx context.Context, room string, from uint64, follow bool, yield func(journal.Entry, error) bool) error {
	stream, subj := j.locate(room)
	last, hasLast, err := j.lastMessage(ctx, room)
	if err != nil {
		return err
	}
	if !hasLast && !follow || hasLast && from > last.last && !follow {
		return nil
	}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{subj}, DeliverPolicy: jetstream.DeliverAllPolicy}
	if hasLast {
		start, err := j.start(ctx, room, from, last)
		if err != nil {
			return err
		}
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, start
	}

	// The iteration ends with ctx or with the journal.
	ictx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := context.AfterFunc(j.life, func() { cancel(fmt.Errorf("aper/journal/jetstream: follow: %w", journal.ErrClosed)) })
	defer stop()

	rctx, rcancel := j.request(ictx)
	cons, err := j.js.OrderedConsumer(rctx, stream.CachedInfo().Config.Name, cfg)
	rcancel()
	if err != nil {
		return j.iterErr(ictx, room, err)
	}
	// A pull request can be lost in a cluster (sent before the new consumer's interest has
	// reached the client's node): the consumer then resets after two missed heartbeats, so
	// they are short, and so is each request, which heartbeats are sent within.
	msgs, err := cons.Messages(jetstream.PullMaxMessages(128), jetstream.PullExpiry(pullExpiry), jetstream.PullHeartbeat(pullHeartbeat))
	if err != nil {
		return j.iterErr(ictx, room, err)
	}
	defer msgs.Stop()
	next := from // the Seq of the next entry to yield
	for {
		if !follow && next > last.last {
			return nil
		}
		raw, err := msgs.Next(jetstream.NextContext(ictx))
		if err != nil {
			return j.iterErr(ictx, room, err)
		}
		md, err := raw.Metadata()
		if err != nil {
			return j.wrap("read", room, err)
		}
		m, err := decode(room, subj, md.Sequence.Stream, raw.Headers(), raw.Data())
		if err != nil {
			return err
		}
		if m.last < next {
			continue
		}
		if m.first > next {
			return fmt.Errorf("%w: room %q: read from Seq %d, the oldest kept is %d", journal.ErrCompacted, room, next, m.first)
		}
		err = m.eachEntry(room, subj, func(e journal.Entry) bool {
			if e.Seq < next {
				return true
			}
			if !yield(e, nil) {
				return false
			}
			next = e.Seq + 1
			return true
		})
		if err != nil {
			return err
		}
		if next <= m.last {
			return nil // the caller stopped
		}
	}
}

// iterErr is the error that ends an iteration: the journal's closing or ctx's end if one of
// them stopped it, else err.
func (j *Journal) iterErr(ictx context.Context, room string, err error) error {
	if ictx.Err() != nil {
		return context.Cause(ictx)
	}
	return j.wrap("read", room, err)
}

// start returns the stream sequence to read room from for entries from from: that of the
// message that holds from, found by a binary search over the stream when it is neither the
// first nor the last. An error matching ErrCompacted says from is below the oldest kept entry.
func (j *Journal) start(ctx context.Context, room string, from uint64, last message) (uint64, error) {
	if from >= last.first {
		return last.streamSeq, nil
	}
	first, err := j.nextMessage(ctx, room, 1)
	if err != nil {
		return 0, err
	}
	if from < first.first {
		return 0, fmt.Errorf("%w: room %q: read from Seq %d, the oldest kept is %d", journal.ErrCompacted, room, from, first.first)
	}
	// Invariant: lo holds an entry ≤ from; no message at or after hi (a stream sequence) does.
	lo, hi := first, last.streamSeq
	for lo.last < from && lo.streamSeq+1 < hi {
		mid := lo.streamSeq + (hi-lo.streamSeq)/2
		m, err := j.nextMessage(ctx, room, mid)
		if err != nil {
			return 0, err
		}
		if m.streamSeq < hi && m.first <= from {
			lo = m
		} else {
			hi = mid
		}
	}
	return lo.streamSeq, nil
}

// nextMessage returns room's first message at or after stream sequence seq; there must be one.
func (j *Journal) nextMessage(ctx context.Context, room string, seq uint64) (message, error) {
	s, subj := j.locate(room)
	rctx, cancel := j.request(ctx)
	defer cancel()
	raw, err := s.GetMsg(rctx, seq, jetstream.WithGetMsgSubject(subj))
	if err != nil {
		return message{}, j.wrap("read", room, err)
	}
	return decode(room, subj, raw.Sequence, raw.Header, raw.Data)
}
