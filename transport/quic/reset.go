package quic

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"

	quicgo "github.com/quic-go/quic-go"
)

// resetKeyLabel is the HKDF info of a stateless reset key derived from a certificate's key.
// Changing it changes every derived key, so that servers of the old and new versions would
// not recognize each other's resets: keep it.
const resetKeyLabel = "aper/transport/quic stateless reset key v1"

// resetKey returns the stateless reset key of a Listener: the given one, else one derived from
// the private key of tlsConf's first certificate, else a random one (see
// Options.StatelessResetKey).
func resetKey(given *[32]byte, tlsConf *tls.Config) (*quicgo.StatelessResetKey, error) {
	var key quicgo.StatelessResetKey
	if given != nil {
		key = *given
		return &key, nil
	}
	if tlsConf != nil && len(tlsConf.Certificates) > 0 && tlsConf.Certificates[0].PrivateKey != nil {
		der, err := x509.MarshalPKCS8PrivateKey(tlsConf.Certificates[0].PrivateKey)
		if err == nil {
			k, err := hkdf.Key(sha256.New, der, nil, resetKeyLabel, len(key))
			if err != nil {
				return nil, fmt.Errorf("stateless reset key: %w", err)
			}
			copy(key[:], k)
			return &key, nil
		}
		// A key that PKCS #8 cannot hold (a hardware signer, say): fall back to a random key.
	}
	if _, err := rand.Read(key[:]); err != nil {
		return nil, fmt.Errorf("stateless reset key: %w", err)
	}
	return &key, nil
}
