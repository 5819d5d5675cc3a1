package sync

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/text"
)

// seedFrames are valid frames of every type, the starting points of the fuzzer.
func seedFrames() []frame {
	data, _ := aper.CBOR.Marshal(aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 3})
	applied := text.MustOp(text.Retain(4), text.Insert("é"), text.Delete(1))
	edit, _ := aper.CBOR.Marshal(text.Edit{Base: 3, Op: text.MustOp(text.Insert("é"), text.Delete(1), text.Retain(2)), Version: 9, Applied: &applied})
	sum := sha256.Sum256([]byte{0x05, 0x06})
	return []frame{
		{Type: frameConfirmed, Seq: 9, Client: "c2", Local: 5, Time: 2, Data: edit},
		{Type: frameHello, V: ProtocolVersion, Room: "r", Key: "0123456789abcdef", Nonce: 77, Attempt: 3, Client: "c1", Resume: true, Seq: 7, Local: 2},
		{Type: frameWelcome, V: ProtocolVersion, Client: "c1", Local: 3, Seq: 7, Upto: 9, Time: 1,
			Rejected: []rejectionRecord{{Local: 3, Conflict: conflict.New(conflict.NotFound, "gone")}}},
		{Type: frameWelcome, V: ProtocolVersion, Client: "c1", Snapshot: true, Seq: 9, Data: []byte{0x05}},
		{Type: frameSubmit, Local: 4, Data: data},
		{Type: frameConfirmed, Seq: 10, Client: "c1", Local: 4, Time: 99, Data: data},
		{Type: frameConfirmed, Seq: 11, Client: "user", Inst: "c1", Local: 5, Time: 99, Data: data},
		{Type: frameRejected, Local: 5, Conflict: &conflict.Conflict{Kind: conflict.OutOfRange, Path: []string{"a", "b"}, Message: "m"}},
		{Type: frameError, Code: codeVersion, Message: "no", Fatal: true},
		{Type: framePing}, {Type: framePong, Time: 5},
		{Type: framePresence, Data: data},
		{Type: framePresence, Client: "c2", Data: data},
		{Type: frameWelcome, V: ProtocolVersion, Client: "c1", Local: 70, Unsure: 6, Seq: 7, Upto: 7,
			Presence: []presenceRecord{{Client: "c2", Data: data}}},
		{Type: frameWelcome, V: ProtocolVersion, Client: "c1", Snapshot: true, Seq: 9, Size: 2, Sum: sum[:]},
		{Type: frameChunk, Seq: 9, Chunk: []byte{0x05}},
		{Type: frameChunk, Seq: 9, Off: 1, Chunk: []byte{0x06}},
		{Type: frameHello, V: ProtocolVersion, Room: "r", Key: "0123456789abcdef", Seq: 3, Part: 9, Off: 1, Sum: sum[:]},
	}
}

// FuzzCores feeds the frames of arbitrary bytes to both synchronous cores, as the server's reader
// and the client's handler pass them on: to a room core as one client's submits and presence,
// and to a client core holding a state, as the server's welcome, confirmed and rejected frames
// (a chunked welcome and its chunks through the assembly a Client does).
// Errors are fine; panics are not, and the room still orders a good client's transition after.
func FuzzCores(f *testing.F) {
	for _, w := range wires {
		for _, fr := range seedFramesFor(w) {
			b, err := w.encode(&fr)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b, w == wireJSON)
		}
	}
	type (
		st = *aper.Counter
		tr = aper.CounterTransition
	)
	f.Fuzz(func(t *testing.T, msg []byte, isJSON bool) {
		w := wireCBOR
		if isJSON {
			w = wireJSON
		}
		now := time.Unix(1, 0)
		room := newRoomCore("r", aper.NewCounter(0), roomConfig[st, tr]{logSize: 4, maxRejections: 4,
			newID: func() aper.ClientID { return "c" }, presenceEvery: time.Millisecond})
		const sess, good = sessionID(1), sessionID(2)
		room.join(sess, w, &frame{Type: frameHello, Client: "fuzz"}, Identity{}, now)
		room.join(good, w, &frame{Type: frameHello, Client: "good"}, Identity{}, now)
		var cl clientCore[st, tr]
		cl.welcome(&frame{Type: frameWelcome, V: ProtocolVersion, Client: "c1", Snapshot: true}, aper.NewCounter(0), now)
		cl.apply(tr{Op: aper.CounterOpAdd, Amount: 1}, now)
		var recv snapRecv
		chunked := func(done bool, err error) {
			if err != nil || !done {
				return
			}
			if data, wf, err := recv.finish(); err == nil {
				var snap st
				if unmarshal(w.payload, data, &snap) == nil {
					cl.welcome(wf, snap, now)
				}
			}
		}
		w.decode(msg, func(fr *frame) error {
			var t tr
			decoded := unmarshal(w.payload, fr.Data, &t) == nil
			switch fr.Type {
			case frameChunk:
				chunked(recv.add(fr))
				return nil
			case frameWelcome:
				if fr.Snapshot && fr.Size > 0 {
					chunked(recv.start(fr, w))
					return nil
				}
			}
			switch fr.Type {
			case frameSubmit:
				if decoded && fr.Local > 0 {
					room.submit(sess, batch[tr]{subs: []submission[tr]{{local: fr.Local, t: t}}}, now)
				}
			case framePresence:
				room.submit(sess, batch[tr]{presence: append(raw(nil), fr.Data...), hasPresence: true}, now)
				room.tick(now.Add(time.Second))
			case frameWelcome:
				var snap st
				if fr.Snapshot && unmarshal(w.payload, fr.Data, &snap) != nil {
					return nil
				}
				cl.welcome(fr, snap, now)
			case frameConfirmed:
				if decoded {
					h := headOf(fr)
					cl.confirmedFrame(&h, t)
				}
			case frameRejected:
				h := headOf(fr)
				cl.rejected(&h)
			}
			cl.rebase()
			return nil
		})
		room.leave(sess, now)
		before := room.seq
		room.submit(good, batch[tr]{subs: []submission[tr]{{local: 1, t: tr{Op: aper.CounterOpAdd, Amount: 1}}}}, now)
		if room.seq != before+1 {
			t.Fatalf("the room did not order a good transition after the fuzzed frames (seq %d)", room.seq)
		}
		room.takeReady()
	})
}

