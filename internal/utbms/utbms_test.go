package utbms

import "testing"

func TestCodeSets(t *testing.T) {
	for _, tc := range []struct {
		code     string
		activity bool
		task     bool
	}{
		{"A101", true, false}, {"A111", true, false}, {"A112", false, false},
		{"L250", false, true}, {"L999", false, false}, {"", false, false}, {"a103", false, false},
	} {
		if got := ValidActivity(tc.code); got != tc.activity {
			t.Errorf("ValidActivity(%q) = %v", tc.code, got)
		}
		if got := ValidTask(tc.code); got != tc.task {
			t.Errorf("ValidTask(%q) = %v", tc.code, got)
		}
	}
	if s := Sorted(Activities); len(s) != 11 || s[0] != "A101" || s[10] != "A111" {
		t.Fatalf("Sorted(Activities) = %v", s)
	}
}
