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
	"github.com/aper-go/aper/conflict"
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
// beside the op as applied, and the queues, decode to the Text that format 3 describes, and
// behave alike.
func TestFormat1SnapshotsDecode(t *testing.T) {
	want := format1Text()
	for _, c := range aper.Codecs() {
		var got text.Text
		require.NoError(t, c.Unmarshal(golden(t, "format1", c), &got), c.Name())
		require.NoError(t, text.CheckInvariants(&got))
		apertest.Equal(t, want, &got)
		lateEditAlike(t, want, &got)
	}
}

// lateEditAlike checks that a late edit by Cid, based before Bob's delete, and then one of
// Bob's, based before Ann's edits and made after his delete (it needs Bob's queue), are
// transformed alike on a and b.
func lateEditAlike(t *testing.T, a, b *text.Text) {
	t.Helper()
	a, b = a.Clone(), b.Clone()
	for _, e := range []aper.Event[text.Edit]{
		ev(7, "cid", text.Edit{Base: 4, Op: text.MustOp(text.Retain(1), text.Insert("!"), text.Retain(5))}),
		ev(8, "bob", text.Edit{Base: 2, Op: text.MustOp(text.Retain(1), text.Insert("?"), text.Retain(2))}),
	} {
		apertest.MustApply(t, a, e)
		apertest.MustApply(t, b, e)
		assert.Equal(t, a.String(), b.String())
	}
	assert.Equal(t, "!y?ab123", b.String())
}

// orderedText is format1Text on a server that gives the ordered form of each edit (see
// Text.Ordered): a text in ordered mode from its first edit, whose snapshots (format 3, in testdata/format3.json and
// testdata/format3.cbor.hex) hold each edit's op as sent and as applied, and no queues.
func orderedText() *text.Text {
	tx := text.NewWithHistory("ab", 8)
	apply := func(seq uint64, who aper.ClientID, e text.Edit) {
		if err := tx.Apply(aper.Event[text.Edit]{Seq: seq, Client: who, Transition: e}); err != nil {
			panic(err)
		}
		tx.Ordered(e)
	}
	apply(1, "bob", tx.Insert(0, "x"))
	apply(2, "bob", tx.Insert(1, "y"))
	apply(3, "ann", text.Edit{Base: 0, Op: text.MustOp(text.Retain(2), text.Insert("1"))})
	apply(4, "ann", text.Edit{Base: 0, Op: text.MustOp(text.Retain(3), text.Insert("2"))})
	apply(5, "bob", text.Edit{Base: 2, Op: text.MustOp(text.Delete(1), text.Retain(3))})
	apply(0, "ann", tx.Insert(tx.Len(), "3"))
	return tx
}

// TestSnapshotHoldsTheOpsAsApplied: the history of a snapshot of a text not in ordered mode
// (format 2) holds one op per edit, the op as applied, and the per-author queues.
func TestSnapshotHoldsTheOpsAsApplied(t *testing.T) {
	tx := format1Text()
	for _, c := range aper.Codecs() {
		assert.Equal(t, string(golden(t, "format2", c)), string(apertest.Encode(t, c, tx)), c.Name())
		var got text.Text
		require.NoError(t, c.Unmarshal(golden(t, "format2", c), &got), c.Name())
		require.NoError(t, text.CheckInvariants(&got))
		lateEditAlike(t, tx, &got)
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

// TestOrderedSnapshotHoldsTheOpsAsSentAndApplied: the history of a snapshot of a text in ordered
// mode (format 3) holds each edit's op as sent, and as applied where that differs, and no
// per-author queue: a decoded text computes the queues again from the ops as sent when an edit
// needs them, with the same result.
func TestOrderedSnapshotHoldsTheOpsAsSentAndApplied(t *testing.T) {
	tx := orderedText()
	for _, c := range aper.Codecs() {
		assert.Equal(t, string(golden(t, "format3", c)), string(apertest.Encode(t, c, tx)), c.Name())
		var got text.Text
		require.NoError(t, c.Unmarshal(golden(t, "format3", c), &got), c.Name())
		require.NoError(t, text.CheckInvariants(&got))
		apertest.Equal(t, tx, &got)
		lateEditAlike(t, tx, &got)
	}
	assert.NotContains(t, string(apertest.Encode(t, aper.JSONCodec{}, tx)), `"queues"`)
	apertest.RoundTrip(t, tx)
	// A snapshot of format 3 without the ops as sent is refused.
	old := strings.Replace(string(golden(t, "format2", aper.JSONCodec{})), `"format":2`, `"format":3`, 1)
	var got text.Text
	require.Error(t, json.Unmarshal([]byte(old), &got))
}

// TestFormat2TextTurnsOrdered: a text decoded from a snapshot of format 2, which kept each edit's
// op as applied only, that then turns to ordered mode says in its snapshots that its entries up to
// then lack their op as sent (sentFrom); it cannot compute a queue that needs them.
func TestFormat2TextTurnsOrdered(t *testing.T) {
	var got text.Text
	require.NoError(t, json.Unmarshal(golden(t, "format2", aper.JSONCodec{}), &got))
	want := format1Text()
	e := ev(7, "cid", text.Edit{Base: 6, Op: text.MustOp(text.Retain(6), text.Insert("."))})
	apertest.MustApply(t, want, e)
	apertest.MustApply(t, &got, e)
	got.Ordered(e.Transition)
	assert.Contains(t, string(apertest.Encode(t, aper.JSONCodec{}, &got)), `"sentFrom":6`)
	for _, d := range apertest.RoundTrip(t, &got) {
		// Bob's next edit needs his queue, computed from his edit of version 4: refused.
		apertest.Conflicts(t, d, ev(8, "bob", text.Edit{Base: 2, Op: text.MustOp(text.Retain(1), text.Insert("?"), text.Retain(2))}), conflict.StaleBase)
		// One based after his latest edit needs none.
		apertest.MustApply(t, d, ev(8, "bob", text.Edit{Base: 6, Op: text.MustOp(text.Retain(6), text.Insert("?"))}))
	}
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
