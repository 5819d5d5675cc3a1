package jetstream

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/aper-go/aper/journal"
)

// Options configure a [Journal]. A nil *Options, and every zero field, takes the default.
type Options struct {
	// Prefix starts the names of the journal's streams, buckets and subjects: 1 to 32 bytes of
	// A-Z, a-z, 0-9, '-' and '_'. Default "APER". Journals with different prefixes share
	// nothing.
	Prefix string
	// Streams is the number of log streams the rooms are spread over, by a hash of their names.
	// Default 3. It must not change once rooms were written: a room would be looked for in
	// another stream.
	Streams int
	// Replicas is the replication factor of the streams and buckets the journal creates: 1, or
	// 3 (or 5) on a cluster. Default 1.
	Replicas int
	// Storage is where the server keeps them. Default jetstream.FileStorage.
	Storage jetstream.StorageType
	// Timeout bounds each request to the server. Default 5 s.
	Timeout time.Duration
}

func (o *Options) withDefaults() (Options, error) {
	var c Options
	if o != nil {
		c = *o
	}
	if c.Prefix == "" {
		c.Prefix = "APER"
	}
	if c.Streams == 0 {
		c.Streams = 3
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Second
	}
	switch {
	case !validPrefix(c.Prefix):
		return c, fmt.Errorf("%w: prefix %q: 1 to 32 bytes of A-Z, a-z, 0-9, '-' and '_'", journal.ErrInvalid, c.Prefix)
	case c.Streams < 1 || c.Streams > 64:
		return c, fmt.Errorf("%w: %d streams, want 1 to 64", journal.ErrInvalid, c.Streams)
	case c.Replicas < 1 || c.Replicas > 5:
		return c, fmt.Errorf("%w: %d replicas, want 1 to 5", journal.ErrInvalid, c.Replicas)
	case c.Timeout < 0:
		return c, fmt.Errorf("%w: negative timeout", journal.ErrInvalid)
	}
	return c, nil
}

// Headers of a log message.
const (
	hdrSeq   = "Aper-Seq"   // the Seq of the first entry in the message
	hdrCount = "Aper-Count" // how many entries the message holds
	hdrRoom  = "Aper-Room"  // the room name, base64url, on rooms with hashed tokens
	hdrBatch = "Aper-Batch" // a random id of the Append, to settle an unknown outcome
)

// ErrUnknownOutcome marks an Append whose outcome stayed unknown: the server did not answer in
// time, and reading the room's last message afterwards found neither the batch nor another
// writer's entries in its place. The entries may still be stored; the room's owner must read
// Last (and the log) again before it goes on, as after any Append error that is not a mismatch.
var ErrUnknownOutcome = errors.New("aper/journal/jetstream: append outcome unknown")

// Journal is a [journal.Journal] on NATS JetStream. See the package doc for the layout. All
// methods may be called concurrently. Close does not close the caller's connection.
type Journal struct {
	js      jetstream.JetStream
	opts    Options
	streams []jetstream.Stream
	snaps   jetstream.KeyValue
	objs    jetstream.ObjectStore
	maxData int // the largest payload of one message

	life   context.Context // ends on Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the cleaner

	toClean chan string // deletes for the cleaner (see cleanup.go)

	mu     sync.Mutex
	closed bool
	tails  map[string]tail // the last message seen of each room written through this journal
	// deleted holds the snapshot objects this journal deleted, so that a pointer's Garbage
	// does not cost a delete each again.
	deleted map[string]struct{}
}

var _ journal.Journal = (*Journal)(nil)

// maxTails bounds the rooms whose last message the journal remembers.
const maxTails = 1 << 14

// tail is a room's last message: the Seq of its last entry and its stream sequence.
type tail struct {
	last, streamSeq uint64
}

