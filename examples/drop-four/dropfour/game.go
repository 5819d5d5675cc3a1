// Package dropfour is the state machine of the drop-four example: Connect Four between the first
// two clients of a room, with a turn timer that the server runs (sync.Timer). The example's
// program and aper serve's drop-four rooms both play it.
package dropfour

import (
	"fmt"
	"strings"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
)

// IllegalMove is the application's own conflict kind: a move against the rules (not your turn,
// a full or unknown column, a game that is over, a seat that is taken).
const IllegalMove conflict.Kind = "illegal move"

// ErrIllegalMove matches every IllegalMove conflict with errors.Is.
var ErrIllegalMove = conflict.Sentinel(IllegalMove)

// The board's size.
const (
	Rows = 6
	Cols = 7
)

// Game is a game of Connect Four between the first two clients that join; everybody else in the
// room watches. The server's timer ends a turn that takes longer than TurnTime.
type Game struct {
	// Cells holds the board, top row first: '.' for an empty cell, 'X' or 'O'.
	Cells string `json:"cells" cbor:"1,keyasint"`
	// Players are the clients seated as X and O ("" for an empty seat).
	Players [2]aper.ClientID `json:"players" cbor:"2,keyasint"`
	// Turn is whose turn it is: 0 for X, 1 for O.
	Turn int `json:"turn" cbor:"3,keyasint"`
	// Winner is "X", "O" or "draw" once the game is over.
	Winner string `json:"winner,omitempty" cbor:"4,keyasint,omitempty"`
	// Deadline is when the current turn ends, in Unix nanoseconds of the server's clock.
	Deadline int64 `json:"deadline,omitempty" cbor:"5,keyasint,omitempty"`
	// TurnTime is how long a turn may take.
	TurnTime time.Duration `json:"turn_time" cbor:"6,keyasint"`
	// Timeouts counts the turns the timer ended.
	Timeouts int `json:"timeouts,omitempty" cbor:"7,keyasint,omitempty"`
}

// Move is a transition of a Game.
type Move struct {
	// Op is "join" (take a seat), "drop" (drop a disc into Column) or "timeout" (the server's
	// timer ends the turn; clients cannot send it).
	Op     string `json:"op" cbor:"1,keyasint"`
	Column int    `json:"col,omitempty" cbor:"2,keyasint,omitempty"`
}

// NewGame returns an empty board whose turns last turnTime.
func NewGame(turnTime time.Duration) *Game {
	return &Game{Cells: strings.Repeat(".", Rows*Cols), TurnTime: turnTime}
}

// Marks are the discs of the two seats: Marks[0] for X, who plays first, and Marks[1] for O.
var Marks = [2]byte{'X', 'O'}

// Apply seats a player, drops a disc, or ends a turn that ran out of time.
func (g *Game) Apply(ev aper.Event[Move]) error {
	m := ev.Transition
	switch m.Op {
	case "join":
		for _, p := range g.Players {
			if p == ev.Client {
				return conflict.New(IllegalMove, "you already have a seat")
			}
		}
		switch {
		case ev.Client == "":
			return conflict.New(IllegalMove, "a server event cannot take a seat")
		case g.Players[0] == "":
			g.Players[0] = ev.Client
		case g.Players[1] == "":
			g.Players[1] = ev.Client
			g.Deadline = ev.Time.Add(g.TurnTime).UnixNano() // the game starts: X's clock runs
		default:
			return conflict.New(IllegalMove, "both seats are taken: you can watch")
		}
		return nil
	case "drop":
		if err := g.check(ev.Client); err != nil {
			return err
		}
		if m.Column < 0 || m.Column >= Cols {
			return conflict.New(IllegalMove, fmt.Sprintf("no column %d", m.Column))
		}
		row := g.FreeRow(m.Column)
		if row < 0 {
			return conflict.New(IllegalMove, fmt.Sprintf("column %d is full", m.Column))
		}
		b := []byte(g.Cells)
		b[row*Cols+m.Column] = Marks[g.Turn]
		g.Cells = string(b)
		switch {
		case g.Wins(row, m.Column):
			g.Winner, g.Deadline = string(Marks[g.Turn]), 0
		case !strings.Contains(g.Cells, "."):
			g.Winner, g.Deadline = "draw", 0
		default:
			g.Turn = 1 - g.Turn
			g.Deadline = ev.Time.Add(g.TurnTime).UnixNano()
		}
		return nil
	case "timeout":
		switch {
		case ev.Client != "":
			return conflict.New(IllegalMove, "only the server's timer ends a turn")
		case g.Winner != "" || g.Players[1] == "":
			return conflict.New(IllegalMove, "no turn is running")
		case ev.Time.UnixNano() < g.Deadline:
			return conflict.New(IllegalMove, "the turn has time left")
		}
		g.Timeouts++
		g.Turn = 1 - g.Turn
		g.Deadline = ev.Time.Add(g.TurnTime).UnixNano()
		return nil
	}
	return conflict.New(conflict.Invalid, fmt.Sprintf("unknown move %q", m.Op))
}

// check says whether client may move now.
func (g *Game) check(client aper.ClientID) error {
	switch {
	case g.Winner != "":
		return conflict.New(IllegalMove, "the game is over")
	case g.Players[1] == "":
		return conflict.New(IllegalMove, "waiting for a second player")
	case client != g.Players[g.Turn]:
		return conflict.New(IllegalMove, "not your turn")
	}
	return nil
}

// NextTimer is the server's timer (sync.Timer): while a game runs, a timeout at the deadline.
func (g *Game) NextTimer() (Move, time.Time, bool) {
	if g.Winner != "" || g.Players[1] == "" || g.Deadline == 0 {
		return Move{}, time.Time{}, false
	}
	return Move{Op: "timeout"}, time.Unix(0, g.Deadline), true
}

// Clone returns a copy (a Game is plain values).
func (g *Game) Clone() *Game {
	c := *g
	return &c
}

func (g *Game) cell(r, c int) byte { return g.Cells[r*Cols+c] }

// FreeRow returns the lowest empty row of column c, or -1.
func (g *Game) FreeRow(c int) int {
	for r := Rows - 1; r >= 0; r-- {
		if g.cell(r, c) == '.' {
			return r
		}
	}
	return -1
}

// Wins reports whether the disc at (r, c) completes four in a row.
func (g *Game) Wins(r, c int) bool {
	m := g.cell(r, c)
	for _, d := range [][2]int{{0, 1}, {1, 0}, {1, 1}, {1, -1}} {
		n := 1
		for _, s := range []int{1, -1} {
			for i := 1; ; i++ {
				rr, cc := r+s*i*d[0], c+s*i*d[1]
				if rr < 0 || rr >= Rows || cc < 0 || cc >= Cols || g.cell(rr, cc) != m {
					break
				}
				n++
			}
		}
		if n >= 4 {
			return true
		}
	}
	return false
}

// String draws the board.
func (g *Game) String() string {
	var b strings.Builder
	for r := range Rows {
		b.WriteString("  ")
		for c := range Cols {
			b.WriteByte(g.cell(r, c))
			b.WriteByte(' ')
		}
		b.WriteByte('\n')
	}
	b.WriteString("  0 1 2 3 4 5 6\n")
	return b.String()
}

var _ aper.StateMachine[*Game, Move] = (*Game)(nil)
