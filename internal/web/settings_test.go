package web

import (
	"strings"
	"testing"
)

// The API and the admin page share one validation (internal/settings): the page's length
// caps hold for the API too, and a refusal changes nothing.
func TestSettingsAPI(t *testing.T) {
	r := newRig(t)
	if got := r.do("GET", "/api/v1/settings", "bill", nil); got.Status != 200 || !strings.Contains(string(got.Body), `"default_rate":null`) {
		t.Fatalf("unset rate: %d %s", got.Status, got.Body)
	}
	res := r.do("PATCH", "/api/v1/settings", "ada", map[string]any{"firm_name": " Hale & Pike LLP ", "default_rate": 412.5, "require_2fa_roles": "billing, admin"})
	if res.Status != 200 {
		t.Fatalf("patch: %d %s", res.Status, res.Body)
	}
	got := res.json(t)
	if got["firm_name"] != "Hale & Pike LLP" || got["default_rate"] != 412.5 || got["require_2fa_roles"] != "billing,admin" || got["ledes_law_firm_id"] != "" {
		t.Fatalf("settings: %v", got)
	}
	for _, c := range []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"firm_name": strings.Repeat("a", 121)}, "the firm name is longer than 120 characters"},
		{map[string]any{"ledes_law_firm_id": strings.Repeat("1", 51)}, "the LEDES law firm ID is longer than 50 characters"},
		{map[string]any{"default_rate": -1}, "rate must be between 0 and 100000 per hour"},
		{map[string]any{"firm_name": "Other", "require_2fa_roles": "wizards"}, "require_2fa_roles must list roles"},
	} {
		res := r.do("PATCH", "/api/v1/settings", "ada", c.body)
		if res.Status != 422 || res.errCode(t) != "invalid" || !strings.Contains(string(res.Body), c.want) {
			t.Errorf("%v: %d %s", c.body, res.Status, res.Body)
		}
	}
	if got := r.do("GET", "/api/v1/settings", "bill", nil).json(t); got["firm_name"] != "Hale & Pike LLP" || got["default_rate"] != 412.5 {
		t.Fatalf("a refused patch changed the settings: %v", got)
	}
}
