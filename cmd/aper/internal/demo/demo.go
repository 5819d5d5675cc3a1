// Package demo is the model of aper demo: two replicas of an example room and the server between
// them on an in-process network (transport/memory in manual mode), every message shown as it
// waits and as it passes, and keys that apply transitions on either side, deliver, drop or hold
// messages, cut connections, and partition and heal either replica.
//
// The model is a bubbletea model (github.com/charmbracelet/bubbletea); it needs no terminal, so
// tests drive Update with key messages and read View.
package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/aper-go/aper/cmd/aper/internal/rooms"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/memory"
)

type roomClient = apersync.Client[*rooms.Room, rooms.RoomTransition]

const serverName = "server"

// Model is the demo's state. Make one with New and release it with Close.
type Model struct {
	kind rooms.Kind
	room string
	net  *memory.Network
	srv  *apersync.Server[*rooms.Room, rooms.RoomTransition]
	done chan struct{} // closed when the server's Serve returns

	sides [2]*side
	auto  bool
	log   []string // what happened, newest last
	note  string   // the answer to the last key

	// Refreshed on every message, read by View.
	serverState string
	serverSeq   uint64
	pending     []memory.Message
}

// side is one replica.
type side struct {
	name        string
	c           *roomClient
	parted      bool
	lastReject  string
	rejections  int
	actionNames [3]string
}

// TickMsg makes the model look at the network again (and, in auto mode, deliver everything).
// The program sends one every 100ms; tests send their own.
type TickMsg struct{}

// New starts the server and two clients, alice and bob, on a manual memory network, in a room of
// kind k.
func New(k rooms.Kind) (*Model, error) {
	m := &Model{kind: k, room: string(k) + "/demo", net: memory.NewNetwork(&memory.Options{Manual: true}), done: make(chan struct{})}
	l, err := m.net.Listen(serverName)
	if err != nil {
		return nil, err
	}
	m.srv, err = apersync.NewServer(rooms.New, apersync.WithRoomIdle(-1))
	if err != nil {
		return nil, err
	}
	go func() { // owned by Close, which waits for it
		defer close(m.done)
		m.srv.Serve(context.Background(), jsonListener{l})
	}()
	for i, name := range []string{"alice", "bob"} {
		s := &side{name: name, actionNames: actionNames(k)}
		m.sides[i] = s
		// Dial waits for its welcome: deliver the handshake while it does.
		type result struct {
			c   *roomClient
			err error
		}
		ch := make(chan result, 1)
		go func() { // ends when Dial returns, which we wait for below
			c, err := apersync.Dial[*rooms.Room, rooms.RoomTransition](context.Background(),
				jsonDialer{m.net.DialerWith(serverName, &memory.DialOptions{From: name})}, m.room,
				apersync.WithBackoff(200*time.Millisecond, time.Second))
			ch <- result{c, err}
		}()
		var r result
	wait:
		for {
			select {
			case r = <-ch:
				break wait
			case <-time.After(time.Millisecond):
				m.net.DeliverAll()
			}
		}
		if r.err != nil {
			m.Close()
			return nil, r.err
		}
		s.c = r.c
	}
	m.logf("alice and bob joined room %s; nothing moves until you deliver it", m.room)
	m.refresh()
	return m, nil
}

// Close stops the clients, the server and the network.
func (m *Model) Close() {
	for _, s := range m.sides {
		if s != nil && s.c != nil {
			s.c.Close()
		}
	}
	m.net.HealAll()
	m.net.DeliverAll()
	m.srv.Close()
	<-m.done
	m.net.Close()
}

// Init starts the ticks.
func (m *Model) Init() tea.Cmd { return tick() }

func tick() tea.Cmd {
	return tea.Tick(100*time.Millisecond, func(time.Time) tea.Msg { return TickMsg{} })
}

// Keys lists the keys and what they do, for the help line and the tests.
var Keys = []struct{ Key, What string }{
	{"1 2 3", "alice's transitions"},
	{"8 9 0", "bob's transitions"},
	{"space", "deliver the oldest message"},
	{"enter", "deliver all"},
	{"x", "drop the oldest message"},
	{"a", "auto delivery on/off"},
	{"p / o", "partition or heal alice / bob"},
	{"c / v", "cut alice's / bob's connection"},
	{"q", "quit"},
}

