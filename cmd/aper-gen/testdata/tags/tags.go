package tags

import "github.com/aper-go/aper"

// Tagged pins its fields' keys with tags, as the state encodes them: a compact integer CBOR key,
// a JSON name that CBOR follows, and a CBOR name of its own.
type Tagged struct {
	Small  *aper.Counter      `json:"small" cbor:"1,keyasint"`
	Named  *aper.Atom[string] `json:"named,omitempty"`
	Split  *aper.Counter      `json:"split" cbor:"s"`
	Plain  *aper.Counter
	Second *aper.Counter `cbor:"2,keyasint"`
}
