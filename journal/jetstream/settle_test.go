package jetstream_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aper-go/aper/journal"
	ajs "github.com/aper-go/aper/journal/jetstream"
	"github.com/aper-go/aper/journal/journaltest"
)

// TestSettle checks how an Append whose answer was lost is settled, by reading the room's last
// message: its batch there is success, another writer's entries a mismatch, and neither an
// unknown outcome; nothing is published again.
func TestSettle(t *testing.T) {
	ctx := t.Context()
	js := connect(t, single.node)
	j := open(t, js, ajs.Options{Streams: 1})
	lost := errors.New("no answer")
	journaltest.AppendN(t, j, "r", 3, 3)

	// publish stores a message for entry seq of room "r" as an Append would, with batch id.
	publish := func(seq uint64, batch string) {
		t.Helper()
		m := &nats.Msg{Subject: j.SubjectOf("r"), Header: nats.Header{}, Data: []byte("lost")}
		m.Header.Set("Aper-Seq", strconv.FormatUint(seq, 10))
		m.Header.Set("Aper-Count", "1")
		m.Header.Set("Aper-Batch", batch)
		_, err := js.PublishMsg(ctx, m)
		require.NoError(t, err)
	}

	err := ajs.Settle(ctx, j, "r", 3, 4, "mine", lost)
	require.ErrorIs(t, err, ajs.ErrUnknownOutcome, "nothing stored yet")
	require.ErrorIs(t, err, lost)
	assert.NotErrorIs(t, err, journal.ErrSeqMismatch)

	publish(4, "mine")
	require.NoError(t, ajs.Settle(ctx, j, "r", 3, 4, "mine", lost), "the batch is there: stored")
	last, err := j.Last(ctx, "r")
	require.NoError(t, err)
	assert.Equal(t, uint64(4), last)

	err = ajs.Settle(ctx, j, "r", 3, 4, "theirs", lost)
	var sm *journal.SeqMismatchError
	require.ErrorAs(t, err, &sm, "another writer's entries follow Seq 3")
	assert.Equal(t, journal.SeqMismatchError{Room: "r", Expected: 3, Actual: 4}, *sm)
	got, err := journaltest.ReadAll(t, j, "r", 4)
	require.NoError(t, err)
	require.Len(t, got, 1, "settling published nothing")

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	require.Error(t, ajs.Settle(canceled, j, "r", 4, 5, "x", lost))
}
