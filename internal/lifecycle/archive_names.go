package lifecycle

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// maxNameComponent caps one path component of a name inside an archive (bytes).
const maxNameComponent = 120

// SafeName turns a name into a safe path inside a ZIP archive: slash-separated, relative
// (no leading slash, no drive letter), with no "." or ".." component, no control or
// invisible formatting characters (bidi overrides, zero-width), none of the characters
// Windows refuses (: * ? " < > | and backslash, which becomes a separator), no trailing
// dots or spaces, components capped at 120 bytes, and in Unicode NFC. A name with nothing
// left becomes "unnamed".
func SafeName(name string) string {
	name = strings.ToValidUTF8(name, "_")
	name = strings.ReplaceAll(name, `\`, "/")
	var parts []string
	for _, p := range strings.Split(name, "/") {
		p = safeComponent(p)
		if p == "" || p == "." || p == ".." {
			continue
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return "unnamed"
	}
	return norm.NFC.String(strings.Join(parts, "/"))
}

func safeComponent(p string) string {
	var b strings.Builder
	for _, r := range p {
		switch {
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r), r == utf8.RuneError:
			continue
		case strings.ContainsRune(`:*?"<>|`, r):
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	s := norm.NFC.String(strings.TrimSpace(b.String()))
	if s == "." || s == ".." {
		return ""
	}
	s = strings.TrimRight(s, ". ")
	if len(s) > maxNameComponent {
		cut := maxNameComponent
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

// uniqueNames hands out each safe name once: a repeat gets "-2", "-3", ... before its
// extension.
type uniqueNames map[string]bool

func (u uniqueNames) take(name string) string {
	name = SafeName(name)
	if !u[name] {
		u[name] = true
		return name
	}
	base, ext := name, ""
	if i := strings.LastIndexByte(name, '.'); i > strings.LastIndexByte(name, '/')+1 {
		base, ext = name[:i], name[i:]
	}
	for n := 2; ; n++ {
		c := base + "-" + strconv.Itoa(n) + ext
		if !u[c] {
			u[c] = true
			return c
		}
	}
}
