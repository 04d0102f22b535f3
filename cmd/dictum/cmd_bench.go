package main

import (
	"context"
	"fmt"

	"dictum/internal/store"
)

// cmdBenchSeed is a hidden command for `make bench` and demos: it fills a data directory
// with synthetic matters and entries for one user.
func (e *cliEnv) cmdBenchSeed(args []string) int {
	fs := e.flags("bench-seed")
	username := fs.String("username", "", "user who owns the entries")
	n := fs.Int("entries", 50000, "entries to create")
	drafts := fs.Int("drafts", 100, "of which drafts (the newest)")
	if _, err := parse(fs, args); err != nil {
		return 2
	}
	if *n < 1 || *drafts < 0 || *drafts > *n {
		return e.fail("bench-seed: need entries >= 1 and 0 <= drafts <= entries")
	}
	ctx := context.Background()
	_, st, err := e.openStore(ctx)
	if err != nil {
		return e.fail("%v", err)
	}
	defer st.Close()
	u, err := st.UserByName(ctx, *username)
	if err != nil {
		return e.fail("bench-seed: user %q: %v", *username, err)
	}
	var ids []string
	for i := 1; i <= 20; i++ {
		m := &store.Matter{Number: fmt.Sprintf("BENCH-%03d", i), Client: fmt.Sprintf("Bench Client %d", i), Name: fmt.Sprintf("Bench matter %d", i)}
		if err := st.CreateMatter(ctx, cliActor(), m); err != nil {
			return e.fail("bench-seed: %v", err)
		}
		ids = append(ids, m.ID)
	}
	if err := st.SeedEntries(ctx, cliActor(), u.ID, ids, *n, *drafts); err != nil {
		return e.fail("bench-seed: %v", err)
	}
	fmt.Fprintf(e.stdout, "seeded %d entries (%d drafts) for %s over 20 matters\n", *n, *drafts, u.Username)
	return 0
}
