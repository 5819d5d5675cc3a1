package text_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/text"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// format1Text is the text whose format-1 snapshots (written before the history dropped the op
// as sent) are in testdata/format1.json and testdata/format1.cbor.hex: edits by Bob and Ann,
// Ann's transformed over Bob's, so that the history has entries whose op as sent and op as
// applied differ and Ann has a queue; then an optimistic edit of Ann's.
func format1Text() *text.Text {
	tx := text.NewWithHistory("ab", 8)
	apply := func(seq uint64, who aper.ClientID, e text.Edit) {
		if err := tx.Apply(aper.Event[text.Edit]{Seq: seq, Client: who, Transition: e}); err != nil {
			panic(err)
		}
	}
	apply(1, "bob", tx.Insert(0, "x"))                                                     // xab
	apply(2, "bob", tx.Insert(1, "y"))                                                     // xyab
	apply(3, "ann", text.Edit{Base: 0, Op: text.MustOp(text.Retain(2), text.Insert("1"))}) // xyab1
	apply(4, "ann", text.Edit{Base: 0, Op: text.MustOp(text.Retain(3), text.Insert("2"))}) // xyab12
	apply(5, "bob", text.Edit{Base: 2, Op: text.MustOp(text.Delete(1), text.Retain(3))})   // yab12
	apply(0, "ann", tx.Insert(tx.Len(), "3"))                                              // yab123, optimistic
	return tx
}

// TestFormat1SnapshotsDecode: snapshots written in format 1, which kept each edit's op as sent
// beside the op as applied, decode to the Text that format 2 describes, and behave alike.
func TestFormat1SnapshotsDecode(t *testing.T) {
	want := format1Text()
	for _, c := range aper.Codecs() {
		var got text.Text
		require.NoError(t, c.Unmarshal(golden(t, "format1", c), &got), c.Name())
		require.NoError(t, text.CheckInvariants(&got))
		apertest.Equal(t, want, &got)
		// A late edit by Cid, based before Bob's delete, is transformed alike.
		e := ev(7, "cid", text.Edit{Base: 4, Op: text.MustOp(text.Retain(1), text.Insert("!"), text.Retain(5))})
		a, b := want.Clone(), got.Clone()
		apertest.MustApply(t, a, e)
		apertest.MustApply(t, b, e)
		apertest.Equal(t, a, b)
		assert.Equal(t, "!yab123", b.String())
	}
}

// TestSnapshotHoldsTheOpsAsApplied: the history of a snapshot holds one op per edit, the op
// as applied; the op as sent is not kept once it is transformed.
func TestSnapshotHoldsTheOpsAsApplied(t *testing.T) {
	tx := format1Text()
	for _, c := range aper.Codecs() {
		assert.Equal(t, string(golden(t, "format2", c)), string(apertest.Encode(t, c, tx)), c.Name())
	}
	j := string(apertest.Encode(t, aper.JSONCodec{}, tx))
	assert.NotContains(t, j, `"sent"`)
	assert.NotContains(t, j, `"applied"`)
	apertest.RoundTrip(t, tx)
	// A snapshot of format 2 with ops as sent is refused.
	old := strings.Replace(string(golden(t, "format1", aper.JSONCodec{})), `"format":1`, `"format":2`, 1)
	var got text.Text
	require.Error(t, json.Unmarshal([]byte(old), &got))
}

// golden returns testdata/name.json or the bytes of testdata/name.cbor.hex.
func golden(t *testing.T, name string, c aper.Codec) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+"."+map[string]string{"json": "json", "cbor": "cbor.hex"}[c.Name()]))
	require.NoError(t, err)
	b = bytes.TrimSpace(b)
	if c.Name() == "cbor" {
		b, err = hex.DecodeString(string(b))
		require.NoError(t, err)
	}
	return b
}
