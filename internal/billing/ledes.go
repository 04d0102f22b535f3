package billing

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"dictum/internal/utbms"
)

// Invoice is the invoice-level data of a LEDES 1998B file.
type Invoice struct {
	Number string
	// Date, PeriodStart and PeriodEnd are civil dates, YYYYMMDD (YYYY-MM-DD is accepted too).
	Date        string
	PeriodStart string
	PeriodEnd   string
	LawFirmID   string // the firm's id with the client/e-billing vendor (often a tax id)
	ClientID    string // the client's id for the firm, as the client's portal expects it
	// LawFirmMatterID is the firm's matter number. When empty, every row's MatterNumber is
	// used and must be the same for all rows (a 1998B invoice covers one matter).
	LawFirmMatterID string
	ClientMatterID  string // the client's own matter reference; may be empty
	Description     string
}

// LEDESHeader is the second line of a LEDES 1998B file (the first is "LEDES1998B[]").
const LEDESHeader = "INVOICE_DATE|INVOICE_NUMBER|CLIENT_ID|LAW_FIRM_MATTER_ID|INVOICE_TOTAL|" +
	"BILLING_START_DATE|BILLING_END_DATE|INVOICE_DESCRIPTION|LINE_ITEM_NUMBER|EXP/FEE/INV_ADJ_TYPE|" +
	"LINE_ITEM_NUMBER_OF_UNITS|LINE_ITEM_ADJUSTMENT_AMOUNT|LINE_ITEM_TOTAL|LINE_ITEM_DATE|" +
	"LINE_ITEM_TASK_CODE|LINE_ITEM_EXPENSE_CODE|LINE_ITEM_ACTIVITY_CODE|TIMEKEEPER_ID|" +
	"LINE_ITEM_DESCRIPTION|LAW_FIRM_ID|LINE_ITEM_UNIT_COST|TIMEKEEPER_NAME|" +
	"TIMEKEEPER_CLASSIFICATION|CLIENT_MATTER_ID"

// LEDESFieldCount is the number of fields in every LEDES 1998B record.
const LEDESFieldCount = 24

// Problem is one reason an export was refused. EntryID is empty for invoice-level problems.
type Problem struct {
	EntryID string
	Field   string
	Message string
}

// RejectError lists every problem found before a LEDES file was written. Nothing was
// written when it is returned.
type RejectError struct {
	Problems []Problem
}

func (e *RejectError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ledes export refused: %d problem(s)", len(e.Problems))
	for i, p := range e.Problems {
		if i == 5 {
			fmt.Fprintf(&b, "; and %d more", len(e.Problems)-5)
			break
		}
		if p.EntryID != "" {
			fmt.Fprintf(&b, "; entry %s: %s: %s", p.EntryID, p.Field, p.Message)
		} else {
			fmt.Fprintf(&b, "; invoice: %s: %s", p.Field, p.Message)
		}
	}
	return b.String()
}

// LEDESClass maps a timekeeper classification to a LEDES 1998B code: PT (partner), AS
// (associate), OC (of counsel), LA (legal assistant / paralegal), OT (other). The codes
// themselves and common titles are accepted case-insensitively; anything else gives "".
func LEDESClass(s string) string {
	switch strings.ToLower(strings.Join(strings.Fields(s), " ")) {
	case "pt", "partner":
		return "PT"
	case "as", "associate":
		return "AS"
	case "oc", "of counsel", "counsel":
		return "OC"
	case "la", "legal assistant", "paralegal":
		return "LA"
	case "ot", "other":
		return "OT"
	}
	return ""
}

// ledesLine is a validated, cleaned fee line.
type ledesLine struct {
	date, task, activity, tkID, desc, tkName, class string
	units                                           Tenths
	rate, total                                     Cents
}

