package jetstream_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aper-go/aper/journal"
	ajs "github.com/aper-go/aper/journal/jetstream"
)

// TestLeasesTTLMismatch: a holder whose TTL differs from the bucket's is refused, since it
// would count on its lease for longer, or shorter, than the key lives.
func TestLeasesTTLMismatch(t *testing.T) {
	js := connect(t, single.node)
	prefix := newPrefix()
	_, err := ajs.NewLeases(t.Context(), js, "a", &ajs.LeaseOptions{Prefix: prefix, TTL: 2 * time.Second})
	require.NoError(t, err)
	_, err = ajs.NewLeases(t.Context(), js, "b", &ajs.LeaseOptions{Prefix: prefix, TTL: 2 * time.Second})
	require.NoError(t, err)
	for _, ttl := range []time.Duration{time.Second, 5 * time.Second} {
		_, err = ajs.NewLeases(t.Context(), js, "c", &ajs.LeaseOptions{Prefix: prefix, TTL: ttl})
		assert.ErrorIs(t, err, journal.ErrInvalid, "TTL %v", ttl)
		assert.ErrorContains(t, err, "has 2s")
	}
}
