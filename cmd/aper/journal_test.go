package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aper-go/aper/journal"
)

// aper journal lists the rooms of a data folder's journal and deletes the ones it is told to.
func TestJournalCommand(t *testing.T) {
	dir := t.TempDir()
	j, err := journal.Open(filepath.Join(dir, "journal"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, room := range []string{"todo/spam-1", "todo/spam-2", "counter/kept"} {
		if err := j.Append(ctx, room, 0, []journal.Entry{{Seq: 1, Data: []byte{0xa0}}}); err != nil {
			t.Fatal(err)
		}
	}
	aper := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(ctx, append([]string{"journal", "-data", dir}, args...), strings.NewReader(""), &out, &errOut)
		return out.String(), err
	}
	if _, err := aper("list"); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("list while the journal is open elsewhere: %v, want an in-use error", err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := aper("list")
	if err != nil {
		t.Fatal(err)
	}
	for _, room := range []string{`"todo/spam-1"`, `"todo/spam-2"`, `"counter/kept"`} {
		if !strings.Contains(out, room) {
			t.Fatalf("list does not show %s:\n%s", room, out)
		}
	}
	if _, err = aper("delete", "todo/spam-1", "todo/spam-2"); err != nil {
		t.Fatal(err)
	}
	if out, err = aper("list"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "spam") || !strings.Contains(out, `"counter/kept"`) {
		t.Fatalf("after the delete, list shows:\n%s", out)
	}
	for _, args := range [][]string{nil, {"delete"}, {"list", "x"}, {"drop", "x"}} {
		if _, err := aper(args...); !errors.Is(err, errUsage) {
			t.Fatalf("aper journal %q: %v, want a usage error", args, err)
		}
	}
}
