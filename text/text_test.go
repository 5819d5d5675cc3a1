package text_test

import (
	"encoding/json"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/apertest"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/fuzz"
	"github.com/aper-go/aper/internal/traces"
	"github.com/aper-go/aper/text"
	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"
	"github.com/leanovate/gopter/prop"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestZeroTextIsReady(t *testing.T) {
	var tx text.Text
	assert.Equal(t, "", tx.String())
	apertest.MustApply(t, &tx, aper.On(tx.Insert(0, "héllo")))
	assert.Equal(t, "héllo", tx.String())
	assert.Equal(t, 5, tx.Len())
	assert.Equal(t, uint64(1), tx.Version())
	s, err := tx.Slice(1, 3)
	require.NoError(t, err)
	assert.Equal(t, "él", s)
	_, err = tx.Slice(3, 6)
	require.Error(t, err)
}

// TestRopeMatchesNaiveModel applies random splices (many of them long, multi-byte or astral)
// to a Text and to a rune slice, and to clones taken on the way, and compares them.
func TestRopeMatchesNaiveModel(t *testing.T) {
	props := gopter.NewProperties(fuzz.Parameters(t, 40, 100, 0))
	props.Property("rope == []rune model, clones unaffected", prop.ForAll(func(seed uint64) bool {
		r := rand.New(rand.NewPCG(seed, 9))
		tx := text.New(strings.Repeat("ab€😀\n", r.IntN(800)))
		model := []rune(tx.String())
		type snap struct {
			t *text.Text
			s string
		}
		var snaps []snap
		for i := range 400 {
			pos := r.IntN(len(model) + 1)
			del := 0
			if r.IntN(2) == 0 {
				del = min(len(model)-pos, r.IntN(1+r.IntN(3000)))
			}
			ins := randDoc(r, 4)
			if r.IntN(40) == 0 {
				ins = strings.Repeat("xy😀", 700)
			}
			apertest.MustApply(t, tx, aper.On(tx.Replace(pos, del, ins)))
			model = slices.Replace(model, pos, pos+del, []rune(ins)...)
			if err := text.CheckInvariants(tx); err != nil {
				t.Log(err)
				return false
			}
			if i%50 == 0 {
				snaps = append(snaps, snap{tx.Clone(), string(model)})
			}
			if tx.Len() != len(model) {
				return false
			}
		}
		for _, s := range snaps {
			if s.t.String() != s.s || text.CheckInvariants(s.t) != nil {
				return false
			}
		}
		return tx.String() == string(model)
	}, gen.UInt64()))
	props.TestingRun(t)
}

// TestCloneCostIsFlatAcrossHistoryLimits: Clone copies nothing of the history, however long it
// is, and the first edit after it copies the history's last chunk and one path of its index: a
// few hundred bytes more for a limit of 2^20 than for 1,024. (A Clone that copied the list of
// chunks cost 8 bytes a chunk, 16 KB for a history of 65,536 edits.)
func TestCloneCostIsFlatAcrossHistoryLimits(t *testing.T) {
	keeps := []int{1024, 1 << 16, 1 << 20}
	clone, edit := make([]uint64, len(keeps)), make([]uint64, len(keeps))
	for i, keep := range keeps {
		tx := typed(t, keep, min(keep, 1<<16)+100)
		clone[i] = bytesPer(func() { _ = tx.Clone() })
		e := aper.On(tx.Insert(1, "y"))
		edit[i] = bytesPer(func() {
			if err := tx.Clone().Apply(e); err != nil {
				t.Fatal(err)
			}
		})
		require.NoError(t, text.CheckInvariants(tx))
	}
	t.Logf("bytes per Clone %v, per Clone and edit %v, for history limits %v", clone, edit, keeps)
	// Some slack for what the runtime and other goroutines allocate meanwhile.
	for i := range keeps {
		assert.LessOrEqual(t, clone[i], clone[0]+64, "Clone with a history limit of %d", keeps[i])
		assert.LessOrEqual(t, edit[i], edit[0]+1024, "Clone and edit with a history limit of %d", keeps[i])
	}
}

// typed returns a text with a history limit of keep after n edits, alternately inserting and
// deleting a character.
func typed(t testing.TB, keep, n int) *text.Text {
	tx := text.NewWithHistory("abc", keep)
	for i := range n {
		e := tx.Insert(1, "x")
		if i%2 == 1 {
			e = tx.Delete(1, 1)
		}
		require.NoError(t, tx.Apply(aper.On(e)))
	}
	return tx
}

// bytesPer returns the bytes f allocates per call, on average.
func bytesPer(f func()) uint64 {
	const runs = 1000
	f()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / runs
}

func TestCloneIsCheapAndIndependent(t *testing.T) {
	big := text.New(strings.Repeat("0123456789abcdef", 1<<16)) // 1 MiB
	require.Equal(t, 1<<20, big.Len())
	assert.Positive(t, text.Depth(big))
	allocs := testing.AllocsPerRun(10, func() { _ = big.Clone() })
	assert.LessOrEqual(t, allocs, 3.0, "Clone copies no nodes")

	c := big.Clone()
	apertest.MustApply(t, c, aper.On(c.Insert(500_000, "X")))
	apertest.MustApply(t, big, aper.On(big.Delete(0, 1)))
	s, _ := c.Slice(500_000, 500_001)
	assert.Equal(t, "X", s)
	assert.Equal(t, 1<<20+1, c.Len())
	assert.Equal(t, 1<<20-1, big.Len())
	s, _ = big.Slice(0, 3)
	assert.Equal(t, "123", s)
	require.NoError(t, text.CheckInvariants(c))
	require.NoError(t, text.CheckInvariants(big))
}

func TestOffsets(t *testing.T) {
	tx := text.New(strings.Repeat("a😀é", 500)) // 1, 4 and 2 bytes; 1, 2 and 1 UTF-16 units
	for i := 0; i <= tx.Len(); i++ {
		prefix, err := tx.Slice(0, i)
		require.NoError(t, err)
		b, err := tx.ToByte(i)
		require.NoError(t, err)
		require.Equal(t, len(prefix), b)
		u, err := tx.ToUTF16(i)
		require.NoError(t, err)
		u16 := 0
		for _, r := range prefix {
			u16++
			if r > 0xFFFF {
				u16++
			}
		}
		require.Equal(t, u16, u)
		back, err := tx.FromByte(b)
		require.NoError(t, err)
		require.Equal(t, i, back)
		back, err = tx.FromUTF16(u)
		require.NoError(t, err)
		require.Equal(t, i, back)
	}
	_, err := tx.FromByte(2) // inside 😀
	require.Error(t, err)
	_, err = tx.FromUTF16(2) // between the halves of 😀
	require.Error(t, err)
	_, err = tx.FromByte(-1)
	require.Error(t, err)
	_, err = tx.FromUTF16(1 << 20)
	require.Error(t, err)
	_, err = tx.ToByte(tx.Len() + 1)
	require.Error(t, err)
}

func TestConflictsLeaveTheTextUnchanged(t *testing.T) {
	newText := func() *text.Text {
		tx := text.NewWithHistory("hello", 2)
		for i := range 3 {
			apertest.MustApply(t, tx, ev(uint64(i+1), "ann", tx.Insert(0, "x")))
		}
		return tx // "xxxhello", version 3, keeps versions 1 and 2
	}
	tests := []struct {
		name string
		ev   aper.Event[text.Edit]
		kind conflict.Kind
	}{
		{"input too short", ev(4, "bob", text.Edit{Base: 3, Op: text.MustOp(text.Retain(7))}), conflict.OutOfRange},
		{"input too long", ev(4, "bob", text.Edit{Base: 3, Op: text.MustOp(text.Retain(9))}), conflict.OutOfRange},
		{"out of range after transform", ev(4, "bob", text.Edit{Base: 2, Op: text.MustOp(text.Retain(3))}), conflict.OutOfRange},
		{"position past the end", ev(4, "bob", newText().Insert(9, "y")), conflict.OutOfRange},
		{"negative position", ev(4, "bob", newText().Insert(-1, "y")), conflict.OutOfRange},
		{"base in the future", ev(4, "bob", text.Edit{Base: 4, Op: text.MustOp(text.Retain(8))}), conflict.Invalid},
		{"base older than the history", ev(4, "bob", text.Edit{Base: 0, Op: text.MustOp(text.Retain(5))}), conflict.StaleBase},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx := newText()
			before := tx.String()
			apertest.Conflicts(t, tx, tt.ev, tt.kind)
			assert.Equal(t, before, tx.String())
			assert.Equal(t, uint64(3), tx.Version())
		})
	}
}

