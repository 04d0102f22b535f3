package tlsca

import (
	"bytes"
	"encoding/pem"
	"errors"
)

// ResealRootKey re-encrypts the content of a sealed root key file (RootKeyFile) from one
// wrap key to another, for backups and restores onto a server with another master key.
// certPEM is the root certificate (RootCertFile) the key is bound to. A wrong oldKey gives
// ErrWrongWrapKey; the plaintext key never leaves memory.
func ResealRootKey(certPEM, sealed []byte, oldKey, newKey [32]byte) ([]byte, error) {
	block, rest := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("tlsca: reseal: not a single PEM certificate")
	}
	pkcs8, err := openRootKey(oldKey, block.Bytes, sealed)
	if err != nil {
		return nil, err
	}
	defer clear(pkcs8)
	return sealRootKey(newKey, block.Bytes, pkcs8)
}
