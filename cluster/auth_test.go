package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aper-go/aper"
	apersync "github.com/aper-go/aper/sync"
)

// TestRelayedAuth: a client relayed by a member that does not own its room is authenticated
// once, by that member, and the owner applies its transitions under the identity that member
// established; an agent on a member that does not own its room stays an agent on the owner,
// whose auth hook, which needs a token, is not asked about it.
func TestRelayedAuth(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var mu sync.Mutex
	asked := make([]int, 3)                // each member's auth hook calls
	seen := make([][]apersync.Identity, 3) // the identities each member's permission hook saw
	fc := startAtOnce(ctx, t, func(i int) []apersync.ServerOption {
		return []apersync.ServerOption{
			apersync.WithAuth(func(_ context.Context, req apersync.AuthRequest) (apersync.Identity, error) {
				mu.Lock()
				asked[i]++
				mu.Unlock()
				user, ok := strings.CutPrefix(req.Token, "token-of-")
				if !ok {
					return apersync.Identity{}, errors.New("no token")
				}
				return apersync.Identity{Client: aper.ClientID(user)}, nil
			}),
			apersync.WithPermission(func(id apersync.Identity, _ string, _ counter, _ aper.CounterTransition) error {
				mu.Lock()
				seen[i] = append(seen[i], id)
				mu.Unlock()
				return nil
			}),
		}
	})
	counts := func() []int {
		mu.Lock()
		defer mu.Unlock()
		return append([]int(nil), asked...)
	}
	lastSeen := func(t *testing.T, i int) apersync.Identity {
		mu.Lock()
		defer mu.Unlock()
		require.NotEmpty(t, seen[i], "member n%d checked no transition", i)
		return seen[i][len(seen[i])-1]
	}
	const room = "auth"
	// dial fails the test (or subtest) t it is given, not the one around it.
	dial := func(t *testing.T, i int, user string) *client {
		c, err := apersync.Dial[counter, aper.CounterTransition](ctx, fc.net.Dialer(fmt.Sprintf("n%d", i)), room,
			apersync.WithToken("token-of-"+user), apersync.WithBackoff(10*time.Millisecond, 200*time.Millisecond))
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		return c
	}
	// alice on n0 makes n0 the owner.
	a := dial(t, 0, "alice")
	require.NoError(t, a.Apply(add1))
	require.NoError(t, a.Sync(ctx))
	assert.Equal(t, []int{1, 0, 0}, counts())

	t.Run("Client", func(t *testing.T) {
		b := dial(t, 1, "bob")
		require.NoError(t, b.Apply(add1))
		require.NoError(t, b.Sync(ctx))
		assert.Equal(t, []int{1, 1, 0}, counts(), "auth hook calls per member: n1 relays bob, n0 trusts it")
		assert.Equal(t, apersync.Identity{Client: "bob"}, lastSeen(t, 0))
	})

	t.Run("Agent", func(t *testing.T) {
		bot, err := fc.members[2].srv.Agent(ctx, room)
		require.NoError(t, err)
		defer bot.Close()
		require.NoError(t, bot.Apply(add1))
		require.NoError(t, bot.Sync(ctx), "a relayed agent")
		assert.Equal(t, []int{1, 1, 0}, counts(), "no auth hook asked about an agent")
		id := lastSeen(t, 0)
		assert.True(t, id.Agent, "the owner's permission hook saw %+v, want an agent", id)
		assert.Equal(t, int64(3), bot.State().Value())
	})
}
