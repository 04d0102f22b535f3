package clio

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"dictum/internal/clio/clioapi"
)

// Every request pins X-API-VERSION to the version Dictum is written against (quantity in
// seconds); the fake answers 410 Gone to any other, as Clio does for a retired version.
func TestAPIVersionPinned(t *testing.T) {
	f := newFakeClio(t)
	c := connect(t, f, &sleeps{}, nil)
	if _, err := c.ListMatters(context.Background()); err != nil {
		t.Fatalf("pinned version refused: %v", err)
	}
	other := connect(t, f, &sleeps{}, nil, WithAPIVersion("4.0.10"))
	_, err := other.ListMatters(context.Background())
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusGone {
		t.Fatalf("unpinned version: %v, want 410", err)
	}
	if APIVersion != clioapi.Version || !secondsVersion(APIVersion) {
		t.Fatalf("APIVersion %q", APIVersion)
	}
}

func TestAPIVersionBeforeSecondsRefused(t *testing.T) {
	ts := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"})
	for _, v := range []string{"", "4.0.3", "4.0.0", "3.9.9", "latest", "4.0.4a", "5.0.0"} {
		if _, err := NewClient("http://127.0.0.1:1", ts, WithAPIVersion(v)); err == nil || !strings.Contains(err.Error(), "quantity in seconds") {
			t.Errorf("version %q: %v", v, err)
		}
	}
	for _, v := range []string{"4.0.4", "4.0.9", "4.1.0"} {
		if _, err := NewClient("http://127.0.0.1:1", ts, WithAPIVersion(v)); err != nil {
			t.Errorf("version %q refused: %v", v, err)
		}
	}
}

// A server answering under another version than the pinned one is not trusted: a read
// fails, and a write's outcome is unknown (it may count quantity in other units).
func TestAPIVersionMismatchAnswerRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-API-VERSION") != APIVersion {
			t.Errorf("request header X-API-VERSION = %q", r.Header.Get("X-API-VERSION"))
		}
		w.Header().Set("X-API-VERSION", "4.0.3")
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"data":[],"meta":{"paging":{}}}`))
	}))
	defer srv.Close()
	c, err := NewClient(srv.URL, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"}), WithSleeper((&sleeps{}).sleep))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListMatters(context.Background()); err == nil || !strings.Contains(err.Error(), "not the pinned "+APIVersion) {
		t.Fatalf("read: %v", err)
	}
	_, err = c.CreateTimeEntry(context.Background(), NewTimeEntry{Date: "2026-11-02", Seconds: 360, MatterID: 1})
	if !errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("write: %v", err)
	}
}
