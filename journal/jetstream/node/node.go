// Package node runs a NATS server with JetStream embedded in this process, for a cluster of
// aper servers that needs nothing else installed: each process is one node, joined to its
// peers by routes, and its journal (package jetstream, one level up) connects in-process.
//
// It is a package of its own because the server is large: a program that uses the journal on
// a NATS cluster it runs itself does not link it.
package node

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/aper-go/aper/journal"
)

// Config configures an embedded NATS server with JetStream; see [Start].
type Config struct {
	// Name is the node's server name, unique in its cluster (required when it has one).
	Name string
	// DataDir is the folder of JetStream's files (required).
	DataDir string
	// Listen is the "host:port" address for NATS clients, port 0 for a free one. "" opens no
	// client port on a node that runs alone (the process's own connections go in-process, see
	// Node.Connect), and a free port on 127.0.0.1 on a clustered node, which needs one.
	Listen string
	// ClusterName names the cluster; default "aper". Nodes join only a cluster of their name.
	ClusterName string
	// ClusterListen is the "host:port" address for routes from the other nodes; "" runs the
	// node alone.
	ClusterListen string
	// ClusterAdvertise is the address the other nodes are told to route to; default the one
	// they see.
	ClusterAdvertise string
	// Routes are the other nodes' cluster addresses, "host:port" or "nats-route://host:port".
	Routes []string
	// SyncAlways makes JetStream fsync every write before acknowledging it. By default
	// (false) it fsyncs every SyncInterval: an acknowledged append is then in memory on a
	// majority of the replicas and on disk within the interval, so it survives a process
	// dying but not a majority of machines losing power at once. SyncAlways survives that
	// too, at the latency of an fsync on every append.
	SyncAlways bool
	// SyncInterval is how often JetStream fsyncs when SyncAlways is off; default the
	// server's, 2 minutes.
	SyncInterval time.Duration
	// Logs makes the server log to the process's standard error.
	Logs bool
}

// Node is an embedded NATS server with JetStream, running in this process.
type Node struct {
	s    *server.Server
	once sync.Once
}

// Start starts a node and waits, within ctx, until it accepts connections. A clustered
// node's JetStream may need a few more seconds to elect its leaders: see [Node.WaitJetStream].
func Start(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.DataDir == "" {
		return nil, fmt.Errorf("%w: a node needs a data folder", journal.ErrInvalid)
	}
	opts := &server.Options{
		ServerName:   cfg.Name,
		JetStream:    true,
		StoreDir:     cfg.DataDir,
		SyncAlways:   cfg.SyncAlways,
		SyncInterval: cfg.SyncInterval,
		NoSigs:       true,
		NoLog:        !cfg.Logs,
		DontListen:   cfg.Listen == "" && cfg.ClusterListen == "",
	}
	if cfg.Listen == "" && cfg.ClusterListen != "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.Listen != "" {
		host, port, err := splitHostPort(cfg.Listen)
		if err != nil {
			return nil, err
		}
		opts.Host, opts.Port = host, port
	}
	if cfg.ClusterListen != "" {
		if cfg.Name == "" {
			return nil, fmt.Errorf("%w: a clustered node needs a name", journal.ErrInvalid)
		}
		host, port, err := splitHostPort(cfg.ClusterListen)
		if err != nil {
			return nil, err
		}
		opts.Cluster = server.ClusterOpts{Name: cfg.ClusterName, Host: host, Port: port, Advertise: cfg.ClusterAdvertise}
		if opts.Cluster.Name == "" {
			opts.Cluster.Name = "aper"
		}
		var routes []string
		for _, r := range cfg.Routes {
			if !strings.Contains(r, "://") {
				r = "nats-route://" + r
			}
			routes = append(routes, r)
		}
		opts.Routes = server.RoutesFromStr(strings.Join(routes, ","))
	} else if len(cfg.Routes) > 0 {
		return nil, fmt.Errorf("%w: routes without a cluster address", journal.ErrInvalid)
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("aper/journal/jetstream/node: start node: %w", err)
	}
	if cfg.Logs {
		s.ConfigureLogger()
	}
	s.Start()
	n := &Node{s: s}
	wait := 10 * time.Second
	if d, ok := ctx.Deadline(); ok {
		wait = time.Until(d)
	}
	if !s.ReadyForConnections(wait) {
		n.Close()
		return nil, fmt.Errorf("aper/journal/jetstream/node: start node: not ready for connections within %v", wait)
	}
	return n, nil
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%w: address %q: %v", journal.ErrInvalid, addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("%w: address %q: bad port", journal.ErrInvalid, addr)
	}
	if port == 0 {
		port = -1 // the server's "any free port"
	}
	return host, port, nil
}

// Connect returns a connection to the node that does not go through the network.
func (n *Node) Connect(opts ...nats.Option) (*nats.Conn, error) {
	nc, err := nats.Connect("", append([]nats.Option{nats.InProcessServer(n.s)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("aper/journal/jetstream/node: connect to node: %w", err)
	}
	return nc, nil
}

// ClientURL is the URL NATS clients connect to, "" without a client port.
func (n *Node) ClientURL() string {
	if n.s.ClientURL() == "" || n.s.Addr() == nil {
		return ""
	}
	return n.s.ClientURL()
}

// ClusterAddr is the address the node listens on for routes, nil when it runs alone.
func (n *Node) ClusterAddr() net.Addr { return n.s.ClusterAddr() }

// Server is the node's NATS server, for what this API does not cover.
func (n *Node) Server() *server.Server { return n.s }

// WaitJetStream waits until JetStream answers on the node (a clustered node: until its
// cluster has a meta leader), polling it, or until ctx ends.
func (n *Node) WaitJetStream(ctx context.Context) error {
	nc, err := n.Connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("aper/journal/jetstream/node: %w", err)
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := js.AccountInfo(rctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("aper/journal/jetstream/node: JetStream not ready: %w (last: %v)", context.Cause(ctx), err)
		case <-tick.C:
		}
	}
}

// Close shuts the node down and waits until it has stopped. It is idempotent.
func (n *Node) Close() error {
	n.once.Do(func() {
		n.s.Shutdown()
		n.s.WaitForShutdown()
	})
	return nil
}
