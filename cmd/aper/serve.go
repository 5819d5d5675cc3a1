package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aper-go/aper/cmd/aper/internal/rooms"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport/quic"
)

// The files of the QUIC certificate in the data folder.
const (
	certFileName = "quic-cert.pem"
	keyFileName  = "quic-key.pem"
)

// wsPath is where the server mounts its WebSocket endpoint.
const wsPath = "/aper"

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "[flags]", stderr)
	httpAddr := fs.String("http", "localhost:8080", "TCP address of the HTTP server (WebSocket at "+wsPath+")")
	quicAddr := fs.String("quic", "localhost:8443", "UDP address of the QUIC listener; empty turns QUIC off")
	dataDir := fs.String("data", "./aper-data", "data folder: the journal and the QUIC certificate")
	grace := fs.Duration("grace", 5*time.Second, "how long a stop may take before connections are cut")
	verbose := fs.Bool("v", false, "log connections and their errors (debug level)")
	cf := addClusterFlags(fs)
	withPprof := fs.Bool("pprof", false, "serve net/http/pprof at /debug/pprof/ on the HTTP address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("%w: aper serve takes no arguments", errUsage)
	}
	if *grace < 0 {
		return fmt.Errorf("%w: -grace %v: want a duration of 0 or more", errUsage, *grace)
	}
	if err := cf.check(); err != nil {
		return err
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	if err := os.MkdirAll(*dataDir, 0o755); err != nil {
		return fmt.Errorf("serve: data folder: %w", err)
	}
	var (
		jr  *serverJournal
		err error
	)
	if cf.enabled() {
		jr, err = openCluster(ctx, cf, *dataDir, logger)
	} else {
		jr, err = openJournal(*dataDir, logger)
	}
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer jr.close()
	ready := readiness{nats: jr.nats} // /readyz: ops.go
	ready.journal.Store(true)

	reg := newRegistry()
	opts := append([]apersync.ServerOption{apersync.WithLogger(logger), apersync.WithMetrics(reg)}, jr.options...)
	srv, err := apersync.NewServer(rooms.New, opts...)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer srv.Close()

	// Every listener is bound before anything is served or printed: a port in use fails the
	// start, with no "serving" line before it.
	hl, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer hl.Close() // when Serve never ran; else hs.Close has closed it
	var ql *quic.Listener
	var certPath string
	var certMade bool
	if *quicAddr != "" {
		var tlsConf *tls.Config
		tlsConf, certPath, certMade, err = loadOrMakeCert(*dataDir)
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		if ql, err = quic.Listen(*quicAddr, tlsConf, nil); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		defer ql.Close() // when Serve never ran; else srv's Close has closed it
	}

	mux := http.NewServeMux()
	mux.Handle(wsPath, srv)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelDebug)}
	wsURL := "ws://" + hl.Addr().String() + wsPath
	mountWeb(mux, *dataDir, logger) // the pages: web.go
	mountOps(mux, reg, &ready, *withPprof)
	mux.Handle(apiPath+"/", http.StripPrefix(apiPath, srv.API()))

	var wg sync.WaitGroup // the goroutines of the listeners; waited for before returning
	defer wg.Wait()
	wg.Go(func() {
		if err := hs.Serve(hl); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("http server stopped", "err", err)
		}
	})
	defer hs.Close()
	if ql != nil {
		wg.Go(func() {
			if err := srv.Serve(context.Background(), ql); err != nil && !errors.Is(err, apersync.ErrServerClosed) {
				logger.Error("quic listener stopped", "err", err)
			}
		})
	}

	if jr.relay != nil {
		wg.Go(func() {
			if err := srv.Serve(context.Background(), jr.relay); err != nil && !errors.Is(err, apersync.ErrServerClosed) {
				logger.Error("cluster relay listener stopped", "err", err)
			}
		})
	}

	fmt.Fprintf(stdout, "aper: serving the example rooms %s\n", roomKinds())
	fmt.Fprintf(stdout, "aper: websocket %s\n", wsURL)
	fmt.Fprintf(stdout, "aper: open http://%s in a browser\n", hl.Addr())
	quicNote := ""
	if ql != nil {
		how := "kept from an earlier start"
		if certMade {
			how = "made now"
		}
		fmt.Fprintf(stdout, "aper: quic %s (certificate %s, %s)\n", ql.Addr(), certPath, how)
		quicNote = fmt.Sprintf("\naper:         go run ./cmd/aper client -transport quic -addr %s -cert %s text/notes", ql.Addr(), certPath)
	}
	fmt.Fprintf(stdout, "aper: journal %s\n", jr.describe)
	fmt.Fprintf(stdout, "aper: connect: go run ./cmd/aper client -addr %s counter/lobby%s\n", hl.Addr(), quicNote)
	ready.listeners.Store(true)
	fmt.Fprintf(stdout, "aper: ready; stop with Ctrl-C\n")
	logger.Info("serving", "websocket", wsURL, "quic", *quicAddr, "data", *dataDir)

	<-ctx.Done()
	ready.listeners.Store(false)
	logger.Info("stopping: letting rooms finish what their clients sent", "grace", *grace)
	sctx, cancel := context.WithTimeout(context.Background(), *grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("shutdown cut connections", "err", err)
	}
	if err := hs.Shutdown(sctx); err != nil {
		logger.Warn("http shutdown", "err", err)
	}
	ready.journal.Store(false)
	if err := jr.close(); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	fmt.Fprintf(stdout, "aper: stopped\n")
	return nil
}

func roomKinds() string {
	var names []string
	for _, k := range rooms.Kinds {
		names = append(names, string(k)+"/...")
	}
	return strings.Join(names, ", ")
}

// loadOrMakeCert returns the QUIC server's TLS configuration from the certificate in dir, made
// (self-signed, for localhost and this host's name, valid for a year) when there is none or it
// has expired. made says it was made now.
func loadOrMakeCert(dir string) (conf *tls.Config, certPath string, made bool, err error) {
	certPath = filepath.Join(dir, certFileName)
	keyPath := filepath.Join(dir, keyFileName)
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil || cert.Leaf == nil || time.Now().After(cert.Leaf.NotAfter.Add(-time.Hour)) {
		if err := makeCert(certPath, keyPath); err != nil {
			return nil, "", false, err
		}
		made = true
		if cert, err = tls.LoadX509KeyPair(certPath, keyPath); err != nil {
			return nil, "", false, fmt.Errorf("certificate: %w", err)
		}
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{quic.ALPN},
		MinVersion:   tls.VersionTLS13,
	}, certPath, made, nil
}

func makeCert(certPath, keyPath string) error {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if h, err := os.Hostname(); err == nil && h != "" && h != "localhost" {
		hosts = append(hosts, h)
	}
	certPEM, keyPEM, err := quic.SelfSignedPEM(365*24*time.Hour, hosts...)
	if err != nil {
		return fmt.Errorf("certificate: %w", err)
	}
	if err := os.WriteFile(keyPath, keyPEM, 0o600); err != nil {
		return fmt.Errorf("certificate: %w", err)
	}
	if err := os.WriteFile(certPath, certPEM, 0o644); err != nil {
		return fmt.Errorf("certificate: %w", err)
	}
	return nil
}
