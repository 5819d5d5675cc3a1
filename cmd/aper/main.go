// Command aper runs the example rooms of aper for Go: a server, a terminal client, a load
// simulator and an interactive demonstration.
//
// Usage:
//
//	aper [serve] [flags]          serve the example rooms (the default with no arguments)
//	aper client [flags] ROOM      a terminal client of one room: commands on stdin, state on stdout
//	aper sim [flags]              a load test: simulated clients, faults, server kills; checks exactly-once
//	aper demo [flags]             two replicas and the server in one terminal view, every message shown
//	aper journal [flags] list     the rooms kept in a data folder's journal (delete ROOM... drops some)
//	aper top [flags]              a live view of a running server, from its /metrics
//	aper help [COMMAND]           the list of commands, or the flags of one
//
// From the repository root, go run ./cmd/aper starts the server; go run ./cmd/aper demo starts the
// demonstration. aper -h, aper --help and aper help print the list of commands; aper help COMMAND
// and aper COMMAND -h print a command's flags.
//
// # Rooms
//
// A room's name starts with its kind: "counter/..." is a counter (commands "add N", "set N"),
// "text/..." a shared text ("insert POS TEXT", "append TEXT", "delete POS N"), "todo/..." a list
// of strings ("add TEXT", "edit I TEXT", "delete I", "move I J"), "kanban/..." a board of lists
// and "drop-four/..." a two-player game (their commands: "help" in aper client). A bare kind is a
// room too.
//
// # serve
//
//	aper serve [-http localhost:8080] [-quic localhost:8443] [-data ./aper-data]
//
// Serves WebSocket at ws://HOST:PORT/aper and QUIC (ALPN aper/1) on the UDP address, with a
// self-signed certificate made on the first start and kept in the data folder
// (quic-cert.pem, quic-key.pem). Every transition it confirms is first made durable in the
// journal in the data folder (journal/), from which the rooms are rebuilt on the next start. It
// stops on SIGINT or SIGTERM, letting rooms finish what their clients sent (up to -grace), and
// closes the journal.
//
//	aper serve -cluster -name NAME [-cluster-listen HOST:PORT] [-routes HOST:PORT,...] [-nats-listen HOST:PORT]
//	aper serve -nats URL -name NAME
//
// Runs as one server of a cluster: with an embedded NATS node with JetStream (its files in the
// data folder's nats/) that routes to the other nodes, or on an existing NATS cluster. The
// rooms' journals and leases live in JetStream (-replicas copies: 3 with routes or -nats, else
// 1); each room is ordered by the server that holds its lease, and the others relay their
// clients to it. A room whose server died waits -lease-ttl (5s) before another takes it (the
// same on every server; the owner renews each lease every third of it). See the README's "Run
// a cluster".
//
// Beside the pages and the WebSocket endpoint, the HTTP address serves /metrics (Prometheus: the
// server's counters, see sync.WithMetrics, and the Go runtime's), /healthz (200 while the process
// answers), /readyz (200 once the journal is open and every listener is up, 503 before and
// while stopping) and, with -pprof, net/http/pprof at /debug/pprof/.
//
// # top
//
//	aper top [-addr localhost:8080] [-every 1s]
//
// Reads the /metrics of the aper serve at -addr (or the metrics URL it is given) every -every and
// shows its rooms, clients by transport, transitions and rejections per second, the confirm
// latency's p50 and p99 and the journal's append p99 over the last interval, and its totals. q
// quits.
//
// # client
//
//	aper client [-transport ws|quic] [-addr HOST:PORT] [-cert FILE] [-watch] ROOM
//
// Prints "state seq=N: VALUE" on connecting and after every change, reads one command per line
// from stdin, and prints "rejected: ..." for a transition the server refused. The lines "show",
// "sync" (wait until the server has answered every transition; prints "synced seq=N"), "help" and
// "quit" work in every room. At the end of stdin it syncs and exits; with -watch it ignores stdin
// and prints changes until interrupted.
//
// # sim
//
//	aper sim [-transport memory] [-room counter] [-clients 10] [-transitions 5000] [-faults 0] [-seed 1]
//	aper sim -server URL [-cert FILE | -insecure] [flags]
//	aper sim -kill N -transport ws|quic [-data DIR] [flags]
//
// Starts a server and the clients in this process; each client applies its share of the
// transitions while every message it sends or receives is cut, with probability -faults, by
// disconnecting its connection (the client reconnects and resumes). It shows progress on a
// terminal and ends with throughput, confirm latency, reconnects, rejections (by kind) and
// whether every replica converged on the server's state (compared by encoding) and every
// transition was confirmed or rejected exactly once. The exit status is 1 if not.
//
// With -server, the clients drive a running aper serve instead, at ws://HOST:PORT/aper or
// quic://HOST:PORT (with the server's certificate, -cert, or -insecure), in a room of a fresh
// name (-name sets it); exactly-once is checked against the room's state before the run.
//
// With -kill N, the sim runs aper serve as a child process on loopback ports, with its data in
// -data (default a temporary folder) and its log in serve.log there, and during the run sends it
// SIGKILL N times, each time starting it again at once on the same ports and data folder; the
// check at the end is the same. Every flag and its default: aper help sim.
//
// # demo
//
//	aper demo [-room counter|todo|text]
//
// A terminal view of two replicas, alice and bob, and the server between them on an in-process
// network that delivers nothing until told to (or everything, in auto mode). Keys apply
// transitions on either side, deliver, drop or hold messages, and partition and heal either
// replica, so that optimistic updates, rebases and rejections can be watched as they happen.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, usageMessage(err))
		os.Exit(2)
	case errors.Is(err, errSilentFailure):
		os.Exit(1)
	default:
		fmt.Fprintln(os.Stderr, "aper:", err)
		os.Exit(1)
	}
}

