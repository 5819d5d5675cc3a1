// Package demo is the model of aper demo: two replicas of an example room and the server between
// them on an in-process network (transport/memory in manual mode), every message shown as it
// waits and as it passes, and keys that apply transitions on either side, deliver, drop or hold
// messages, cut connections, and partition and heal either replica.
//
// The model is a bubbletea model (github.com/charmbracelet/bubbletea); it needs no terminal, so
// tests drive Update with key messages and read View. View fits the size of the last
// tea.WindowSizeMsg: the three panels side by side from WideWidth columns, stacked and compact
// below, the key help wrapped, and the lists of messages and events cut to the lines left.
package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
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

	width, height int // of the terminal, from the last tea.WindowSizeMsg; 0 until one comes

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
		m.width, m.height = msg.Width, msg.Height
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

// WideWidth is the narrowest terminal that shows the three panels side by side; a narrower one
// stacks them, each in a compact form.
const WideWidth = 110

var (
	titleStyle = lipgloss.NewStyle().Bold(true)
	dimStyle   = lipgloss.NewStyle().Faint(true)
)

// View draws the replicas, the server, the waiting messages, the log and the keys, fitted to
// the terminal's size: no line is wider than it, and the lists of messages and of what
// happened get the lines the rest leaves (8 entries each while the size is unknown).
func (m *Model) View() string {
	w, h := m.width, m.height
	if w <= 0 {
		w = WideWidth
	}
	w = max(w, 20)
	var panels string
	if w >= WideWidth {
		pw := w / 3
		box := lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).Padding(0, 1).Width(pw - 2)
		inner := pw - 4
		panels = lipgloss.JoinHorizontal(lipgloss.Top,
			box.Render(m.sideLines(m.sides[0], inner)),
			box.Render(m.serverLines(inner)),
			box.Render(m.sideLines(m.sides[1], inner)))
	} else {
		panels = strings.Join([]string{m.sideCompact(m.sides[0], w), m.serverCompact(w), m.sideCompact(m.sides[1], w)}, "\n")
	}
	var foot []string
	if m.note != "" {
		foot = append(foot, wrap("> "+m.note, w, ""))
	}
	foot = append(foot, m.keyHelp(w))
	footer := strings.Join(foot, "\n")

	// The two lists share what is left, the messages at most a third of it; while the height
	// is unknown, each shows 8 entries.
	pendBudget, logBudget := 8, math.MaxInt
	if h > 0 {
		left := h - lineCount(panels) - lineCount(footer) - 2 // the two headings
		pendBudget = min(max(left/3, 1), len(m.pending))
		logBudget = max(left-pendBudget, 0)
		if left <= 0 {
			pendBudget = 0
		}
	}
	var b strings.Builder
	b.WriteString(panels)
	b.WriteString("\n")
	b.WriteString(truncate(titleStyle.Render(fmt.Sprintf("waiting on the network (%d)", len(m.pending))), w))
	for i, p := range m.pending {
		if i >= pendBudget {
			break
		}
		if i == pendBudget-1 && len(m.pending) > pendBudget {
			fmt.Fprintf(&b, "\n  ... %d more", len(m.pending)-i)
			break
		}
		b.WriteString("\n" + truncate("  "+describe(p), w))
	}
	b.WriteString("\n" + truncate(titleStyle.Render("what happened"), w))
	// The newest entries that fit, each wrapped with a hanging indent, oldest first.
	var entries []string
	used := 0
	for i := len(m.log) - 1; i >= 0 && len(entries) < 8; i-- {
		e := wrap("  "+m.log[i], w, "    ")
		n := lineCount(e)
		if used+n > logBudget {
			if len(entries) == 0 && logBudget > 0 { // the newest, cut to what fits
				entries = append(entries, strings.Join(strings.Split(e, "\n")[:logBudget], "\n"))
			}
			break
		}
		used += n
		entries = append(entries, e)
	}
	for i := len(entries) - 1; i >= 0; i-- {
		b.WriteString("\n" + entries[i])
	}
	b.WriteString("\n" + footer)
	return b.String()
}

