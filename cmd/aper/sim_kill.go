package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync/atomic"
	"syscall"
	"time"
)

// childServer is an aper serve process that the sim starts, SIGKILLs and restarts on the same
// ports and data folder (-kill). Its stderr goes to serve.log in the data folder.
type childServer struct {
	bin, data string
	log       *os.File

	wsURL, httpAddr, quicAddr, cert string // fixed by the first start

	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited and its stdout is read

	kills    int
	restarts []time.Duration // from each SIGKILL to the new process's "ready" line
}

var (
	wsLine    = regexp.MustCompile(`^aper: websocket (ws://(\S+)/aper)$`)
	quicLine  = regexp.MustCompile(`^aper: quic (\S+) \(certificate (\S+),`)
	readyLine = regexp.MustCompile(`^aper: ready`)
)

// startChild starts bin serve on loopback ports of the system's choice, keeping its data in
// data; the restarts reuse those ports.
func startChild(ctx context.Context, bin, data string) (*childServer, error) {
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, fmt.Errorf("%w: %w", errKill, err)
	}
	log, err := os.OpenFile(filepath.Join(data, "serve.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errKill, err)
	}
	c := &childServer{bin: bin, data: data, log: log}
	if err := c.start(ctx, "127.0.0.1:0", "127.0.0.1:0"); err != nil {
		log.Close()
		return nil, err
	}
	return c, nil
}

// start runs the server and waits for its ready line, recording the addresses it printed.
func (c *childServer) start(ctx context.Context, httpAddr, quicAddr string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.Command(c.bin, "serve", "-http", httpAddr, "-quic", quicAddr, "-data", c.data)
	cmd.Stderr = c.log
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("%w: %w", errKill, err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%w: start %s: %w", errKill, c.bin, err)
	}
	c.cmd, c.exited = cmd, make(chan struct{})
	lines := make(chan string)
	go func(exited chan struct{}) { // ends when the process exits; kill and close wait for it
		defer close(exited)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done(): // start has returned: nobody reads lines any more
			}
		}
		io.Copy(io.Discard, out)
		cmd.Wait()
	}(c.exited)
	for {
		select {
		case l := <-lines:
			if m := wsLine.FindStringSubmatch(l); m != nil {
				c.wsURL, c.httpAddr = m[1], m[2]
			} else if m := quicLine.FindStringSubmatch(l); m != nil {
				c.quicAddr, c.cert = m[1], m[2]
			} else if readyLine.MatchString(l) {
				return nil
			}
		case <-c.exited:
			return fmt.Errorf("%w: aper serve exited before it was ready (see %s)", errKill, c.log.Name())
		case <-ctx.Done():
			cmd.Process.Kill()
			<-c.exited
			return fmt.Errorf("%w: aper serve not ready: %w", errKill, context.Cause(ctx))
		}
	}
}

// killAndRestart SIGKILLs the server, waits for it to exit and starts it again on the same ports
// and data folder. A port that the system has not freed yet is tried again for a few seconds.
func (c *childServer) killAndRestart(ctx context.Context) error {
	t0 := time.Now()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("%w: %w", errKill, err)
	}
	<-c.exited
	c.kills++
	var err error
	for attempt := 0; attempt < 50; attempt++ {
		if err = c.start(ctx, c.httpAddr, c.quicAddr); err == nil {
			c.restarts = append(c.restarts, time.Since(t0))
			return nil
		}
		if ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	return err
}

// close stops the server with SIGTERM (SIGKILL if it takes over 10s) and closes its log.
func (c *childServer) close() error {
	defer c.log.Close()
	select {
	case <-c.exited:
		return nil
	default:
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-c.exited
		return errors.New("aper sim: the server did not stop within 10s of SIGTERM")
	}
	return nil
}

// killer kills and restarts the server n times while a run resolves total transitions: the
// i-th kill when resolved passes i/(n+1) of them. It returns when the n kills are done, when
// stop closes, or at the first failed restart.
func (c *childServer) killer(ctx context.Context, n, total int, resolved *atomic.Int64, stop <-chan struct{}) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for i := 1; i <= n; {
		select {
		case <-stop:
			return nil
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if resolved.Load() < int64(i*total/(n+1)) {
			continue
		}
		if err := c.killAndRestart(ctx); err != nil {
			return err
		}
		i++
	}
	return nil
}

// serverURL returns the -server URL of the child server for the transport tr.
func (c *childServer) serverURL(tr string) string {
	if tr == "quic" {
		return "quic://" + c.quicAddr
	}
	return c.wsURL
}
