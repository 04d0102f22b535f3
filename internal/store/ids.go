package store

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
)

var idEnc = base32.NewEncoding("abcdefghijkmnpqrstuvwxyz23456789").WithPadding(base32.NoPadding)

// NewID returns a random, unguessable id with a type prefix (e.g. "ent_...").
func NewID(prefix string) string {
	var b [15]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("store: crypto/rand failed: " + err.Error())
	}
	return prefix + "_" + strings.ToLower(idEnc.EncodeToString(b[:]))
}
