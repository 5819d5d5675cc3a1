package traces_test

import (
	"slices"
	"testing"

	"github.com/aper-go/aper/internal/traces"
	"github.com/stretchr/testify/require"
)

// splice replays a trace on a plain rune slice: the naive reference every structure is checked
// against.
func splice(t *traces.Trace) string {
	doc := []rune(t.StartContent)
	for _, tx := range t.Txns {
		for _, p := range tx.Patches {
			doc = slices.Replace(doc, p.Pos, p.Pos+p.Del, []rune(p.Insert)...)
		}
	}
	return string(doc)
}

func TestTracesReplayToTheirEndContent(t *testing.T) {
	// The two large traces take seconds under -race; the list and text benchmarks replay them
	// against their endContent.
	for _, name := range traces.Names[:2] {
		tr, err := traces.Load(name)
		require.NoError(t, err, name)
		require.NotEmpty(t, tr.Txns, name)
		require.Equal(t, tr.EndContent, splice(tr), name)
	}
}

func TestLoadUnknown(t *testing.T) {
	_, err := traces.Load("nope")
	require.Error(t, err)
}
