// Command drop-four is two-player Connect Four over WebSocket: the first two clients of a room
// take the seats (turns are keyed by client id), every other client watches, an illegal move is
// a conflict of the application's own kind, and the server's timer ends a turn that runs too
// long.
//
// Run it from the repository root:
//
//	go run ./examples/drop-four [-turn 1s] [-seed 1]
//
// It starts the server and three clients in one process: two bots that play (one of them falls
// asleep once, so that the timer takes its turn) and an observer that prints the board.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/examples/drop-four/dropfour"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport/websocket"
)

type client = apersync.Client[*dropfour.Game, dropfour.Move]

func main() {
	turn := flag.Duration("turn", time.Second, "how long a turn may take")
	seed := flag.Uint64("seed", 1, "seed of the bots' choices")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *turn, *seed); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, w io.Writer, turn time.Duration, seed uint64) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	srv, err := apersync.NewServer(func(ctx context.Context, room string) (*dropfour.Game, error) {
		return dropfour.NewGame(turn), nil
	})
	if err != nil {
		return err
	}
	l, err := websocket.Listen("127.0.0.1:0", nil)
	if err != nil {
		return err
	}
	go srv.Serve(ctx, l) // returns when Close (deferred below) closes the listener
	defer srv.Close()
	url := "ws://" + l.Addr().String()
	dial := func() (*client, error) {
		return apersync.Dial[*dropfour.Game, dropfour.Move](ctx, websocket.Dialer(url, nil), "table-1")
	}

	var players [2]*client
	for i := range players {
		c, err := dial()
		if err != nil {
			return err
		}
		defer c.Close()
		if err := c.Apply(dropfour.Move{Op: "join"}); err != nil {
			return err
		}
		if err := c.Sync(ctx); err != nil {
			return err
		}
		players[i] = c
	}
	observer, err := dial()
	if err != nil {
		return err
	}
	defer observer.Close()
	if err := observer.Apply(dropfour.Move{Op: "join"}); errors.Is(err, dropfour.ErrIllegalMove) {
		fmt.Fprintf(w, "observer: %v\n", conflict.As(err).Message)
	}

	// O tries to move first: its own replica refuses at once, and nothing is sent.
	if err := players[1].Apply(dropfour.Move{Op: "drop", Column: 3}); errors.Is(err, dropfour.ErrIllegalMove) {
		fmt.Fprintf(w, "O tries to move first: %v\n", conflict.As(err))
	}

	var wg sync.WaitGroup
	defer wg.Wait()
	for i, p := range players {
		wg.Go(func() { bot(ctx, p, i, rand.New(rand.NewPCG(seed, uint64(i)))) })
	}
	return watch(ctx, w, observer)
}

// watch prints the board after every move until the game ends.
func watch(ctx context.Context, w io.Writer, c *client) error {
	var seen uint64
	timeouts := 0
	for {
		g := c.State()
		if seq := c.Seq(); seq != seen {
			seen = seq
			if g.Timeouts > timeouts {
				timeouts = g.Timeouts
				fmt.Fprintf(w, "the server's timer ended %c's turn\n", dropfour.Marks[1-g.Turn])
			}
			if g.Players[1] != "" {
				fmt.Fprintf(w, "seq %d:\n%s", seq, g)
			}
			if g.Winner != "" {
				if g.Winner == "draw" {
					fmt.Fprintln(w, "a draw")
				} else {
					fmt.Fprintf(w, "%s wins\n", g.Winner)
				}
				return nil
			}
		}
		select {
		case <-c.Changes():
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// bot plays seat i: on its turn it takes a winning column, else blocks the other's, else picks
// at random. O falls asleep on its third turn, and the timer moves the game on.
func bot(ctx context.Context, c *client, i int, rng *rand.Rand) {
	moves := 0
	for {
		g := c.State()
		if g.Winner != "" {
			return
		}
		if g.Players[g.Turn] == c.ID() && c.Pending() == 0 {
			moves++
			if i == 1 && moves == 3 {
				// Asleep: wait for the timer's timeout to pass the turn on.
				for c.State().Turn == i && c.State().Winner == "" {
					select {
					case <-c.Changes():
					case <-ctx.Done():
						return
					}
				}
				continue
			}
			c.Apply(dropfour.Move{Op: "drop", Column: choose(g, i, rng)})
		}
		select {
		case <-c.Changes():
		case <-ctx.Done():
			return
		}
	}
}

// choose picks a column for seat i.
func choose(g *dropfour.Game, i int, rng *rand.Rand) int {
	for _, who := range []int{i, 1 - i} { // win, else block
		for col := range dropfour.Cols {
			r := g.FreeRow(col)
			if r < 0 {
				continue
			}
			t := g.Clone()
			b := []byte(t.Cells)
			b[r*dropfour.Cols+col] = dropfour.Marks[who]
			t.Cells = string(b)
			if t.Wins(r, col) {
				return col
			}
		}
	}
	for {
		if col := rng.IntN(dropfour.Cols); g.FreeRow(col) >= 0 {
			return col
		}
	}
}