func TestOwnPendingEditOlderThanTheHistoryIsNotStale(t *testing.T) {
	tx := text.NewWithHistory("ab", 2)
	apertest.MustApply(t, tx, ev(1, "bob", tx.Insert(0, "x")))
	apertest.MustApply(t, tx, ev(2, "bob", tx.Insert(0, "x")))
	apertest.MustApply(t, tx, ev(3, "ann", text.Edit{Base: 0, Op: text.MustOp(text.Retain(2), text.Insert("1"))}))
	apertest.MustApply(t, tx, ev(4, "bob", tx.Insert(0, "x")))
	require.Equal(t, "xxxab1", tx.String())
	require.Equal(t, uint64(2), tx.Oldest())
	// Ann saw version 2 ("xxab") and her edit of version 2 (based on 0, out of the history) is
	// still pending: her view is "xxab1". Her queue holds what she needs, so the edit applies
	// after Bob's third "x".
	apertest.MustApply(t, tx, ev(5, "ann", text.Edit{Base: 2, Op: text.MustOp(text.Retain(5), text.Insert("2"))}))
	require.Equal(t, "xxxab12", tx.String())
	// So does her next edit, based on 2 as well, however far the history has moved on: her
	// previous edit is in the history, and her queue holds what the edit needs. Her view is
	// version 2 ("xxab") plus her own edits since ("1" and "2").
	apertest.MustApply(t, tx, ev(6, "ann", text.Edit{Base: 2, Op: text.MustOp(text.Retain(6), text.Insert("3"))}))
	require.Equal(t, "xxxab123", tx.String())
	// A Base before the history is StaleBase for an author without an edit in it.
	apertest.Conflicts(t, tx, ev(7, "cid", text.Edit{Base: 2, Op: text.MustOp(text.Retain(8))}), conflict.StaleBase)
	for _, got := range apertest.RoundTrip(t, tx) {
		require.NoError(t, text.CheckInvariants(got))
	}
}

