package auth

import (
	"errors"
	"strings"
	"testing"
)

var fast = Params{MemoryKiB: 8 * 1024, Time: 1, Threads: 1}

func TestHashVerify(t *testing.T) {
	h, err := Hash("correct horse battery", fast)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(h, "correct horse") || !strings.HasPrefix(h, "$argon2id$v=19$m=8192,t=1,p=1$") {
		t.Fatalf("hash %q", h)
	}
	if err := Verify("correct horse battery", h); err != nil {
		t.Fatal(err)
	}
	if err := Verify("correct horse batterY", h); !errors.Is(err, ErrMismatch) {
		t.Fatalf("wrong password: %v", err)
	}
	h2, _ := Hash("correct horse battery", fast)
	if h == h2 {
		t.Fatal("salt not random")
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=1,t=1,p=1$a$b", "$argon2id$v=19$m=99999999,t=1,p=1$YQ$YQ", "$argon2id$v=19$m=8192,t=1,p=1$!!$YQ"} {
		if err := Verify("x", bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestTokens(t *testing.T) {
	tok, hash, prefix, err := NewAPIToken()
	if err != nil {
		t.Fatal(err)
	}
	if !LooksLikeAPIToken(tok) || !strings.HasPrefix(tok, prefix) || string(HashToken(tok)) != string(hash) {
		t.Fatalf("token %q prefix %q", tok, prefix)
	}
	if LooksLikeAPIToken("dct_short") {
		t.Fatal("short token accepted")
	}
}

func TestPolicy(t *testing.T) {
	if CheckPassword("short", 10) == nil || CheckPassword("long enough pass", 10) != nil {
		t.Fatal("policy")
	}
	p, _ := GeneratePassword(20)
	if len(p) != 20 {
		t.Fatal(p)
	}
}
