package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// aperBin is the aper binary that TestMain builds once for the tests that run it.
var aperBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "aper-test-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	aperBin = filepath.Join(dir, "aper")
	args := []string{"build", "-o", aperBin}
	if raceEnabled {
		args = append(args, "-race")
	}
	if out, err := exec.Command("go", append(args, ".")...).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running aper subcommand whose stdout lines the test waits on.
type proc struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	mu    sync.Mutex
	seen  []string
	done  chan struct{} // closed when the process has exited and its output is read
	err   error
}

// start runs aper with args in dir.
func start(t *testing.T, dir string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(aperBin, args...)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, stdin: stdin, lines: make(chan string, 1024), done: make(chan struct{})}
	go func() { // ends at the end of the output; the cleanup waits for it
		defer close(p.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.mu.Lock()
			p.seen = append(p.seen, sc.Text())
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		p.err = cmd.Wait()
		if p.err != nil && stderr.Len() > 0 {
			t.Logf("aper %s: %v\n%s", args[0], p.err, stderr.String())
		}
	}()
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		<-p.done
	})
	return p
}

// waitLine waits (up to 30s) for a stdout line matching re and returns its submatches.
func (p *proc) waitLine(re string) []string {
	p.t.Helper()
	rx := regexp.MustCompile(re)
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l := <-p.lines:
			if m := rx.FindStringSubmatch(l); m != nil {
				return m
			}
		case <-p.done:
			for {
				select {
				case l := <-p.lines:
					if m := rx.FindStringSubmatch(l); m != nil {
						return m
					}
					continue
				default:
				}
				break
			}
			p.t.Fatalf("aper exited (%v) before printing a line matching %q; it printed:\n%s", p.err, re, p.output())
		case <-timeout:
			p.t.Fatalf("no line matching %q in 30s; the output was:\n%s", re, p.output())
		}
	}
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.seen, "\n")
}

func (p *proc) send(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		p.t.Fatalf("write %q: %v", line, err)
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.t.Fatalf("aper did not stop within 30s of SIGTERM:\n%s", p.output())
	}
	if p.err != nil {
		p.t.Fatalf("aper exited with %v after SIGTERM:\n%s", p.err, p.output())
	}
}

type server struct {
	*proc
	ws, quic, cert string
}

func startServer(t *testing.T, dir string) *server {
	t.Helper()
	return startServerAt(t, dir, "127.0.0.1:0", "127.0.0.1:0")
}

// startServerAt starts aper serve on the given WebSocket (TCP) and QUIC (UDP) addresses.
func startServerAt(t *testing.T, dir, ws, quic string) *server {
	t.Helper()
	p := start(t, dir, "serve", "-http", ws, "-quic", quic, "-data", "data")
	s := &server{proc: p}
	s.ws = p.waitLine(`^aper: websocket ws://(\S+)/aper$`)[1]
	m := p.waitLine(`^aper: quic (\S+) \(certificate (\S+),`)
	s.quic, s.cert = m[1], m[2]
	p.waitLine(`^aper: ready`)
	return s
}

func (s *server) client(t *testing.T, dir, tr, room string) *proc {
	t.Helper()
	args := []string{"client", "-transport", tr}
	if tr == "quic" {
		args = append(args, "-addr", s.quic, "-cert", s.cert)
	} else {
		args = append(args, "-addr", s.ws)
	}
	c := start(t, dir, append(args, room)...)
	c.waitLine(`^connected to ` + regexp.QuoteMeta(room))
	return c
}

// Two clients of one room, over WebSocket and over QUIC, see each other's transitions and end
// with the same state; the server stops cleanly on SIGTERM.
func TestServeTwoClients(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := startServer(t, dir)
	for _, tr := range []string{"ws", "quic"} {
		t.Run(tr, func(t *testing.T) {
			a := srv.client(t, dir, tr, "counter/"+tr)
			b := srv.client(t, dir, tr, "counter/"+tr)
			a.send("add 5")
			b.waitLine(`^state seq=1: 5$`)
			b.send("add 3")
			a.waitLine(`^state seq=2: 8$`)
			b.waitLine(`^state seq=2: 8$`)

			x := srv.client(t, dir, tr, "text/"+tr)
			y := srv.client(t, dir, tr, "text/"+tr)
			x.send("append world")
			y.waitLine(`^state seq=1: "world"$`)
			y.send("insert 0 hello, ")
			x.send("append !")
			for _, c := range []*proc{x, y} {
				c.send("show") // prints the state now, and it prints again when it changes
				c.waitLine(`^state seq=3: "hello, world!"$`)
			}
		})
	}
	srv.stop()
	if !strings.Contains(srv.output(), "aper: stopped") {
		t.Fatalf("no clean stop:\n%s", srv.output())
	}
}