// TestEmptyClientIDIsOneAuthor: edits with the empty ClientID are one author's, each made in a
// view with the earlier ones (as Text.Apply documents); a distinct id makes them concurrent.
func TestEmptyClientIDIsOneAuthor(t *testing.T) {
	second := text.Edit{Base: 0, Op: text.MustOp(text.Retain(3), text.Insert("y"))} // against "xab"
	for _, c := range []struct {
		id   aper.ClientID
		want conflict.Kind
	}{{"", ""}, {"bot2", conflict.OutOfRange}} {
		tx := text.New("ab")
		apertest.MustApply(t, tx, ev(1, "", tx.Insert(0, "x")))
		if c.want == "" {
			apertest.MustApply(t, tx, ev(2, c.id, second))
			assert.Equal(t, "xaby", tx.String())
		} else {
			apertest.Conflicts(t, tx, ev(2, c.id, second), c.want)
		}
	}
}

func TestBaseGoingBackIsInvalid(t *testing.T) {
	tx := text.New("ab")
	apertest.MustApply(t, tx, ev(1, "bob", tx.Insert(0, "x")))
	apertest.MustApply(t, tx, ev(2, "ann", text.Edit{Base: 1, Op: text.MustOp(text.Retain(3), text.Insert("y"))}))
	// Ann's next edit names an older Base than her previous one.
	apertest.Conflicts(t, tx, ev(3, "ann", text.Edit{Base: 0, Op: text.MustOp(text.Retain(3))}), conflict.Invalid)
}

