package billing

import (
	"fmt"
	"time"
)

// Row is one approved time entry as it leaves Dictum. Callers fill it from the store; the
// writers validate it and never trust it to be well formed.
type Row struct {
	EntryID         string
	Date            string // civil date, YYYY-MM-DD, in the firm's time zone
	TimekeeperID    string
	TimekeeperName  string
	TimekeeperClass string // LEDES classification or a common title (see LEDESClass)
	ClientID        string
	ClientName      string
	MatterID        string
	MatterNumber    string
	MatterName      string
	Hours           Tenths
	RateCents       Cents  // hourly rate; 0 = none
	Activity        string // UTBMS activity code, e.g. A103
	Task            string // UTBMS task code, e.g. L120
	Narrative       string
	Billable        bool

	// TimekeeperUser, FirstName and LastName are the timekeeper's login and name; when
	// both names are set a LEDES file names the timekeeper "Last, First" (see WriteLEDES).
	TimekeeperUser      string
	FirstName, LastName string
}

// RowIterator yields rows one at a time so an export never holds every row in memory.
// Next returns ok=false (and a nil error) when there are no more rows.
type RowIterator interface {
	Next() (row Row, ok bool, err error)
}

// SliceIterator returns a RowIterator over rows (handy for small exports and tests).
func SliceIterator(rows []Row) RowIterator { return &sliceIter{rows: rows} }

type sliceIter struct {
	rows []Row
	i    int
}

func (s *sliceIter) Next() (Row, bool, error) {
	if s.i >= len(s.rows) {
		return Row{}, false, nil
	}
	r := s.rows[s.i]
	s.i++
	return r, true, nil
}

// parseCivilDate checks a YYYY-MM-DD date (a real calendar day).
func parseCivilDate(s string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("date %q is not YYYY-MM-DD", s)
	}
	return t, nil
}
