package sync

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
	"github.com/fxamacker/cbor/v2"
)

// ProtocolVersion is the version of the wire protocol this package speaks. A client sends it in
// its hello and the server answers a different one with a fatal error frame (code "version") and
// closes the connection.
const ProtocolVersion = 2

// The wire protocol, version 2 (version 1 had no client keys).
//
// Every transport message carries one or more frames: a CBOR sequence (RFC 8742) on a CBOR
// connection, JSON objects separated by newlines on a JSON connection (a browser splits on
// "\n"). A writer may coalesce queued frames into one message; a reader decodes frames until the
// message ends. Each frame is a [frame]
// value; its fields are small integers in CBOR and short names in JSON. A transition or a
// snapshot travels in the Data field as a nested value of the same codec, so the envelope
// decodes before the payload.
//
//	hello     client → server  first frame: V, Room, Key (the client's secret: 16 to 128 bytes,
//	                           random, the same on every connection of one client and never
//	                           sent to anyone else), Nonce (random, drawn once per Client
//	                           object) and Attempt (1, 2, 3, ... per connection it makes),
//	                           Client (empty on the first connection, the id the server gave
//	                           otherwise), Resume (the client holds the state at Seq), Seq,
//	                           Local (every local seq ≤ Local is resolved for the client: the
//	                           server may forget its rejections); Part, Off and Sum when the
//	                           client holds the first Off bytes of a chunked snapshot of Seq
//	                           Part whose SHA-256 is Sum (an earlier connection broke mid-transfer)
//	welcome   server → client  V, Client (the id to use from now on), Inst (the client's
//	                           instance, when it differs from Client), Local (the highest local
//	                           seq the server has processed, applied or rejected, for this
//	                           client; a client's first welcome tells it where to number from),
//	                           Rejected (rejections above the hello's Local), Unsure (the
//	                           outcome of a local seq ≤ Unsure that is in neither Rejected nor
//	                           the frames that follow is unknown to the server), Time
//	                           (server clock), and either Snapshot with Data (the state at Seq)
//	                           or a resume: Seq (as in the hello) and Upto; the confirmed frames
//	                           Seq+1..Upto follow at once. A snapshot too large for one message
//	                           is chunked: Snapshot with Seq, Size (its encoded length), Sum (its
//	                           SHA-256) and Off, no Data; chunk frames carrying bytes Off..Size
//	                           follow at once, before any other frame. Off is 0, or the hello's
//	                           Off when the server could produce the same snapshot (same Seq and
//	                           Sum) again: the transfer resumes where it broke
//	chunk     server → client  Seq, Off, Chunk: bytes Off..Off+len(Chunk) of the snapshot the
//	                           welcome announced, in order and without gaps; the last one
//	                           completes Size bytes, whose SHA-256 must be Sum
//	submit    client → server  Local (the client's own sequence number, 1, 2, 3, ...), Data
//	confirmed server → all     Seq, Time, Client (the sender, empty for server events), Inst
//	                           (the sender's instance, when it differs from Client), Local (the
//	                           sender's local seq), Data: the transition in the room's order
//	rejected  server → sender  Local, Conflict: the transition was not applied and is never
//	                           broadcast
//	error     server → client  Code, Message, Fatal (do not reconnect); the server closes the
//	                           connection after it
//	ping/pong either way       Time (the sender's clock in a pong from the server)
//	presence  client → server  Data: the client's presence value (null clears it)
//	          server → others  Client, Data: another client's presence (absent or null: gone)
//
// Who a client is: its instance is a hash of the hello's Key, so that no client can take
// another's (instances and ids are public: confirmed frames carry them) and a client that keeps
// its key stays the same instance across connections and restarts. Exactly-once counts local
// seqs per instance. Its client id (Event.Client) is the authentication hook's Identity.Client
// when the hook names one (several instances, a user's devices, may share it), else the
// instance. One connection per instance: a newer connection (a higher Attempt of the same Nonce)
// supersedes the attached one, which gets a "superseded" error; an older one is refused with
// "stale". The error is fatal, and the superseded Client stops, when the Nonce differs: another
// process holds a copy of the key.
//
// A hello may also carry Token (for the server's authentication hook), and, on a connection
// that one server of a cluster relays to another, Relay: the identity the first established,
// which the second trusts only on a connection from its cluster (see [MemberConn]). A welcome
// also carries
// Presence, the presence values of the other clients of the room. A rejected frame may carry a
// Code when the server refused the transition before applying it (a limit, a permission): see
// [RefusedError].
//
// Frames of an unknown type are a protocol error: the connection closes.
type frame struct {
	Type     frameType          `json:"t" cbor:"1,keyasint"`
	V        int                `json:"v,omitempty" cbor:"2,keyasint,omitempty"`
	Room     string             `json:"room,omitempty" cbor:"3,keyasint,omitempty"`
	Client   aper.ClientID      `json:"client,omitempty" cbor:"4,keyasint,omitempty"`
	Seq      uint64             `json:"seq,omitempty" cbor:"5,keyasint,omitempty"`
	Upto     uint64             `json:"upto,omitempty" cbor:"6,keyasint,omitempty"`
	Local    uint64             `json:"local,omitempty" cbor:"7,keyasint,omitempty"`
	Time     int64              `json:"time,omitempty" cbor:"8,keyasint,omitempty"` // Unix nanoseconds
	Resume   bool               `json:"resume,omitempty" cbor:"9,keyasint,omitempty"`
	Snapshot bool               `json:"snapshot,omitempty" cbor:"10,keyasint,omitempty"`
	Data     raw                `json:"data,omitempty" cbor:"11,keyasint,omitempty"`
	Conflict *conflict.Conflict `json:"conflict,omitempty" cbor:"12,keyasint,omitempty"`
	Rejected []rejectionRecord  `json:"rejected,omitempty" cbor:"13,keyasint,omitempty"`
	Code     string             `json:"code,omitempty" cbor:"14,keyasint,omitempty"`
	Message  string             `json:"msg,omitempty" cbor:"15,keyasint,omitempty"`
	Fatal    bool               `json:"fatal,omitempty" cbor:"16,keyasint,omitempty"`
	Token    string             `json:"token,omitempty" cbor:"17,keyasint,omitempty"`
	Presence []presenceRecord   `json:"presence,omitempty" cbor:"18,keyasint,omitempty"`
	Key      string             `json:"key,omitempty" cbor:"19,keyasint,omitempty"`
	Unsure   uint64             `json:"unsure,omitempty" cbor:"20,keyasint,omitempty"`
	Inst     aper.ClientID      `json:"inst,omitempty" cbor:"21,keyasint,omitempty"`
	Nonce    uint64             `json:"nonce,omitempty" cbor:"22,keyasint,omitempty"`
	Attempt  uint64             `json:"attempt,omitempty" cbor:"23,keyasint,omitempty"`
	Size     uint64             `json:"size,omitempty" cbor:"24,keyasint,omitempty"`
	Off      uint64             `json:"off,omitempty" cbor:"25,keyasint,omitempty"`
	Sum      []byte             `json:"sum,omitempty" cbor:"26,keyasint,omitempty"`
	Chunk    []byte             `json:"chunk,omitempty" cbor:"27,keyasint,omitempty"`
	Part     uint64             `json:"part,omitempty" cbor:"28,keyasint,omitempty"`
	Relay    *relayedIdentity   `json:"relay,omitempty" cbor:"29,keyasint,omitempty"`

	// dataChecked says Data is a single well-formed, definite-length, untagged CBOR item with
	// valid UTF-8 text (fastCBOR checked it); not on the wire.
	dataChecked bool
}