func TestBaseOfAnOptimisticView(t *testing.T) {
	conf := text.New("ab")
	apertest.MustApply(t, conf, ev(1, "bob", conf.Insert(0, "x")))
	view := conf.Clone()
	assert.Equal(t, uint64(1), view.Base())
	apertest.MustApply(t, view, ev(0, "ann", view.Insert(3, "1")))
	apertest.MustApply(t, view, ev(0, "ann", view.Insert(4, "2")))
	assert.Equal(t, uint64(3), view.Version())
	assert.Equal(t, uint64(1), view.Base(), "pending edits are not confirmed")
	assert.Equal(t, uint64(1), view.Insert(0, "z").Base)
	assert.Equal(t, "xab12", view.String())
	apertest.MustApply(t, conf, ev(2, "ann", text.Edit{Base: 1, Op: text.MustOp(text.Retain(3), text.Insert("1"))}))
	assert.Equal(t, conf.Version(), conf.Base(), "server-ordered edits are confirmed")
}

func TestTextTransformIndex(t *testing.T) {
	tx := text.New("hello")
	apertest.MustApply(t, tx, aper.On(tx.Insert(0, ">> ")))
	apertest.MustApply(t, tx, aper.On(tx.Delete(3, 1)))
	i, err := tx.TransformIndex(4, 0, text.Left) // before "o" at version 0
	require.NoError(t, err)
	assert.Equal(t, 6, i)
	// A version the text has not reached is Invalid, as an edit based there is in Apply.
	_, err = tx.TransformIndex(0, 3, text.Left)
	require.ErrorIs(t, err, conflict.ErrInvalid)
	short := text.NewWithHistory("abc", 1)
	apertest.MustApply(t, short, aper.On(short.Insert(0, "x")))
	apertest.MustApply(t, short, aper.On(short.Insert(0, "y")))
	_, err = short.TransformIndex(0, 0, text.Left)
	require.ErrorIs(t, err, conflict.ErrStaleBase)
	// An index outside the text at from is clamped, at the current version too.
	for _, c := range []struct{ i, want int }{{-3, 0}, {99, tx.Len()}} {
		for _, from := range []uint64{0, 1, tx.Version()} {
			got, err := tx.TransformIndex(c.i, from, text.Left)
			require.NoError(t, err)
			assert.Equal(t, c.want, got, "index %d at version %d", c.i, from)
		}
	}
}

func TestTextRoundTrip(t *testing.T) {
	tx := text.NewWithHistory("a😀b", 4)
	apertest.RoundTrip(t, tx)
	for i := range 7 {
		// Ann and Bob take turns, each one edit behind: every edit is transformed.
		c := aper.ClientID([]string{"ann", "bob"}[i%2])
		e := text.Edit{Base: uint64(max(0, i-1)), Op: text.MustOp(text.Insert("é"), text.Retain(tx.Len()-min(i, 1)))}
		apertest.MustApply(t, tx, ev(uint64(i+1), c, e))
	}
	for _, got := range apertest.RoundTrip(t, tx) {
		assert.Equal(t, tx.String(), got.String())
		assert.Equal(t, tx.Version(), got.Version())
		assert.Equal(t, tx.Oldest(), got.Oldest())
		// Both accept and transform the same late edit the same way.
		e := ev(8, "cid", text.Edit{Base: 5, Op: text.MustOp(text.Retain(2), text.Insert("!"), text.Retain(6))})
		a, b := tx.Clone(), got.Clone()
		apertest.MustApply(t, a, e)
		apertest.MustApply(t, b, e)
		apertest.Equal(t, a, b)
	}
	apertest.RoundTrip(t, tx.Insert(1, "ü"))
	apertest.RoundTrip(t, ev(3, "ann", tx.Delete(1, 2)))

	// Without history: a new history starts at the snapshot's version.
	snap := tx.WithoutHistory()
	for _, got := range apertest.RoundTrip(t, snap) {
		assert.Equal(t, tx.String(), got.String())
		assert.Equal(t, tx.Version(), got.Oldest())
		apertest.Conflicts(t, got, ev(8, "x", text.Edit{Base: tx.Version() - 1, Op: text.MustOp(text.Retain(10))}), conflict.StaleBase)
		apertest.MustApply(t, got, ev(8, "x", got.Insert(0, "y")))
	}
}