var (
	errUsage         = errors.New("usage")
	errSilentFailure = errors.New("aper: failed (reported above)")
)

// usageMessage is what aper prints for a usage error: what was wrong, without the "usage: " that
// marks the error as one, and where the commands and flags are listed.
func usageMessage(err error) string {
	msg := strings.Replace(err.Error(), errUsage.Error()+": ", "", 1)
	return "aper: " + msg + "\n" + `Run "aper help" for the commands, "aper help COMMAND" for the flags of one.`
}

// commands are the subcommands, in the order the help lists them, with the line it shows.
var commands = []struct{ name, args, what string }{
	{"serve", "[flags]", "serve the example rooms over WebSocket and QUIC (the default with no arguments)"},
	{"client", "[flags] ROOM", "a terminal client of one room: commands on stdin, state on stdout"},
	{"sim", "[flags]", "a load test: simulated clients with faults, against an in-process, running (-server) or killed (-kill) server; ends with a table"},
	{"demo", "[flags]", "two replicas and the server in one terminal view, every message shown"},
	{"journal", "[flags] list | delete ROOM...", "the rooms kept in a data folder's journal: lists them, or deletes some"},
	{"top", "[flags]", "a live view of a running server: rooms, clients, transitions/s, latencies (from its /metrics)"},
	{"help", "[COMMAND]", "this list, or the flags of COMMAND"},
}

// usage writes the overview that aper help, -h and --help print.
func usage(w io.Writer) {
	fmt.Fprint(w, `aper runs the example rooms of aper for Go: a server, a terminal client, a load simulator
and an interactive demonstration.

Usage:

	aper COMMAND [flags] [arguments]

Commands:

`)
	for _, c := range commands {
		fmt.Fprintf(w, "\t%-8s %s\n", c.name, c.what)
	}
	fmt.Fprint(w, `
Rooms are named by kind: counter/NAME, text/NAME, todo/NAME, kanban/NAME or drop-four/NAME
(aper client and the web pages serve them all; aper sim and aper demo the first three).
Run "aper help COMMAND" (or "aper COMMAND -h") for the flags of a command.
`)
}

// run runs the subcommand named by args[0] (serve when args is empty or starts with a flag
// other than a request for help).
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && isHelp(args[0]) {
		if args[0] == "help" && len(args) > 1 {
			return help(ctx, args[1:], stdout)
		}
		usage(stdout)
		return nil
	}
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	err := runCommand(ctx, cmd, args, stdin, stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil // the flag set printed the command's usage, as asked
	}
	return err
}

func isHelp(arg string) bool {
	return arg == "help" || arg == "-h" || arg == "-help" || arg == "--help"
}

func runCommand(ctx context.Context, cmd string, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	switch cmd {
	case "serve":
		return serve(ctx, args, stdout, stderr)
	case "client":
		return client(ctx, args, stdin, stdout, stderr)
	case "sim":
		return sim(ctx, args, stdout, stderr)
	case "demo":
		return demo(ctx, args, stdout, stderr)
	case "journal":
		return journalCmd(ctx, args, stdout, stderr)
	case "top":
		return top(ctx, args, stdout, stderr)
	}
	var b strings.Builder
	usage(&b)
	return fmt.Errorf("%w: unknown command %q\n\n%s", errUsage, cmd, strings.TrimSpace(b.String()))
}

// help prints the usage and flags of the command args[0] on stdout: it runs the command with -h.
func help(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) != 1 || isHelp(args[0]) {
		if len(args) == 1 {
			usage(stdout)
			return nil
		}
		return fmt.Errorf("%w: aper help takes one COMMAND", errUsage)
	}
	err := runCommand(ctx, args[0], []string{"-h"}, strings.NewReader(""), stdout, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err == nil {
		return fmt.Errorf("aper help %s: the command ran instead of printing its help (a bug)", args[0])
	}
	return err
}

// newFlags returns a flag set for a subcommand that reports to stderr and returns errors; -h
// prints the command's line from commands and its flags.
func newFlags(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("aper "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: aper %s %s\n", name, usage)
		for _, c := range commands {
			if c.name == name {
				fmt.Fprintf(stderr, "\n%s.\n", strings.ToUpper(c.what[:1])+c.what[1:])
			}
		}
		fmt.Fprintf(stderr, "\nFlags:\n")
		fs.PrintDefaults()
	}
	return fs
}
