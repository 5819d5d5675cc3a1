package jetstream_test

import (
	"testing"

	"github.com/aper-go/aper/journal"
	ajs "github.com/aper-go/aper/journal/jetstream"
	"github.com/aper-go/aper/journal/journaltest"
)

// TestContract runs the journal contract suite against a journal on a single node.
func TestContract(t *testing.T) {
	js := connect(t, single.node)
	journaltest.Run(t, func(t *testing.T) journal.Journal {
		return open(t, js, ajs.Options{Streams: 2})
	})
}
