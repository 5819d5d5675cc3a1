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

// Transitions are keyed by field name, not position: ScoreboardV2 reorders Scoreboard's fields
// and inserts one, and a transition of each field still encodes to the same bytes in both
// codecs, and the bytes of the first version decode into the same field of the second, so a
// journal written before the change replays as it was written.
func TestReorderedFieldsKeepTheEncoding(t *testing.T) {
	v1 := newBoard(t)
	v2 := &example.ScoreboardV2{}
	pairs := []struct {
		name   string
		v1, v2 any
		check  func(t *testing.T, got example.ScoreboardV2Transition)
	}{
		{"Title", v1.UpdateTitle(v1.Title.Set("t")), v2.UpdateTitle(v2.Title.Set("t")),
			func(t *testing.T, got example.ScoreboardV2Transition) { assert.NotNil(t, got.Title) }},
		{"Scores", v1.UpdateScores(v1.Scores.Set("ann", aper.NewCounter(2))), v2.UpdateScores(v2.Scores.Set("ann", aper.NewCounter(2))),
			func(t *testing.T, got example.ScoreboardV2Transition) { assert.NotNil(t, got.Scores) }},
		{"Round", v1.UpdateRound(v1.Round.Add(3)), v2.UpdateRound(v2.Round.Add(3)),
			func(t *testing.T, got example.ScoreboardV2Transition) { assert.NotNil(t, got.Round) }},
	}
	for _, c := range aper.Codecs() {
		for _, p := range pairs {
			t.Run(c.Name()+"/"+p.name, func(t *testing.T) {
				b1, b2 := apertest.Encode(t, c, p.v1), apertest.Encode(t, c, p.v2)
				assert.Equal(t, b1, b2, "%s: %q", p.name, b1)
				var got example.ScoreboardV2Transition
				require.NoError(t, c.Unmarshal(b1, &got))
				p.check(t, got)
				s := &example.ScoreboardV2{}
				apertest.MustApply(t, s, aper.On(got)) // exactly one field set
			})
		}
	}
}
