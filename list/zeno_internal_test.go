package list

import (
	"bytes"
	"strings"
	"testing"

	"github.com/aper-go/aper"
)

// TestMarshalCBORShortestHeader checks the byte string header for every length class, including
// the 4-byte one that only an index over MaxIndexLen (made here by hand) needs: CBOR's
// deterministic encoding uses the shortest header, so two encoders agree byte for byte.
func TestMarshalCBORShortestHeader(t *testing.T) {
	for _, tt := range []struct {
		n    int
		head []byte
	}{
		{23, []byte{0x57}},
		{24, []byte{0x58, 24}},
		{0xff, []byte{0x58, 0xff}},
		{0x100, []byte{0x59, 0x01, 0x00}},
		{0xffff, []byte{0x59, 0xff, 0xff}},
		{0x10000, []byte{0x5a, 0x00, 0x01, 0x00, 0x00}},
	} {
		z := ZenoIndex{b: strings.Repeat("\x01", tt.n)}
		got, err := z.MarshalCBOR()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(got, tt.head) || len(got) != len(tt.head)+tt.n {
			t.Errorf("%d bytes: header % x, want % x", tt.n, got[:min(len(got), 9)], tt.head)
		}
		want, err := aper.CBOR.Marshal([]byte(z.b)) // the codec's own encoding of the bytes
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%d bytes: MarshalCBOR differs from the codec's encoding of the same bytes", tt.n)
		}
	}
}
