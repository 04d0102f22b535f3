package testrig

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"testing"
)

// SQLCipher 4 page layout (the defaults Dictum runs with): 4096-byte pages, each ending in
// an 80-byte reserve (16-byte IV, 64-byte HMAC-SHA512); the page body is AES-256-CBC under
// the raw key. Page 1 starts with the 16-byte salt in place of the SQLite header string.
const (
	cipherPageSize = 4096
	cipherReserve  = 80
)

func decryptPage(blk cipher.Block, pgno uint32, page []byte) []byte {
	start := 0
	if pgno == 1 {
		start = 16
	}
	body := page[start : cipherPageSize-cipherReserve]
	iv := page[cipherPageSize-cipherReserve : cipherPageSize-cipherReserve+16]
	out := make([]byte, len(body))
	cipher.NewCBCDecrypter(blk, iv).CryptBlocks(out, body)
	return out
}

// DecryptedPagesContain decrypts every page of the SQLCipher database at dbPath and every
// frame of its -wal with key (World.Keys.DB()) and reports whether any holds s, free
// pages and the free space inside pages included, which no query can see. It is the
// proof a purge overwrote content rather than unlinked it. It fails the test when page 1
// does not decrypt to a SQLite header (wrong key or layout), so "not found" cannot come
// from a scanner that reads garbage.
func DecryptedPagesContain(t testing.TB, dbPath string, key [32]byte, s string) bool {
	t.Helper()
	blk, err := aes.NewCipher(key[:])
	if err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(db) == 0 || len(db)%cipherPageSize != 0 {
		t.Fatalf("testrig: database size %d is not a multiple of %d: page layout assumption wrong", len(db), cipherPageSize)
	}
	found := false
	for i := 0; i+cipherPageSize <= len(db); i += cipherPageSize {
		p := decryptPage(blk, uint32(i/cipherPageSize+1), db[i:i+cipherPageSize])
		if i == 0 && (binary.BigEndian.Uint16(p[0:2]) != cipherPageSize || p[5] != 64 || p[6] != 32 || p[7] != 32) {
			t.Fatalf("testrig: page 1 does not decrypt to a SQLite header: the scanner's key or layout is wrong")
		}
		if bytes.Contains(p, []byte(s)) {
			found = true
		}
	}
	wal, err := os.ReadFile(dbPath + "-wal")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	const walHeader, frameHeader = 32, 24
	for off := walHeader; off+frameHeader+cipherPageSize <= len(wal); off += frameHeader + cipherPageSize {
		pgno := binary.BigEndian.Uint32(wal[off : off+4])
		if bytes.Contains(decryptPage(blk, pgno, wal[off+frameHeader:off+frameHeader+cipherPageSize]), []byte(s)) {
			found = true
		}
	}
	return found
}
