package draft

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

const maxMattersFile = 16 << 20

// LoadMatters reads open matters from a JSON file (an array of objects with
// id, number, client, name and an optional litigation boolean) or a CSV file
// with a header row naming the columns id,number,client,name[,litigation].
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

func parseMattersCSV(data []byte) ([]Matter, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("parse CSV: empty file")
		}
		return nil, fmt.Errorf("parse CSV header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	for _, need := range []string{"id", "number", "client", "name"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("parse CSV: header has no %q column", need)
		}
	}
	get := func(rec []string, name string) string {
		i, ok := col[name]
		if !ok || i >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	var out []Matter
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("parse CSV line %d: %w", line, err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		m := Matter{ID: get(rec, "id"), Number: get(rec, "number"), Client: get(rec, "client"), Name: get(rec, "name")}
		if v := get(rec, "litigation"); v != "" {
			b, err := strconv.ParseBool(strings.ToLower(v))
			if err != nil {
				return nil, fmt.Errorf("parse CSV line %d: litigation %q is not true/false", line, v)
			}
			m.Litigation = b
		} else {
			m.Litigation = IsLitigationCaption(m.Name)
		}
		out = append(out, m)
	}
	return out, nil
}
