package aper

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/aper-go/aper/internal/cborscan"
	"github.com/fxamacker/cbor/v2"
)

// ErrMalformed is wrapped by every error that decoding returns for bad bytes: a syntax error,
// truncated input, a value of the wrong type, a null or duplicate where the type forbids one, or
// a failed check of a type's own decoder. Test for it with errors.Is. Errors from misuse (decoding
// into a nil or non-pointer value) do not wrap it.
var ErrMalformed = errors.New("aper: malformed input")

// Codec turns values into bytes and back. The library ships two: [JSON] for text frames and
// debugging, [CBOR] for compact binary frames. Every state and transition type of the library
// round-trips through both: decoding what Marshal wrote gives a value that Marshal encodes to the
// same bytes.
//
// Unmarshal is safe on untrusted bytes: malformed input is an error, never a panic. The library's
// codecs wrap such errors with [ErrMalformed].
type Codec interface {
	// Name is the codec's short name ("json", "cbor"), used to negotiate it on a connection.
	Name() string
	// Marshal encodes v.
	Marshal(v any) ([]byte, error)
	// Unmarshal decodes data into v, which must be a non-nil pointer.
	Unmarshal(data []byte, v any) error
}

// JSONCodec encodes with the standard library's encoding/json. Its zero value is ready to use.
type JSONCodec struct{}

// JSON is the JSON codec.
var JSON = JSONCodec{}

// Name returns "json".
func (JSONCodec) Name() string { return "json" }

// Marshal encodes v as JSON.
func (JSONCodec) Marshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("aper: json encode: %w", err)
	}
	return b, nil
}

// Unmarshal decodes JSON data into v.
func (JSONCodec) Unmarshal(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return decodeError("json", err)
	}
	return nil
}

// CBORCodec encodes with github.com/fxamacker/cbor/v2 in Core Deterministic Encoding (sorted map
// keys, shortest forms), so equal values encode to equal bytes. Encoding refuses a string that is
// not valid UTF-8, which decoding would refuse. Decoding rejects duplicate map
// keys, invalid UTF-8, NaN and infinite floats (JSON cannot carry them, and replicas must encode
// alike under both codecs), maps with other than string keys into interface values, and nesting
// deeper than 64 levels. Its zero value is ready to use; the package variable [CBOR] is the same.
//
// Decoding checks that the input is well-formed before it allocates, so a declared length larger
// than the input is an error; but each element of a decoded slice costs the size of its Go type,
// so bound the size of untrusted messages (the transports do, 1 MiB by default).
type CBORCodec struct {
	enc cbor.EncMode
	dec cbor.DecMode
}

// CBOR is the CBOR codec.
var CBOR = CBORCodec{}

func newCBORCodec() CBORCodec {
	eo := cbor.CoreDetEncOptions()
	eo.Time = cbor.TimeRFC3339Nano
	enc, err := eo.EncMode()
	if err != nil {
		panic(err) // static options: cannot fail
	}
	dec, err := cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		MaxNestedLevels:  64,
		MaxArrayElements: 1<<31 - 1, // snapshots of large lists are long arrays
		MaxMapPairs:      1<<31 - 1,
		UTF8:             cbor.UTF8RejectInvalid,
		NaN:              cbor.NaNDecodeForbidden,
		Inf:              cbor.InfDecodeForbidden,
		DefaultMapType:   reflect.TypeFor[map[string]any](),
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return CBORCodec{enc: enc, dec: dec}
}

// Name returns "cbor".
func (CBORCodec) Name() string { return "cbor" }

func (c CBORCodec) modes() (cbor.EncMode, cbor.DecMode) {
	if c.enc == nil {
		return defaultCBOR.enc, defaultCBOR.dec
	}
	return c.enc, c.dec
}

var defaultCBOR = newCBORCodec()

