package sync_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"testing"

	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport/memory"
	"github.com/fxamacker/cbor/v2"
)

// scriptedServer accepts one connection on n, reads its hello and sends each of msgs as a
// message of its own, then waits for the client to hang up. The test's cleanup waits for it.
func scriptedServer(t *testing.T, n *memory.Network, msgs ...[]byte) {
	t.Helper()
	l, err := n.Listen("server")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		l.Close()
		<-done
	})
	go func() {
		defer close(done)
		c, err := l.Accept(context.Background())
		if err != nil {
			return
		}
		defer c.Close()
		if _, err := c.Recv(context.Background()); err != nil {
			return
		}
		for _, m := range msgs {
			if err := c.Send(context.Background(), m); err != nil {
				return
			}
		}
		for {
			if _, err := c.Recv(context.Background()); err != nil {
				return
			}
		}
	}()
}

// A server that gets a chunked snapshot wrong (or a hostile one) makes the client's join fail
// with an error matching ErrProtocol: chunks out of order, of another snapshot, a frame of
// another kind among them (the chunks follow the welcome before any other frame), undecodable bytes, bytes that do not match the checksum. The same
// snapshot, sent right, is joined.
func TestMalformedChunksFailTheJoin(t *testing.T) {
	state, err := cbor.Marshal(blob{Data: bigString(1000)})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(state)
	enc := func(m map[uint64]any) []byte {
		b, err := cbor.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	welcome := enc(map[uint64]any{1: 2, 2: apersync.ProtocolVersion, 4: "c1", 5: 7, 10: true, 24: len(state), 26: sum[:]})
	chunk := func(seq, off int, b []byte) []byte { return enc(map[uint64]any{1: 10, 5: seq, 25: off, 27: b}) }
	forged := bytes.Clone(state)
	forged[len(forged)-2] ^= 1 // inside the string: still a valid blob
	confirmed := enc(map[uint64]any{1: 4, 5: 8, 4: "c2", 11: cbor.RawMessage(enc(map[uint64]any{1: "x"}))})
	presence := enc(map[uint64]any{1: 9, 4: "c2", 11: cbor.RawMessage{0x64, 0x68, 0x65, 0x72, 0x65}}) // "here"

	for _, tc := range []struct {
		name string
		msgs [][]byte
	}{
		{"a gap", [][]byte{welcome, chunk(7, 0, state[:100]), chunk(7, 200, state[200:])}},
		{"an overlap", [][]byte{welcome, chunk(7, 0, state[:100]), chunk(7, 50, state[50:])}},
		{"another snapshot's chunk", [][]byte{welcome, chunk(8, 0, state)}},
		{"past the size", [][]byte{welcome, chunk(7, 0, append(bytes.Clone(state), 0))}},
		{"a confirmed frame among the chunks", [][]byte{welcome, chunk(7, 0, state[:100]), confirmed, chunk(7, 100, state[100:])}},
		{"a presence frame among the chunks", [][]byte{welcome, chunk(7, 0, state[:100]), presence, chunk(7, 100, state[100:])}},
		{"undecodable bytes", [][]byte{welcome, chunk(7, 0, state[:100]), {0xff, 0x00, 0x13}}},
		{"the wrong checksum", [][]byte{welcome, chunk(7, 0, forged)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := memory.NewNetwork(nil)
			t.Cleanup(func() { n.Close() })
			scriptedServer(t, n, tc.msgs...)
			c, err := apersync.Dial[*blob, blobT](ctxT(t), n.Dialer("server"), "r")
			if err == nil {
				c.Close()
				t.Fatal("joined")
			}
			if !errors.Is(err, apersync.ErrProtocol) {
				t.Fatalf("join failed with %v, want ErrProtocol", err)
			}
		})
	}

	t.Run("right", func(t *testing.T) {
		n := memory.NewNetwork(nil)
		t.Cleanup(func() { n.Close() })
		scriptedServer(t, n, welcome, chunk(7, 0, state[:100]), chunk(7, 100, state[100:600]), chunk(7, 600, state[600:]))
		c, err := apersync.Dial[*blob, blobT](ctxT(t), n.Dialer("server"), "r")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if c.Seq() != 7 || c.State().Data != bigString(1000) {
			t.Fatalf("joined at seq %d with %d bytes of state", c.Seq(), len(c.State().Data))
		}
	})
}
