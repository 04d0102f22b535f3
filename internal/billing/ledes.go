package billing

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
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
	// MatterID is the firm's internal matter id, named in fixes ("" when unknown).
	MatterID string
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
// Field is the LEDES field; Message says what is wrong and Fix how to put it right.
type Problem struct {
	EntryID string `json:"entry_id"`
	Field   string `json:"field"`
	Message string `json:"message"`
	Fix     string `json:"fix"`
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

// WriteLEDES writes a LEDES 1998B invoice under DefaultProfile (see WriteLEDESProfile).
func WriteLEDES(w io.Writer, inv Invoice, rows []Row) error {
	return WriteLEDESProfile(w, inv, rows, DefaultProfile())
}

// WriteLEDESProfile writes a LEDES 1998B invoice: the line "LEDES1998B[]", the header line
// LEDESHeader + "[]", then one fee line per billable row, every record ending in "[]" and
// CRLF and holding exactly 24 '|'-separated fields.
//
// Choices (all made so that an e-billing portal accepts the file on the first upload):
//   - Every row is validated before the first byte is written, against the client's
//     profile (which codes it requires, from which code set) and the rules e-billing
//     platforms publish (see ledes_rules.go): a missing or unknown code, a missing rate,
//     timekeeper id or classification, a timekeeper name not "Last, First", zero hours, an
//     empty or over-long narrative, a literal NULL, text that cannot be made ASCII, an ID
//     field over 20 characters, a date that is not a real date or lies outside the
//     billing period, and a matter different from the invoice's are all reported together
//     in a *RejectError naming the entry, the field and the fix; nothing is written then.
//     The formatted records are then checked once more as a platform would (Legal
//     Tracker's posting errors 003-007) before anything is written.
//   - Non-billable rows are left out of the file (they are not invoiced). A LEDES invoice
//     with no billable rows is refused.
//   - Units are decimal hours, unit cost is the hourly rate, the adjustment is 0.00, the
//     line total is units x unit cost + adjustment and the invoice total is the sum of the
//     line totals, all computed in integer cents (amounts rounded half up to the cent).
//   - Text fields are cleaned: CR, LF and TAB become spaces, '|' becomes '/', '[' and ']'
//     become '(' and ')' so no field can contain a delimiter or the record terminator,
//     runs of spaces are collapsed, and letters with accents, curly quotes, dashes and
//     the like are transliterated to ASCII ("Müller" -> "Muller").
func WriteLEDESProfile(w io.Writer, inv Invoice, rows []Row, prof Profile) error {
	var probs []Problem
	invProblem := func(field, msg, fix string) {
		probs = append(probs, Problem{Field: field, Message: msg, Fix: fix})
	}
	clean := func(entryID, field, v string, max int, fix string) string {
		out, bad := LEDESText(v)
		if len(bad) > 0 {
			probs = append(probs, Problem{EntryID: entryID, Field: field,
				Message: fmt.Sprintf("contains %s, which e-billing platforms reject and which has no plain-ASCII spelling", quoteRunes(bad)),
				Fix:     "replace those characters; " + fix})
		}
		if IsLiteralNULL(out) {
			probs = append(probs, Problem{EntryID: entryID, Field: field, Message: `is the literal text "NULL", which platforms read as an empty field`, Fix: fix})
		}
		if max > 0 && len(out) > max {
			probs = append(probs, Problem{EntryID: entryID, Field: field,
				Message: fmt.Sprintf("is %d characters long; LEDES 1998B allows at most %d", len(out), max), Fix: "shorten it; " + fix})
		}
		return out
	}
	invoiceFix := "the invoice date and billing period come from the export's from and to"

	invDate, errD := ledesDate(inv.Date)
	if errD != nil {
		invProblem("INVOICE_DATE", "error 003: "+errD.Error(), invoiceFix)
	}
	start, errS := ledesDate(inv.PeriodStart)
	if errS != nil {
		invProblem("BILLING_START_DATE", "error 003: "+errS.Error(), invoiceFix)
	}
	end, errE := ledesDate(inv.PeriodEnd)
	if errE != nil {
		invProblem("BILLING_END_DATE", "error 003: "+errE.Error(), invoiceFix)
	}
	if errS == nil && errE == nil && end < start {
		invProblem("BILLING_END_DATE", "billing period ends before it starts", "swap from and to")
	}
	numberFix := "leave invoice_number empty to get the firm's next number (Admin > Settings sets the prefix)"
	number := clean("", "INVOICE_NUMBER", inv.Number, MaxLEDESID, numberFix)
	if number == "" {
		invProblem("INVOICE_NUMBER", "error 005: invoice number is missing", numberFix)
	}
	clientFix := prof.clientFix()
	clientID := clean("", "CLIENT_ID", inv.ClientID, MaxLEDESID, clientFix)
	if clientID == "" {
		invProblem("CLIENT_ID", "error 005: the client's ledes_client_id is missing (the id the client's e-billing platform knows it by)", clientFix)
	}
	firmFix := `set the firm's LEDES law firm id in Admin > Settings or with PATCH /api/v1/settings {"ledes_law_firm_id": "..."}`
	firmID := clean("", "LAW_FIRM_ID", inv.LawFirmID, MaxLEDESID, firmFix)
	if firmID == "" {
		invProblem("LAW_FIRM_ID", "error 005: law firm id is missing", firmFix)
	}
	matterFix := "edit the matter's number in Admin > Matters"
	if inv.MatterID != "" {
		matterFix += " or with PATCH /api/v1/matters/" + inv.MatterID
	}
	matterID := clean("", "LAW_FIRM_MATTER_ID", inv.LawFirmMatterID, MaxLEDESID, matterFix)
	if matterID == "" {
		for _, r := range rows {
			if m, _ := LEDESText(r.MatterNumber); m != "" && r.Billable {
				matterID = clean("", "LAW_FIRM_MATTER_ID", r.MatterNumber, MaxLEDESID, matterFix)
				break
			}
		}
		if matterID == "" {
			invProblem("LAW_FIRM_MATTER_ID", "error 005: matter number is missing", matterFix)
		}
	}
	cmFix := `set the matter's client_matter_id in Admin > Matters`
	if inv.MatterID != "" {
		cmFix += ` or with PATCH /api/v1/matters/` + inv.MatterID + ` {"client_matter_id": "..."}`
	}
	clientMatter := clean("", "CLIENT_MATTER_ID", inv.ClientMatterID, MaxLEDESID, cmFix)
	if clientMatter == "" && prof.RequireClientMatterID {
		invProblem("CLIENT_MATTER_ID", "the client's own matter id is missing; this client's e-billing platform matches invoices on it", cmFix)
	}
	descFix := "change the client's invoice description template in Admin > Clients"
	invDesc := clean("", "INVOICE_DESCRIPTION", inv.Description, MaxLEDESDescription, descFix)
	if invDesc == "" {
		invProblem("INVOICE_DESCRIPTION", "error 005: invoice description is empty", descFix)
	}

	lines := make([]ledesLine, 0, len(rows))
	var total Cents
	seen := make(map[string]bool, len(rows))
	billable := 0
	for i, r := range rows {
		id := r.EntryID
		if strings.TrimSpace(id) == "" {
			id = "#" + strconv.Itoa(i+1) // name the row by position so the problem is findable
			probs = append(probs, Problem{EntryID: id, Field: "ENTRY_ID", Message: "entry id is missing", Fix: "report this as a bug"})
		} else if seen[id] {
			probs = append(probs, Problem{EntryID: id, Field: "ENTRY_ID", Message: "entry appears twice", Fix: "report this as a bug"})
		}
		seen[id] = true
		if !r.Billable {
			continue
		}
		billable++
		entryFix := "reopen the entry, correct it and approve it again"
		userFix := "set it in Admin > Users"
		if r.TimekeeperUser != "" {
			userFix = fmt.Sprintf("set it in Admin > Users > %s or with PATCH /api/v1/users/%s", r.TimekeeperUser, r.TimekeeperUser)
		}
		rp := func(field, msg, fix string) {
			probs = append(probs, Problem{EntryID: id, Field: field, Message: msg, Fix: fix})
		}
		n := len(probs)

		d, err := ledesDate(r.Date)
		if err != nil {
			rp("LINE_ITEM_DATE", "error 003: "+err.Error(), entryFix)
		} else if errS == nil && errE == nil && (d < start || d > end) {
			rp("LINE_ITEM_DATE", fmt.Sprintf("date %s is outside the billing period %s-%s", r.Date, start, end), "widen the period or move the entry's date")
		}
		act := strings.ToUpper(strings.TrimSpace(r.Activity))
		switch {
		case act == "" && prof.RequireActivity:
			rp("LINE_ITEM_ACTIVITY_CODE", "activity code is missing and "+prof.who()+" requires one", entryFix+" with an activity code ("+prof.setName()+")")
		case act != "" && !prof.validActivity(act):
			rp("LINE_ITEM_ACTIVITY_CODE", fmt.Sprintf("%q is not an activity code of %s", r.Activity, prof.setName()), entryFix+" with one of the set's activity codes")
		}
		task := strings.ToUpper(strings.TrimSpace(r.Task))
		switch {
		case task == "" && prof.RequireTask:
			rp("LINE_ITEM_TASK_CODE", "task code is missing and "+prof.who()+" requires one", entryFix+" with a task code ("+prof.setName()+")")
		case task != "" && !prof.validTask(task):
			rp("LINE_ITEM_TASK_CODE", fmt.Sprintf("%q is not a task code of %s", r.Task, prof.setName()), entryFix+" with one of the set's task codes")
		}
		switch {
		case r.RateCents == 0:
			rp("LINE_ITEM_UNIT_COST", "error 005: rate is missing", "give the timekeeper a rate ("+userFix+"), the matter a rate, or the firm a default rate")
		case r.RateCents < 0:
			rp("LINE_ITEM_UNIT_COST", "rate is negative", userFix)
		}
		switch {
		case r.Hours == 0:
			rp("LINE_ITEM_NUMBER_OF_UNITS", "hours are zero", entryFix)
		case r.Hours < 0:
			rp("LINE_ITEM_NUMBER_OF_UNITS", "hours are negative", entryFix)
		}
		tkID := clean(id, "TIMEKEEPER_ID", r.TimekeeperID, MaxLEDESID, "timekeeper_id: "+userFix)
		if tkID == "" {
			rp("TIMEKEEPER_ID", "error 005: timekeeper id is missing", "timekeeper_id: "+userFix)
		}
		rawName := r.TimekeeperName
		if strings.TrimSpace(r.FirstName) != "" && strings.TrimSpace(r.LastName) != "" {
			rawName = strings.TrimSpace(r.LastName) + ", " + strings.TrimSpace(r.FirstName)
		}
		nameFix := "first_name and last_name: " + userFix
		tkName := clean(id, "TIMEKEEPER_NAME", rawName, MaxLEDESTimekeeperName, nameFix)
		switch {
		case tkName == "":
			rp("TIMEKEEPER_NAME", "error 005: timekeeper name is missing", nameFix)
		case !IsLastFirst(tkName):
			rp("TIMEKEEPER_NAME", fmt.Sprintf("%q is not in the form \"Last, First\" that e-billing platforms require", tkName), nameFix)
		}
		class := LEDESClass(r.TimekeeperClass)
		if class == "" {
			rp("TIMEKEEPER_CLASSIFICATION", fmt.Sprintf("%q is not a LEDES classification (PT, AS, OC, LA, OT)", r.TimekeeperClass), "classification: "+userFix)
		}
		desc := clean(id, "LINE_ITEM_DESCRIPTION", r.Narrative, MaxLEDESDescription, entryFix)
		if desc == "" {
			rp("LINE_ITEM_DESCRIPTION", "error 005: narrative is empty", entryFix)
		}
		if m, _ := LEDESText(r.MatterNumber); matterID != "" && m != matterID {
			rp("LAW_FIRM_MATTER_ID", fmt.Sprintf("matter %q does not belong on an invoice for matter %q", r.MatterNumber, matterID), "export each matter as its own invoice")
		}
		if len(probs) > n {
			continue
		}
		lineTotal, err := Amount(r.Hours, r.RateCents)
		if err == nil {
			total, err = AddCents(total, lineTotal)
		}
		if err != nil {
			rp("LINE_ITEM_TOTAL", err.Error(), entryFix)
			continue
		}
		lines = append(lines, ledesLine{
			date: d, task: task, activity: act, tkID: tkID, desc: desc, tkName: tkName,
			class: class, units: r.Hours, rate: r.RateCents, total: lineTotal,
		})
	}
	if billable == 0 {
		invProblem("LINE_ITEM_NUMBER", "the invoice has no billable entries", "choose a period with approved billable entries")
	}
	if len(probs) > 0 {
		return &RejectError{Problems: probs}
	}

	recs := make([][]string, 0, len(lines))
	for i, l := range lines {
		f := make([]string, LEDESFieldCount)
		f[0] = invDate
		f[1] = number
		f[2] = clientID
		f[3] = matterID
		f[4] = total.String()
		f[5] = start
		f[6] = end
		f[7] = invDesc
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
		f[23] = clientMatter
		recs = append(recs, f)
	}
	// The platform's own arithmetic and format checks, on the text about to be written.
	if p := checkRecords(recs); len(p) > 0 {
		return &RejectError{Problems: p}
	}
	bw := bufio.NewWriter(w)
	bw.WriteString("LEDES1998B[]\r\n")
	bw.WriteString(LEDESHeader + "[]\r\n")
	for _, f := range recs {
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
