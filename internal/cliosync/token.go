package cliosync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"golang.org/x/oauth2"

	"dictum/internal/store"
	"dictum/internal/vault"
)

// TokenLabel is the vault label of the key the Clio OAuth tokens are sealed with (on top
// of the database encryption): Deps.TokenKey is keys.Derive(TokenLabel).
const TokenLabel = "dictum/v1/clio-tokens"

// tokenAAD binds a sealed token to its purpose.
var tokenAAD = []byte("dictum/clio-token/v1")

// sealToken encodes tok as JSON and seals it with key.
func sealToken(key [32]byte, tok *oauth2.Token) ([]byte, error) {
	if tok == nil || (tok.AccessToken == "" && tok.RefreshToken == "") {
		return nil, errors.New("clio token is empty")
	}
	plain, err := json.Marshal(tok)
	if err != nil {
		return nil, fmt.Errorf("encode clio token: %w", err)
	}
	sealed, err := vault.Seal(key, plain, tokenAAD)
	if err != nil {
		return nil, fmt.Errorf("seal clio token: %w", err)
	}
	return sealed, nil
}

// OpenToken reads the stored token and opens it with key; store.ErrClioNotConnected
// when there is none.
func OpenToken(ctx context.Context, st *store.Store, key [32]byte) (*oauth2.Token, error) {
	sealed, err := st.ClioSealedToken(ctx)
	if err != nil {
		return nil, err
	}
	plain, err := vault.Open(key, sealed, tokenAAD)
	if err != nil {
		return nil, fmt.Errorf("open stored clio token (was the master key rotated? reconnect Clio): %w", err)
	}
	var tok oauth2.Token
	if err := json.Unmarshal(plain, &tok); err != nil {
		return nil, fmt.Errorf("decode stored clio token: %w", err)
	}
	return &tok, nil
}

// SaveToken seals tok with key and replaces the stored token (after a refresh, or a
// master key rotation); store.ErrClioNotConnected when Clio was disconnected meanwhile.
func SaveToken(ctx context.Context, st *store.Store, key [32]byte, tok *oauth2.Token) error {
	sealed, err := sealToken(key, tok)
	if err != nil {
		return err
	}
	return st.SaveClioSealedToken(ctx, sealed)
}
