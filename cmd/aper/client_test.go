package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/cmd/aper/internal/rooms"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport/websocket"
)

// lockedBuffer is an io.Writer that the test reads after the writer is done.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// Every state line aper client prints is one moment of the client: the only writer of the
// counter adds 1 each time, so its value is its confirmed seq plus its pending count. (Reading
// Seq, State and Pending one after the other, while stdin applied and the server confirmed,
// printed "state seq=0: 0 (1 pending)".)
func TestClientPrintsConsistentStates(t *testing.T) {
	t.Parallel()
	srv, err := apersync.NewServer(rooms.New, apersync.WithRoomIdle(-1))
	if err != nil {
		t.Fatal(err)
	}
	l, err := websocket.Listen("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.Serve(context.Background(), l)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-served
	})

	const adds = 1000
	stdin, feed := io.Pipe()
	go func() { // ends when every line is written, or when the client stops reading
		for range adds {
			if _, err := io.WriteString(feed, "add 1\n"); err != nil {
				return
			}
		}
		feed.Close()
	}()
	var out lockedBuffer
	err = client(context.Background(), []string{"-addr", l.Addr().String(), "counter/consistent"}, stdin, &out, io.Discard)
	stdin.Close()
	if err != nil {
		t.Fatalf("client: %v\n%s", err, out.String())
	}
	line := regexp.MustCompile(`^state seq=(\d+): (-?\d+)(?: \((\d+) pending\))?$`)
	states := 0
	for l := range strings.Lines(out.String()) {
		l = strings.TrimSuffix(l, "\n")
		m := line.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		states++
		seq, _ := strconv.Atoi(m[1])
		value, _ := strconv.Atoi(m[2])
		pending := 0
		if m[3] != "" {
			pending, _ = strconv.Atoi(m[3])
		}
		if value != seq+pending {
			t.Errorf("impossible state line %q: value %d is not seq %d + %d pending", l, value, seq, pending)
		}
	}
	if want := fmt.Sprintf("state seq=%d: %d\nsynced seq=%d\n", adds, adds, adds); !strings.HasSuffix(out.String(), want) || states < adds {
		t.Fatalf("%d state lines; the output ends\n%s", states, out.String()[max(0, len(out.String())-300):])
	}
}

// scriptedClient is a client view in which the server's frames arrive while State runs: each
// call of State first performs the next event of the script.
type scriptedClient struct {
	seq     uint64
	value   int64
	pending int
	events  []func(c *scriptedClient)
}

func (c *scriptedClient) Seq() uint64  { return c.seq }
func (c *scriptedClient) Pending() int { return c.pending }
func (c *scriptedClient) State() *rooms.Room {
	st := &rooms.Room{Counter: aper.NewCounter(c.value)}
	if len(c.events) > 0 {
		c.events[0](c)
		c.events = c.events[1:]
	}
	return st
}

// The printer's reading of a state is one moment even when the server confirms and rejects
// in the middle of it.
func TestPrinterReadsOneMoment(t *testing.T) {
	confirm := func(c *scriptedClient) { c.seq++; c.pending-- }
	reject := func(c *scriptedClient) { c.pending--; c.value-- }
	other := func(c *scriptedClient) { c.seq++; c.value += 10 }
	for name, tt := range map[string]struct {
		pending int // at the start; the value is as many
		events  []func(*scriptedClient)
		want    string
	}{
		"confirmed":          {1, []func(*scriptedClient){confirm}, "state seq=1: 1\n"},
		"rejected":           {1, []func(*scriptedClient){reject}, "state seq=0: 0\n"},
		"confirmed and more": {2, []func(*scriptedClient){confirm, other, reject}, "state seq=2: 11\n"},
		"nothing meanwhile":  {2, nil, "state seq=0: 2 (2 pending)\n"},
	} {
		t.Run(name, func(t *testing.T) {
			c := &scriptedClient{value: int64(tt.pending), pending: tt.pending, events: tt.events}
			var out strings.Builder
			p := &printer{w: &out, kind: rooms.Counter}
			p.printState(c, false)
			if out.String() != tt.want {
				t.Fatalf("printed %q, want %q", out.String(), tt.want)
			}
		})
	}
}