// presenceRecord is one client's presence value in a welcome.
type presenceRecord struct {
	Client aper.ClientID `json:"client" cbor:"1,keyasint"`
	Data   raw           `json:"data" cbor:"2,keyasint"`
}

// frameType says what a frame is.
type frameType uint8

const (
	frameHello     frameType = 1
	frameWelcome   frameType = 2
	frameSubmit    frameType = 3
	frameConfirmed frameType = 4
	frameRejected  frameType = 5
	frameError     frameType = 6
	framePing      frameType = 7
	framePong      frameType = 8
	framePresence  frameType = 9
	frameChunk     frameType = 10
)

func (t frameType) String() string {
	switch t {
	case frameHello:
		return "hello"
	case frameWelcome:
		return "welcome"
	case frameSubmit:
		return "submit"
	case frameConfirmed:
		return "confirmed"
	case frameRejected:
		return "rejected"
	case frameError:
		return "error"
	case framePing:
		return "ping"
	case framePong:
		return "pong"
	case framePresence:
		return "presence"
	case frameChunk:
		return "chunk"
	}
	return fmt.Sprintf("frame type %d", uint8(t))
}

// rejectionRecord is a rejection the server still remembers for a client, sent in a welcome so
// that a rejection lost with a connection still reaches its sender.
type rejectionRecord struct {
	Local    uint64             `json:"local" cbor:"1,keyasint"`
	Conflict *conflict.Conflict `json:"conflict" cbor:"2,keyasint"`
	Code     string             `json:"code,omitempty" cbor:"3,keyasint,omitempty"`
}