// Marshal encodes v as deterministic CBOR. A value holding a string that is not valid UTF-8 is
// an error: its encoding would not decode.
func (c CBORCodec) Marshal(v any) ([]byte, error) {
	enc, _ := c.modes()
	b, err := enc.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("aper: cbor encode: %w", err)
	}
	if !cborscan.ValidText(b) {
		return nil, errors.New("aper: cbor encode: a string is not valid UTF-8")
	}
	return b, nil
}

// Unmarshal decodes CBOR data into v.
func (c CBORCodec) Unmarshal(data []byte, v any) error {
	_, dec := c.modes()
	if err := dec.Unmarshal(data, v); err != nil {
		return decodeError("cbor", err)
	}
	return nil
}

// cborDecode decodes like CBOR.Unmarshal but returns the decoder's error as it is, for the
// unmarshalers of this package, which wrap it with their own context.
func cborDecode(data []byte, v any) error { return defaultCBOR.dec.Unmarshal(data, v) }

// decodeError wraps an error of a codec's decoder: misuse (v not a non-nil pointer) as it is,
// anything else as malformed input. An error that already wraps ErrMalformed (from an
// unmarshaler of the library) is returned unchanged: it says what was wrong where.
func decodeError(codec string, err error) error {
	var jsonMisuse *json.InvalidUnmarshalError
	var cborMisuse *cbor.InvalidUnmarshalError
	switch {
	case errors.As(err, &jsonMisuse), errors.As(err, &cborMisuse):
		return fmt.Errorf("aper: %s decode: %w", codec, err)
	case errors.Is(err, ErrMalformed):
		return err
	}
	if strings.HasPrefix(err.Error(), codec+":") { // the cbor package names itself
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrMalformed, codec, err)
}

// malformed wraps the error of a root type's unmarshaler (what names the type) with
// ErrMalformed, unless it already wraps it.
func malformed(what string, err error) error {
	if errors.Is(err, ErrMalformed) {
		return err
	}
	return fmt.Errorf("%w: %s: %w", ErrMalformed, what, err)
}

// Codecs lists the library's codecs, for tests that check every one.
func Codecs() []Codec { return []Codec{JSON, CBOR} }

// CodecByName returns the codec with the given name, or false.
func CodecByName(name string) (Codec, bool) {
	switch name {
	case "json":
		return JSON, true
	case "cbor":
		return CBOR, true
	}
	return nil, false
}

// IsNull reports whether data is an encoded null in either codec: the JSON null (with any
// surrounding space), or the CBOR null or undefined. The two never overlap, so a decoder need not
// know which codec it is in. Custom unmarshalers use it to refuse a null where a state or a
// component is required.
func IsNull(data []byte) bool {
	if len(data) == 1 && (data[0] == 0xf6 || data[0] == 0xf7) {
		return true
	}
	return bytes.Equal(bytes.TrimSpace(data), []byte("null"))
}

// CBORVariant splits b, the CBOR encoding of a map of exactly one pair whose key is a text string,
// into the key's bytes and the encoding of the value: for a hand-written UnmarshalCBOR of a type
// whose values set one of its fields, as aper-gen's transitions do. ok is false unless b is such a
// map in the form the library's encoder writes (shortest heads, definite lengths, no tags, at
// most 16 levels deep, valid UTF-8), with nothing after it and a value that is not null or
// undefined; the caller then hands b to the general decoder, which decides. When ok is true the
// value is one well-formed item: the general decoder would hand it as it is to the UnmarshalCBOR
// of the field's type, if that has one.
func CBORVariant(b []byte) (key, value []byte, ok bool) {
	if len(b) == 0 || b[0] != 0xa1 {
		return nil, nil, false // not a map of one pair
	}
	n, ok := cborscan.Skip(b)
	if !ok || n != len(b) {
		return nil, nil, false
	}
	l, h, ok := cborscan.Head(b[1:], 3)
	if !ok {
		return nil, nil, false // not a text key
	}
	v := b[1+h+int(l):]
	if v[0] == 0xf6 || v[0] == 0xf7 {
		return nil, nil, false
	}
	return b[1+h : 1+h+int(l)], v, true
}