// New returns a journal on js, creating (or updating) its streams and buckets; several nodes
// may do so at once (see create.go). The caller keeps the connection beneath js and closes it
// after the journal.
func New(ctx context.Context, js jetstream.JetStream, opts *Options) (*Journal, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	j := &Journal{js: js, opts: o, tails: make(map[string]tail), deleted: make(map[string]struct{}), toClean: make(chan string, 64)}
	j.maxData = int(js.Conn().MaxPayload()) - 4096 // room for the headers
	for i := range o.Streams {
		s, err := ensureStream(ctx, js, jetstream.StreamConfig{
			Name:        j.streamName(i),
			Subjects:    []string{j.subjectPrefix(i) + ">"},
			Storage:     o.Storage,
			Replicas:    o.Replicas,
			Retention:   jetstream.LimitsPolicy,
			Discard:     jetstream.DiscardOld,
			Duplicates:  time.Second, // no use of Nats-Msg-Id; keep the dedup window small
			DenyDelete:  true,
			AllowDirect: false, // reads go to the leader, which has everything acknowledged
		}, o.Timeout)
		if err != nil {
			return nil, fmt.Errorf("aper/journal/jetstream: create stream %s: %w", j.streamName(i), err)
		}
		j.streams = append(j.streams, s)
	}
	j.snaps, err = leaderKV(ctx, js, jetstream.KeyValueConfig{
		Bucket: o.Prefix + "_SNAP", History: 1, Storage: o.Storage, Replicas: o.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("aper/journal/jetstream: create snapshot pointers: %w", err)
	}
	j.objs, err = ensureObjectStore(ctx, js, jetstream.ObjectStoreConfig{
		Bucket: o.Prefix + "_SNAPDATA", Storage: o.Storage, Replicas: o.Replicas,
	}, o.Timeout)
	if err != nil {
		return nil, fmt.Errorf("aper/journal/jetstream: create snapshot store: %w", err)
	}
	j.life, j.cancel = context.WithCancel(context.Background())
	j.wg.Add(1)
	go j.clean()
	return j, nil
}

func (j *Journal) streamName(i int) string    { return j.opts.Prefix + "_LOG_" + strconv.Itoa(i) }
func (j *Journal) subjectPrefix(i int) string { return j.opts.Prefix + ".log." + strconv.Itoa(i) + "." }

// locate returns the stream and subject of room.
func (j *Journal) locate(room string) (jetstream.Stream, string) {
	i := shard(room, len(j.streams))
	return j.streams[i], j.subjectPrefix(i) + token(room)
}

// Close implements [journal.Journal.Close]: iterations end with ErrClosed, later calls fail.
// It stops the retries of snapshot objects' deletes; what is left is deleted at the room's
// next snapshot.
func (j *Journal) Close() error {
	j.mu.Lock()
	if !j.closed {
		j.closed = true
		j.cancel()
	}
	j.mu.Unlock()
	j.wg.Wait()
	return nil
}

// check returns the error of an operation on room that cannot start.
func (j *Journal) check(ctx context.Context, op, room string) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if room == "" || len(room) > journal.MaxRoomName {
		return fmt.Errorf("%w: a room name has 1 to %d bytes, not %d", journal.ErrInvalid, journal.MaxRoomName, len(room))
	}
	j.mu.Lock()
	closed := j.closed
	j.mu.Unlock()
	if closed {
		return fmt.Errorf("aper/journal/jetstream: %s: %w", op, journal.ErrClosed)
	}
	return nil
}

// request returns a context for one request to the server, bounded by the journal's timeout.
func (j *Journal) request(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, j.opts.Timeout)
}

// wrap wraps an error of the server or the connection for op on room, once.
func (j *Journal) wrap(op, room string, err error) error {
	if errors.Is(err, nats.ErrConnectionClosed) {
		return fmt.Errorf("aper/journal/jetstream: %s room %q: %w: %w", op, room, journal.ErrClosed, err)
	}
	return fmt.Errorf("aper/journal/jetstream: %s room %q: %w", op, room, err)
}

// message is a decoded log message.
type message struct {
	streamSeq   uint64
	first, last uint64 // the Seqs of its first and last entries
	batch       string
	room        string // from the header, "" if absent
	data        []byte
}

// decode reads a log message's headers; its entries stay in data.
func decode(room string, subj string, seq uint64, h nats.Header, data []byte) (message, error) {
	first, err1 := strconv.ParseUint(h.Get(hdrSeq), 10, 64)
	n, err2 := strconv.ParseUint(h.Get(hdrCount), 10, 32)
	if err1 != nil || err2 != nil || first == 0 || n == 0 || first+n-1 < first {
		return message{}, &journal.CorruptError{Room: room, File: subj, Offset: int64(seq), Reason: "log message without valid Aper-Seq and Aper-Count headers"}
	}
	m := message{streamSeq: seq, first: first, last: first + n - 1, batch: h.Get(hdrBatch), data: data}
	if r := h.Get(hdrRoom); r != "" {
		m.room, _ = decodeName(r)
	}
	return m, nil
}

// lastMessage returns the room's last message, and false if the subject has none.
func (j *Journal) lastMessage(ctx context.Context, room string) (message, bool, error) {
	s, subj := j.locate(room)
	ctx, cancel := j.request(ctx)
	defer cancel()
	raw, err := s.GetLastMsgForSubject(ctx, subj)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return message{}, false, nil
	}
	if err != nil {
		return message{}, false, j.wrap("read last message of", room, err)
	}
	m, err := decode(room, subj, raw.Sequence, raw.Header, raw.Data)
	return m, err == nil, err
}

// Last implements [journal.Journal.Last]: the last entry of the room's last message.
func (j *Journal) Last(ctx context.Context, room string) (uint64, error) {
	if err := j.check(ctx, "last", room); err != nil {
		return 0, err
	}
	m, ok, err := j.lastMessage(ctx, room)
	if err != nil || !ok {
		return 0, err
	}
	j.remember(room, tail{m.last, m.streamSeq})
	return m.last, nil
}

// remember notes room's last message, as this journal last saw it.
func (j *Journal) remember(room string, t tail) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.tails) >= maxTails {
		clear(j.tails) // a cache: a room not in it costs one read on its next Append
	}
	if cur, ok := j.tails[room]; !ok || t.streamSeq >= cur.streamSeq {
		j.tails[room] = t
	}
}

func (j *Journal) forget(room string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	delete(j.tails, room)
}

// StreamOf returns the name of the stream that holds room's log.
func (j *Journal) StreamOf(room string) string {
	return j.streamName(shard(room, len(j.streams)))
}

// SubjectOf returns the subject of room's log, in the stream StreamOf names.
func (j *Journal) SubjectOf(room string) string {
	_, subj := j.locate(room)
	return subj
}
