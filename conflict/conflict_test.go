package conflict_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/conflict"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestError(t *testing.T) {
	tests := []struct {
		name string
		c    *conflict.Conflict
		want string
	}{
		{"kind only", &conflict.Conflict{Kind: conflict.Cycle}, "cycle conflict"},
		{"with message", conflict.New(conflict.NotFound, "no such key"), "not found conflict: no such key"},
		{"with path", &conflict.Conflict{Kind: conflict.Duplicate, Path: []string{"b", "a"}, Message: "id taken"}, "duplicate conflict at b/a: id taken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.c.Error())
		})
	}
}

func TestSentinelsMatchTheirKindOnly(t *testing.T) {
	sentinels := map[conflict.Kind]error{
		conflict.NotFound:   conflict.ErrNotFound,
		conflict.Duplicate:  conflict.ErrDuplicate,
		conflict.OutOfRange: conflict.ErrOutOfRange,
		conflict.Cycle:      conflict.ErrCycle,
		conflict.StaleBase:  conflict.ErrStaleBase,
		conflict.Mismatch:   conflict.ErrMismatch,
		conflict.Invalid:    conflict.ErrInvalid,
		conflict.Rejected:   conflict.ErrRejected,
	}
	for kind := range sentinels {
		err := fmt.Errorf("outer: %w", fmt.Errorf("inner: %w", &conflict.Conflict{Kind: kind, Path: []string{"x"}, Message: "m"}))
		for other, sentinel := range sentinels {
			assert.Equal(t, kind == other, errors.Is(err, sentinel), "errors.Is(%s conflict, sentinel of %s)", kind, other)
		}
	}
}

func TestIsComparesWholeConflicts(t *testing.T) {
	a := &conflict.Conflict{Kind: conflict.NotFound, Path: []string{"k"}, Message: "gone"}
	b := &conflict.Conflict{Kind: conflict.NotFound, Path: []string{"k"}, Message: "gone"}
	c := &conflict.Conflict{Kind: conflict.NotFound, Path: []string{"j"}, Message: "gone"}
	assert.True(t, errors.Is(a, b))
	assert.False(t, errors.Is(a, c))
	assert.False(t, errors.Is(a, errors.New("not found conflict at k: gone")))
	assert.False(t, errors.Is(a, (*conflict.Conflict)(nil)))
}

func TestAsThroughWrapping(t *testing.T) {
	orig := conflict.New(conflict.OutOfRange, "index 9 of 3")
	err := fmt.Errorf("list: %w", orig)
	var c *conflict.Conflict
	require.True(t, errors.As(err, &c))
	assert.Same(t, orig, c)
	assert.Same(t, orig, conflict.As(err))
	assert.Nil(t, conflict.As(errors.New("plain")))
	assert.Nil(t, conflict.As(nil))
}

func TestWithPathNests(t *testing.T) {
	inner := conflict.New(conflict.NotFound, "no such key")
	err := conflict.WithPath(conflict.WithPath(fmt.Errorf("wrapped: %w", inner), "a"), "b")
	c := conflict.As(err)
	require.NotNil(t, c)
	assert.Equal(t, []string{"b", "a"}, c.Path)
	assert.Equal(t, "not found conflict at b/a: no such key", err.Error())
	assert.Empty(t, inner.Path, "WithPath must not change the conflict it was given")
	assert.True(t, errors.Is(err, conflict.ErrNotFound))
}

func TestWithPathLeavesSentinelsAlone(t *testing.T) {
	err := conflict.WithPath(conflict.ErrNotFound, "k")
	assert.Equal(t, []string{"k"}, conflict.As(err).Path)
	assert.Empty(t, conflict.ErrNotFound.Path)
	assert.True(t, errors.Is(err, conflict.ErrNotFound))
}

func TestWithPathOnOtherErrors(t *testing.T) {
	assert.NoError(t, conflict.WithPath(nil, "k"))
	plain := errors.New("disk full")
	assert.Same(t, plain, conflict.WithPath(plain, "k"))
}

const illegalMove conflict.Kind = "illegal move"

var errIllegalMove = conflict.Sentinel(illegalMove)

func TestApplicationKinds(t *testing.T) {
	err := fmt.Errorf("game: %w", conflict.New(illegalMove, "column 3 is full"))
	assert.True(t, errors.Is(err, errIllegalMove))
	assert.False(t, errors.Is(err, conflict.ErrRejected))
	assert.False(t, errors.Is(conflict.New(conflict.Rejected, ""), errIllegalMove))
}

func TestRoundTrip(t *testing.T) {
	orig := &conflict.Conflict{Kind: conflict.Cycle, Path: []string{"tree", "n1"}, Message: "n1 is an ancestor of n2"}
	for _, got := range apertest.RoundTrip(t, orig) {
		assert.Equal(t, orig.Kind, got.Kind)
		assert.Equal(t, orig.Path, got.Path)
		assert.Equal(t, orig.Message, got.Message)
		assert.True(t, errors.Is(got, conflict.ErrCycle))
	}
}
