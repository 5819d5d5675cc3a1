package sync

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aper-go/aper"
	"github.com/cockroachdb/datadriven"
)

// TestInteraction runs the scenarios of testdata/*.txt, on the pattern of etcd-io/raft's
// interaction tests: each file drives one room core and its client cores through the same verbs
// and the same output the goroutine layers use (sim, in core_test.go), and prints what every
// step produced. Run with -rewrite to regenerate the expectations.
//
// Commands (a, b: client names; every client of a file shares one room):
//
//	room [state=counter|map] [value=N] [log=N] [codec=cbor|json] [journal]
//	                                                                a fresh room (journal: it
//	                                                                resumes from its records)
//	connect a [nonce=N] [client=ID] [inst=ID] [resync]              hello, join, welcome delivered
//	apply a <op> [times=N]                                          applied on a's view, submit queued
//	submit a [n=N]                                                  the room gets a's queued submits
//	send a local=N <op> [conn=N]                                    a raw submit (conn: an old connection)
//	deliver a                                                       a gets what the room sent it
//	lose a                                                          what the room sent a is lost
//	leave a                                                         a's connection ends
//	event <op>                                                      a server event (a timer's)
//	restart-room [snapshot]                                         the room rebuilt from its records
//	                                                                (snapshot: from a snapshot of the
//	                                                                room as it was, the records before
//	                                                                it purged)
//	state                                                           the room and every client
//
// Ops: counter add=N, set=N or op=N (an unknown one); map set=K:N, update=K:N (adds N to K's counter) or delete=K.
// Each step that makes the room produce output prints it: "records:" and one line per frame,
// "a(2) <- frame" for a frame to a's connection 2; a frame that closes the connection ends in
// "[close]".
func TestInteraction(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios in testdata (%v)", err)
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) {
			runInteraction(t, path)
		})
	}
}

func runInteraction(t *testing.T, path string) {
	var env interaction
	datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
		if d.Cmd == "room" {
			env = newInteraction(t, d)
			return "ok\n"
		}
		if env == nil {
			t.Fatalf("%s: %q before a room command", d.Pos, d.Cmd)
		}
		return env.run(t, d)
	})
}

type interaction interface {
	run(t *testing.T, d *datadriven.TestData) string
}

func newInteraction(t *testing.T, d *datadriven.TestData) interaction {
	kind, codec, logSize, value := "counter", "cbor", 16, int64(0)
	d.MaybeScanArgs(t, "state", &kind)
	d.MaybeScanArgs(t, "codec", &codec)
	d.MaybeScanArgs(t, "log", &logSize)
	d.MaybeScanArgs(t, "value", &value)
	w, ok := wireByName(codec)
	if !ok {
		t.Fatalf("%s: unknown codec %q", d.Pos, codec)
	}
	switch kind {
	case "counter":
		e := &interactionEnv[*aper.Counter, aper.CounterTransition]{parse: parseCounterOp, journal: d.HasArg("journal")}
		e.init(t, aper.NewCounter(value), logSize, w)
		return e
	case "map":
		e := &interactionEnv[*cmap, cmt]{parse: parseMapOp, journal: d.HasArg("journal")}
		e.init(t, aper.NewMap[string, *aper.Counter, aper.CounterTransition](), logSize, w)
		return e
	}
	t.Fatalf("%s: unknown state %q", d.Pos, kind)
	return nil
}

// interactionEnv is a sim whose every step prints its output.
type interactionEnv[S aper.StateMachine[S, T], T any] struct {
	s       *sim[S, T]
	initial S
	logSize int
	clients map[string]*simClient[S, T]
	order   []string
	parse   func(args []datadriven.CmdArg) (T, bool)
	journal bool   // the room resumes from the records when its log does not reach
	purged  uint64 // the records up to this Seq are gone (a restart from a snapshot)
	out     strings.Builder
}

func (e *interactionEnv[S, T]) init(t *testing.T, state S, logSize int, w *wire) {
	e.initial, e.logSize = state.Clone(), logSize
	e.s = newSim[S, T](t, state, logSize, w)
	e.s.onReady = e.printReady
	e.clients = map[string]*simClient[S, T]{}
	e.attachJournal()
}

// attachJournal gives the room, with the journal option, a logReader over the records it made.
func (e *interactionEnv[S, T]) attachJournal() {
	if !e.journal {
		return
	}
	e.s.room.reader = logReaderFunc[T](func(from, to uint64) ([]record[T], error) {
		fmt.Fprintf(&e.out, "journal read %d..%d\n", from, to)
		if from <= e.purged {
			return nil, fmt.Errorf("records up to %d purged", e.purged)
		}
		var out []record[T]
		for _, rc := range e.s.records {
			if rc.Seq >= from && rc.Seq <= to {
				out = append(out, rc)
			}
		}
		return out, nil
	})
}