// TestViewWithMoreOptimisticEditsThanHistoryRoundTrips: a client's view whose pending edits
// outnumber the history limit has a Base older than its history. It is still a state of the
// public API, and decodes, and behaves after decoding as before.
func TestViewWithMoreOptimisticEditsThanHistoryRoundTrips(t *testing.T) {
	for _, keep := range []int{0, 1, 4} {
		view := text.NewWithHistory("ab", keep)
		for i := range keep + 1 {
			apertest.MustApply(t, view, ev(0, "ann", view.Insert(i, "x")))
		}
		require.Less(t, view.Base(), view.Oldest(), "keep %d", keep)
		for _, got := range apertest.RoundTrip(t, view) {
			assert.Equal(t, view.Base(), got.Base(), "keep %d", keep)
			assert.Equal(t, view.Oldest(), got.Oldest(), "keep %d", keep)
			a, b := view.Clone(), got.Clone()
			// The view's own next edit names its old Base: it applies on both alike when the
			// author's previous edit is in the history (its own edits do not make it stale),
			// and is StaleBase on both when the history keeps nothing.
			for _, x := range []*text.Text{a, b} {
				y := x.Clone()
				if keep == 0 {
					apertest.Conflicts(t, y, ev(0, "ann", y.Insert(0, "y")), conflict.StaleBase)
					continue
				}
				apertest.MustApply(t, y, ev(0, "ann", y.Insert(0, "y")))
				assert.Equal(t, "y"+x.String(), y.String())
			}
			// An edit at the current version applies on both alike, and confirms the view.
			for _, x := range []*text.Text{a, b} {
				apertest.MustApply(t, x, ev(uint64(keep+2), "bob", text.Edit{Base: x.Version(), Op: text.MustOp(text.Retain(x.Len()), text.Insert("!"))}))
				assert.Equal(t, x.Version(), x.Base())
			}
			apertest.Equal(t, a, b)
		}
	}
}