// WriteLEDES writes a LEDES 1998B invoice: the line "LEDES1998B[]", the header line
// LEDESHeader + "[]", then one fee line per billable row, every record ending in "[]" and
// CRLF and holding exactly 24 '|'-separated fields.
//
// Choices (all made so that an e-billing portal accepts the file):
//   - Every row is validated before the first byte is written. Missing or unknown UTBMS
//     activity or task codes, a missing rate, a missing timekeeper id or classification,
//     zero hours, an empty narrative, a date that is not a real date or lies outside the
//     billing period, and a matter number different from the invoice's are all reported
//     together in a *RejectError naming every offending entry; nothing is written then.
//     Both codes are required on every fee line because portals reject fee lines without a
//     task or activity code; utbms only knows the litigation task set, so only matters
//     billed under it can be exported as LEDES for now.
//   - Non-billable rows are left out of the file (they are not invoiced). A LEDES invoice
//     with no billable rows is refused.
//   - Units are decimal hours, unit cost is the hourly rate, the adjustment is 0.00, the
//     line total is units x unit cost + adjustment and the invoice total is the sum of the
//     line totals, all computed in integer cents (amounts rounded half up to the cent).
//   - Text fields are cleaned: CR, LF and TAB become spaces, '|' becomes '/', '[' and ']'
//     become '(' and ')' so no field can contain a delimiter or the record terminator,
//     runs of spaces are collapsed and invalid UTF-8 is replaced.
func WriteLEDES(w io.Writer, inv Invoice, rows []Row) error {
	var probs []Problem
	invProblem := func(field, msg string) { probs = append(probs, Problem{Field: field, Message: msg}) }

	invDate, errD := ledesDate(inv.Date)
	if errD != nil {
		invProblem("INVOICE_DATE", errD.Error())
	}
	start, errS := ledesDate(inv.PeriodStart)
	if errS != nil {
		invProblem("BILLING_START_DATE", errS.Error())
	}
	end, errE := ledesDate(inv.PeriodEnd)
	if errE != nil {
		invProblem("BILLING_END_DATE", errE.Error())
	}
	if errS == nil && errE == nil && end < start {
		invProblem("BILLING_END_DATE", "billing period ends before it starts")
	}
	number := ledesText(inv.Number)
	if number == "" {
		invProblem("INVOICE_NUMBER", "invoice number is missing")
	}
	clientID := ledesText(inv.ClientID)
	if clientID == "" {
		invProblem("CLIENT_ID", "client id is missing")
	}
	firmID := ledesText(inv.LawFirmID)
	if firmID == "" {
		invProblem("LAW_FIRM_ID", "law firm id is missing")
	}
	matterID := ledesText(inv.LawFirmMatterID)
	if matterID == "" {
		for _, r := range rows {
			if m := ledesText(r.MatterNumber); m != "" && r.Billable {
				matterID = m
				break
			}
		}
		if matterID == "" {
			invProblem("LAW_FIRM_MATTER_ID", "matter number is missing")
		}
	}

	lines := make([]ledesLine, 0, len(rows))
	var total Cents
	seen := make(map[string]bool, len(rows))
	billable := 0
	for i, r := range rows {
		id := r.EntryID
		if strings.TrimSpace(id) == "" {
			id = "#" + strconv.Itoa(i+1) // name the row by position so the problem is findable
			probs = append(probs, Problem{EntryID: id, Field: "ENTRY_ID", Message: "entry id is missing"})
		} else if seen[id] {
			probs = append(probs, Problem{EntryID: id, Field: "ENTRY_ID", Message: "entry appears twice"})
		}
		seen[id] = true
		if !r.Billable {
			continue
		}
		billable++
		rp := func(field, msg string) { probs = append(probs, Problem{EntryID: id, Field: field, Message: msg}) }
		n := len(probs)

		d, err := ledesDate(r.Date)
		if err != nil {
			rp("LINE_ITEM_DATE", err.Error())
		} else if errS == nil && errE == nil && (d < start || d > end) {
			rp("LINE_ITEM_DATE", fmt.Sprintf("date %s is outside the billing period %s-%s", r.Date, start, end))
		}
		act := strings.ToUpper(strings.TrimSpace(r.Activity))
		switch {
		case act == "":
			rp("LINE_ITEM_ACTIVITY_CODE", "UTBMS activity code is missing")
		case !utbms.ValidActivity(act):
			rp("LINE_ITEM_ACTIVITY_CODE", fmt.Sprintf("%q is not a UTBMS activity code", r.Activity))
		}
		task := strings.ToUpper(strings.TrimSpace(r.Task))
		switch {
		case task == "":
			rp("LINE_ITEM_TASK_CODE", "UTBMS task code is missing")
		case !utbms.ValidTask(task):
			rp("LINE_ITEM_TASK_CODE", fmt.Sprintf("%q is not a UTBMS task code", r.Task))
		}
		switch {
		case r.RateCents == 0:
			rp("LINE_ITEM_UNIT_COST", "rate is missing")
		case r.RateCents < 0:
			rp("LINE_ITEM_UNIT_COST", "rate is negative")
		}
		switch {
		case r.Hours == 0:
			rp("LINE_ITEM_NUMBER_OF_UNITS", "hours are zero")
		case r.Hours < 0:
			rp("LINE_ITEM_NUMBER_OF_UNITS", "hours are negative")
		}
		tkID := ledesText(r.TimekeeperID)
		if tkID == "" {
			rp("TIMEKEEPER_ID", "timekeeper id is missing")
		}
		tkName := ledesText(r.TimekeeperName)
		if tkName == "" {
			rp("TIMEKEEPER_NAME", "timekeeper name is missing")
		}
		class := LEDESClass(r.TimekeeperClass)
		if class == "" {
			rp("TIMEKEEPER_CLASSIFICATION", fmt.Sprintf("%q is not a LEDES classification (PT, AS, OC, LA, OT)", r.TimekeeperClass))
		}
		desc := ledesText(r.Narrative)
		if desc == "" {
			rp("LINE_ITEM_DESCRIPTION", "narrative is empty")
		}
		if m := ledesText(r.MatterNumber); matterID != "" && m != matterID {
			rp("LAW_FIRM_MATTER_ID", fmt.Sprintf("matter %q does not belong on an invoice for matter %q", r.MatterNumber, matterID))
		}
		if len(probs) > n {
			continue
		}
		lineTotal, err := Amount(r.Hours, r.RateCents)
		if err == nil {
			total, err = AddCents(total, lineTotal)
		}
		if err != nil {
			rp("LINE_ITEM_TOTAL", err.Error())
			continue
		}
		lines = append(lines, ledesLine{
			date: d, task: task, activity: act, tkID: tkID, desc: desc, tkName: tkName,
			class: class, units: r.Hours, rate: r.RateCents, total: lineTotal,
		})
	}
	if billable == 0 {
		invProblem("LINE_ITEM_NUMBER", "the invoice has no billable entries")
	}
	if len(probs) > 0 {
		return &RejectError{Problems: probs}
	}

	bw := bufio.NewWriter(w)
	bw.WriteString("LEDES1998B[]\r\n")
	bw.WriteString(LEDESHeader + "[]\r\n")
	f := make([]string, LEDESFieldCount)
	for i, l := range lines {
		f[0] = invDate
		f[1] = number
		f[2] = clientID
		f[3] = matterID
		f[4] = total.String()
		f[5] = start
		f[6] = end
		f[7] = ledesText(inv.Description)
		f[8] = strconv.Itoa(i + 1)
		f[9] = "F"
		f[10] = l.units.String()
		f[11] = Cents(0).String()
		f[12] = l.total.String()
		f[13] = l.date
		f[14] = l.task
		f[15] = ""
		f[16] = l.activity
		f[17] = l.tkID
		f[18] = l.desc
		f[19] = firmID
		f[20] = l.rate.String()
		f[21] = l.tkName
		f[22] = l.class
		f[23] = ledesText(inv.ClientMatterID)
		bw.WriteString(strings.Join(f, "|"))
		bw.WriteString("[]\r\n")
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write ledes: %w", err)
	}
	return nil
}

// ledesDate accepts YYYYMMDD or YYYY-MM-DD (a real calendar day) and returns YYYYMMDD.
func ledesDate(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("date is missing")
	}
	layout := "20060102"
	if strings.Contains(s, "-") {
		layout = time.DateOnly
	}
	t, err := time.Parse(layout, s)
	if err != nil {
		return "", fmt.Errorf("date %q is not YYYYMMDD or YYYY-MM-DD", s)
	}
	return t.Format("20060102"), nil
}

var ledesReplacer = strings.NewReplacer(
	"\r\n", " ", "\r", " ", "\n", " ", "\t", " ", "\v", " ", "\f", " ",
	"|", "/", "[", "(", "]", ")",
)

// ledesText cleans a value for a LEDES field (see WriteLEDES).
func ledesText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = ledesReplacer.Replace(s)
	return strings.Join(strings.Fields(s), " ")
}
