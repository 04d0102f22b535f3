package clio

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"dictum/internal/testrig/cliofake"
)

// newFakeClio starts a fake Clio account holding 5 matters (two clients), 3 users,
// 4 contacts of which 501, 502 and 504 are clients, and three activity descriptions
// (two with UTBMS codes).
func newFakeClio(t *testing.T) *cliofake.Server {
	f := cliofake.New(t)
	for i := int64(1); i <= 5; i++ {
		f.AddMatters(Matter{ID: 100 + i, DisplayNumber: fmt.Sprintf("00%d-Acme", i), Description: fmt.Sprintf("Matter %d", i),
			Status: "Open", Billable: true, Client: &ClientRef{ID: 500 + i%2, Name: "Client"}})
	}
	for i := int64(1); i <= 3; i++ {
		f.AddUsers(User{ID: 200 + i, Name: fmt.Sprintf("User %d", i), Enabled: true})
	}
	for i := int64(1); i <= 4; i++ {
		f.AddContacts(cliofake.Contact{Contact: Contact{ID: 500 + i, Name: fmt.Sprintf("Contact %d", i), Type: "Company"}, IsClient: i != 3})
	}
	f.AddActivityDescriptions(
		ActivityDescription{ID: 70, Name: "Plain"},
		ActivityDescription{ID: 71, Name: "Draft pleadings", UTBMSActivity: &UTBMSCode{ID: 3, Code: "A103"}, UTBMSTask: &UTBMSCode{ID: 21, Code: "L210"}},
		ActivityDescription{ID: 72, Name: "Review strategy", UTBMSActivity: &UTBMSCode{ID: 4, Code: "A104"}, UTBMSTask: &UTBMSCode{ID: 12, Code: "L120"}},
	)
	return f
}

func oauthConfig(f *cliofake.Server) OAuthConfig {
	return OAuthConfig{ClientID: cliofake.ClientID, ClientSecret: cliofake.ClientSecret, RedirectURL: cliofake.RedirectURL, BaseURL: f.URL}
}

// countMarker returns how many activities carry entryID's marker.
func countMarker(f *cliofake.Server, entryID string) int {
	return len(f.ActivitiesNoted(Marker(entryID)))
}

// sleeps records the waits a client asked for instead of sleeping.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// connect runs the authorization code exchange against the fake and returns a client whose
// refreshed tokens are saved into *saved.
func connect(t *testing.T, f *cliofake.Server, sl *sleeps, saved *[]*oauth2.Token, opts ...Option) *Client {
	t.Helper()
	cfg := oauthConfig(f)
	tok, err := cfg.Exchange(context.Background(), cliofake.GoodCode)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	var mu sync.Mutex
	ts, err := NewTokenSource(cfg, tok, func(tk *oauth2.Token) error {
		mu.Lock()
		defer mu.Unlock()
		if saved != nil {
			*saved = append(*saved, tk)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	base, err := cfg.Base()
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(base, ts, append([]Option{WithSleeper(sl.sleep)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
