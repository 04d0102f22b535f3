// Package clio is a client for the Clio Manage API v4 (OAuth2 authorization code flow,
// listing matters/users/clients, creating time entries) and an idempotent pusher of
// approved Dictum time entries. It holds no database code: the caller persists tokens
// (through SaveTokenFunc) and sync state (through Ledger).
package clio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// Region is a Clio data region.
type Region string

// Clio's data regions. Each has its own host; accounts, apps and tokens do not cross them.
const (
	RegionUS Region = "US"
	RegionCA Region = "CA"
	RegionEU Region = "EU"
	RegionAU Region = "AU"
)

// Host returns the region's API and OAuth host.
func (r Region) Host() (string, error) {
	switch Region(strings.ToUpper(string(r))) {
	case RegionUS, "":
		return "app.clio.com", nil
	case RegionCA:
		return "ca.app.clio.com", nil
	case RegionEU:
		return "eu.app.clio.com", nil
	case RegionAU:
		return "au.app.clio.com", nil
	}
	return "", fmt.Errorf("clio: unknown region %q (want US, CA, EU or AU)", string(r))
}

// OAuthConfig describes the firm's Clio app registration.
type OAuthConfig struct {
	ClientID     string
	ClientSecret string
	RedirectURL  string
	Region       Region // empty means US
	// BaseURL replaces https://<region host> (tests, proxies). Scheme and host only.
	BaseURL string
	// HTTPClient is used for token requests; nil means a client with a 30 s timeout.
	HTTPClient *http.Client
}

// Base returns the scheme and host every Clio URL starts with.
func (c OAuthConfig) Base() (string, error) {
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return "", fmt.Errorf("clio: base url %q must be http(s)://host", c.BaseURL)
		}
		return u.Scheme + "://" + u.Host, nil
	}
	h, err := c.Region.Host()
	if err != nil {
		return "", err
	}
	return "https://" + h, nil
}

// OAuth2 returns the golang.org/x/oauth2 configuration: /oauth/authorize and /oauth/token
// on the region's host, client credentials sent in the form body as Clio expects.
func (c OAuthConfig) OAuth2() (*oauth2.Config, error) {
	if c.ClientID == "" || c.ClientSecret == "" {
		return nil, errors.New("clio: oauth client id and secret are required")
	}
	base, err := c.Base()
	if err != nil {
		return nil, err
	}
	return &oauth2.Config{
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		RedirectURL:  c.RedirectURL,
		Endpoint: oauth2.Endpoint{
			AuthURL:   base + "/oauth/authorize",
			TokenURL:  base + "/oauth/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}, nil
}

func (c OAuthConfig) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return &http.Client{Timeout: 30 * time.Second}
}

func (c OAuthConfig) ctx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, c.httpClient())
}

// AuthCodeURL returns the URL to send the admin's browser to. state must be a fresh random
// value the caller checks on the callback (CSRF).
func (c OAuthConfig) AuthCodeURL(state string) (string, error) {
	if state == "" {
		return "", errors.New("clio: oauth state is required")
	}
	conf, err := c.OAuth2()
	if err != nil {
		return "", err
	}
	return conf.AuthCodeURL(state), nil
}

// Exchange trades the authorization code from the callback for a token. The caller stores
// the token (encrypted) and builds a TokenSource from it.
func (c OAuthConfig) Exchange(ctx context.Context, code string) (*oauth2.Token, error) {
	conf, err := c.OAuth2()
	if err != nil {
		return nil, err
	}
	tok, err := conf.Exchange(c.ctx(ctx), code)
	if err != nil {
		return nil, fmt.Errorf("clio: exchange authorization code: %w", err)
	}
	return tok, nil
}

// SaveTokenFunc persists a token (the caller encrypts it at rest). It is called with every
// token obtained by a refresh, before that token is used.
type SaveTokenFunc func(tok *oauth2.Token) error

// TokenSource hands out access tokens, refreshing them with the refresh token when they
// expire or when the API rejects them (Refresh). Safe for concurrent use.
type TokenSource struct {
	cfg  OAuthConfig
	conf *oauth2.Config
	save SaveTokenFunc

	mu      sync.Mutex
	tok     *oauth2.Token
	unsaved bool // tok came from a refresh whose save failed; retried before use
}

// NewTokenSource starts from a stored token. save may be nil only in tests that never
// refresh; production callers must persist refreshed tokens.
func NewTokenSource(cfg OAuthConfig, tok *oauth2.Token, save SaveTokenFunc) (*TokenSource, error) {
	if tok == nil || (tok.AccessToken == "" && tok.RefreshToken == "") {
		return nil, errors.New("clio: a stored token is required (connect Clio first)")
	}
	conf, err := cfg.OAuth2()
	if err != nil {
		return nil, err
	}
	return &TokenSource{cfg: cfg, conf: conf, save: save, tok: tok}, nil
}

// Token implements oauth2.TokenSource.
func (s *TokenSource) Token() (*oauth2.Token, error) { return s.TokenContext(context.Background()) }

// TokenContext returns a valid token, refreshing it (bounded by ctx) when it has expired.
func (s *TokenSource) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unsaved {
		if err := s.persist(s.tok); err != nil {
			return nil, err
		}
	}
	if s.tok.Valid() {
		return s.tok, nil
	}
	if err := s.refreshLocked(ctx); err != nil {
		return nil, err
	}
	return s.tok, nil
}

// Refresh forces a refresh after the API answered 401 to the access token stale. If another
// caller already replaced that token, nothing is done.
func (s *TokenSource) Refresh(ctx context.Context, stale string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok.AccessToken != stale && s.tok.Valid() {
		return nil
	}
	return s.refreshLocked(ctx)
}

func (s *TokenSource) refreshLocked(ctx context.Context) error {
	if s.tok.RefreshToken == "" {
		return errors.New("clio: access token expired and no refresh token is stored (reconnect Clio)")
	}
	// A token without an access token is never valid, so this always asks the server.
	nt, err := s.conf.TokenSource(s.cfg.ctx(ctx), &oauth2.Token{RefreshToken: s.tok.RefreshToken}).Token()
	if err != nil {
		return fmt.Errorf("clio: refresh access token: %w", err)
	}
	s.tok = nt
	return s.persist(nt)
}

func (s *TokenSource) persist(tok *oauth2.Token) error {
	if s.save == nil {
		s.unsaved = false
		return nil
	}
	if err := s.save(tok); err != nil {
		s.unsaved = true
		return fmt.Errorf("clio: store refreshed token: %w", err)
	}
	s.unsaved = false
	return nil
}
