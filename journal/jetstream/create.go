package jetstream

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Creating the streams and buckets when several nodes start at once.
//
// Nodes of a fresh cluster that start together create the same streams and buckets at the
// same moment. A create of a stream with a configuration equal to one that exists, or is being
// created, is answered with the stream; but an update that reaches the meta leader while the
// stream's create is still in flight is not answered, and neither then is the create (measured
// on nats-server 2.15 with three nodes: three concurrent CreateOrUpdateStream calls of one new
// R3 stream all went unanswered for 20 s, while three CreateStream calls were answered within
// 0.1 s). So the streams are looked up first, created if missing, and updated only when their
// configuration differs from the one wanted; and every step has a short timeout of its own and
// is retried, as all of them can be repeated without harm: whatever a request that went
// unanswered did is found by the next lookup.

const (
	// setupFirstWait bounds the first attempt of a setup step. Creating a replicated stream
	// on three nodes on loopback takes 40 to 100 ms under load.
	setupFirstWait = 250 * time.Millisecond
	// setupMaxWait bounds the attempts that follow, which wait twice as long each time.
	setupMaxWait = 5 * time.Second
)

// setup runs step, a request or a few that set up a stream or bucket and may be repeated,
// until it succeeds, fails other than by a timeout or a transient refusal, or ctx ends. Each
// attempt has its own deadline, the first setupFirstWait, doubling up to limit. A transient
// refusal (see transient) is repeated after a pause, 50 ms doubling to 1 s, for at most limit
// from the first; the caller decides whether to wait longer.
func setup(ctx context.Context, limit time.Duration, step func(context.Context) error) error {
	wait := min(setupFirstWait, limit)
	pause := 50 * time.Millisecond
	var refused time.Time // the first transient refusal
	for {
		actx, cancel := context.WithTimeout(ctx, wait)
		err := step(actx)
		cancel()
		switch {
		case err == nil || ctx.Err() != nil:
			return err
		case timedOut(err):
			wait = min(2*wait, max(limit, setupFirstWait))
			continue
		case !transient(err):
			return err
		case refused.IsZero():
			refused = time.Now()
		case time.Since(refused) > limit:
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
		pause = min(2*pause, time.Second)
	}
}

// timedOut says whether err is a request's timeout.
func timedOut(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout)
}

// transient says whether err is a refusal that a cluster which is forming, or creating the
// same stream on another node, gives for a moment: no suitable peers yet (a peer that the
// meta leader has not heard from), JetStream temporarily unavailable, no responders, or a
// stream not found right after its create (the create was still in flight).
func transient(err error) bool {
	var api *jetstream.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode {
		case 10005, 10008, jetstream.JSErrCodeStreamNotFound:
			return true
		}
	}
	return errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, jetstream.ErrNoStreamResponse)
}

// ensureStream returns the stream cfg describes: it looks it up, creates it if it is missing,
// and updates it if it differs in what cfg sets.
func ensureStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig, limit time.Duration) (jetstream.Stream, error) {
	var s jetstream.Stream
	err := setup(ctx, limit, func(ctx context.Context) error {
		var err error
		s, err = js.Stream(ctx, cfg.Name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			s, err = js.CreateStream(ctx, cfg)
			if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
				// Another node created it meanwhile, in a configuration of its own.
				s, err = js.Stream(ctx, cfg.Name)
			}
		}
		if err != nil {
			return err
		}
		if streamDiffers(s.CachedInfo().Config, cfg) {
			s, err = js.UpdateStream(ctx, cfg)
		}
		return err
	})
	return s, err
}

// streamDiffers says whether have differs from want in the fields that the journal sets.
func streamDiffers(have, want jetstream.StreamConfig) bool {
	return !slices.Equal(have.Subjects, want.Subjects) || have.Replicas != want.Replicas ||
		have.Storage != want.Storage || have.Retention != want.Retention ||
		have.Discard != want.Discard || have.Duplicates != want.Duplicates ||
		have.DenyDelete != want.DenyDelete || have.AllowDirect != want.AllowDirect
}

// ensureObjectStore returns the object store cfg describes: it looks it up, creates it if it
// is missing, and updates it if its replication differs.
func ensureObjectStore(ctx context.Context, js jetstream.JetStream, cfg jetstream.ObjectStoreConfig, limit time.Duration) (jetstream.ObjectStore, error) {
	var objs jetstream.ObjectStore
	err := setup(ctx, limit, func(ctx context.Context) error {
		var err error
		objs, err = js.ObjectStore(ctx, cfg.Bucket)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			objs, err = js.CreateObjectStore(ctx, cfg)
			if errors.Is(err, jetstream.ErrBucketExists) {
				objs, err = js.ObjectStore(ctx, cfg.Bucket)
			}
		}
		if err != nil {
			return err
		}
		st, err := objs.Status(ctx)
		if err != nil {
			return err
		}
		if st.Replicas() != max(cfg.Replicas, 1) {
			objs, err = js.UpdateObjectStore(ctx, cfg)
		}
		return err
	})
	return objs, err
}