// Error codes of error frames.
const (
	codeVersion    = "version"      // the peer speaks another protocol version (fatal)
	codeProtocol   = "protocol"     // a malformed or unexpected frame
	codeRoom       = "room"         // the room could not be loaded
	codeNoRoom     = "no-room"      // the room factory says the name names no room (fatal)
	codeShutdown   = "shutdown"     // the server is shutting down
	codeSuperseded = "superseded"   // a newer connection of the same client instance joined
	codeStale      = "stale"        // an older connection of a client instance that has a newer one
	codeOverflow   = "overflow"     // the client fell too far behind
	codeAuth       = "unauthorized" // the authentication hook refused the client (fatal)
	codeLimit      = "limit"        // a server or room limit: too many rooms or clients
	codeTimeout    = "timeout"      // the connection was silent for too long
	codeNewRooms   = "new-rooms"    // the client loaded as many rooms as it may this minute
	codeTooLarge   = "too-large"    // a frame for the client was over the message limit
	codeRestored   = "restored"     // the room was restored to a past state: reconnect to load it
	codeKicked     = "kicked"       // Server.Kick closed the connection (fatal)

	// Codes of refused transitions (rejected frames), see RefusedError.
	codeForbidden = "forbidden" // the permission hook refused it
	codeRate      = "rate"      // over the client's transitions per second
	codePending   = "pending"   // over the client's transitions in flight
	codeSize      = "size"      // the transition is too large
)

// unmarshal decodes a payload (a transition, a snapshot) with codec c into v. A panic in a
// decoder of the application's own types is an error: bytes from the network must not bring the
// process down.
func unmarshal(c aper.Codec, b []byte, v any) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in the decoder: %v", p)
		}
	}()
	return c.Unmarshal(b, v)
}

// unmarshalData decodes f.Data, a transition in codec w, into v. The general CBOR decoder checks
// that its input is one well-formed item and then hands it as it is to the UnmarshalCBOR of a v
// that has one; for Data that fastCBOR checked already, such a v is called directly, which gives
// the same result without a second pass over the bytes (every client decodes every transition of
// its room).
func unmarshalData(w *wire, f *frame, v any) (err error) {
	if u, ok := v.(interface{ UnmarshalCBOR([]byte) error }); ok && f.dataChecked && w == wireCBOR {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic in the decoder: %v", p)
			}
		}()
		return u.UnmarshalCBOR(f.Data)
	}
	return unmarshal(w.payload, f.Data, v)
}

// nullPayload reports whether a payload is absent or an encoded null (aper.IsNull).
func nullPayload(b []byte) bool {
	return len(b) == 0 || aper.IsNull(b)
}

// raw is a nested payload encoded with the frame's own codec: json.RawMessage on JSON,
// cbor.RawMessage on CBOR.
type raw []byte

func (r raw) MarshalJSON() ([]byte, error) {
	if len(r) == 0 {
		return []byte("null"), nil
	}
	return r, nil
}

func (r *raw) UnmarshalJSON(b []byte) error {
	*r = append((*r)[:0], b...)
	return nil
}

