package matters

import (
	"strings"
	"testing"
)

var importOpts = Options{Required: []string{"number", "client", "name"}, UniqueNumbers: true, MaxRows: 5000}

func TestParseCSVHeaderless(t *testing.T) {
	opt := importOpts
	opt.Existing = map[string]bool{"2026-001": true}
	f, err := ParseCSV([]byte("2026-014,Smith Holdings,Smith v. Jones,open,yes\n"+
		"2026-015, Acme ,\"Acme, Inc. lease\",closed,n\n"+
		"2026-001,Old,Existing\n"+
		"2026-014,Dup,Duplicate\n"+
		"2026-016,,No client\n"+
		"2026-017,X,Bad status,pending\n"+
		"2026-018,X,Bad lit,open,maybe\n"+
		"2026-019,Y\n"+
		"2026-020,a,b,open,yes,extra\n"), opt)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		line int
		err  string
	}{{1, ""}, {2, ""}, {3, "already exists"}, {4, "also on line 1"}, {5, "client is empty"}, {6, `status "pending" must be open or closed`},
		{7, `litigation "maybe" must be yes or no`}, {8, "needs at least 3 columns (number, client, name), has 2"},
		{9, "has 6 columns; expected number, client, name, status, litigation"}}
	if len(f.Rows) != len(want) {
		t.Fatalf("%d rows: %+v", len(f.Rows), f.Rows)
	}
	for i, w := range want {
		r := f.Rows[i]
		if r.Line != w.line || (w.err == "") != (r.Err() == "") || !strings.Contains(r.Err(), w.err) {
			t.Errorf("row %d: %+v, want line %d err %q", i, r, w.line, w.err)
		}
	}
	if r := f.Rows[0]; r.Litigation == nil || !*r.Litigation || r.Status != "open" {
		t.Errorf("row 1: %+v", r)
	}
	if r := f.Rows[1]; r.Litigation == nil || *r.Litigation || r.Status != "closed" || r.Client != "Acme" || r.Name != "Acme, Inc. lease" {
		t.Errorf("row 2: %+v", r)
	}
	if f.Has("id") {
		t.Error("a headerless file has no id column")
	}
}

func TestParseCSVHeader(t *testing.T) {
	// The header names the columns in any order, semicolons work, unknown columns are ignored.
	f, err := ParseCSV([]byte("\ufeffName;ID;Client;Number;Litigation;Notes\nLease;M-1;Acme;1;;x\n\nSmith v. Jones;M-2;Smith;2;t;\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Rows) != 2 || !f.Has("id") || !f.Has("number") {
		t.Fatalf("%+v", f)
	}
	r := f.Rows[0]
	if r.ID != "M-1" || r.Number != "1" || r.Client != "Acme" || r.Name != "Lease" || r.Litigation != nil || r.Line != 2 || r.Err() != "" {
		t.Errorf("row 1: %+v", r)
	}
	if r := f.Rows[1]; r.Line != 4 || r.Litigation == nil || !*r.Litigation {
		t.Errorf("row 2: %+v", r)
	}
	// A required column missing from the header is reported on every row.
	f, err = ParseCSV([]byte("number,client\n1,2\n"), importOpts)
	if err != nil || len(f.Rows) != 1 || !strings.Contains(f.Rows[0].Err(), "name is empty") {
		t.Fatalf("%+v %v", f, err)
	}
}

func TestParseCSVUnusable(t *testing.T) {
	for in, want := range map[string]string{
		"":                           "empty",
		"  \n":                       "empty",
		"number,client,name\n":       "no data rows",
		"a,\"b,c\n":                  "line 1",
		"\xff\xfe,x,y":               "not UTF-8",
		"1,a,b\n2,a,b\n3,a,b\n4,a,b": "more than 3 rows",
	} {
		_, err := ParseCSV([]byte(in), Options{MaxRows: 3})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", in, err, want)
		}
	}
	// A broken line keeps the rows before it, for a preview.
	f, err := ParseCSV([]byte("1,a,b\n2,\"c,d\n"), importOpts)
	if err == nil || f == nil || len(f.Rows) != 1 {
		t.Fatalf("%+v %v", f, err)
	}
}

// FuzzParseCSV: arbitrary input never panics, and every row without problems has what the
// options require.
func FuzzParseCSV(f *testing.F) {
	for _, s := range []string{"number,client,name\n2026-1,Acme,Acme - MSA\n", "id;number;client;name\nM-1;1;A;B\n",
		"1,\"A, Inc.\",\"X v. Y\",open,true\n", "number,client\n1,2\n", "\"unterminated\n", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := ParseCSV(data, importOpts)
		if err != nil {
			return
		}
		for _, r := range file.Rows {
			if r.Err() == "" && (r.Number == "" || r.Client == "" || r.Name == "" || (r.Status != "open" && r.Status != "closed")) {
				t.Fatalf("accepted an incomplete row: %+v", r)
			}
		}
	})
}

func TestClientMatterIDColumn(t *testing.T) {
	f, err := ParseCSV([]byte("number,client,name,client_matter_id\n2026-001,Acme,Acme v. Beta,ACME-LIT-7\n2026-002,Acme,Lease,\n"+
		"2026-003,Acme,Long,ACME-LITIGATION-2026-X\n2026-004,Acme,Pipe,A|B\n"), Options{Required: []string{"number", "client", "name"}})
	if err != nil {
		t.Fatal(err)
	}
	if r := f.Rows[0]; r.ClientMatterID != "ACME-LIT-7" || r.Err() != "" {
		t.Errorf("row 1: %+v", r)
	}
	if r := f.Rows[1]; r.ClientMatterID != "" || r.Err() != "" {
		t.Errorf("row 2: %+v", r)
	}
	for _, r := range f.Rows[2:] {
		if !strings.Contains(r.Err(), "client_matter_id") {
			t.Errorf("line %d: %q, want a client_matter_id problem", r.Line, r.Err())
		}
	}
}
