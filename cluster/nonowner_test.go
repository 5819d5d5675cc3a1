package cluster_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
	apersync "github.com/aper-go/aper/sync"
)

// TestNonOwner: the server's own calls on a room give the same result on every member of the
// cluster, the room's owner or not, and a member that does not own the room never loads it.
func TestNonOwner(t *testing.T) {
	t.Parallel()
	tc := startCluster(t, 3, nil)
	const room = "api"
	a := tc.dial(t, 0, room)
	for range 5 {
		require.NoError(t, a.Apply(add1))
	}
	settle(t, []*client{a})
	own := tc.owner(t, room)
	var others []*member
	for i, m := range tc.members {
		if i != own {
			others = append(others, m)
		}
	}
	owner := tc.members[own]
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	// state returns a member's Snapshot of the room.
	state := func(t *testing.T, m *member) (int64, uint64) {
		t.Helper()
		st, seq, err := m.srv.Snapshot(ctx, room)
		require.NoError(t, err, m.name)
		return st.Value(), seq
	}

	t.Run("SnapshotAndSeq", func(t *testing.T) {
		v, seq := state(t, owner)
		assert.Equal(t, int64(5), v)
		for _, m := range others {
			ov, oseq := state(t, m)
			assert.Equal(t, v, ov, m.name)
			assert.Equal(t, seq, oseq, m.name)
			n, err := m.srv.Seq(ctx, room)
			require.NoError(t, err)
			assert.Equal(t, seq, n, m.name)
		}
	})

	t.Run("Submit", func(t *testing.T) {
		_, before := state(t, owner)
		for k, m := range others {
			seq, err := m.srv.Submit(ctx, room, apersync.Identity{Client: "svc"}, add1)
			require.NoError(t, err, m.name)
			assert.Equal(t, before+uint64(k)+1, seq, m.name)
		}
		// The owner ordered them: its state, and its client's, has them.
		v, seq := state(t, owner)
		assert.Equal(t, before+uint64(len(others)), seq)
		require.NoError(t, a.WaitSeq(ctx, seq))
		assert.Equal(t, v, a.State().Value())

		// A conflict comes back as the owner's *conflict.Conflict.
		_, err := others[0].srv.Submit(ctx, room, apersync.Identity{}, aper.CounterTransition{Op: 99})
		var c *conflict.Conflict
		require.True(t, errors.As(err, &c), "%v", err)
		assert.Equal(t, conflict.Invalid, c.Kind)
		_, oerr := owner.srv.Submit(ctx, room, apersync.Identity{}, aper.CounterTransition{Op: 99})
		require.True(t, errors.As(oerr, &c), "%v", oerr)

		// An Identity's Info cannot travel: the error names the owner.
		_, err = others[0].srv.Submit(ctx, room, apersync.Identity{Info: "user record"}, add1)
		var oe *apersync.OwnerError
		require.True(t, errors.As(err, &oe), "%v", err)
		assert.Equal(t, owner.name, oe.Owner)
	})

	t.Run("FollowHistoryStateAt", func(t *testing.T) {
		_, last := state(t, owner)
		read := func(m *member) []aper.Event[aper.CounterTransition] {
			t.Helper()
			var evs []aper.Event[aper.CounterTransition]
			for ev, err := range m.srv.Follow(ctx, room, 1) {
				require.NoError(t, err, m.name)
				evs = append(evs, ev)
				if ev.Seq == last {
					break
				}
			}
			return evs
		}
		history := func(m *member) []apersync.HistoryEvent[aper.CounterTransition] {
			t.Helper()
			var evs []apersync.HistoryEvent[aper.CounterTransition]
			for ev, err := range m.srv.History(ctx, room, 1, 0) {
				require.NoError(t, err, m.name)
				evs = append(evs, ev)
			}
			return evs
		}
		want, wantH := read(owner), history(owner)
		require.Len(t, want, int(last))
		require.Len(t, wantH, int(last))
		wantAt, err := owner.srv.StateAt(ctx, room, 3)
		require.NoError(t, err)
		for _, m := range others {
			assert.Equal(t, want, read(m), m.name)
			assert.Equal(t, wantH, history(m), m.name)
			at, err := m.srv.StateAt(ctx, room, 3)
			require.NoError(t, err, m.name)
			assert.Equal(t, wantAt.Value(), at.Value(), m.name)
		}
	})

	t.Run("Restore", func(t *testing.T) {
		_, before := state(t, owner)
		seq, err := others[0].srv.Restore(ctx, room, 2)
		require.NoError(t, err)
		assert.Equal(t, before+1, seq)
		v, oseq := state(t, owner)
		assert.Equal(t, int64(2), v)
		assert.Equal(t, seq, oseq)
		// The owner's clients are told, and load the restored state.
		require.NoError(t, a.WaitSeq(ctx, seq))
		assert.Equal(t, int64(2), a.State().Value())
	})

	t.Run("Kick", func(t *testing.T) {
		// b reaches a member that relays it to the owner; a third member kicks it.
		b := tc.dial(t, (own+1)%3, room)
		require.NoError(t, b.Apply(add1))
		settle(t, []*client{a, b})
		kicker := tc.members[(own+2)%3]
		n, err := kicker.srv.Kick(ctx, room, b.ID(), "bye")
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		for !errors.Is(b.Status().Err, apersync.ErrKicked) {
			select {
			case <-b.StatusChanges():
			case <-ctx.Done():
				t.Fatalf("b was not kicked: %v", b.Status())
			}
		}
		n, err = kicker.srv.Kick(ctx, room, "nobody", "")
		require.NoError(t, err)
		assert.Equal(t, 0, n)

		// Reauthorize's check cannot travel: the error names the owner.
		_, err = kicker.srv.Reauthorize(ctx, room, func(apersync.Identity) error { return nil })
		var oe *apersync.OwnerError
		require.True(t, errors.As(err, &oe), "%v", err)
		assert.Equal(t, owner.name, oe.Owner)
	})

	t.Run("Agent", func(t *testing.T) {
		// An agent on a member that does not own the room is relayed as a client is.
		ag, err := others[0].srv.Agent(ctx, room)
		require.NoError(t, err)
		defer ag.Close()
		require.NoError(t, ag.Apply(add1))
		require.NoError(t, ag.Sync(ctx))
		v, seq := state(t, owner)
		require.NoError(t, ag.WaitSeq(ctx, seq))
		assert.Equal(t, v, ag.State().Value())
	})

	t.Run("HTTP", func(t *testing.T) {
		get := func(m *member, path string) (int, string) {
			t.Helper()
			rec := httptest.NewRecorder()
			m.srv.API().ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil))
			return rec.Code, rec.Body.String()
		}
		code, want := get(owner, "/state/"+room)
		require.Equal(t, http.StatusOK, code, want)
		for _, m := range others {
			code, got := get(m, "/state/"+room)
			assert.Equal(t, http.StatusOK, code, got)
			assert.JSONEq(t, want, got, m.name)
		}

		v0, _ := state(t, owner)
		rec := httptest.NewRecorder()
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/submit/"+room, strings.NewReader(`{"op":1,"n":10}`))
		others[0].srv.API().ServeHTTP(rec, req)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		var sub struct{ Seq uint64 }
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &sub))
		v, seq := state(t, owner)
		assert.Equal(t, sub.Seq, seq)

		// The log from the last Seq, on a member that does not own the room.
		srv := httptest.NewServer(others[1].srv.API())
		defer srv.Close()
		lctx, stop := context.WithCancel(ctx)
		defer stop()
		lreq, err := http.NewRequestWithContext(lctx, http.MethodGet, srv.URL+"/log/"+room+"?from="+strconv.FormatUint(seq, 10), nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(lreq)
		require.NoError(t, err)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var data string
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				data = d
				break
			}
		}
		var ev struct {
			Seq        uint64
			Transition aper.CounterTransition
		}
		require.NoError(t, json.Unmarshal([]byte(data), &ev), data)
		assert.Equal(t, seq, ev.Seq)
		assert.Equal(t, int64(10), ev.Transition.Amount)

		// /rooms: only the owner has the room loaded.
		for i, m := range tc.members {
			_, body := get(m, "/rooms")
			var rooms struct {
				Rooms []struct {
					Name   string
					Loaded bool
				}
			}
			require.NoError(t, json.Unmarshal([]byte(body), &rooms))
			for _, r := range rooms.Rooms {
				if r.Name == room {
					assert.Equal(t, i == own, r.Loaded, "member %s loaded the room", m.name)
				}
			}
		}
		assert.Equal(t, v0+10, v)
	})
}
