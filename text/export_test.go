package text

import "fmt"

// CheckInvariants checks the rope's counts and shape, the history's window and the per-author
// state, for the tests.
func CheckInvariants(t *Text) error {
	for k := t.Oldest(); k < t.version; k++ {
		if e := t.entry(k); e == nil {
			return fmt.Errorf("no entry for version %d", k)
		}
	}
	if err := t.checkPeers(); err != nil {
		return err
	}
	if t.rope.root == nil {
		return nil
	}
	_, err := checkNode(t.rope.root, true)
	return err
}

func checkNode(n *node, root bool) (depth int, err error) {
	if n.leaf() {
		runes, wide := count(n.text)
		if runes != n.runes || wide != n.wide || len(n.text) != n.bytes {
			return 0, fmt.Errorf("leaf counts %d/%d/%d, want %d/%d/%d", n.runes, n.wide, n.bytes, runes, wide, len(n.text))
		}
		if len(n.text) > maxLeaf {
			return 0, fmt.Errorf("leaf of %d bytes", len(n.text))
		}
		if !root && len(n.text) == 0 {
			return 0, fmt.Errorf("empty leaf")
		}
		return 1, nil
	}
	if len(n.kids) > maxKids || len(n.kids) == 0 {
		return 0, fmt.Errorf("inner node with %d children", len(n.kids))
	}
	runes, bytes, wide := 0, 0, 0
	d := -1
	for _, k := range n.kids {
		kd, err := checkNode(k, false)
		if err != nil {
			return 0, err
		}
		if d >= 0 && kd != d {
			return 0, fmt.Errorf("leaves at depths %d and %d", d, kd)
		}
		d = kd
		runes += k.runes
		bytes += k.bytes
		wide += k.wide
	}
	if runes != n.runes || bytes != n.bytes || wide != n.wide {
		return 0, fmt.Errorf("inner counts %d/%d/%d, want %d/%d/%d", n.runes, n.bytes, n.wide, runes, bytes, wide)
	}
	return d + 1, nil
}

// Depth returns the rope's height, for the tests.
func Depth(t *Text) int {
	d := 0
	for n := t.rope.root; n != nil && !n.leaf(); n = n.kids[0] {
		d++
	}
	return d
}

// Peers returns the number of authors with state and of the ops in their queues, for the tests.
func Peers(t *Text) (authors, ops int) {
	for _, p := range t.peers {
		authors++
		ops += len(p.queue)
	}
	return authors, ops
}