func (e *interactionEnv[S, T]) run(t *testing.T, d *datadriven.TestData) string {
	e.out.Reset()
	s := e.s
	s.t = t
	var c *simClient[S, T]
	if len(d.CmdArgs) > 0 && d.CmdArgs[0].Vals == nil && d.Cmd != "restart-room" {
		name := d.CmdArgs[0].Key
		c = e.clients[name]
		if c == nil && d.Cmd != "connect" {
			t.Fatalf("%s: no client %q", d.Pos, name)
		}
		if c == nil {
			c = &simClient[S, T]{name: name}
			e.clients[name] = c
			e.order = append(e.order, name)
		}
	}
	op := func() T {
		tr, ok := e.parse(d.CmdArgs)
		if !ok {
			t.Fatalf("%s: no transition in %v", d.Pos, d.CmdArgs)
		}
		return tr
	}
	switch d.Cmd {
	case "connect":
		if d.HasArg("nonce") {
			d.ScanArgs(t, "nonce", &c.core.nonce)
		}
		c.core.resync = c.core.resync || d.HasArg("resync")
		h := s.roundTrip(c.core.hello("r"))
		if d.HasArg("client") {
			d.ScanArgs(t, "client", &h.Client)
		}
		if d.HasArg("inst") {
			d.ScanArgs(t, "inst", &h.Inst)
		}
		s.join(c, &h)
		delete(s.toRoom, c)
		s.flushRoom()
		e.deliver(c)
	case "apply":
		times := 1
		d.MaybeScanArgs(t, "times", &times)
		tr := op()
		for range times {
			if err := s.apply(c, tr); err != nil {
				fmt.Fprintf(&e.out, "%s: %v\n", c.name, err)
			}
		}
		e.printClient(c)
	case "submit":
		n := len(s.toRoom[c])
		d.MaybeScanArgs(t, "n", &n)
		queued := s.toRoom[c]
		s.toRoom[c] = queued[:n]
		s.submitAll(c)
		if len(queued) > n {
			s.toRoom[c] = queued[n:]
		}
	case "send":
		var local uint64
		d.ScanArgs(t, "local", &local)
		id := c.id
		d.MaybeScanArgs(t, "conn", &id)
		s.room.submit(id, batch[T]{subs: []submission[T]{{local: local, t: op()}}}, s.now)
		s.flushRoom()
	case "deliver":
		e.deliver(c)
	case "lose":
		c.peer.frames = nil
	case "leave":
		s.room.leave(c.id, s.now)
		s.flushRoom()
	case "event":
		if err := s.room.serverEvent(op(), s.now); err != nil {
			fmt.Fprintf(&e.out, "event: %v\n", err)
		}
		s.flushRoom()
	case "restart-room":
		// The clients stay, their connections gone with the old room.
		room := s.newRoom(e.initial.Clone(), e.logSize)
		if d.HasArg("snapshot") {
			// As the journal would store it and a loading room read it.
			clients, members := s.room.clientNumbers()
			b, err := aper.CBOR.Marshal(&journalSnapshot{Clients: clients, Members: members})
			if err != nil {
				t.Fatalf("%s: encode the snapshot: %v", d.Pos, err)
			}
			var js journalSnapshot
			if err := aper.CBOR.Unmarshal(b, &js); err != nil {
				t.Fatalf("%s: decode the snapshot: %v", d.Pos, err)
			}
			room.restore(s.room.state.Clone(), s.room.seq, &js)
			e.purged = s.room.seq
		}
		for _, rc := range s.records {
			if rc.Seq <= room.seq {
				continue
			}
			if err := room.replay(rc); err != nil {
				t.Fatalf("%s: replay %d: %v", d.Pos, rc.Seq, err)
			}
		}
		room.replayed(s.now)
		s.room = room
		e.attachJournal()
		clear(s.toRoom)
		for _, c := range e.clients {
			c.peer.frames = nil
		}
		fmt.Fprintf(&e.out, "room: seq=%d state=%s\n", s.room.seq, show(s.w, s.room.state))
	case "state":
		fmt.Fprintf(&e.out, "room: seq=%d state=%s duplicates=%d\n", s.room.seq, show(s.w, s.room.state), s.room.duplicates)
		for _, name := range e.order {
			e.printClient(e.clients[name])
		}
	default:
		t.Fatalf("%s: unknown command %q", d.Pos, d.Cmd)
	}
	if e.out.Len() == 0 {
		return "ok\n"
	}
	return e.out.String()
}

