package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestGolden(t *testing.T) {
	tests := []struct {
		dir, typ, golden string
	}{
		// The example package's committed generated file is its golden file: it also compiles and
		// has behaviour tests of its own.
		{"internal/example", "Scoreboard", "internal/example/scoreboard_aper.go"},
		{"testdata/unexported", "board", "testdata/unexported/board_aper.go.golden"},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			got, err := Generate(tt.dir, []string{tt.typ})
			require.NoError(t, err)
			if *update {
				require.NoError(t, os.WriteFile(tt.golden, got, 0o644))
			}
			want, err := os.ReadFile(tt.golden)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got), "run go test ./cmd/aper-gen -update to accept a change")
		})
	}
}

func TestVisibility(t *testing.T) {
	src, err := Generate("testdata/unexported", []string{"board"})
	require.NoError(t, err)
	for _, want := range []string{
		"type boardTransition struct",
		"func (s *board) updateDone(t aper.AtomTransition[bool]) boardTransition",
		"func (s *board) updateMoves(t aper.CounterTransition) boardTransition",
	} {
		assert.Contains(t, string(src), want)
	}
	assert.NotContains(t, string(src), "BoardTransition")
}

func TestErrorsNameEachBadField(t *testing.T) {
	_, err := Generate("testdata/bad", []string{"Bad", "Generic", "Missing"})
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		filepath.Join("testdata", "bad", "bad.go") + ":6:2: aper-gen: field Bad.Name (string) is not a state machine",
		"field Bad.Value (aper.Counter) is not a state machine: its methods have pointer receivers: declare the field as a pointer",
		"field Bad.hidden is unexported",
		"field Bad.Applier (*halfMachine) is not a state machine",
		"Generic is generic",
		"no type Missing in package bad",
	} {
		assert.Contains(t, msg, want)
	}
	assert.NotContains(t, msg, "Bad.OK", "a good field is not reported")
}

func TestErrorsForNonStructs(t *testing.T) {
	dir := t.TempDir()
	src := "package p\n\ntype N int\n\nfunc F() {}\n\ntype E struct{}\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "p.go"), []byte(src), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module p\n\ngo 1.26\n"), 0o644))
	for typ, want := range map[string]string{"N": "N is not a struct", "F": "F is not a type", "E": "E has no fields"} {
		_, err := Generate(dir, []string{typ})
		require.Error(t, err, typ)
		assert.Contains(t, err.Error(), want)
	}
}
