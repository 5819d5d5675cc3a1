package sync

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aper-go/aper"
)

// Presence is another client's presence value, as the server last told this client.
type Presence struct {
	Client aper.ClientID
	data   raw
	codec  aper.Codec
}

// Decode decodes the value into v, as the codec of the connection decodes it (a value set as a
// struct decodes into the same struct; into an any, JSON gives map[string]any and float64).
func (p Presence) Decode(v any) error {
	if err := p.codec.Unmarshal(p.data, v); err != nil {
		return fmt.Errorf("aper/sync: presence of %s: %w", p.Client, err)
	}
	return nil
}

// SetPresence sets this client's presence value (a name, a cursor, a selection: any value the
// connection's codec encodes), which the server passes to the room's other clients: unordered,
// last value wins, not part of the state, never journaled. nil clears it. The value is gone for
// everyone when the client closes, or its connection drops or times out; the client sends it
// again when it reconnects. Values set faster than the presence interval (WithPresenceInterval)
// are coalesced: the last one is always sent.
//
// In a room with both JSON and CBOR clients the server converts values through a generic value:
// use values that encode alike in both codecs (maps with string keys; structs whose JSON and
// CBOR field names agree, not CBOR "keyasint" ones); a value that does not convert does not reach
// the other codec's clients.
func (c *Client[S, T]) SetPresence(v any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx.Err() != nil || c.status.State == Closed {
		return fmt.Errorf("aper/sync: set presence: %w", ErrClosed)
	}
	if v != nil && c.core.peerCodec != nil {
		if _, err := c.core.peerCodec.Marshal(v); err != nil {
			return fmt.Errorf("aper/sync: set presence: %w", err)
		}
	}
	c.pres, c.presSet, c.presDirty = v, v != nil, true
	c.flushPresenceLocked(time.Now())
	return nil
}

// flushPresenceLocked sends the presence value if it is unsent and the interval allows, or arms
// the timer that sends it when it does.
func (c *Client[S, T]) flushPresenceLocked(now time.Time) {
	if !c.presDirty || c.cur == nil || c.presTimer != nil || c.ctx.Err() != nil {
		return
	}
	if !c.presLast.IsZero() {
		if wait := c.presLast.Add(c.cfg.presenceInterval).Sub(now); wait > 0 {
			c.presTimer = time.AfterFunc(wait, c.presenceDue)
			return
		}
	}
	cc := c.cur
	data, err := cc.wire.payload.Marshal(c.pres)
	if err != nil {
		c.presDirty = false // checked by SetPresence; a value that stopped encoding is dropped
		return
	}
	b, err := cc.wire.encode(&frame{Type: framePresence, Data: data})
	if err == nil && cc.q.push(b) {
		c.presDirty, c.presLast = false, now
	}
}

func (c *Client[S, T]) presenceDue() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.presTimer = nil
	c.flushPresenceLocked(time.Now())
}

// Presence returns the presence values of the room's other clients, sorted by client id.
func (c *Client[S, T]) Presence() []Presence {
	c.mu.Lock()
	defer c.mu.Unlock()
	list := make([]Presence, 0, len(c.core.peers))
	for id, d := range c.core.peers {
		list = append(list, Presence{Client: id, data: d, codec: c.core.peerCodec})
	}
	slices.SortFunc(list, func(a, b Presence) int { return strings.Compare(string(a.Client), string(b.Client)) })
	return list
}

// PresenceChanges signals (coalesced) that Presence changed.
func (c *Client[S, T]) PresenceChanges() <-chan struct{} { return c.presCh }
