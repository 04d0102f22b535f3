package draft

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"dictum/internal/matters"
)

const maxMattersFile = 16 << 20

// LoadMatters reads open matters from a JSON file (an array of objects with
// id, number, client, name and an optional litigation boolean) or a matter CSV
// (the format of internal/matters, the one the admin import reads) whose header
// names at least the columns id, number, client and name.
// The format is taken from the content, not the file name.
func LoadMatters(path string) ([]Matter, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load matters: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxMattersFile+1))
	if err != nil {
		return nil, fmt.Errorf("load matters %s: %w", path, err)
	}
	if len(data) > maxMattersFile {
		return nil, fmt.Errorf("load matters %s: file larger than %d bytes", path, maxMattersFile)
	}
	ms, err := ParseMatters(data)
	if err != nil {
		return nil, fmt.Errorf("load matters %s: %w", path, err)
	}
	return ms, nil
}

// ParseMatters parses the content of a matters file (JSON or CSV).
func ParseMatters(data []byte) ([]Matter, error) {
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	var ms []Matter
	var err error
	if len(trimmed) > 0 && trimmed[0] == '[' {
		ms, err = parseMattersJSON(trimmed)
	} else {
		ms, err = parseMattersCSV(trimmed)
	}
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for i, m := range ms {
		if m.ID == "" {
			return nil, fmt.Errorf("matter %d has no id", i+1)
		}
		if seen[m.ID] {
			return nil, fmt.Errorf("matter id %q appears twice", m.ID)
		}
		seen[m.ID] = true
	}
	return ms, nil
}

func parseMattersJSON(data []byte) ([]Matter, error) {
	var raw []struct {
		ID         string `json:"id"`
		Number     string `json:"number"`
		Client     string `json:"client"`
		Name       string `json:"name"`
		Litigation *bool  `json:"litigation"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("parse JSON: %w", err)
	}
	out := make([]Matter, 0, len(raw))
	for _, r := range raw {
		m := Matter{ID: strings.TrimSpace(r.ID), Number: strings.TrimSpace(r.Number),
			Client: strings.TrimSpace(r.Client), Name: strings.TrimSpace(r.Name)}
		if r.Litigation != nil {
			m.Litigation = *r.Litigation
		} else {
			m.Litigation = IsLitigationCaption(m.Name)
		}
		out = append(out, m)
	}
	return out, nil
}

// parseMattersCSV reads the one matter CSV format (see internal/matters); drafting needs a
// header naming id, number, client and name, and stops at the first row with a problem.
func parseMattersCSV(data []byte) ([]Matter, error) {
	f, err := matters.ParseCSV(data, matters.Options{})
	if err != nil {
		return nil, fmt.Errorf("parse CSV: %w", err)
	}
	for _, need := range []string{"id", "number", "client", "name"} {
		if !f.Has(need) {
			return nil, fmt.Errorf("parse CSV: header has no %q column", need)
		}
	}
	out := make([]Matter, 0, len(f.Rows))
	for _, r := range f.Rows {
		if len(r.Problems) > 0 {
			return nil, fmt.Errorf("parse CSV line %d: %s", r.Line, r.Err())
		}
		m := Matter{ID: r.ID, Number: r.Number, Client: r.Client, Name: r.Name}
		if r.Litigation != nil {
			m.Litigation = *r.Litigation
		} else {
			m.Litigation = IsLitigationCaption(m.Name)
		}
		out = append(out, m)
	}
	return out, nil
}
