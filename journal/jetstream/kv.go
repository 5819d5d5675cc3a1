package jetstream

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

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
// meanwhile would read from replicas.
func leaderKV(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	if _, err := js.KeyValue(ctx, cfg.Bucket); errors.Is(err, jetstream.ErrBucketNotFound) {
		if _, err := js.CreateKeyValue(ctx, cfg); err != nil && !errors.Is(err, jetstream.ErrBucketExists) {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	s, err := js.Stream(ctx, "KV_"+cfg.Bucket)
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
	if s, err := js.Stream(ctx, "KV_"+cfg.Bucket); err != nil {
		return nil, err
	} else if s.CachedInfo().Config.AllowDirect {
		// Another node created or updated the bucket meanwhile, allowing direct gets again.
		return leaderKV(ctx, js, cfg)
	}
	return kv, nil
}