// seedFramesFor returns seedFrames with their payloads in w's codec.
func seedFramesFor(w *wire) []frame {
	frames := seedFrames()
	if w != wireJSON {
		return frames
	}
	js := []byte(`{"op":1,"n":3}`)
	for i := range frames {
		fr := &frames[i]
		if len(fr.Data) > 0 {
			fr.Data = js
		}
		for j := range fr.Presence {
			fr.Presence[j].Data = js
		}
	}
	return frames
}

// FuzzDecodeFrames feeds arbitrary bytes to the frame decoder of both codecs and to the
// payload decoding a room and a client do: errors are fine, panics are not, and every frame
// that decodes encodes again.
func FuzzDecodeFrames(f *testing.F) {
	for _, w := range wires {
		var msg []byte
		for _, fr := range seedFramesFor(w) {
			b, err := w.encode(&fr)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b, w == wireJSON)
			msg = w.appendFrame(msg, b)
		}
		f.Add(msg, w == wireJSON)
	}
	f.Fuzz(func(t *testing.T, msg []byte, isJSON bool) {
		if !isJSON {
			checkFastCBOR(t, msg)
		}
		w := wireCBOR
		if isJSON {
			w = wireJSON
		}
		w.decode(msg, func(fr *frame) error {
			if _, err := w.encode(fr); err != nil && len(fr.Data) == 0 {
				t.Fatalf("a decoded frame does not encode: %v", err)
			}
			var tr aper.MapTransition[string, *aper.Counter, aper.CounterTransition]
			if w.payload.Unmarshal(fr.Data, &tr) == nil {
				m := aper.NewMap[string, *aper.Counter, aper.CounterTransition]()
				m.Apply(aper.On(tr))
			}
			var snap *aper.Map[string, *aper.Counter, aper.CounterTransition]
			w.payload.Unmarshal(fr.Data, &snap)
			// A transition with its own UnmarshalCBOR decodes alike when it gets a checked
			// Data directly (unmarshalData) and through the general decoder.
			var direct, general text.Edit
			errD, errG := unmarshalData(w, fr, &direct), unmarshal(w.payload, fr.Data, &general)
			if (errD == nil) != (errG == nil) || (errD == nil && !reflect.DeepEqual(direct, general)) {
				t.Fatalf("data %x: decoded directly %+v (%v), by the general decoder %+v (%v)", fr.Data, direct, errD, general, errG)
			}
			return nil
		})
	})
}

// TestWriteFuzzSeeds writes the seed corpus to testdata/fuzz when APER_WRITE_SEEDS is set.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("APER_WRITE_SEEDS") == "" {
		t.Skip("set APER_WRITE_SEEDS=1 to rewrite the seed corpus")
	}
	for _, target := range []string{"FuzzDecodeFrames", "FuzzCores"} {
		dir := filepath.Join("testdata", "fuzz", target)
		os.MkdirAll(dir, 0o755)
		for _, w := range wires {
			for i, fr := range seedFramesFor(w) {
				b, _ := w.encode(&fr)
				body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nbool(%v)\n", b, w == wireJSON)
				name := filepath.Join(dir, fmt.Sprintf("%s-%s-%d", w.payload.Name(), fr.Type, i))
				if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// checkFastCBOR checks that the reflection-free decoder agrees with the general one.
func checkFastCBOR(t *testing.T, msg []byte) {
	var fast frame
	rest, ok := fastCBOR(msg, &fast)
	if !ok {
		return
	}
	var slow frame
	rest2, err := cborDec.UnmarshalFirst(msg, &slow)
	if err != nil {
		t.Fatalf("the fast decoder accepted %x, the general one says %v", msg, err)
	}
	if len(rest) != len(rest2) || !reflect.DeepEqual(normal(fast), normal(slow)) {
		t.Fatalf("decoders disagree on %x:\nfast %+v\nslow %+v", msg, fast, slow)
	}
}

func normal(f frame) frame {
	if len(f.Data) == 0 {
		f.Data = nil
	}
	f.dataChecked = false // the fast decoder's note
	return f
}

func TestFastCBORAgrees(t *testing.T) {
	for _, fr := range seedFrames() {
		b, _ := wireCBOR.encode(&fr)
		checkFastCBOR(t, b)
	}
}
