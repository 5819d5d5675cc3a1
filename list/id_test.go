package list_test

import (
	"sync"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/list"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInsertIDs checks the ids that the insert constructors make, on two goroutines at once
// (run with -race): random version 4 UUIDs of the RFC 4122 variant, none repeated, as uuid.New
// makes.
func TestInsertIDs(t *testing.T) {
	const each = 5_000 // more than one 4 KiB buffer of random bytes
	got := make([][]uuid.UUID, 2)
	var wg sync.WaitGroup
	for g := range got {
		wg.Go(func() {
			l := list.New[*aper.Counter, aper.CounterTransition]()
			for range each {
				id, _ := l.Append(aper.NewCounter(0))
				got[g] = append(got[g], id)
			}
		})
	}
	wg.Wait()
	seen := make(map[uuid.UUID]bool, 2*each)
	for _, ids := range got {
		require.Len(t, ids, each)
		for _, id := range ids {
			require.Equal(t, uuid.Version(4), id.Version(), "%s", id)
			require.Equal(t, uuid.RFC4122, id.Variant(), "%s", id)
			require.False(t, seen[id], "%s made twice", id)
			seen[id] = true
		}
	}
	// The bits that are not version or variant are random: each is set in about half the ids.
	var ones [128]int
	for id := range seen {
		for i := range 128 {
			ones[i] += int(id[i/8] >> (7 - i%8) & 1)
		}
	}
	for i, n := range ones {
		if i/4 == 12 || i/2 == 32 { // bits 48-51: the version; 64-65: the variant
			continue
		}
		assert.InDelta(t, len(seen)/2, n, float64(len(seen))/10, "bit %d", i)
	}
}