// sideLines is the content of a replica's panel, wrapped to width.
func (m *Model) sideLines(s *side, width int) string {
	var b strings.Builder
	fmt.Fprintln(&b, titleStyle.Render(s.name))
	fmt.Fprintf(&b, "connection: %s\n", m.conn(s))
	fmt.Fprintf(&b, "confirmed seq: %d\n", s.c.Seq())
	fmt.Fprintf(&b, "pending: %d\n", s.c.Pending())
	fmt.Fprintln(&b, clip("view: "+rooms.Describe(m.kind, s.c.State()), width, 4))
	fmt.Fprintf(&b, "rejections: %d", s.rejections)
	if s.lastReject != "" {
		fmt.Fprintf(&b, "\n%s", clip("last: "+s.lastReject, width, 3))
	}
	return b.String()
}

func (m *Model) serverLines(width int) string {
	return fmt.Sprintf("%s\nroom: %s\nseq: %d\n%s\nauto delivery: %s",
		titleStyle.Render("server"), m.room, m.serverSeq, clip("state: "+m.serverState, width, 4), onOff(m.auto))
}

// sideCompact is a replica's panel for a narrow terminal: a heading line and the view.
func (m *Model) sideCompact(s *side, width int) string {
	head := fmt.Sprintf("%s · connection: %s · confirmed seq: %d · pending: %d · rejections: %d",
		titleStyle.Render(s.name), m.conn(s), s.c.Seq(), s.c.Pending(), s.rejections)
	lines := []string{wrap(head, width, "  "), clip("  view: "+rooms.Describe(m.kind, s.c.State()), width, 2)}
	if s.lastReject != "" {
		lines = append(lines, clip("  last: "+s.lastReject, width, 1))
	}
	return strings.Join(lines, "\n")
}

func (m *Model) serverCompact(width int) string {
	head := fmt.Sprintf("%s · room: %s · seq: %d · auto delivery: %s", titleStyle.Render("server"), m.room, m.serverSeq, onOff(m.auto))
	return wrap(head, width, "  ") + "\n" + clip("  state: "+m.serverState, width, 2)
}

func (m *Model) conn(s *side) string {
	conn := s.c.Status().State.String()
	if s.parted {
		conn += ", partitioned"
	}
	return conn
}

// keyHelp is the actions line and the other keys, packed into lines of at most width.
func (m *Model) keyHelp(width int) string {
	a := m.sides[0].actionNames
	actions := wrap(fmt.Sprintf("alice: 1 %s, 2 %s, 3 %s   bob: 8, 9, 0 the same", a[0], a[1], a[2]), width, "  ")
	var lines []string
	line := ""
	for _, k := range Keys[2:] {
		item := k.Key + ": " + k.What
		switch {
		case line == "":
			line = item
		case lipgloss.Width(line+" · "+item) <= width:
			line += " · " + item
		default:
			lines = append(lines, line)
			line = item
		}
	}
	lines = append(lines, line)
	for i, l := range lines {
		lines[i] = dimStyle.Render(truncate(l, width))
	}
	return actions + "\n" + strings.Join(lines, "\n")
}

// wrap wraps s at spaces (or anywhere in a longer word) to lines of at most width, starting
// each line after the first with indent.
func wrap(s string, width int, indent string) string {
	if lipgloss.Width(s) <= width {
		return s
	}
	lines := strings.Split(lipgloss.NewStyle().Width(max(width-lipgloss.Width(indent), 1)).Render(s), "\n")
	for i, l := range lines {
		l = strings.TrimRight(l, " ")
		if i > 0 {
			l = indent + strings.TrimLeft(l, " ")
		}
		lines[i] = l
	}
	return strings.Join(lines, "\n")
}

// clip wraps s to width, indenting the lines after the first two more than s's first line,
// and keeps at most n lines, ending a cut one with "…".
func clip(s string, width, n int) string {
	indent := strings.Repeat(" ", len(s)-len(strings.TrimLeft(s, " "))+2)
	lines := strings.Split(wrap(s, width, indent), "\n")
	if len(lines) <= n {
		return strings.Join(lines, "\n")
	}
	lines = lines[:n]
	last := lines[n-1]
	if lipgloss.Width(last)+2 > width {
		last = lipgloss.NewStyle().MaxWidth(width - 2).Render(last)
	}
	lines[n-1] = last + " …"
	return strings.Join(lines, "\n")
}

// truncate cuts s to width, ending a cut line with "…".
func truncate(s string, width int) string {
	if lipgloss.Width(s) <= width {
		return s
	}
	return lipgloss.NewStyle().MaxWidth(width-1).Render(s) + "…"
}

func lineCount(s string) int { return strings.Count(s, "\n") + 1 }

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