// Update handles a key or a tick.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case TickMsg:
		if m.auto {
			m.deliverAll()
		}
		m.refresh()
		return m, tick()
	case tea.KeyMsg:
		m.note = ""
		switch msg.String() {
		case "q", "ctrl+c", "esc":
			return m, tea.Quit
		case "1", "2", "3":
			m.act(0, int(msg.String()[0]-'1'))
		case "8", "9", "0":
			m.act(1, map[string]int{"8": 0, "9": 1, "0": 2}[msg.String()])
		case " ", "n":
			m.deliverOldest()
		case "enter":
			m.deliverAll()
		case "x":
			m.dropOldest()
		case "a":
			m.auto = !m.auto
			m.logf("auto delivery %s", onOff(m.auto))
		case "p":
			m.partition(0)
		case "o":
			m.partition(1)
		case "c":
			m.cut(0)
		case "v":
			m.cut(1)
		}
		m.refresh()
	case tea.WindowSizeMsg:
	}
	return m, nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func (m *Model) logf(format string, args ...any) {
	m.log = append(m.log, fmt.Sprintf(format, args...))
	if len(m.log) > 200 {
		m.log = m.log[len(m.log)-200:]
	}
}

// act applies action i of side si.
func (m *Model) act(si, i int) {
	s := m.sides[si]
	t, ok := action(m.kind, s.c.State(), i, s.name)
	if !ok {
		m.note = s.name + ": nothing to do that to"
		return
	}
	if err := s.c.Apply(t); err != nil {
		m.note = fmt.Sprintf("%s: %v", s.name, err)
		return
	}
	m.logf("%s applies %q at once (optimistic); it waits to be sent", s.name, s.actionNames[i])
}

// The network's pending messages, oldest first.
func (m *Model) deliverOldest() {
	p := m.net.Pending()
	if len(p) == 0 {
		m.note = "no message waits"
		return
	}
	m.deliver(p[0])
}

// deliver delivers p and logs it, saying when the receiver will rebase.
func (m *Model) deliver(p memory.Message) {
	note := ""
	for _, s := range m.sides {
		if p.To == s.name && s.c.Pending() > 0 && bytes.Contains(p.Data, []byte(`"t":4`)) && !bytes.Contains(p.Data, []byte(`"client":"`+string(s.c.ID())+`"`)) {
			note = fmt.Sprintf(" -> %s REBASES its %d pending transition(s) on top", s.name, s.c.Pending())
		}
	}
	if m.net.Deliver(p.ID) == nil {
		m.logf("delivered %s%s", describe(p), note)
	}
}

func (m *Model) deliverAll() {
	for _, p := range m.net.Pending() {
		m.deliver(p)
	}
}

func (m *Model) dropOldest() {
	p := m.net.Pending()
	if len(p) == 0 {
		m.note = "no message waits"
		return
	}
	if m.net.Drop(p[0].ID) == nil {
		m.logf("DROPPED %s (the connection does not know: cut it with c/v to make the client resend)", describe(p[0]))
	}
}

func (m *Model) partition(si int) {
	s := m.sides[si]
	s.parted = !s.parted
	if s.parted {
		m.net.Partition(s.name, serverName, memory.Hold)
		m.logf("partitioned %s from the server: new traffic is held until the heal", s.name)
	} else {
		m.net.Heal(s.name, serverName)
		m.logf("healed %s: held traffic flows", s.name)
	}
}

func (m *Model) cut(si int) {
	s := m.sides[si]
	n := m.net.Disconnect(s.name)
	m.logf("cut %s's connection (%d): it reconnects, resumes from its last seq and resends what is pending", s.name, n)
}

// refresh reads the server's and the network's state for View.
func (m *Model) refresh() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if st, seq, err := m.srv.Snapshot(ctx, m.room); err == nil {
		m.serverState, m.serverSeq = rooms.Describe(m.kind, st), seq
	}
	m.pending = m.net.Pending()
	for _, s := range m.sides {
	drain:
		for {
			select {
			case r, ok := <-s.c.Rejections():
				if !ok {
					break drain
				}
				s.rejections++
				s.lastReject = r.Conflict.Error()
				m.logf("%s learns that the server REJECTED its transition: %v; its view drops it", s.name, r.Conflict)
			default:
				break drain
			}
		}
	}
}

var (
	boxStyle   = lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).Padding(0, 1).Width(34)
	titleStyle = lipgloss.NewStyle().Bold(true)
	dimStyle   = lipgloss.NewStyle().Faint(true)
)

