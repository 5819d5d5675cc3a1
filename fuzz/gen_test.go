package fuzz_test

import (
	"encoding/binary"

	"github.com/google/uuid"
	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"
)

// genUUID draws a version 4 UUID from the generator's source, so that a replayed step makes the
// same id (uuid.New would not).
func genUUID() gopter.Gen {
	return func(p *gopter.GenParameters) *gopter.GenResult {
		var u uuid.UUID
		binary.BigEndian.PutUint64(u[:8], p.NextUint64())
		binary.BigEndian.PutUint64(u[8:], p.NextUint64()|1)
		u[6] = u[6]&0x0f | 0x40
		u[8] = u[8]&0x3f | 0x80
		return gopter.NewGenResult(u, gopter.NoShrinker)
	}
}

// pick draws one of ids (which must not be empty).
func pick(ids []uuid.UUID) gopter.Gen {
	return gen.IntRange(0, len(ids)-1).Map(func(i int) uuid.UUID { return ids[i] })
}

// weighted is gen.Weighted without the entries whose weight is 0.
func weighted(ws ...gen.WeightedGen) gopter.Gen {
	var out []gen.WeightedGen
	for _, w := range ws {
		if w.Weight > 0 {
			out = append(out, w)
		}
	}
	return gen.Weighted(out)
}

func ifNonEmpty[E any](s []E, w int) int {
	if len(s) == 0 {
		return 0
	}
	return w
}
