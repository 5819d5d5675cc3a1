package fuzz

import "testing"

func TestInterleaves(t *testing.T) {
	b := func(s string) []byte { return []byte(s) }
	x, d, m, u := b("insert"), b("delete"), b("move"), b("update")
	l := func(e ...[]byte) [][]byte { return e }
	for _, tt := range []struct {
		name                   string
		sub, applied, rejected [][]byte
		want                   int
	}{
		{"all applied", l(x, u, d), l(x, u, d), nil, -1},
		{"all rejected", l(x, u), nil, l(x, u), -1},
		// The first delete was rejected (the item was gone), the second applied (it was put
		// back): taking the first for the applied one leaves the move unmatched.
		{"a copy rejected, the later applied", l(x, d, m, d), l(x, d), l(d, m), -1},
		{"out of order", l(x, u, d), l(x, d, u), nil, 1},
		{"applied twice", l(x, d), l(x, d, d), nil, 0},
		{"lost", l(x, d, m), l(x, d), nil, 0},
		{"rejected one is not the one submitted", l(x, d, m), l(x, d), l(u), 2},
	} {
		if got := interleaves(tt.sub, tt.applied, tt.rejected); got != tt.want {
			t.Errorf("%s: interleaves = %d, want %d", tt.name, got, tt.want)
		}
	}
}