// A bad command is reported and changes nothing; a rejected transition is reported.
func TestClientErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := startServer(t, dir)
	a := srv.client(t, dir, "ws", "todo/x")
	b := srv.client(t, dir, "ws", "todo/x")
	a.send("frobnicate")
	a.waitLine(`^usage: "frobnicate" is not a command of a todo room`)
	a.send("add milk")
	b.waitLine(`^state seq=1: 1\."milk"$`)
	a.send("delete 1")
	b.send("delete 1") // before b hears of a's delete, or after: then it is refused locally
	b.waitLine(`^(rejected: not found conflict|usage: item numbers|state seq=2: \(empty\)$)`)
	for _, c := range []*proc{a, b} {
		c.send("show")
		c.waitLine(`^state seq=2: \(empty\)$`)
	}
	n := srv.client(t, dir, "ws", "counter/x")
	n.send("add x")
	n.waitLine(`^usage: add N: "x" is not a whole number$`)
	srv.stop()
}

// aper sim over each transport, and in each kind of room, ends with every replica converged
// and every transition confirmed or rejected exactly once.
func TestSim(t *testing.T) {
	t.Parallel()
	runs := [][2]string{{"memory", "counter"}, {"ws", "counter"}, {"quic", "counter"}, {"memory", "text"}, {"memory", "todo"}, {"ws", "todo"}}
	for _, r := range runs {
		var out strings.Builder
		err := run(context.Background(), []string{"sim", "-transport", r[0], "-room", r[1], "-clients", "5", "-transitions", "300", "-faults", "0.02", "-seed", "7"}, nil, &out, io.Discard)
		if err != nil || !strings.Contains(out.String(), "converged        yes") || !strings.Contains(out.String(), "exactly once     yes: ") {
			t.Fatalf("sim over %s in a %s room: %v\n%s", r[0], r[1], err, out.String())
		}
	}
}

// aper sim -kill runs aper serve as a child process, SIGKILLs and restarts it during the run,
// and still finds every transition confirmed or rejected exactly once and every replica
// converged: each kind of room, over WebSocket (both codecs) and QUIC.
func TestSimKill(t *testing.T) {
	t.Parallel()
	for _, r := range [][]string{
		{"-transport", "ws", "-room", "counter"},
		{"-transport", "quic", "-room", "text"},
		{"-transport", "ws", "-codec", "json", "-room", "todo"},
	} {
		cmd := exec.Command(aperBin, append([]string{"sim", "-kill", "2", "-clients", "4", "-transitions", "400", "-seed", "5", "-timeout", "2m"}, r...)...)
		cmd.Dir = t.TempDir()
		out, err := cmd.CombinedOutput()
		for _, want := range []string{"server kills     2 of 2", "converged        yes", "exactly once     yes: "} {
			if !strings.Contains(string(out), want) {
				t.Errorf("aper sim -kill %v: %v; no %q in\n%s", r, err, want, out)
			}
		}
	}
}

// aper sim -server drives a server that runs on its own, over each transport, and checks
// exactly-once against the room's state before the run: a second run in the same room starts
// from what the first left.
func TestSimServer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := startServer(t, dir)
	for _, args := range [][]string{
		{"-server", "ws://" + srv.ws + "/aper", "-room", "counter"},
		{"-server", "quic://" + srv.quic, "-cert", filepath.Join(dir, srv.cert), "-room", "counter"},
		{"-server", "ws://" + srv.ws, "-codec", "json", "-room", "todo"},
		{"-server", "quic://" + srv.quic, "-insecure", "-room", "todo"},
	} {
		var out strings.Builder
		args = append([]string{"sim", "-name", "shared", "-clients", "3", "-transitions", "150", "-faults", "0.02"}, args...)
		err := run(context.Background(), args, nil, &out, io.Discard)
		if err != nil || !strings.Contains(out.String(), "converged        yes") || !strings.Contains(out.String(), "exactly once     yes: ") {
			t.Fatalf("aper %v: %v\n%s", args, err, out.String())
		}
	}
	c := srv.client(t, dir, "ws", "counter/shared")
	c.send("sync")
	c.waitLine(`^synced seq=300$`)
	srv.stop()
}

