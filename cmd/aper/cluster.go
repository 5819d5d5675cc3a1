package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	stdsync "sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/aper-go/aper/cluster"
	"github.com/aper-go/aper/journal"
	ajs "github.com/aper-go/aper/journal/jetstream"
	"github.com/aper-go/aper/journal/jetstream/node"
	apersync "github.com/aper-go/aper/sync"
)

// clusterFlags are aper serve's flags for running as one server of a cluster.
type clusterFlags struct {
	embedded      bool
	natsURL       string
	name          string
	listen        string
	clusterListen string
	routes        string
	replicas      int
	syncAlways    bool
	leaseTTL      time.Duration
	wait          time.Duration
}

func addClusterFlags(fs *flag.FlagSet) *clusterFlags {
	cf := &clusterFlags{}
	fs.BoolVar(&cf.embedded, "cluster", false, "run an embedded NATS node with JetStream and share the rooms with the servers it routes to")
	fs.StringVar(&cf.natsURL, "nats", "", "share the rooms over an existing NATS cluster with JetStream at this URL (instead of -cluster)")
	fs.StringVar(&cf.name, "name", "", "this server's name in the cluster, unique (letters, digits, '-', '_'); required with -cluster or -nats")
	fs.StringVar(&cf.listen, "nats-listen", "", "with -cluster: address for NATS clients (default a free port on 127.0.0.1)")
	fs.StringVar(&cf.clusterListen, "cluster-listen", "localhost:6222", "with -cluster: address for the routes of the other nodes")
	fs.StringVar(&cf.routes, "routes", "", "with -cluster: the other nodes' -cluster-listen addresses, comma-separated (this node's own is ignored)")
	fs.IntVar(&cf.replicas, "replicas", 0, "copies of each room's journal and lease (default 3 with routes or -nats, else 1)")
	fs.BoolVar(&cf.syncAlways, "sync-always", false, "with -cluster: fsync every append before acknowledging it (default: every 2 minutes; an acknowledged append is in memory on a majority)")
	fs.DurationVar(&cf.leaseTTL, "lease-ttl", 5*time.Second, "how long a room whose server died waits before another takes it; each room's server renews its lease every third of it (the same on every server)")
	fs.DurationVar(&cf.wait, "cluster-wait", 2*time.Minute, "how long to wait at start for the cluster to form")
	return cf
}

func (cf *clusterFlags) enabled() bool { return cf.embedded || cf.natsURL != "" }

// check reports flags that cannot work, before anything starts.
func (cf *clusterFlags) check() error {
	switch {
	case cf.replicas < 0 || cf.replicas > 5:
		return fmt.Errorf("%w: -replicas %d: JetStream keeps 1 to 5 copies (0: the default)", errUsage, cf.replicas)
	case cf.leaseTTL <= 0:
		return fmt.Errorf("%w: -lease-ttl %v: want a positive duration", errUsage, cf.leaseTTL)
	case cf.wait <= 0:
		return fmt.Errorf("%w: -cluster-wait %v: want a positive duration", errUsage, cf.wait)
	case !cf.enabled():
		return nil
	case cf.embedded && cf.natsURL != "":
		return fmt.Errorf("%w: -cluster and -nats exclude each other", errUsage)
	case cf.name == "":
		return fmt.Errorf("%w: a server of a cluster needs -name", errUsage)
	}
	return nil
}

