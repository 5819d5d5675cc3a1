package text_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/text"
	"github.com/stretchr/testify/require"
)

func TestSmokeRope(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alpha := []rune("ab€😀xyz\n")
	tx := text.New("")
	var model []rune
	var clones []*text.Text
	var cloneModels [][]rune
	for i := 0; i < 20000; i++ {
		pos := 0
		if len(model) > 0 {
			pos = r.IntN(len(model) + 1)
		}
		var e text.Edit
		if r.IntN(3) == 0 && len(model) > 0 {
			n := r.IntN(min(len(model)-min(pos, len(model)), 1+r.IntN(2000)) + 1)
			if pos+n > len(model) { n = len(model)-pos }
			e = tx.Delete(pos, n)
			model = slices.Delete(model, pos, pos+n)
		} else {
			k := 1 + r.IntN(3)
			if r.IntN(50) == 0 { k = 3000 }
			ins := make([]rune, k)
			for j := range ins { ins[j] = alpha[r.IntN(len(alpha))] }
			e = tx.Insert(pos, string(ins))
			model = slices.Insert(model, pos, ins...)
		}
		require.NoError(t, tx.Apply(aper.On(e)))
		require.Equal(t, string(model), tx.String(), i)
		require.NoError(t, text.CheckInvariants(tx), i)
		if i%500 == 0 {
			require.Equal(t, string(model), tx.String(), i)
			clones = append(clones, tx.Clone())
			cloneModels = append(cloneModels, slices.Clone(model))
		}
	}
	require.Equal(t, string(model), tx.String())
	for i, c := range clones {
		require.Equal(t, string(cloneModels[i]), c.String())
	}
}
