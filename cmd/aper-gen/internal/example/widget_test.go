package example_test

import (
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/cmd/aper-gen/internal/example"
	"github.com/aper-go/aper/conflict"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A one-of made as a poll applies poll transitions, and a transition to any other field is an
// Invalid conflict naming that field, which leaves it a poll (nothing created, nothing encoded).
func TestOneOfRejectsAnotherField(t *testing.T) {
	w := example.NewPoll()
	var c *aper.Counter
	apertest.MustApply(t, w, aper.On(w.UpdatePoll(w.Poll.Set("yes", aper.NewCounter(0)))))
	apertest.MustApply(t, w, aper.On(w.UpdatePoll(w.Poll.Update("yes", c.Add(2)))))
	cf := apertest.Conflicts(t, w, aper.On(w.UpdateClicks(c.Add(1))), conflict.Invalid)
	assert.Equal(t, []string{"Clicks"}, cf.Path)
	assert.Contains(t, cf.Message, "Widget holds Poll, not Clicks")
	cf = apertest.Conflicts(t, w, aper.On(w.UpdateNote(w.Note.Set("hi"))), conflict.Invalid)
	assert.Equal(t, []string{"Note"}, cf.Path)
	assert.Nil(t, w.Clicks)
	assert.Nil(t, w.Note)
	yes, ok := w.Poll.Get("yes")
	require.True(t, ok)
	assert.Equal(t, int64(2), yes.Value())
	// A conflict inside the field it holds keeps the field's path.
	cf = apertest.Conflicts(t, w, aper.On(w.UpdatePoll(w.Poll.Update("no", c.Add(1)))), conflict.NotFound)
	assert.Equal(t, []string{"Poll", "no"}, cf.Path)
}

// A zero one-of becomes what its first transition applies to, and stays that.
func TestOneOfFirstTransitionChooses(t *testing.T) {
	w := &example.Widget{}
	var c *aper.Counter
	apertest.MustApply(t, w, aper.On(w.UpdateClicks(c.Add(3))))
	require.NotNil(t, w.Clicks)
	assert.Equal(t, int64(3), w.Clicks.Value())
	apertest.Conflicts(t, w, aper.On(w.UpdateNote(w.Note.Set("x"))), conflict.Invalid)
	apertest.MustApply(t, w, aper.On(w.UpdateClicks(c.Add(1))))
	assert.Equal(t, int64(4), w.Clicks.Value())
	for _, got := range apertest.RoundTrip(t, w) {
		apertest.Equal(t, w, got)
	}
	// A conflicting first transition chooses nothing.
	z := &example.Widget{}
	apertest.Conflicts(t, z, aper.On(z.UpdatePoll(z.Poll.Delete("x"))), conflict.NotFound)
	assert.Nil(t, z.Poll)
	apertest.MustApply(t, z, aper.On(z.UpdateNote(z.Note.Set("later"))))
	assert.Equal(t, "later", z.Note.Get())
}

// A transition that sets no field or two, and a one-of that holds two fields (which no Apply
// makes), are Invalid conflicts.
func TestOneOfInvalid(t *testing.T) {
	w := example.NewNote("a")
	var c *aper.Counter
	apertest.Conflicts(t, w, aper.On(example.WidgetTransition{}), conflict.Invalid)
	two := w.UpdateNote(w.Note.Set("b"))
	two.Clicks = w.UpdateClicks(c.Add(1)).Clicks
	apertest.Conflicts(t, w, aper.On(two), conflict.Invalid)
	both := &example.Widget{Note: aper.NewAtom("a"), Clicks: aper.NewCounter(1)}
	cf := apertest.Conflicts(t, both, aper.On(both.UpdateNote(both.Note.Set("b"))), conflict.Invalid)
	assert.Contains(t, cf.Message, "holds more than one field")
}

func TestOneOfCloneIsDeep(t *testing.T) {
	w := example.NewNote("a")
	apertest.CloneIsDeep(t, w, aper.On(w.UpdateNote(w.Note.Set("b"))))
}
