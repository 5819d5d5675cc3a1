package sync_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aper-go/aper/apertest"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/text"
	"github.com/aper-go/aper/transport/memory"
)

type textClient = apersync.Client[*text.Text, text.Edit]

// textServer starts a server of text rooms on a fresh memory network.
func textServer(t testing.TB, opts ...apersync.ServerOption) (*apersync.Server[*text.Text, text.Edit], *memory.Network) {
	t.Helper()
	n := memory.NewNetwork(nil)
	t.Cleanup(func() { n.Close() })
	l, err := n.Listen("server")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := apersync.NewServer(func(ctx context.Context, room string) (*text.Text, error) { return text.New(""), nil }, opts...)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), l) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return srv, n
}

// dialText connects a client of room "doc" from the endpoint called from.
func dialText(t testing.TB, n *memory.Network, from string) *textClient {
	t.Helper()
	c, err := apersync.Dial[*text.Text, text.Edit](ctxT(t), n.DialerWith("server", &memory.DialOptions{From: from}), "doc",
		apersync.WithBackoff(time.Millisecond, 5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func waitTextStatus(t testing.TB, c *textClient, want apersync.ConnState) {
	t.Helper()
	timer := time.NewTimer(waitLimit)
	defer timer.Stop()
	for c.Status().State != want {
		select {
		case <-c.StatusChanges():
		case <-timer.C:
			t.Fatalf("status %+v, want %v", c.Status(), want)
		}
	}
}

// typeAt applies the insert of s at pos of c's view.
func typeAt(t testing.TB, c *textClient, pos func(v *text.Text) int, s string) {
	t.Helper()
	v := c.State()
	if err := c.Apply(v.Insert(pos(v), s)); err != nil {
		t.Fatal(err)
	}
}

func noRejections(t testing.TB, cs ...*textClient) {
	t.Helper()
	for _, c := range cs {
		select {
		case r := <-c.Rejections():
			t.Fatalf("client %s: rejection %+v", c.ID(), r.Err)
		default:
		}
	}
}

// TestOfflineTypingLandsAfterABusyRoom: a client types 100,000 keystrokes offline while two
// others type 10,000 edits; when it comes back, every keystroke lands, contiguous and in order,
// with no rejection, and all replicas converge. Before the client rebased its pending edits, its
// 1,026th offline keystroke was refused by Apply (StaleBase), and the resent ones by the server.
func TestOfflineTypingLandsAfterABusyRoom(t *testing.T) {
	offline, others := 100_000, 10_000
	if raceEnabled || testing.Short() {
		offline, others = 5_000, 2_000
	}
	srv, n := textServer(t, apersync.WithResumeLog(2*(offline+others)))
	alice, bob, carol := dialText(t, n, "alice"), dialText(t, n, "bob"), dialText(t, n, "carol")
	typeAt(t, bob, func(*text.Text) int { return 0 }, "<>")
	for _, c := range []*textClient{alice, bob, carol} {
		if err := c.Sync(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	waitSeq(t, alice, 1)

	// Alice goes offline and types inside the brackets; Bob types after them and Carol before.
	if err := n.Partition("alice", "server", memory.Drop); err != nil {
		t.Fatal(err)
	}
	n.Disconnect("alice")
	waitTextStatus(t, alice, apersync.Disconnected)
	var want strings.Builder
	start := strings.Index(alice.State().String(), "<") + 1
	for i := range offline {
		s := string(rune('a' + i%26))
		want.WriteString(s)
		typeAt(t, alice, func(*text.Text) int { return start + i }, s)
	}
	for i := range others {
		c, s, pos := bob, "B", func(v *text.Text) int { return v.Len() }
		if i%2 == 1 {
			c, s, pos = carol, "C", func(*text.Text) int { return 0 }
		}
		typeAt(t, c, pos, s)
		if i%500 == 499 {
			if err := c.Sync(ctxT(t)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := bob.Sync(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := carol.Sync(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if got := alice.Pending(); got != offline {
		t.Fatalf("alice has %d pending edits, want %d", got, offline)
	}

	n.Heal("alice", "server")
	ctx, cancel := context.WithTimeout(context.Background(), 10*waitLimit)
	defer cancel()
	if err := alice.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	state, seq, err := srv.Snapshot(ctxT(t), "doc")
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64(1 + offline + others); seq != want {
		t.Errorf("server at seq %d, want %d: edits were lost or rejected", seq, want)
	}
	for _, c := range []*textClient{alice, bob, carol} {
		waitSeq(t, c, seq)
		apertest.Equal(t, c.State(), state)
	}
	noRejections(t, alice, bob, carol)
	got := state.String()
	if !strings.Contains(got, "<"+want.String()+">") {
		t.Errorf("alice's offline text is not contiguous inside the brackets")
	}
	if b, c := strings.Count(got, "B"), strings.Count(got, "C"); b != others/2 || c != others/2 {
		t.Errorf("%d B and %d C, want %d each", b, c, others/2)
	}
}
