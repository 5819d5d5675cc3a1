package jetstream

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// errDirectAgain says that a bucket's stream allowed direct gets again after it was opened.
var errDirectAgain = errors.New("the bucket allows direct gets again")

// leaderKV opens the key-value bucket cfg names, creating it if it is missing, so that its reads
// go to the leader of the bucket's stream rather than to any replica. A bucket's stream allows
// direct gets, which any replica answers from what it has, and a replica that lags returns the
// value before the last acknowledged update: a node would be told that a lease it just saw
// taken is still held by the old holder, or read a snapshot pointer older than the purge that
// followed it. So the bucket's stream is set not to allow direct gets, and the bucket is opened
// after that: the client library decides at opening whether Get asks the leader.
//
// A bucket that exists is opened as it is, not updated to cfg: an update would allow direct
// gets again (the library always asks for them), and handles that other nodes opened
// meanwhile would read from replicas. Its steps are retried as in ensureStream, for nodes
// that create the bucket at once.
func leaderKV(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	var kv jetstream.KeyValue
	err := setup(ctx, setupMaxWait, func(ctx context.Context) error {
		for {
			var err error
			kv, err = leaderKVOnce(ctx, js, cfg)
			if !errors.Is(err, errDirectAgain) {
				return err
			}
		}
	})
	return kv, err
}

func leaderKVOnce(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	name := "KV_" + cfg.Bucket
	s, err := js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		if _, err := js.CreateKeyValue(ctx, cfg); err != nil && !errors.Is(err, jetstream.ErrBucketExists) {
			return nil, err
		}
		s, err = js.Stream(ctx, name)
	}
	if err != nil {
		return nil, err
	}
	if sc := s.CachedInfo().Config; sc.AllowDirect {
		sc.AllowDirect = false
		if _, err := js.UpdateStream(ctx, sc); err != nil {
			return nil, fmt.Errorf("reads from the leader only: %w", err)
		}
	}
	kv, err := js.KeyValue(ctx, cfg.Bucket)
	if err != nil {
		return nil, err
	}
	if s, err := js.Stream(ctx, name); err != nil {
		return nil, err
	} else if s.CachedInfo().Config.AllowDirect {
		// Another node created or updated the bucket meanwhile, allowing direct gets again.
		return nil, errDirectAgain
	}
	return kv, nil
}