func TestTextDecodingRefusesBadSnapshots(t *testing.T) {
	tests := []string{
		`{"version":1,"text":"ab","keep":4,"history":[{"base":0,"sent":[1]}]}`,         // history ends at length 1, text has 2
		`{"version":1,"text":"ab","keep":4,"history":[{"base":3,"sent":[2]}]}`,         // base after its version
		`{"version":0,"text":"ab","keep":4,"history":[{"base":0,"sent":[2]}]}`,         // more history than versions
		`{"version":2,"text":"ab","keep":1,"history":[{"sent":[2]},{"sent":[2]}]}`,     // more history than kept
		`{"version":2,"text":"ab","keep":4,"history":[{"sent":[1,"a"]},{"sent":[1]}]}`, // ops do not chain
		`{"version":2,"text":"ab","keep":-1}`,
		`{"version":2,"text":"ab","keep":4,"local":1}`, // optimistic edits missing from a history with room for them
		`{"version":2,"text":"ab","keep":0,"local":3}`, // more optimistic edits than versions
		`{"version":2,"text":"ab","keep":0,"local":-1}`,
		`{"version":"x"}`,
		`[]`,
	}
	for _, s := range tests {
		var tx text.Text
		require.Error(t, json.Unmarshal([]byte(s), &tx), s)
	}
	// Ann's edit of version 2 was based on 0: her queue holds Bob's two edits as they apply
	// after hers.
	const hist = `"version":3,"text":"yxab1","keep":4,"history":[{"author":"bob","base":0,"sent":["x",2]},{"author":"bob","base":1,"sent":["y",3]},{"author":"ann","base":0,"sent":[2,"1"],"applied":[4,"1"]}]`
	for _, s := range []string{
		`{` + hist + `,"format":1}`, // Ann's queue is missing
		`{` + hist + `,"format":1,"queues":[{"author":"ann","ops":[["x",3]]}]}`,                                                  // too short
		`{` + hist + `,"format":1,"queues":[{"author":"ann","ops":[["x",3],["y",4],[5]]}]}`,                                      // too long
		`{` + hist + `,"format":1,"queues":[{"author":"ann","ops":[["x",2],["y",3]]}]}`,                                          // ends at the wrong length
		`{` + hist + `,"format":1,"queues":[{"author":"ann","ops":[["x",3],["y",5]]}]}`,                                          // does not chain
		`{` + hist + `,"format":1,"queues":[{"author":"ann","ops":[["x",3],["y",4]]},{"author":"bob","ops":[[5]]}]}`,             // Bob has no queue
		`{` + hist + `,"format":1,"queues":[{"author":"ann","ops":[["x",3],["y",4]]},{"author":"ann","ops":[["x",3],["y",4]]}]}`, // twice
		`{` + hist + `,"format":1,"queues":[{"author":"cid","ops":[[5]]},{"author":"ann","ops":[["x",3],["y",4]]}]}`,             // out of order, unknown
		`{` + hist + `,"format":3,"queues":[{"author":"ann","ops":[["x",3],["y",4]]}]}`,                                          // unknown format
		`{` + hist + `,"queues":[{"author":"ann","ops":[["x",3],["y",4]]}]}`,                                                     // queues without a format
	} {
		var tx text.Text
		err := json.Unmarshal([]byte(s), &tx)
		require.Error(t, err, s)
		t.Log(err)
	}
	var tx text.Text
	require.NoError(t, json.Unmarshal([]byte(`{`+hist+`,"format":1,"queues":[{"author":"ann","ops":[["x",3],["y",4]]}]}`), &tx))
	require.NoError(t, text.CheckInvariants(&tx))
	// Ann's next edit, based on 1 ("xab" plus her "1"), goes over Bob's "y" only.
	apertest.MustApply(t, &tx, ev(4, "ann", text.Edit{Base: 1, Op: text.MustOp(text.Retain(4), text.Insert("2"))}))
	assert.Equal(t, "yxab12", tx.String())

	require.NoError(t, json.Unmarshal([]byte(`{"version":2,"text":"ab","keep":4,"format":1,"history":[{"sent":["a"]},{"sent":[1,"b"]}]}`), &tx))
	assert.Equal(t, "ab", tx.String())
	assert.Equal(t, uint64(0), tx.Oldest())
	// A snapshot without a format predates the per-author state: its history is dropped.
	require.NoError(t, json.Unmarshal([]byte(`{"version":2,"text":"ab","keep":4,"local":1,"history":[{"sent":["a"]},{"sent":[1,"b"]}]}`), &tx))
	assert.Equal(t, "ab", tx.String())
	assert.Equal(t, uint64(2), tx.Oldest())
	assert.Equal(t, uint64(2), tx.Base())
}

