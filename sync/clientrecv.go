package sync

import (
	"fmt"
	"strings"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
)

// inbound is a decoded frame with its decoded payload: of the frame, only what the client core
// reads (a confirmed frame is most of what a client receives, and copying the whole frame for
// each cost a busy client a sixth of its time), and the whole welcome.
type inbound[S, T any] struct {
	f       frameHead
	welcome *frame // the welcome frame, for a welcome
	t       T
	snap    S
	pres    raw
}

// frameHead is the part of a frame other than a welcome that the client core reads.
type frameHead struct {
	Type     frameType
	Client   aper.ClientID
	Inst     aper.ClientID
	Seq      uint64
	Local    uint64
	Time     int64
	Conflict *conflict.Conflict
	Code     string
}

// headOf returns the head of f.
func headOf(f *frame) frameHead {
	return frameHead{Type: f.Type, Client: f.Client, Inst: f.Inst, Seq: f.Seq, Local: f.Local, Time: f.Time, Conflict: f.Conflict, Code: f.Code}
}

// welcomeItem returns the inbound of the welcome wf.
func welcomeItem[S, T any](wf *frame) inbound[S, T] {
	w := *wf
	w.Data = nil
	return inbound[S, T]{f: headOf(wf), welcome: &w}
}

// decodeMessage decodes one transport message from the server into frames for the client core
// (see clientCore.receive), with their payloads: what can be done without the client's lock.
// first says it is the answer to the hello, which must begin with a welcome. recv holds a
// chunked snapshot across messages: a welcome that starts one, and its chunks, give no frame
// until the last chunk, which gives the welcome with the whole snapshot. An error frame ends
// the message: its *ServerError is the error, and the frames before it are returned. The frames
// are appended to items[:0], a buffer the caller reuses from message to message.
func decodeMessage[S, T any](items []inbound[S, T], w *wire, msg []byte, first bool, recv *snapRecv) ([]inbound[S, T], error) {
	items = items[:0]
	var sawWelcome bool
	// snapshot adds the welcome of a chunked snapshot that is now complete.
	snapshot := func() error {
		data, wf, err := recv.finish()
		if err != nil {
			return err
		}
		it := welcomeItem[S, T](wf)
		if err := unmarshal(w.payload, data, &it.snap); err != nil {
			return fmt.Errorf("%w: snapshot: %v", ErrProtocol, err)
		}
		items = append(items, it)
		return nil
	}
	err := w.decode(msg, func(f *frame) error {
		if first && !sawWelcome && f.Type != frameWelcome && f.Type != frameError {
			return fmt.Errorf("%w: the server answered hello with %v", ErrProtocol, f.Type)
		}
		if recv.active() && f.Type != frameChunk && f.Type != frameError {
			return fmt.Errorf("%w: a %v frame in the middle of a snapshot's chunks", ErrProtocol, f.Type)
		}
		switch f.Type {
		case frameWelcome:
			if !first || sawWelcome {
				return fmt.Errorf("%w: a second welcome", ErrProtocol)
			}
			sawWelcome = true
			if f.V != ProtocolVersion {
				return &VersionError{Peer: f.V, Ours: ProtocolVersion}
			}
			if f.Snapshot && f.Size > 0 {
				// A chunked snapshot: the welcome takes effect with its last chunk.
				done, err := recv.start(f, w)
				if err != nil || !done {
					return err
				}
				return snapshot()
			}
			recv.reset() // what an earlier connection received of a snapshot is of no use now
			it := welcomeItem[S, T](f)
			if f.Snapshot {
				if err := unmarshal(w.payload, f.Data, &it.snap); err != nil {
					return fmt.Errorf("%w: snapshot: %v", ErrProtocol, err)
				}
			}
			items = append(items, it)
		case frameConfirmed:
			// Decoded in place, in the caller's buffer.
			items = append(items, inbound[S, T]{f: headOf(f)})
			if err := unmarshalData(w, f, &items[len(items)-1].t); err != nil {
				items[len(items)-1] = inbound[S, T]{}
				items = items[:len(items)-1]
				return fmt.Errorf("%w: confirmed %d: %v", ErrProtocol, f.Seq, err)
			}
		case frameChunk:
			done, err := recv.add(f)
			if err != nil || !done {
				return err
			}
			return snapshot()
		case frameError:
			// The server's reason, without a prefix of ours that the ServerError prints.
			return &ServerError{Code: f.Code, Message: strings.TrimPrefix(f.Message, prefix), Fatal: f.Fatal}
		case framePresence:
			if !first || sawWelcome {
				items = append(items, inbound[S, T]{f: headOf(f), pres: append(raw(nil), f.Data...)})
				break
			}
			return fmt.Errorf("%w: the server answered hello with %v", ErrProtocol, f.Type)
		case frameRejected, framePong:
			items = append(items, inbound[S, T]{f: headOf(f)})
		default:
			return fmt.Errorf("%w: unexpected %v frame from the server", ErrProtocol, f.Type)
		}
		return nil
	})
	return items, err
}