// openCluster joins the cluster the flags describe: an embedded node in the data folder's
// "nats" folder, or the NATS at -nats, with a JetStream journal and the cluster's ownership.
// The start waits for the cluster's JetStream (a first node waits for its peers). The flags
// have passed check.
func openCluster(ctx context.Context, cf *clusterFlags, dataDir string, logger *slog.Logger) (*serverJournal, error) {
	var routes []string
	for r := range strings.SplitSeq(cf.routes, ",") {
		if r = strings.TrimSpace(r); r != "" {
			routes = append(routes, r)
		}
	}
	replicas := cf.replicas
	if replicas == 0 {
		replicas = 1
		if len(routes) > 0 || cf.natsURL != "" {
			replicas = 3
		}
	}
	wctx, cancel := context.WithTimeout(ctx, cf.wait)
	defer cancel()

	var closers []func() error // in the order to close
	closeAll := func() error {
		var errs []error
		for _, c := range closers {
			errs = append(errs, c())
		}
		return errors.Join(errs...)
	}
	fail := func(err error) (*serverJournal, error) {
		closeAll()
		return nil, fmt.Errorf("cluster: %w", err)
	}
	var nc *nats.Conn
	var where string
	if cf.embedded {
		nd, err := node.Start(wctx, node.Config{
			Name: cf.name, DataDir: filepath.Join(dataDir, "nats"), Listen: cf.listen,
			ClusterListen: cf.clusterListen, Routes: routes, SyncAlways: cf.syncAlways,
		})
		if err != nil {
			return fail(err)
		}
		closers = append(closers, nd.Close)
		logger.Info("nats node started", "name", cf.name, "client", nd.ClientURL(), "cluster", nd.ClusterAddr(), "routes", routes)
		if err := nd.WaitJetStream(wctx); err != nil {
			return fail(err)
		}
		if nc, err = nd.Connect(nats.MaxReconnects(-1)); err != nil {
			return fail(err)
		}
		where = fmt.Sprintf("embedded NATS node %s (clients %s, routes on %s)", cf.name, nd.ClientURL(), nd.ClusterAddr())
	} else {
		var err error
		if nc, err = nats.Connect(cf.natsURL, nats.MaxReconnects(-1), nats.Name("aper "+cf.name)); err != nil {
			return fail(err)
		}
		where = fmt.Sprintf("NATS %s as %s", cf.natsURL, cf.name)
	}
	closers = append([]func() error{func() error { nc.Close(); return nil }}, closers...)
	js, err := jetstream.New(nc)
	if err != nil {
		return fail(err)
	}
	// Streams of R3 need three nodes: the first ones wait for the others. The journal and the
	// leases repeat their own requests that go unanswered (nodes creating the same streams at
	// once, streams still electing their leaders after a restart); an attempt that fails
	// otherwise, as with too few nodes yet, is repeated after a pause growing to 2 s.
	var (
		j  *ajs.Journal
		cl *cluster.Cluster
	)
	pause := 250 * time.Millisecond
	for {
		actx, cancel := context.WithTimeout(wctx, 10*time.Second)
		if j == nil {
			j, err = ajs.New(actx, js, &ajs.Options{Replicas: replicas})
		}
		if j != nil {
			cl, err = cluster.New(actx, nc, js, cf.name, &cluster.Options{Replicas: replicas, LeaseTTL: cf.leaseTTL})
		}
		cancel()
		if err == nil || wctx.Err() != nil || errors.Is(err, journal.ErrInvalid) {
			break // a bad option (a lease TTL other than the cluster's) will not pass later
		}
		logger.Info("waiting for the cluster", "err", err)
		select {
		case <-wctx.Done():
		case <-time.After(pause):
		}
		pause = min(2*pause, 2*time.Second)
	}
	if j != nil {
		closers = append([]func() error{j.Close}, closers...)
	}
	if err != nil {
		return fail(err)
	}
	closers = append([]func() error{cl.Close}, closers...)
	logger.Info("cluster joined", "name", cf.name, "replicas", replicas)
	return &serverJournal{
		options:  []apersync.ServerOption{apersync.WithJournal(j), apersync.WithOwnership(cl)},
		describe: fmt.Sprintf("JetStream, %d replicas, on %s", replicas, where),
		close:    stdsync.OnceValue(closeAll),
		relay:    cl.Listener(),
		nats:     nc.IsConnected,
	}, nil
}
