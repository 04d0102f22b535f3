package draft

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseMatters(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
		want []Matter
		err  string
	}{
		{"json derives litigation", `[{"id":"A","number":"1","client":"C","name":"Smith v. Jones"},{"id":"B","number":"2","client":"D","name":"Estate of D"}]`,
			[]Matter{{ID: "A", Number: "1", Client: "C", Name: "Smith v. Jones", Litigation: true}, {ID: "B", Number: "2", Client: "D", Name: "Estate of D"}}, ""},
		{"json explicit litigation", `[{"id":"A","number":"1","client":"C","name":"Delgado custody","litigation":true},{"id":"B","name":"X vs Y","litigation":false}]`,
			[]Matter{{ID: "A", Number: "1", Client: "C", Name: "Delgado custody", Litigation: true}, {ID: "B", Name: "X vs Y"}}, ""},
		{"csv", "\ufeffid,number,client,name\nM-1,2026-0001,\"Acme, Inc.\",Acme v. Beta\nM-2,2026-0002,Bo,In re Marriage of Bo\n",
			[]Matter{{ID: "M-1", Number: "2026-0001", Client: "Acme, Inc.", Name: "Acme v. Beta", Litigation: true},
				{ID: "M-2", Number: "2026-0002", Client: "Bo", Name: "In re Marriage of Bo", Litigation: true}}, ""},
		{"csv litigation column", "Name,ID,Client,Number,Litigation\nLease,M-1,Acme,1,true\n",
			[]Matter{{ID: "M-1", Number: "1", Client: "Acme", Name: "Lease", Litigation: true}}, ""},
		{"csv in the admin import's format", "number;client;name;id;litigation\n1;Acme;Lease;M-1;yes\n2;Bo;Bo v. Co;M-2;no\n",
			[]Matter{{ID: "M-1", Number: "1", Client: "Acme", Name: "Lease", Litigation: true}, {ID: "M-2", Number: "2", Client: "Bo", Name: "Bo v. Co"}}, ""},
		{"csv row problem names the line", "id,number,client,name,status\nM-1,1,c,n,open\nM-2,2,c,n,pending\n", nil, `line 3: status "pending"`},
		{"csv without header", "1,Acme,Lease\n", nil, `no "id" column`},
		{"csv missing column", "id,number,name\nM-1,1,x\n", nil, `no "client" column`},
		{"csv bad bool", "id,number,client,name,litigation\nM-1,1,c,n,maybe\n", nil, "litigation"},
		{"empty", "", nil, "empty"},
		{"duplicate id", `[{"id":"A"},{"id":"A"}]`, nil, "twice"},
		{"no id", `[{"name":"x"}]`, nil, "no id"},
		{"bad json", `[{"id":}`, nil, "parse JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseMatters([]byte(tc.data))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v", got)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("matter %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestLoadMattersFiles(t *testing.T) {
	if _, err := LoadMatters(filepath.Join(t.TempDir(), "missing.csv")); err == nil {
		t.Fatal("no error for a missing file")
	}
	p := filepath.Join(t.TempDir(), "m.csv")
	if err := os.WriteFile(p, []byte("id,number,client,name\nM-1,1,Acme,Acme v. B\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ms, err := LoadMatters(p)
	if err != nil || len(ms) != 1 || !ms[0].Litigation {
		t.Fatalf("LoadMatters = %+v, %v", ms, err)
	}
}

func TestIsLitigationCaption(t *testing.T) {
	for name, want := range map[string]bool{
		"Smith v. Jones": true, "Smith v Jones": true, "Patel vs. Northside": true, "A versus B": true,
		"State v. O'Neil": true, "In re Marriage of Alvarez": true, "Estate of Harold Whitfield": false,
		"Brightline - Series A financing": false, "Vance trust": false, "": false,
	} {
		if got := IsLitigationCaption(name); got != want {
			t.Errorf("IsLitigationCaption(%q) = %v", name, got)
		}
	}
}
