package example_test

import (
	"fmt"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/cmd/aper-gen/internal/example"
	"github.com/aper-go/aper/conflict"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newBoard(t *testing.T) *example.Scoreboard {
	s := &example.Scoreboard{} // nil fields start from their zero values
	apertest.MustApply(t, s, aper.On(s.UpdateTitle(s.Title.Set("final"))))
	apertest.MustApply(t, s, aper.On(s.UpdateScores(s.Scores.Set("ann", aper.NewCounter(1)))))
	apertest.MustApply(t, s, aper.On(s.UpdateRound(s.Round.Add(1))))
	return s
}

func TestGeneratedApply(t *testing.T) {
	s := newBoard(t)
	assert.Equal(t, "final", s.Title.Get())
	assert.Equal(t, int64(1), s.Round.Value())
	ann, ok := s.Scores.Get("ann")
	require.True(t, ok)
	assert.Equal(t, int64(1), ann.Value())
}

func TestGeneratedConflictPath(t *testing.T) {
	s := newBoard(t)
	c := apertest.Conflicts(t, s, aper.On(s.UpdateScores(s.Scores.Update("bob", s.Round.Add(1)))), conflict.NotFound)
	assert.Equal(t, []string{"Scores", "bob"}, c.Path)
	c = apertest.Conflicts(t, s, aper.On(s.UpdateTitle(s.Title.CompareAndSet("draft", "x"))), conflict.Mismatch)
	assert.Equal(t, []string{"Title"}, c.Path)
}

func TestGeneratedRejectsZeroOrTwoFields(t *testing.T) {
	s := newBoard(t)
	apertest.Conflicts(t, s, aper.On(example.ScoreboardTransition{}), conflict.Invalid)
	two := s.UpdateRound(s.Round.Add(1))
	two.Title = s.UpdateTitle(s.Title.Set("x")).Title
	apertest.Conflicts(t, s, aper.On(two), conflict.Invalid)
}

func TestGeneratedConflictOnNilFieldLeavesItNil(t *testing.T) {
	s := &example.Scoreboard{}
	apertest.Conflicts(t, s, aper.On(s.UpdateScores(s.Scores.Delete("x"))), conflict.NotFound)
	assert.Nil(t, s.Scores)
}

func TestGeneratedCloneIsDeep(t *testing.T) {
	s := newBoard(t)
	c := s.Clone()
	apertest.MustApply(t, c, aper.On(c.UpdateScores(c.Scores.Update("ann", c.Round.Add(5)))))
	apertest.MustApply(t, c, aper.On(c.UpdateTitle(c.Title.Set("changed"))))
	ann, _ := s.Scores.Get("ann")
	assert.Equal(t, int64(1), ann.Value())
	assert.Equal(t, "final", s.Title.Get())
	assert.Nil(t, (&example.Scoreboard{}).Clone().Scores)
}

func TestGeneratedRoundTrip(t *testing.T) {
	s := newBoard(t)
	for _, got := range apertest.RoundTrip(t, s) {
		apertest.Equal(t, s, got)
	}
	apertest.RoundTrip(t, s.UpdateScores(s.Scores.Update("ann", s.Round.Add(2))))
	apertest.RoundTrip(t, &example.Scoreboard{})
}

func Example() {
	s := &example.Scoreboard{}
	_ = s.Apply(aper.On(s.UpdateScores(s.Scores.Set("ann", aper.NewCounter(0)))))
	_ = s.Apply(aper.On(s.UpdateScores(s.Scores.Update("ann", s.Round.Add(3)))))
	err := s.Apply(aper.On(s.UpdateScores(s.Scores.Update("bob", s.Round.Add(1)))))
	ann, _ := s.Scores.Get("ann")
	fmt.Println(ann.Value())
	fmt.Println(err)
	// Output:
	// 3
	// not found conflict at Scores/bob: map: no such key
}
