package web

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"dictum/internal/auth"
	"dictum/internal/store"
)

// tokensData is the API-token part of the account page.
type tokensData struct {
	List        []tokenRow
	DefaultDays int
	MaxDays     int
	New         *newToken // just created: shown once
	Name        string    // the form's values after a problem
	Days        string
}

type tokenRow struct {
	ID                                      int64
	Name, Prefix, Created, LastUsed, Expiry string
	Status                                  string // active | expired | revoked
}

func (s *Server) tokensData(c *fiber.Ctx, p *caller) (tokensData, error) {
	d := tokensData{DefaultDays: auth.DefaultTokenDays, MaxDays: auth.MaxTokenDays, Days: strconv.Itoa(auth.DefaultTokenDays)}
	toks, err := s.Store.Tokens(c.UserContext(), p.User.Username)
	if err != nil {
		return d, err
	}
	now := s.Now()
	for _, t := range toks {
		r := tokenRow{ID: t.ID, Name: t.Name, Prefix: t.Prefix, Created: day(t.CreatedAt), LastUsed: day(t.LastUsedAt), Expiry: "never", Status: "active"}
		if t.ExpiresAt != "" {
			r.Expiry = day(t.ExpiresAt)
		}
		switch {
		case t.RevokedAt != "":
			r.Status = "revoked"
		case t.Expired(now):
			r.Status = "expired"
		}
		d.List = append(d.List, r)
	}
	return d, nil
}

// day shows the date of an RFC 3339 time ("" stays "").
func day(ts string) string {
	if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
		return t.UTC().Format("2006-01-02")
	}
	return ts
}

// uiCreateToken creates an API token from the account page. It needs the password again
// (re-authentication), and a login session: a token cannot use the page to mint another.
func (s *Server) uiCreateToken(c *fiber.Ctx) error {
	p := me(c)
	if p.Session == nil {
		return errf(403, "forbidden", "log in with your password to create an API token")
	}
	td, err := s.tokensData(c, p)
	if err != nil {
		return err
	}
	td.Name, td.Days = strings.TrimSpace(c.FormValue("name")), strings.TrimSpace(c.FormValue("expires_in_days"))
	fail := func(status int, msg string) error {
		return s.render(c, status, "account", page{Title: "Your account", Page: "account", Nav: "account", Problem: msg,
			D: accountData{Must: p.User.MustChangePassword, MinLen: s.Config.Auth.MinPassword, Tokens: td}})
	}
	days, err := strconv.Atoi(td.Days)
	if err != nil {
		return fail(422, "Expires in: enter a number of days (0 = never).")
	}
	expires, err := auth.TokenExpiry(s.Now(), days)
	if err != nil {
		return fail(422, "Expires in: "+err.Error()+".")
	}
	if err := s.reauth(c, p, c.FormValue("password")); err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			msg := "Enter your password again to create a token."
			switch {
			case ae.Code == "reauth_failed":
				msg = "The password is wrong."
			case ae.Status == 429:
				msg = "Too many wrong passwords. Wait a moment, then try again (" + ae.Message + ")."
			}
			return fail(ae.Status, msg)
		}
		return err
	}
	t, err := s.createToken(c, p, td.Name, expires)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.Status == 422 {
			return fail(422, ae.Message+".")
		}
		return err
	}
	if td, err = s.tokensData(c, p); err != nil {
		return err
	}
	td.New = t
	return s.render(c, 201, "account", page{Title: "Your account", Page: "account", Nav: "account",
		D: accountData{Must: p.User.MustChangePassword, MinLen: s.Config.Auth.MinPassword, Tokens: td}})
}

// uiRevokeToken revokes one of the caller's own tokens from the account page.
func (s *Server) uiRevokeToken(c *fiber.Ctx) error {
	p := me(c)
	if p.Session == nil {
		return errf(403, "forbidden", "log in with your password to manage API tokens")
	}
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return errf(404, "not_found", "not found")
	}
	toks, err := s.Store.Tokens(c.UserContext(), p.User.Username)
	if err != nil {
		return err
	}
	for _, t := range toks {
		if t.ID == id && t.RevokedAt == "" {
			if err := s.Store.RevokeToken(c.UserContext(), p.Actor, id); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			return c.Redirect("/account?ok=token-revoked", fiber.StatusSeeOther)
		}
	}
	return errf(404, "not_found", "not found")
}
