package inbox_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aper-go/aper/transport/internal/inbox"
)

var (
	errClosed = errors.New("closed")
	errFailed = errors.New("failed")
	errAfter  = errors.New("after")
)

func TestOrder(t *testing.T) {
	q := inbox.New(100, errClosed)
	for _, m := range []string{"a", "", "bc"} {
		require.True(t, q.Put([]byte(m)))
	}
	for _, want := range []string{"a", "", "bc"} {
		got, err := q.Get(t.Context())
		require.NoError(t, err)
		assert.Equal(t, want, string(got))
	}
}

// Put waits while the inbox holds its limit in bytes, and goes on when Get makes room; a
// message over the limit is taken when the inbox is empty.
func TestBoundInBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := inbox.New(10, errClosed)
		require.True(t, q.Put(make([]byte, 8)))
		put := make(chan bool)
		go func() { put <- q.Put(make([]byte, 5)) }()
		synctest.Wait()
		require.True(t, q.Full(), "the second Put waits for room")
		select {
		case <-put:
			t.Fatal("Put did not wait")
		default:
		}
		got, err := q.Get(t.Context())
		require.NoError(t, err)
		assert.Len(t, got, 8)
		require.True(t, <-put)
		assert.False(t, q.Full())

		got, err = q.Get(t.Context())
		require.NoError(t, err)
		assert.Len(t, got, 5)
		require.True(t, q.Put(make([]byte, 50)), "an empty inbox takes a message over its limit")
		got, err = q.Get(t.Context())
		require.NoError(t, err)
		assert.Len(t, got, 50)
	})
}

// A Get whose ctx ends returns ctx.Err() itself and loses nothing.
func TestGetCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := inbox.New(10, errClosed)
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error)
		go func() {
			_, err := q.Get(ctx)
			errc <- err
		}()
		synctest.Wait()
		cancel()
		assert.Equal(t, context.Canceled, <-errc)

		require.True(t, q.Put([]byte("kept")))
		got, err := q.Get(ctx) // a message that waits is returned even with an ended ctx
		require.NoError(t, err)
		assert.Equal(t, "kept", string(got))
	})
}

// After Fail, Get returns the queued messages, then err once, then after on every call.
func TestFail(t *testing.T) {
	q := inbox.New(100, errClosed)
	require.True(t, q.Put([]byte("x")))
	q.Fail(errFailed, errAfter)
	q.Fail(errors.New("ignored"), nil) // only the first Fail counts
	got, err := q.Get(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "x", string(got))
	_, err = q.Get(t.Context())
	assert.Equal(t, errFailed, err)
	for range 2 {
		_, err = q.Get(t.Context())
		assert.Equal(t, errAfter, err)
	}

	q = inbox.New(100, errClosed)
	q.Fail(errFailed, nil)
	for range 2 {
		_, err = q.Get(t.Context())
		assert.Equal(t, errFailed, err, "with no after error, err again")
	}
}

// Fail wakes a blocked Get.
func TestFailWakesGet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := inbox.New(100, errClosed)
		errc := make(chan error)
		go func() {
			_, err := q.Get(t.Context())
			errc <- err
		}()
		synctest.Wait()
		q.Fail(errFailed, nil)
		assert.Equal(t, errFailed, <-errc)
	})
}

// Close drops what is queued, wakes a blocked Put and a blocked Get, and is idempotent.
func TestClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := inbox.New(4, errClosed)
		require.True(t, q.Put([]byte("full")))
		put := make(chan bool)
		go func() { put <- q.Put([]byte("waits")) }()
		synctest.Wait()
		q.Close()
		q.Close()
		assert.False(t, <-put, "a blocked Put drops its message")
		assert.False(t, q.Put([]byte("late")))
		_, err := q.Get(t.Context())
		assert.Equal(t, errClosed, err, "queued messages are dropped")

		q = inbox.New(4, errClosed)
		errc := make(chan error)
		go func() {
			_, err := q.Get(t.Context())
			errc <- err
		}()
		synctest.Wait()
		q.Close()
		assert.Equal(t, errClosed, <-errc)
	})
}
