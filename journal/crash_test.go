package journal_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aper-go/aper/journal"
)

// crashChildEnv, when set to a directory, makes the test binary a child that appends to a
// journal there until it is killed.
const crashChildEnv = "APER_JOURNAL_CRASH_CHILD"

var crashRooms = []string{"a", "b", "snap"}

// crashData is the data of an entry in the crash test: its length and bytes depend on the room
// and the Seq, so that a misplaced or damaged entry shows.
func crashData(room string, seq uint64) []byte {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d", room, seq)
	sum := h.Sum64()
	b := fmt.Appendf(nil, "%s/%d/", room, seq)
	for i := range int(sum % 300) {
		b = append(b, byte(sum>>(i%8*8))+byte(i))
	}
	return b
}

// crashChild appends to every crash room from its own goroutine, in random batches, and prints
// "room seq" on stdout once each batch is acknowledged. The room "snap" also saves snapshots.
func crashChild() {
	die := func(err error) {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(2)
	}
	j, err := journal.Open(os.Getenv(crashChildEnv), &journal.Options{SegmentSize: 8 << 10})
	if err != nil {
		die(err)
	}
	var out sync.Mutex
	var wg sync.WaitGroup
	for i, room := range crashRooms {
		wg.Go(func() {
			ctx := context.Background()
			rng := rand.New(rand.NewPCG(uint64(os.Getpid()), uint64(i)))
			last, err := j.Last(ctx, room)
			if err != nil {
				die(err)
			}
			for {
				n := 1 + rng.Uint64N(6)
				var es []journal.Entry
				for s := last + 1; s <= last+n; s++ {
					es = append(es, journal.Entry{Seq: s, Data: crashData(room, s)})
				}
				if err := j.Append(ctx, room, last, es); err != nil {
					die(err)
				}
				last += n
				out.Lock()
				fmt.Fprintf(os.Stdout, "%s %d\n", room, last)
				out.Unlock()
				if room == "snap" && rng.IntN(20) == 0 {
					if err := j.SaveSnapshot(ctx, room, journal.Snapshot{Seq: last, Data: crashData("state", last)}); err != nil {
						die(err)
					}
				}
			}
		})
	}
	wg.Wait()
}

// TestCrash kills a child process that appends continuously, at random moments, several times
// over one directory, and checks after each restart and at the end that every Seq the child saw
// acknowledged is there exactly once, in order, with its data.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	exe, err := os.Executable()
	require.NoError(t, err)
	dir := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	acked := map[string]uint64{}

	for round := range 5 {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second) // a watchdog, not a wait
		cmd := exec.CommandContext(ctx, exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())

		kill := 1 + rng.IntN(600) // acknowledgements to see before the kill
		seen, killed := 0, false
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			room, seqText, ok := strings.Cut(sc.Text(), " ")
			seq, err := strconv.ParseUint(seqText, 10, 64)
			require.True(t, ok && err == nil, "bad line %q", sc.Text())
			require.Greater(t, seq, acked[room], "room %s acknowledged Seq %d after %d", room, seq, acked[room])
			acked[room] = seq
			// Lines printed before the kill are acknowledgements too: read to the end.
			if seen++; seen == kill && !killed {
				require.NoError(t, cmd.Process.Kill())
				killed = true
			}
		}
		err = cmd.Wait()
		cancel()
		require.True(t, killed, "round %d: the child stopped by itself after %d acknowledgements: %v\n%s", round, seen, err, stderr.String())
		t.Logf("round %d: killed after %d acknowledgements; acknowledged %v", round, seen, acked)
	}

	d, err := journal.Open(dir, nil)
	require.NoError(t, err)
	defer d.Close()
	for _, room := range crashRooms {
		last, err := d.Last(t.Context(), room)
		require.NoError(t, err)
		require.GreaterOrEqual(t, last, acked[room], "room %s lost acknowledged entries", room)
		from := uint64(1)
		if s, ok, err := d.LoadSnapshot(t.Context(), room); assert.NoError(t, err) && ok {
			assert.Equal(t, crashData("state", s.Seq), s.Data)
			from = s.Seq + 1
		}
		want := from
		for e, err := range d.Read(t.Context(), room, from) {
			require.NoError(t, err)
			require.Equal(t, want, e.Seq, "room %s", room)
			require.Equal(t, crashData(room, e.Seq), e.Data, "room %s Seq %d", room, e.Seq)
			want++
		}
		require.Equal(t, last+1, want, "room %s: read up to Last", room)
	}
}