func (r raw) MarshalCBOR() ([]byte, error) {
	if len(r) == 0 {
		return []byte{0xf6}, nil
	}
	return r, nil
}

func (r *raw) UnmarshalCBOR(b []byte) error {
	*r = append((*r)[:0], b...)
	return nil
}

// wire is one codec of the protocol: how frames are written and read, and the aper.Codec of the
// payloads inside them.
type wire struct {
	idx     int // index into per-codec caches: 0 JSON, 1 CBOR
	payload aper.Codec
}

const numWires = 2

var (
	wireJSON = &wire{idx: 0, payload: aper.JSON}
	wireCBOR = &wire{idx: 1, payload: aper.CBOR}
	wires    = [numWires]*wire{wireJSON, wireCBOR}
)

var cborEnc, cborDec = func() (cbor.EncMode, cbor.DecMode) {
	enc, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	dec, err := cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		MaxNestedLevels:  32,
		MaxArrayElements: 1 << 16,
		MaxMapPairs:      1 << 16,
		UTF8:             cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return enc, dec
}()

// wireByName returns the wire of an aper codec name.
func wireByName(name string) (*wire, bool) {
	switch name {
	case "json":
		return wireJSON, true
	case "cbor":
		return wireCBOR, true
	}
	return nil, false
}

// errorFrame returns the error frame that tells a client why the server ends its connection:
// reason's code, message and fatality. Every error frame the server sends is made here. An error
// frame always encodes (its fields are strings and a bool), so it returns no error.
func errorFrame(w *wire, reason *ServerError) []byte {
	b, _ := w.encode(&frame{Type: frameError, Code: reason.Code, Message: reason.Message, Fatal: reason.Fatal})
	return b
}

// encode returns f's encoding as one frame.
func (w *wire) encode(f *frame) ([]byte, error) {
	var (
		b   []byte
		err error
	)
	if w == wireJSON {
		b, err = json.Marshal(f)
	} else {
		b, err = cborEnc.Marshal(f)
	}
	if err != nil {
		return nil, fmt.Errorf("aper/sync: encode %v frame: %w", f.Type, err)
	}
	return b, nil
}

// decode calls fn for each frame of msg, in order, and stops at the first error. A frame whose
// type is unknown is an error. fn must not keep f: the next frame reuses it.
func (w *wire) decode(msg []byte, fn func(f *frame) error) error {
	if len(msg) == 0 {
		return fmt.Errorf("%w: empty message", ErrProtocol)
	}
	var f frame
	if w == wireJSON {
		dec := json.NewDecoder(bytes.NewReader(msg))
		for {
			f = frame{}
			err := dec.Decode(&f)
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%w: %v", ErrProtocol, err)
			}
			if err := checkFrame(&f); err != nil {
				return err
			}
			if err := fn(&f); err != nil {
				return err
			}
		}
	}
	rest := msg
	for len(rest) > 0 {
		f = frame{}
		if r, ok := fastCBOR(rest, &f); ok {
			rest = r
		} else {
			f = frame{}
			var err error
			rest, err = cborDec.UnmarshalFirst(rest, &f)
			if err != nil {
				return fmt.Errorf("%w: %v", ErrProtocol, err)
			}
		}
		if err := checkFrame(&f); err != nil {
			return err
		}
		if err := fn(&f); err != nil {
			return err
		}
	}
	return nil
}

func checkFrame(f *frame) error {
	if f.Type < frameHello || f.Type > frameChunk {
		return fmt.Errorf("%w: unknown frame type %d", ErrProtocol, f.Type)
	}
	if f.Type == frameRejected && f.Conflict == nil {
		return fmt.Errorf("%w: a rejected frame without its conflict", ErrProtocol)
	}
	for _, r := range f.Rejected {
		if r.Conflict == nil {
			return fmt.Errorf("%w: a rejection record without its conflict", ErrProtocol)
		}
	}
	return nil
}

// appendFrame appends one encoded frame to a message being coalesced. JSON frames are separated
// by a newline for readability.
func (w *wire) appendFrame(msg, fr []byte) []byte {
	if w == wireJSON && len(msg) > 0 {
		msg = append(msg, '\n')
	}
	return append(msg, fr...)
}
