// Package traces loads the real editing traces that the list and text tests and benchmarks
// replay. The traces are embedded (see data/README.md for their source and licence), so they work
// in any clone and from any package's tests.
package traces

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

//go:embed data/*.json.gz
var files embed.FS

// Names lists the embedded traces, smallest first.
var Names = []string{"sveltecomponent", "rustcode", "seph-blog1", "automerge-paper"}

// Patch is one splice: at Pos (in code points) delete Del code points, then insert Insert.
type Patch struct {
	Pos    int
	Del    int
	Insert string
}

// UnmarshalJSON decodes the trace form [pos, delCount, "inserted"].
func (p *Patch) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if len(raw) != 3 {
		return errors.New("traces: a patch is [pos, delCount, inserted]")
	}
	if err := json.Unmarshal(raw[0], &p.Pos); err != nil {
		return err
	}
	if err := json.Unmarshal(raw[1], &p.Del); err != nil {
		return err
	}
	return json.Unmarshal(raw[2], &p.Insert)
}

// Txn is one transaction: patches applied in order.
type Txn struct {
	Patches []Patch `json:"patches"`
}

// Trace is a whole editing history.
type Trace struct {
	Name         string `json:"-"`
	StartContent string `json:"startContent"`
	EndContent   string `json:"endContent"`
	Txns         []Txn  `json:"txns"`
}

// Patches returns the number of patches in all transactions.
func (t *Trace) Patches() int {
	n := 0
	for _, tx := range t.Txns {
		n += len(tx.Patches)
	}
	return n
}

// Load decodes the named trace (one of Names).
func Load(name string) (*Trace, error) {
	gz, err := files.ReadFile("data/" + name + ".json.gz")
	if err != nil {
		return nil, fmt.Errorf("traces: %w", err)
	}
	r, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("traces: %s: %w", name, err)
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("traces: %s: %w", name, err)
	}
	t := &Trace{Name: name}
	if err := json.Unmarshal(raw, t); err != nil {
		return nil, fmt.Errorf("traces: %s: %w", name, err)
	}
	return t, nil
}