// View draws the replicas, the server, the waiting messages, the log and the keys.
func (m *Model) View() string {
	box := func(s *side) string {
		var b strings.Builder
		fmt.Fprintln(&b, titleStyle.Render(s.name))
		st := s.c.Status()
		conn := st.State.String()
		if s.parted {
			conn += ", partitioned"
		}
		fmt.Fprintf(&b, "connection: %s\n", conn)
		fmt.Fprintf(&b, "confirmed seq: %d\n", s.c.Seq())
		fmt.Fprintf(&b, "pending: %d\n", s.c.Pending())
		fmt.Fprintf(&b, "view: %s\n", rooms.Describe(m.kind, s.c.State()))
		fmt.Fprintf(&b, "rejections: %d", s.rejections)
		if s.lastReject != "" {
			fmt.Fprintf(&b, "\nlast: %s", s.lastReject)
		}
		return boxStyle.Render(b.String())
	}
	server := boxStyle.Render(fmt.Sprintf("%s\nroom: %s\nseq: %d\nstate: %s\nauto delivery: %s",
		titleStyle.Render("server"), m.room, m.serverSeq, m.serverState, onOff(m.auto)))
	var b strings.Builder
	b.WriteString(lipgloss.JoinHorizontal(lipgloss.Top, box(m.sides[0]), server, box(m.sides[1])))
	b.WriteString("\n")
	fmt.Fprintf(&b, "%s\n", titleStyle.Render(fmt.Sprintf("waiting on the network (%d)", len(m.pending))))
	for i, p := range m.pending {
		if i == 8 {
			fmt.Fprintf(&b, "  ... %d more\n", len(m.pending)-i)
			break
		}
		fmt.Fprintf(&b, "  %s\n", describe(p))
	}
	fmt.Fprintf(&b, "%s\n", titleStyle.Render("what happened"))
	for _, l := range m.log[max(0, len(m.log)-8):] {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	if m.note != "" {
		fmt.Fprintf(&b, "> %s\n", m.note)
	}
	var keys []string
	for _, k := range Keys {
		keys = append(keys, k.Key+": "+k.What)
	}
	fmt.Fprintf(&b, "alice: 1 %s, 2 %s, 3 %s   bob: 8, 9, 0 the same\n", m.sides[0].actionNames[0], m.sides[0].actionNames[1], m.sides[0].actionNames[2])
	b.WriteString(dimStyle.Render(strings.Join(keys[2:], " · ")))
	b.WriteString("\n")
	return b.String()
}

// describe renders a waiting message: its number, its direction and its frames (the demo's
// connections speak JSON, so the frames are readable).
func describe(p memory.Message) string {
	head := fmt.Sprintf("#%d %s → %s:", p.ID, p.From, p.To)
	if p.Close {
		return head + " (close)"
	}
	return head + " " + frames(p.Data)
}

// frameTypes names the frame types of the sync protocol (its package doc lists them).
var frameTypes = map[float64]string{1: "hello", 2: "welcome", 3: "submit", 4: "confirmed", 5: "rejected", 6: "error", 7: "ping", 8: "pong", 9: "presence"}

func frames(data []byte) string {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out []string
	for {
		var f map[string]json.RawMessage
		if err := dec.Decode(&f); err != nil {
			if !errors.Is(err, io.EOF) {
				out = append(out, string(data))
			}
			break
		}
		var t float64
		json.Unmarshal(f["t"], &t)
		name := frameTypes[t]
		var parts []string
		for _, k := range []string{"seq", "local", "room", "upto", "snapshot", "data", "conflict", "code", "msg"} {
			if v, ok := f[k]; ok {
				parts = append(parts, k+"="+string(v))
			}
		}
		out = append(out, strings.TrimSpace(name+" "+strings.Join(parts, " ")))
	}
	s := strings.Join(out, " | ")
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}

// actionNames names the three actions of a side for a room of kind k.
func actionNames(k rooms.Kind) [3]string {
	switch k {
	case rooms.Counter:
		return [3]string{"add 1", "add 10", "set 0"}
	case rooms.Text:
		return [3]string{"type at the start", "type at the end", "delete the first letter"}
	}
	return [3]string{"add an item", "delete the first item", "move the last item first"}
}

// action builds action i for a room of kind k in state s.
func action(k rooms.Kind, s *rooms.Room, i int, who string) (rooms.RoomTransition, bool) {
	line := ""
	switch k {
	case rooms.Counter:
		line = [3]string{"add 1", "add 10", "set 0"}[i]
	case rooms.Text:
		letter := strings.ToUpper(who[:1])
		if i == 2 {
			letter = strings.ToLower(letter)
		}
		line = [3]string{"insert 0 " + letter, "append " + strings.ToLower(letter), "delete 0 1"}[i]
	case rooms.TodoKind:
		n := 0
		if s.Todo != nil {
			n = s.Todo.Len()
		}
		line = [3]string{fmt.Sprintf("add %s's item %d", who, n+1), "delete 1", fmt.Sprintf("move %d 1", n)}[i]
	}
	t, err := rooms.Parse(k, s, line)
	return t, err == nil
}

// jsonDialer and jsonListener make the demo's connections speak JSON, so that View can show the
// frames as text.
type jsonDialer struct{ d transport.Dialer }

func (d jsonDialer) Dial(ctx context.Context) (transport.Conn, error) {
	c, err := d.d.Dial(ctx)
	if err != nil {
		return nil, err
	}
	return jsonConn{c}, nil
}

type jsonListener struct{ transport.Listener }

func (l jsonListener) Accept(ctx context.Context) (transport.Conn, error) {
	c, err := l.Listener.Accept(ctx)
	if err != nil {
		return nil, err
	}
	return jsonConn{c}, nil
}

type jsonConn struct{ transport.Conn }

// Codec says the connection carries JSON frames.
func (jsonConn) Codec() string { return "json" }
