package auth

// MaxUsernameLen is the longest username (bytes; usernames are ASCII).
const MaxUsernameLen = 64

// UsernameRule says what ValidUsername accepts, for error messages.
const UsernameRule = "a username is 1-64 letters, digits, dots, dashes, underscores or @"

// ValidUsername reports whether n is a well-formed username: 1-64 ASCII letters, digits
// and . _ - @. Logins check it before anything else, so a malformed name costs no
// database lookup, no password hash and no audit row.
func ValidUsername(n string) bool {
	if n == "" || len(n) > MaxUsernameLen {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' || r == '@') {
			return false
		}
	}
	return true
}