// What the server confirmed before a SIGTERM is there after the next start, from the journal.
func TestServeRestoresFromJournal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := startServer(t, dir)
	a := srv.client(t, dir, "ws", "counter/kept")
	a.send("add 5")
	a.send("add 2")
	a.send("sync")
	a.waitLine(`^synced seq=2$`)
	b := srv.client(t, dir, "quic", "todo/kept")
	b.send("add milk")
	b.send("sync")
	b.waitLine(`^synced seq=1$`)
	srv.stop()

	srv = startServer(t, dir)
	if !strings.Contains(srv.output(), "2 rooms kept") {
		t.Fatalf("the journal does not list the rooms:\n%s", srv.output())
	}
	a = srv.client(t, dir, "quic", "counter/kept")
	a.waitLine(`^state seq=2: 7$`)
	b = srv.client(t, dir, "ws", "todo/kept")
	b.waitLine(`^state seq=1: 1\."milk"$`)
	a.send("add 1")
	a.waitLine(`^state seq=3: 8$`)
	srv.stop()
}

// aper serve binds every listener before it prints anything: a UDP or TCP port in use fails the
// start with an error that names it, and no "serving" line before it.
func TestServePortInUse(t *testing.T) {
	t.Parallel()
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	for _, c := range []struct{ http, quic, busy string }{
		{"127.0.0.1:0", udp.LocalAddr().String(), udp.LocalAddr().String()},
		{tcp.Addr().String(), "127.0.0.1:0", tcp.Addr().String()},
	} {
		cmd := exec.Command(aperBin, "serve", "-http", c.http, "-quic", c.quic, "-data", "data")
		cmd.Dir = t.TempDir()
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err == nil {
			t.Fatalf("aper serve on a busy %s started:\n%s", c.busy, out)
		}
		if len(out) > 0 || !strings.Contains(stderr.String(), c.busy) {
			t.Errorf("aper serve on a busy %s: stdout\n%s\nstderr\n%s", c.busy, out, stderr.String())
		}
	}
}

// aper -h, --help and help describe the tool and list every command with its line, on stdout,
// and exit 0; none of them starts a server.
func TestHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-h"}, {"--help"}, {"-help"}, {"help"}, {"help", "help"}} {
		var out, errOut strings.Builder
		err := run(context.Background(), args, nil, &out, &errOut)
		if err != nil {
			t.Fatalf("aper %v: %v", args, err)
		}
		for _, c := range commands {
			if !strings.Contains(out.String(), "\t"+fmt.Sprintf("%-8s", c.name)+" "+c.what+"\n") {
				t.Errorf("aper %v does not list %s:\n%s", args, c.name, out.String())
			}
		}
		if !strings.HasPrefix(out.String(), "aper runs the example rooms") || errOut.Len() > 0 {
			t.Errorf("aper %v: stdout\n%s\nstderr\n%s", args, out.String(), errOut.String())
		}
	}
	cmd := exec.Command(aperBin, "--help")
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Commands:") {
		t.Fatalf("aper --help: %v\n%s", err, out)
	}
}

// aper help COMMAND prints that command's usage and flags on stdout; so does aper COMMAND -h
// (on stderr), without running it.
func TestHelpCommand(t *testing.T) {
	t.Parallel()
	flags := map[string][]string{
		"serve":  {"-http", "-quic", "-data", "-grace"},
		"client": {"-transport", "-addr", "-cert", "-watch", "ROOM"},
		"sim":    {"-transport", "-server", "-kill", "-clients", "-transitions", "-faults", "-seed", "-room"},
		"demo":   {"-room"},
	}
	for name, want := range flags {
		var out, errOut strings.Builder
		if err := run(context.Background(), []string{"help", name}, nil, &out, &errOut); err != nil {
			t.Fatalf("aper help %s: %v", name, err)
		}
		var help strings.Builder
		if err := run(context.Background(), []string{name, "-h"}, nil, io.Discard, &help); err != nil {
			t.Fatalf("aper %s -h: %v", name, err)
		}
		for _, w := range append(want, "usage: aper "+name) {
			if !strings.Contains(out.String(), w) {
				t.Errorf("aper help %s lacks %q:\n%s", name, w, out.String())
			}
		}
		if help.String() != out.String() || errOut.Len() > 0 {
			t.Errorf("aper %s -h printed\n%s\nbut aper help %s printed\n%s", name, help.String(), name, out.String())
		}
	}
	err := run(context.Background(), []string{"help", "nope"}, nil, io.Discard, io.Discard)
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), `unknown command "nope"`) {
		t.Fatalf("aper help nope: %v", err)
	}
}

