package sync_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/aper-go/aper/apertest"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/text"
	"github.com/aper-go/aper/transport/memory"
)

// TestBusyTextRoomRefusesNoEdit: many writers type at once into a text room whose history is
// short, each with several edits in flight, so most edits reach the server based on a version
// further back than the history limit. With no fault at all, no edit is refused (before the text
// held its history for the authors that are behind, many were refused as stale base, each with
// the author's later edits), and every replica converges.
func TestBusyTextRoomRefusesNoEdit(t *testing.T) {
	const (
		keep    = 64 // the rooms' history limit
		writers = 12
		window  = 8 // edits a writer has in flight at most
	)
	edits := 60
	if raceEnabled || testing.Short() {
		edits = 25
	}
	n := memory.NewNetwork(nil)
	t.Cleanup(func() { n.Close() })
	l, err := n.Listen("server")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := apersync.NewServer(func(ctx context.Context, room string) (*text.Text, error) { return text.NewWithHistory("", keep), nil })
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), l) }()
	t.Cleanup(func() { srv.Close(); <-done })

	cs := make([]*textClient, writers)
	for i := range cs {
		cs[i] = dialText(t, n, fmt.Sprintf("w%d", i))
	}
	// Each writer types a first letter before the rush: the text knows an author by its
	// latest edit (see text.Text.Oldest).
	for i, c := range cs {
		if err := c.Apply(c.State().Insert(0, "-")); err != nil {
			t.Fatal(err)
		}
		if err := c.Sync(ctxT(t)); err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	ctx := ctxT(t)
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i, c := range cs {
		wg.Go(func() { errs[i] = typeBusily(ctx, c, rand.New(rand.NewPCG(uint64(i), 1)), edits, window) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	if t.Failed() {
		return
	}
	state, seq, err := srv.Snapshot(ctxT(t), "doc")
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64(writers * (1 + edits)); seq != want {
		t.Errorf("server at seq %d, want %d", seq, want)
	}
	if state.Len() != writers*(1+edits) {
		t.Errorf("the text has %d letters, want %d", state.Len(), writers*(1+edits))
	}
	for _, c := range cs {
		waitSeq(t, c, seq)
		apertest.Equal(t, c.State(), state)
	}
	noRejections(t, cs...)
}

// typeBusily inserts edits letters at random places of c's view, with at most window of them
// pending, and waits until all are confirmed. A rejection by the server is an error.
func typeBusily(ctx context.Context, c *textClient, rng *rand.Rand, edits, window int) error {
	refused := false
	for i := 0; i < edits || c.Pending() > 0; {
		if i < edits && c.Pending() < window && !refused {
			v := c.State()
			if err := c.Apply(v.Insert(rng.IntN(v.Len()+1), string(rune('a'+rng.IntN(26))))); err == nil {
				i++
				continue
			}
			// The client's view refused the edit: nothing was applied. Wait for a change and
			// type again (what this test counts are the server's refusals).
			refused = true
		}
		select {
		case <-c.Changes():
			refused = false
		case r := <-c.Rejections():
			return fmt.Errorf("edit refused: %w", r.Err)
		case <-ctx.Done():
			return fmt.Errorf("%d pending: %w", c.Pending(), ctx.Err())
		}
	}
	return nil
}
