package cow_test

import (
	"testing"

	"github.com/aper-go/aper/internal/cow"
	"github.com/stretchr/testify/assert"
)

type box struct{ n int }

func (b *box) Clone() *box { c := *b; return &c }

func TestWritable(t *testing.T) {
	o := cow.NewOwner()
	assert.NotZero(t, o)
	assert.NotEqual(t, o, cow.NewOwner())

	v := &box{1}
	same, cloned := cow.Writable(v, o, o)
	assert.Same(t, v, same)
	assert.False(t, cloned)

	other, cloned := cow.Writable(v, 0, o)
	assert.NotSame(t, v, other)
	assert.True(t, cloned)
	assert.Equal(t, 1, other.n)

	_, cloned = cow.Writable(v, 0, 0) // the zero owner owns nothing
	assert.True(t, cloned)
}

func TestIsNil(t *testing.T) {
	var p *box
	var m map[string]int
	var s []int
	var i any
	assert.True(t, cow.IsNil(p))
	assert.True(t, cow.IsNil(m))
	assert.True(t, cow.IsNil(s))
	assert.True(t, cow.IsNil(i))
	assert.False(t, cow.IsNil(&box{}))
	assert.False(t, cow.IsNil(0))
	assert.False(t, cow.IsNil(""))
}
