package quic

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// deadlines records the deadlines a guard sets; the first non-zero one waits for release.
type deadlines struct {
	mu      sync.Mutex
	set     []time.Time
	release chan struct{}
}

func (d *deadlines) setDeadline(t time.Time) error {
	if !t.IsZero() {
		<-d.release
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.set = append(d.set, t)
	return nil
}

func (d *deadlines) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.set)
}

func (d *deadlines) last() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.set) == 0 {
		return time.Time{}
	}
	return d.set[len(d.set)-1]
}

// A ctx that ends just after a write has finished starts the callback that sets the deadline;
// done must wait for it and then clear the deadline, or the deadline lands after the write and
// every later write on the stream fails.
func TestGuardClearsLateDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &deadlines{release: make(chan struct{})}
		ctx, cancel := context.WithCancel(t.Context())
		g := guardWrite(ctx, d.setDeadline)
		// The write has finished; now ctx ends, and the callback starts but is slow.
		cancel()
		synctest.Wait()
		returned := make(chan struct{})
		go func() {
			g.done(true)
			close(returned)
		}()
		synctest.Wait() // done has returned, or waits for the callback
		close(d.release)
		<-returned
		synctest.Wait() // the callback has finished
		if last := d.last(); !last.IsZero() {
			t.Fatalf("the stream is left with the deadline %v after the write", last)
		}
	})
}

// A write that failed because ctx ended leaves the deadline alone (the connection is closed),
// and a guard whose ctx did not end sets nothing.
func TestGuardQuiet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &deadlines{release: make(chan struct{})}
		close(d.release)
		ctx, cancel := context.WithCancel(t.Context())
		g := guardWrite(ctx, d.setDeadline)
		g.done(true)
		cancel()
		synctest.Wait()
		if got := d.count(); got != 0 {
			t.Fatalf("%d deadlines set after a write whose ctx did not end", got)
		}

		ctx, cancel = context.WithCancel(t.Context())
		g = guardWrite(ctx, d.setDeadline)
		cancel()
		g.done(false) // returns once the callback has
		if got, last := d.count(), d.last(); got != 1 || last.IsZero() {
			t.Fatalf("%d deadlines set, the last %v; want the one that interrupted the write", got, last)
		}
		guardWrite(context.Background(), d.setDeadline).done(true) // no ctx to watch: no-op
	})
}
