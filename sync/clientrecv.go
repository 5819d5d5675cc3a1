package sync

import (
	"fmt"
	"strings"
)

// inbound is a decoded frame with its decoded payload.
type inbound[S, T any] struct {
	f    frame
	t    T
	snap S
	pres raw
}

// decodeMessage decodes one transport message from the server into frames for the client core
// (see clientCore.receive), with their payloads: what can be done without the client's lock.
// first says it is the answer to the hello, which must begin with a welcome. recv holds a
// chunked snapshot across messages: a welcome that starts one, and its chunks, give no frame
// until the last chunk, which gives the welcome with the whole snapshot. An error frame ends
// the message: its *ServerError is the error, and the frames before it are returned.
func decodeMessage[S, T any](w *wire, msg []byte, first bool, recv *snapRecv) ([]inbound[S, T], error) {
	var (
		items      []inbound[S, T]
		sawWelcome bool
	)
	// snapshot adds the welcome of a chunked snapshot that is now complete.
	snapshot := func() error {
		data, wf, err := recv.finish()
		if err != nil {
			return err
		}
		it := inbound[S, T]{f: *wf}
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
		it := inbound[S, T]{f: *f}
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
			if f.Snapshot {
				if err := unmarshal(w.payload, f.Data, &it.snap); err != nil {
					return fmt.Errorf("%w: snapshot: %v", ErrProtocol, err)
				}
			}
		case frameConfirmed:
			if err := unmarshal(w.payload, f.Data, &it.t); err != nil {
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
				it.pres = append(raw(nil), f.Data...)
				break
			}
			return fmt.Errorf("%w: the server answered hello with %v", ErrProtocol, f.Type)
		case frameRejected, framePong:
		default:
			return fmt.Errorf("%w: unexpected %v frame from the server", ErrProtocol, f.Type)
		}
		it.f.Data = nil
		items = append(items, it)
		return nil
	})
	return items, err
}
