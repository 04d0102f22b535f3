package store

import (
	"context"
	"errors"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"dictum/internal/identity"
)

func TestClioConnectionToken(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	if c, err := s.ClioConnection(ctx); err != nil || c.Connected {
		t.Fatalf("fresh store: %+v %v", c, err)
	}
	if _, err := s.ClioSealedToken(ctx); !errors.Is(err, ErrClioNotConnected) {
		t.Fatalf("token before connect: %v", err)
	}
	if err := s.ConnectClio(ctx, identity.Actor{Username: "ada"}, "us", nil); err == nil {
		t.Fatal("an empty token was stored")
	}
	if err := s.ConnectClio(ctx, identity.Actor{Username: "ada"}, "us", []byte("sealed-1")); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ClioSealedToken(ctx); err != nil || string(got) != "sealed-1" {
		t.Fatalf("token round trip: %q %v", got, err)
	}
	c, err := s.ClioConnection(ctx)
	if err != nil || !c.Connected || c.Region != "us" || c.ConnectedBy != "ada" || c.ConnectedAt == "" {
		t.Fatalf("connection: %+v %v", c, err)
	}
	// A refresh replaces the token.
	if err := s.SaveClioSealedToken(ctx, []byte("sealed-2")); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ClioSealedToken(ctx); string(got) != "sealed-2" {
		t.Fatalf("refreshed token not saved: %q", got)
	}
	existed, err := s.DisconnectClio(ctx, identity.Actor{Username: "ada"})
	if err != nil || !existed {
		t.Fatalf("disconnect: %v %v", existed, err)
	}
	if _, err := s.ClioSealedToken(ctx); !errors.Is(err, ErrClioNotConnected) {
		t.Fatalf("token after disconnect: %v", err)
	}
	if err := s.SaveClioSealedToken(ctx, []byte("sealed-3")); !errors.Is(err, ErrClioNotConnected) {
		t.Fatalf("a refresh after disconnect must not reconnect: %v", err)
	}
	if existed, _ := s.DisconnectClio(ctx, identity.Actor{Username: "ada"}); existed {
		t.Fatal("second disconnect reports a connection")
	}
	evs, _ := s.AuditEvents(ctx, "clio", "connection", 10)
	var actions []string
	for _, e := range evs {
		actions = append(actions, e.Action)
	}
	if strings.Join(actions, ",") != "clio.disconnect,clio.connect" {
		t.Fatalf("audit: %v", actions)
	}
}

