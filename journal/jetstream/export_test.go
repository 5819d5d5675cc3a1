package jetstream

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"
)

// Settle is Append's settling of a publish whose answer was lost, for tests: batch is the
// Aper-Batch id the lost publish carried.
func Settle(ctx context.Context, j *Journal, room string, expectedLast, newLast uint64, batch string, cause error) error {
	return j.settle(ctx, room, expectedLast, newLast, batch, cause)
}

// WrapObjects replaces the journal's snapshot store with wrap's result, for tests that make
// its requests fail. Call it before the journal is used.
func WrapObjects(j *Journal, wrap func(jetstream.ObjectStore) jetstream.ObjectStore) {
	j.objs = wrap(j.objs)
}
