package jetstream

import "context"

// Settle is Append's settling of a publish whose answer was lost, for tests: batch is the
// Aper-Batch id the lost publish carried.
func Settle(ctx context.Context, j *Journal, room string, expectedLast, newLast uint64, batch string, cause error) error {
	return j.settle(ctx, room, expectedLast, newLast, batch, cause)
}