// deliver hands c what the room sent it and prints c afterwards, with the rejections it learnt
// of.
func (e *interactionEnv[S, T]) deliver(c *simClient[S, T]) {
	before := len(c.rej)
	e.s.recvAll(c)
	e.printClient(c)
	for _, r := range c.rej[before:] {
		why := r.Conflict.Error()
		if errors.Is(r.Err, ErrOutcomeUnknown) {
			why = "outcome unknown: " + why
		}
		fmt.Fprintf(&e.out, "  rejected %s: %s\n", show(e.s.w, r.Transition), why)
	}
}

func (e *interactionEnv[S, T]) printClient(c *simClient[S, T]) {
	core := &c.core
	view := "none"
	if core.hasState {
		core.rebase()
		view = show(e.s.w, core.view)
	}
	fmt.Fprintf(&e.out, "%s: id=%s seq=%d view=%s pending=%d queued=%d\n", c.name, core.id, core.seq, view, len(core.pending), len(e.s.toRoom[c]))
}

// printReady prints a ready of the room: its records, then each frame for each connection.
func (e *interactionEnv[S, T]) printReady(rd ready[T]) {
	w := e.s.w
	if len(rd.records) > 0 {
		e.out.WriteString("records:")
		for _, rc := range rd.records {
			from := string(rc.Client)
			if from == "" {
				from = "server"
			}
			fmt.Fprintf(&e.out, " %d:%s/%d:%s", rc.Seq, from, rc.Local, show(w, rc.Transition))
		}
		e.out.WriteString("\n")
	}
	for _, sd := range rd.sends {
		for i, it := range sd.items {
			fmt.Fprintf(&e.out, "%s(%d) <- %s", e.s.peers[sd.to].name, sd.to, e.frameString(it.frame))
			if sd.close != nil && i == len(sd.items)-1 {
				e.out.WriteString(" [close]")
			}
			e.out.WriteString("\n")
		}
	}
	if rd.stopped != nil {
		fmt.Fprintf(&e.out, "stopped: %v\n", rd.stopped)
	}
}

func (e *interactionEnv[S, T]) frameString(b []byte) string {
	w := e.s.w
	var out string
	w.decode(b, func(f *frame) error {
		switch f.Type {
		case frameWelcome:
			out = fmt.Sprintf("welcome client=%s local=%d", f.Client, f.Local)
			if f.Snapshot {
				var st S
				unmarshal(w.payload, f.Data, &st)
				out += fmt.Sprintf(" snapshot seq=%d state=%s", f.Seq, show(w, st))
			} else {
				out += fmt.Sprintf(" resume %d..%d", f.Seq, f.Upto)
			}
			var rej []string
			for _, r := range f.Rejected {
				rej = append(rej, strconv.FormatUint(r.Local, 10))
			}
			if len(rej) > 0 || f.Unsure > 0 {
				out += fmt.Sprintf(" rejected=[%s] unsure=%d", strings.Join(rej, " "), f.Unsure)
			}
		case frameConfirmed:
			var t T
			unmarshal(w.payload, f.Data, &t)
			from := string(f.Client)
			if from == "" {
				from = "server"
			}
			out = fmt.Sprintf("confirmed seq=%d from=%s/%d %s", f.Seq, from, f.Local, show(w, t))
		case frameRejected:
			out = fmt.Sprintf("rejected local=%d: %v", f.Local, f.Conflict)
		case frameError:
			out = fmt.Sprintf("error %s fatal=%v: %s", f.Code, f.Fatal, f.Message)
		default:
			out = f.Type.String()
		}
		return nil
	})
	return out
}

// show prints a state or transition as its JSON encoding.
func show(_ *wire, v any) string {
	b, err := aper.JSON.Marshal(v)
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return string(b)
}

func parseCounterOp(args []datadriven.CmdArg) (aper.CounterTransition, bool) {
	for _, a := range args {
		if len(a.Vals) != 1 {
			continue
		}
		n, err := strconv.ParseInt(a.Vals[0], 10, 64)
		switch {
		case err != nil:
		case a.Key == "add":
			return add(n), true
		case a.Key == "set":
			return set(n), true
		case a.Key == "op": // an operation the counter does not know
			return aper.CounterTransition{Op: aper.CounterOp(n)}, true
		}
	}
	return aper.CounterTransition{}, false
}

func parseMapOp(args []datadriven.CmdArg) (cmt, bool) {
	var m *cmap
	for _, a := range args {
		if len(a.Vals) != 1 || !slices.Contains([]string{"set", "update", "delete"}, a.Key) {
			continue
		}
		if a.Key == "delete" {
			return m.Delete(a.Vals[0]), true
		}
		k, v, ok := strings.Cut(a.Vals[0], ":")
		n, err := strconv.ParseInt(v, 10, 64)
		if !ok || err != nil {
			return cmt{}, false
		}
		if a.Key == "set" {
			return m.Set(k, aper.NewCounter(n)), true
		}
		return m.Update(k, add(n)), true
	}
	return cmt{}, false
}