func auditCount(t *testing.T, s *Store, action, id string) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRow("SELECT count(*) FROM audit_events WHERE action = ? AND object_id = ?", action, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestImportClio(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	a := identity.Actor{Username: "ada"}
	for _, u := range []*User{
		{Username: "alice", DisplayName: "Alice  Archer", Role: RoleTimekeeper},
		{Username: "bob", Role: RoleTimekeeper},
		{Username: "carol", DisplayName: "Carol King", Role: RoleTimekeeper},
		{Username: "dave", DisplayName: "D Same", Role: RoleTimekeeper},
		{Username: "dan", DisplayName: "D Same", Role: RoleTimekeeper},
		{Username: "ada", DisplayName: "Ada Admin", Role: RoleAdmin},
	} {
		u.PasswordHash = "x"
		if err := s.CreateUser(ctx, identity.Actor{Username: "test"}, u); err != nil {
			t.Fatal(err)
		}
	}
	linked := int64(999)
	for _, m := range []*Matter{
		{Number: "2024-0412", Client: "Daniel Smith", Name: "Smith v. Jones"},
		{Number: "2024-0500", Client: "Other", Name: "Other matter", ClioID: &linked},
	} {
		if err := s.CreateMatter(ctx, a, m); err != nil {
			t.Fatal(err)
		}
	}
	in := ClioImport{
		Clients: []ClioClientIn{{ID: 501, Name: "Daniel Smith"}, {ID: 502, Name: "New Co"}},
		Matters: []ClioMatterIn{
			{ID: 101, Number: "2024-0412", Description: "Smith v. Jones", Status: "Open", ClientID: 501},
			{ID: 102, Number: "2025-0001", Description: "New Co general", Status: "Pending", ClientID: 502, ClientName: "New Co"},
			{ID: 103, Number: "2025-0002", Description: "Old closed", Status: "Closed", ClientID: 502},
			{ID: 104, Number: "2024-0500", Description: "Clash", Status: "Open", ClientID: 502},
			{ID: 105, Number: "2025-0003", Description: "", Status: "Open", ClientID: 503, ClientName: "Fresh Client"},
		},
		Users: []ClioUserIn{
			{ID: 201, Name: "Alice Archer", Email: "aa@firm.example", Enabled: true},
			{ID: 202, Name: "Robert B", Email: "bob@firm.example", Enabled: true},
			{ID: 203, Name: "Carol King", Email: "ck@firm.example", Enabled: false},
			{ID: 204, Name: "D Same", Enabled: true},
		},
	}
	var before int
	s.DB().QueryRow("SELECT count(*) FROM users").Scan(&before)
	rep, err := s.ImportClio(ctx, a, in)
	if err != nil {
		t.Fatal(err)
	}
	if rep.ClientsCreated != 2 || rep.ClientsLinked != 1 || rep.MattersCreated != 2 || rep.MattersLinked != 1 || rep.MattersSkipped != 1 {
		t.Fatalf("report = %+v", rep)
	}
	problems := strings.Join(rep.Problems, "\n")
	for _, want := range []string{"number 2024-0500, which is already linked to Clio matter 999", "matches more than one Dictum user"} {
		if !strings.Contains(problems, want) {
			t.Errorf("problems lack %q: %s", want, problems)
		}
	}
	links := map[string]string{}
	for _, u := range rep.Users {
		links[u.Username] = u.By
	}
	if len(links) != 2 || links["alice"] != "name" || links["bob"] != "email" {
		t.Fatalf("links = %v", links)
	}
	sort.Strings(rep.UsersUnlinked)
	if strings.Join(rep.UsersUnlinked, ",") != "carol,dan,dave" {
		t.Fatalf("unlinked = %v", rep.UsersUnlinked)
	}
	tests := []struct {
		number, client, name, status string
		clio                         int64
	}{
		{"2024-0412", "Daniel Smith", "Smith v. Jones", "open", 101},
		{"2025-0001", "New Co", "New Co general", "open", 102},
		{"2025-0003", "Fresh Client", "2025-0003", "open", 105},
		{"2024-0500", "Other", "Other matter", "open", 999},
	}
	ms, _ := s.Matters(ctx, "", "")
	byNumber := map[string]*Matter{}
	for _, m := range ms {
		byNumber[m.Number] = m
	}
	if len(ms) != 4 {
		t.Fatalf("%d matters, want 4 (closed Clio matters are not imported)", len(ms))
	}
	for _, tc := range tests {
		m := byNumber[tc.number]
		if m == nil || m.Client != tc.client || m.Name != tc.name || m.Status != tc.status || m.ClioID == nil || *m.ClioID != tc.clio {
			t.Errorf("matter %s = %+v", tc.number, m)
		}
	}
	var clioUser int64
	s.DB().QueryRow("SELECT clio_user_id FROM users WHERE username = 'alice'").Scan(&clioUser)
	if clioUser != 201 {
		t.Fatalf("alice clio_user_id = %d", clioUser)
	}
	var after int
	s.DB().QueryRow("SELECT count(*) FROM users").Scan(&after)
	if after != before {
		t.Fatalf("import created logins: %d -> %d users", before, after)
	}

	// A second import changes nothing and keeps the links.
	rep2, err := s.ImportClio(ctx, a, in)
	if err != nil {
		t.Fatal(err)
	}
	if rep2.ClientsCreated+rep2.ClientsLinked+rep2.MattersCreated+rep2.MattersLinked != 0 || len(rep2.Users) != 2 || rep2.Users[0].By != "kept" {
		t.Fatalf("second import = %+v", rep2)
	}
	if n := auditCount(t, s, "user.clio_link", "alice"); n != 1 {
		t.Fatalf("alice linked %d times", n)
	}
	// A Clio user that disappears unlinks the Dictum user.
	in.Users = in.Users[1:]
	rep3, err := s.ImportClio(ctx, a, in)
	if err != nil {
		t.Fatal(err)
	}
	var cu *int64
	s.DB().QueryRow("SELECT clio_user_id FROM users WHERE username = 'alice'").Scan(&cu)
	if cu != nil || !strings.Contains(strings.Join(rep3.UsersUnlinked, ","), "alice") {
		t.Fatalf("alice still linked to a removed Clio user: %v %+v", cu, rep3)
	}
}

func TestClioLease(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	s, err := Open(ctx, filepath.Join(t.TempDir(), "d.db"), Options{Key: testKey(3), Create: true, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	steps := []struct {
		name string
		do   func() error
		want error
	}{
		{"first holder", func() error { return s.AcquireClioLease(ctx, "h1", time.Minute) }, nil},
		{"second holder refused", func() error { return s.AcquireClioLease(ctx, "h2", time.Minute) }, ErrClioBusy},
		{"renew by non-holder refused", func() error { return s.RenewClioLease(ctx, "h2", time.Minute) }, ErrClioBusy},
		{"renew by holder", func() error { return s.RenewClioLease(ctx, "h1", time.Minute) }, nil},
		{"release by non-holder is a no-op", func() error { return s.ReleaseClioLease(ctx, "h2") }, nil},
		{"still held", func() error { return s.AcquireClioLease(ctx, "h2", time.Minute) }, ErrClioBusy},
		{"expired lease taken over", func() error { now = now.Add(2 * time.Minute); return s.AcquireClioLease(ctx, "h2", time.Minute) }, nil},
		{"old holder lost it", func() error { return s.RenewClioLease(ctx, "h1", time.Minute) }, ErrClioBusy},
		{"release", func() error { return s.ReleaseClioLease(ctx, "h2") }, nil},
		{"free again", func() error { return s.AcquireClioLease(ctx, "h3", time.Minute) }, nil},
	}
	for _, st := range steps {
		if err := st.do(); !errors.Is(err, st.want) {
			t.Fatalf("%s: err = %v, want %v", st.name, err, st.want)
		}
	}
}

func TestRecordClioSync(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	if err := s.ConnectClio(ctx, identity.Actor{Username: "ada"}, "eu", []byte("sealed")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		synced, failed int
		lastErr        string
		audits         int // clio.sync events so far
	}{
		{0, 0, "", 0}, // nothing to do: no audit event
		{2, 1, "1 entry failed", 1},
		{0, 1, "1 entry failed", 2},
	}
	for i, tc := range tests {
		if err := s.RecordClioSync(ctx, identity.System(), "schedule", tc.synced, tc.failed, tc.lastErr); err != nil {
			t.Fatal(err)
		}
		c, _ := s.ClioConnection(ctx)
		if c.LastSyncAt == "" || c.LastError != tc.lastErr || c.Region != "eu" {
			t.Fatalf("step %d: connection %+v", i, c)
		}
		if n := auditCount(t, s, "clio.sync", "connection"); n != tc.audits {
			t.Fatalf("step %d: %d clio.sync events, want %d", i, n, tc.audits)
		}
	}
}
