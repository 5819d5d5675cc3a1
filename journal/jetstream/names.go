package jetstream

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/aper-go/aper/journal"
)

// maxEscaped is the longest escaped room name used as a token; longer ones are hashed.
const maxEscaped = 200

// token returns the subject token and KV key that stand for room: "r" and the name with every
// byte but A-Z, a-z, 0-9, '-' and '_' written as '=' and two upper-case hex digits, or, when
// that passes maxEscaped bytes, "h" and the hex SHA-256 of the name. Both forms are valid NATS
// subject tokens and KV keys, and no two names share one.
func token(room string) string {
	var b strings.Builder
	b.WriteByte('r')
	for i := 0; i < len(room); i++ {
		c := room[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "=%02X", c)
		}
		if b.Len() > maxEscaped {
			sum := sha256.Sum256([]byte(room))
			return "h" + hex.EncodeToString(sum[:])
		}
	}
	return b.String()
}

// hashed reports whether tok is a hashed token, whose room name is not in it.
func hashed(tok string) bool { return strings.HasPrefix(tok, "h") }

// untoken returns the room name of an escaped token, and false for a hashed or malformed one.
func untoken(tok string) (string, bool) {
	if !strings.HasPrefix(tok, "r") {
		return "", false
	}
	var b strings.Builder
	for i := 1; i < len(tok); i++ {
		if tok[i] != '=' {
			b.WriteByte(tok[i])
			continue
		}
		if i+3 > len(tok) {
			return "", false
		}
		v, err := strconv.ParseUint(tok[i+1:i+3], 16, 8)
		if err != nil {
			return "", false
		}
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String(), true
}

// encodeName and decodeName carry a room name in a message header, which must not hold
// arbitrary bytes.
func encodeName(room string) string { return base64.RawURLEncoding.EncodeToString([]byte(room)) }

func decodeName(s string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 || len(b) > journal.MaxRoomName {
		return "", false
	}
	return string(b), true
}

// shard returns the index of the stream that holds room, of n.
func shard(room string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(room))
	return int(h.Sum32() % uint32(n))
}

// validPrefix reports whether p may start stream, bucket and subject names.
func validPrefix(p string) bool {
	if p == "" || len(p) > 32 {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