// Bad arguments are usage errors, said once, without a stack or a wait: a room kind that aper
// sim cannot simulate (drop-four used to spin for ever), a room's name where a kind goes, a
// negative duration.
func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"sim", "-room", "drop-four"},
		{"sim", "-room", "kanban"},
		{"sim", "-room", "nope"},
		{"sim", "-room", "counter/x"},
		{"sim", "-clients", "0"},
		{"demo", "-room", "kanban"},
		{"serve", "-grace", "-1s"},
		{"serve", "-cluster"},
		{"serve", "-cluster", "-name", "a", "-nats", "nats://localhost:4222"},
		{"serve", "-replicas", "-1"},
		{"serve", "-lease-ttl", "0s"},
		{"client"},
	} {
		err := run(t.Context(), args, strings.NewReader(""), io.Discard, io.Discard)
		if !errors.Is(err, errUsage) {
			t.Errorf("aper %s: %v, want a usage error", strings.Join(args, " "), err)
			continue
		}
		msg := usageMessage(err)
		if strings.Count(msg, "usage") > 0 || !strings.HasPrefix(msg, "aper: ") || !strings.Contains(msg, "aper help") {
			t.Errorf("aper %s prints\n%s\nwant one line of what was wrong and where the help is", strings.Join(args, " "), msg)
		}
	}
}

// The package doc's usage lines give flag values only where they are the flags' defaults, so
// the doc and the flags cannot disagree: every [-flag value] whose value is not a placeholder
// (upper case, as HOST:PORT,...) or a choice (a|b) is checked against aper help COMMAND.
func TestDocGivesTheDefaults(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	usageLine := regexp.MustCompile(`(?m)^//\taper (serve|client|sim|demo) (.*)$`)
	flagValue := regexp.MustCompile(`\[-(\w+) ([^\]\s|]+)\]`)
	placeholder := regexp.MustCompile(`^[A-Z:,.]+$`) // HOST:PORT, HOST:PORT,...
	checked := 0
	for _, m := range usageLine.FindAllStringSubmatch(string(src), -1) {
		defaults := flagDefaults(t, m[1])
		for _, f := range flagValue.FindAllStringSubmatch(m[2], -1) {
			name, value := f[1], f[2]
			if placeholder.MatchString(value) {
				continue
			}
			def, ok := defaults[name]
			if !ok {
				t.Errorf("the doc of aper %s names -%s, which it does not have", m[1], name)
				continue
			}
			if def == "" && (value == "0" || value == "false") {
				def = value // the flag package prints no zero default
			}
			if def != value {
				t.Errorf("the doc of aper %s gives -%s %s, but its default is %q", m[1], name, value, def)
			}
			checked++
		}
	}
	if checked < 8 {
		t.Fatalf("checked only %d flag values in the doc", checked)
	}
}

// flagDefaults returns the flags of aper cmd, each with its default as aper help prints it ("" when
// it prints none: a zero value).
func flagDefaults(t *testing.T, cmd string) map[string]string {
	t.Helper()
	var out strings.Builder
	if err := run(context.Background(), []string{"help", cmd}, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	flagLine := regexp.MustCompile(`^  -(\w+)`)
	defLine := regexp.MustCompile(`\(default "?(.*?)"?\)$`)
	defaults := map[string]string{}
	name := ""
	for _, l := range strings.Split(out.String(), "\n") {
		if m := flagLine.FindStringSubmatch(l); m != nil {
			name = m[1]
			defaults[name] = ""
		} else if m := defLine.FindStringSubmatch(l); m != nil && name != "" {
			defaults[name] = m[1]
		}
	}
	return defaults
}

// A server killed with SIGKILL and restarted on its ports at once is found again by its clients
// over both transports: each confirms its next transition within seconds of the restart, not
// after QUIC's idle timeout (30 s): the restarted listener resets the old QUIC connections (its
// stateless reset key comes from the certificate it keeps), and the WebSocket ones see the
// closed TCP connection.
func TestServeKilledAndRestarted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := startServer(t, dir)
	clients := map[string]*proc{
		"ws":   srv.client(t, dir, "ws", "counter/crash"),
		"quic": srv.client(t, dir, "quic", "counter/crash"),
	}
	for _, c := range clients {
		c.send("add 1")
		c.send("sync")
		c.waitLine(`^synced seq=\d+$`)
	}
	if err := srv.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-srv.done
	srv = startServerAt(t, dir, srv.ws, srv.quic)
	restarted := time.Now()
	for _, tr := range []string{"ws", "quic"} {
		c := clients[tr]
		c.send("add 1")
		c.send("sync") // the client's sync waits at most 10 s: a slower reconnection fails it
		c.waitLine(`^synced seq=\d+$`)
		t.Logf("%s: confirmed %v after the restart", tr, time.Since(restarted).Round(time.Millisecond))
	}
	// Both clients' four transitions are in the room, once each.
	c := srv.client(t, dir, "ws", "counter/crash")
	c.waitLine(`^state seq=4: 4$`)
	srv.stop()
}
