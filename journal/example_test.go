package journal_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/aper-go/aper/journal"
)

// A room's owner appends batches conditionally on the last Seq it knows, so that a stale owner
// is fenced off; rebuilding is the snapshot, then the log after it.
func Example() {
	dir, err := os.MkdirTemp("", "journal-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	j, err := journal.Open(dir, nil) // fsync per batch, with group commit
	if err != nil {
		log.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()

	err = j.Append(ctx, "lobby", 0, []journal.Entry{{Seq: 1, Data: []byte("alice joins")}, {Seq: 2, Data: []byte("bob joins")}})
	if err != nil {
		log.Fatal(err)
	}
	// Another owner that still thinks the room is empty is refused.
	err = j.Append(ctx, "lobby", 0, []journal.Entry{{Seq: 1, Data: []byte("carol joins")}})
	fmt.Println("fenced:", errors.Is(err, journal.ErrSeqMismatch))

	if err := j.SaveSnapshot(ctx, "lobby", journal.Snapshot{Seq: 2, Data: []byte("alice, bob")}); err != nil {
		log.Fatal(err)
	}
	if err := j.Append(ctx, "lobby", 2, []journal.Entry{{Seq: 3, Data: []byte("bob leaves")}}); err != nil {
		log.Fatal(err)
	}

	// Rebuild.
	s, ok, err := j.LoadSnapshot(ctx, "lobby")
	if err != nil || !ok {
		log.Fatal(ok, err)
	}
	fmt.Printf("snapshot at %d: %s\n", s.Seq, s.Data)
	for e, err := range j.Read(ctx, "lobby", s.Seq+1) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%d: %s\n", e.Seq, e.Data)
	}
	// Output:
	// fenced: true
	// snapshot at 2: alice, bob
	// 3: bob leaves
}
