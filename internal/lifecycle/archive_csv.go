package lifecycle

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"dictum/internal/billing"
	"dictum/internal/store"
)

// AuditCSVHeader are the columns of an audit log CSV (the auditors' download and the
// audit/audit.csv of an archive). "changes" is the field-level diff of an entry edit.
var AuditCSVHeader = []string{"id", "at", "actor", "action", "object_type", "object_id", "ip", "changes", "detail"}

// csvOut is a CSV writer whose every text cell is injection-safe (billing.SafeCell).
type csvOut struct {
	bw *bufio.Writer
	cw *csv.Writer
}

func newCSV(w io.Writer, header []string) (*csvOut, error) {
	bw := bufio.NewWriterSize(w, 32<<10)
	c := &csvOut{bw: bw, cw: csv.NewWriter(bw)}
	c.cw.UseCRLF = true
	return c, c.row(header...)
}

func (c *csvOut) row(cells ...string) error {
	for i, s := range cells {
		cells[i] = billing.SafeCell(s)
	}
	if err := c.cw.Write(cells); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

func (c *csvOut) flush() error {
	c.cw.Flush()
	if err := c.cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	if err := c.bw.Flush(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// AuditCSV writes the events each yields as CSV (AuditCSVHeader) and returns how many it
// wrote. Every cell is injection-safe: one that starts with = + - @ TAB or CR is prefixed
// with a single quote. Memory does not grow with the number of events.
func AuditCSV(w io.Writer, each func(fn func(store.Event) error) error) (int, error) {
	c, err := newCSV(w, append([]string(nil), AuditCSVHeader...))
	if err != nil {
		return 0, err
	}
	n := 0
	err = each(func(e store.Event) error {
		d, _ := json.Marshal(e.Detail)
		if e.Detail == nil {
			d = []byte("{}")
		}
		n++
		return c.row(strconv.FormatInt(e.ID, 10), e.At, e.Actor, e.Action, e.ObjectType, e.ObjectID, e.IP, e.ChangesText(), string(d))
	})
	if err != nil {
		return n, err
	}
	return n, c.flush()
}

// entryCSVHeader are the columns of entries/entries.csv in an archive.
var entryCSVHeader = []string{"id", "date", "timekeeper", "matter_id", "matter_number", "matter_name", "hours", "activity", "task",
	"billable", "status", "narrative", "recording_id", "engine", "created_at", "updated_at", "approved_at", "exported_at", "deleted_at"}

func entryRecord(e *store.Entry, m *store.Matter) []string {
	s := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	num, name := "", ""
	if m != nil {
		num, name = m.Number, m.Name
	}
	billable := "No"
	if e.Billable {
		billable = "Yes"
	}
	return []string{e.ID, e.Date, e.Timekeeper, s(e.MatterID), num, name, strconv.FormatFloat(e.Hours, 'f', 1, 64), s(e.Activity), s(e.Task),
		billable, e.Status, e.Narrative, s(e.RecordingID), e.Engine, e.CreatedAt, e.UpdatedAt, s(e.ApprovedAt), s(e.ExportedAt), s(e.DeletedAt)}
}

// historyCSVHeader are the columns of entries/history.csv: one row per changed field of
// an edit, one row for any other event of an entry.
var historyCSVHeader = []string{"entry_id", "event_id", "at", "actor", "action", "field", "from", "to"}
