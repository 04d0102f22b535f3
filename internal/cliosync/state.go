package cliosync

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"sync"
	"time"
)

// StateTTL is how long a connection started by an admin can be finished at Clio.
const StateTTL = 10 * time.Minute

// maxStates bounds the connections waiting for their callback; the oldest is dropped.
const maxStates = 64

// oauthState is who started a connection.
type oauthState struct {
	userID  int64
	session []byte // hash of the session that asked; nil for API tokens
	expires time.Time
}

// states holds the OAuth states of started connections, keyed by sha256(state); each
// works once, for StateTTL.
type states struct {
	mu sync.Mutex
	m  map[string]oauthState
}

func stateKey(state string) string {
	h := sha256.Sum256([]byte(state))
	return hex.EncodeToString(h[:])
}

// randomState returns a fresh, unguessable state.
func randomState() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("clio state: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// add remembers that userID (and session, if any) started a connection with state.
func (s *states) add(now time.Time, state string, userID int64, session []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]oauthState{}
	}
	for k, v := range s.m {
		if now.After(v.expires) {
			delete(s.m, k)
		}
	}
	if len(s.m) >= maxStates {
		var oldest string
		for k, v := range s.m {
			if oldest == "" || v.expires.Before(s.m[oldest].expires) {
				oldest = k
			}
		}
		delete(s.m, oldest)
	}
	s.m[stateKey(state)] = oauthState{userID: userID, session: bytes.Clone(session), expires: now.Add(StateTTL)}
}

// consume returns who started the connection; each state works once.
func (s *states) consume(now time.Time, state string) (oauthState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := stateKey(state)
	st, ok := s.m[k]
	delete(s.m, k)
	if !ok || now.After(st.expires) {
		return oauthState{}, false
	}
	return st, true
}