func FuzzTextDecode(f *testing.F) {
	tx := text.New("ab")
	apertest.MustApply(f, tx, ev(1, "a", tx.Insert(1, "😀")))
	apertest.MustApply(f, tx, ev(2, "b", text.Edit{Base: 0, Op: text.MustOp(text.Insert("x"), text.Retain(2))}))
	for _, c := range aper.Codecs() {
		b, _ := c.Marshal(tx)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, c := range aper.Codecs() {
			var got text.Text
			if err := c.Unmarshal(b, &got); err != nil {
				continue
			}
			if err := text.CheckInvariants(&got); err != nil {
				t.Fatal(err)
			}
			apertest.RoundTrip(t, &got)
			// Late edits either apply or conflict, never panic; so do edits at the version.
			_ = got.Apply(ev(1, "z", text.Edit{Base: got.Oldest(), Op: text.MustOp(text.Insert("q"), text.Retain(got.Len()))}))
			_ = got.Apply(ev(2, "y", got.Insert(got.Len(), "r")))
			_ = got.Apply(ev(3, "z", got.Insert(0, "s")))
			if err := text.CheckInvariants(&got); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestReplayTracesReachTheirEndContent(t *testing.T) {
	for _, name := range []string{"sveltecomponent", "automerge-paper"} {
		if testing.Short() && name != "sveltecomponent" {
			continue
		}
		tr, err := traces.Load(name)
		require.NoError(t, err)
		tx := replay(t, tr)
		require.Equal(t, tr.EndContent, tx.String(), name)
		require.Equal(t, uint64(tr.Patches()), tx.Version())
		require.NoError(t, text.CheckInvariants(tx))
	}
}

func TestVersionCannotWrap(t *testing.T) {
	var tx text.Text
	require.NoError(t, json.Unmarshal([]byte(`{"version":18446744073709551614,"text":"ab","keep":4}`), &tx))
	apertest.MustApply(t, &tx, ev(1, "a", tx.Insert(0, "x")))
	require.Equal(t, uint64(1<<64-1), tx.Version())
	// A next version would wrap to 0 and index the history backwards.
	apertest.Conflicts(t, &tx, ev(2, "a", tx.Insert(0, "y")), conflict.OutOfRange)
	apertest.Conflicts(t, &tx, ev(2, "b", text.Edit{Base: 0, Op: text.MustOp(text.Retain(3))}), conflict.StaleBase)
	require.Equal(t, "xab", tx.String())
}

// TestOwnEditThatExpiresItsAuthorsStateKeepsIt: an author whose latest edit left the history
// window still has state until its chunk of the history is dropped. When the author's next edit
// is the one whose push drops that chunk, the author's state must be the new one, not lost with
// the old (found by the fuzz package: replicas whose chunks end elsewhere kept it, and their
// encodings differed).
func TestOwnEditThatExpiresItsAuthorsStateKeepsIt(t *testing.T) {
	for n := 0; n < 120; n++ {
		tx := text.NewWithHistory("", 40)
		ins := func(who aper.ClientID, seq uint64) {
			e := tx.Insert(tx.Len(), "x")
			require.NoError(t, tx.Apply(aper.Event[text.Edit]{Seq: seq, Client: who, Transition: e}))
		}
		seq := uint64(1)
		ins("a", seq)
		for range n {
			seq++
			ins("b", seq)
		}
		seq++
		ins("a", seq)
		require.NoError(t, text.CheckInvariants(tx), "after %d edits of b", n)
		apertest.RoundTrip(t, tx)
	}
}

// TestAuthorFarBehindIsNotStale: an author whose edits are based further and further behind the
// text (a client slower than the room, or far from the server), well past the history limit,
// still has each edit applied: the text holds the history back to the Base of the author's
// latest edit, and lets it go once that is HistoryStretch times the limit back.
func TestAuthorFarBehindIsNotStale(t *testing.T) {
	const keep = 32
	srv := text.NewWithHistory("", keep)
	slow := text.NewWithHistory("", keep) // the slow author's confirmed text: the server's, late
	var evs []aper.Event[text.Edit]
	apply := func(who aper.ClientID, e text.Edit) {
		t.Helper()
		ev := aper.Event[text.Edit]{Seq: uint64(len(evs) + 1), Client: who, Transition: e}
		require.NoError(t, srv.Apply(ev), "%s's edit based on %d at version %d", who, e.Base, srv.Version())
		evs = append(evs, ev)
	}
	fast := func(n int) {
		for range n {
			apply("fast", srv.Insert(0, "f"))
		}
	}
	maxLag := 0
	for j := range 40 {
		lag := min(10+20*j, keep*text.HistoryStretch-keep)
		maxLag = max(maxLag, lag)
		fast(lag + 1) // past the slow author's previous edit, so its text holds that edit
		for slow.Version() < srv.Version()-uint64(lag) {
			require.NoError(t, slow.Apply(evs[slow.Version()]))
		}
		apply("slow", slow.Insert(slow.Len(), "s"))
		// At most HistoryStretch times the limit, give or take the 32 edits between two looks.
		require.GreaterOrEqual(t, srv.Oldest()+uint64(keep*text.HistoryStretch+32), srv.Version(), "the history holds at most HistoryStretch times its limit")
	}
	require.Greater(t, maxLag, 4*keep)
	require.True(t, strings.HasSuffix(srv.String(), strings.Repeat("s", 40)), "each of the slow author's edits appends: %q", srv.String())
	for _, got := range apertest.RoundTrip(t, srv) {
		require.NoError(t, text.CheckInvariants(got))
	}
	// Once the slow author has stopped for long enough, the history goes back to its limit.
	fast(keep + 3*maxLag + 64)
	require.Equal(t, srv.Version()-keep, srv.Oldest())
	require.NoError(t, text.CheckInvariants(srv))
}
