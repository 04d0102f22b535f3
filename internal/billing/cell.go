package billing

// SafeCell makes a text cell safe to open in a spreadsheet, as WriteCSV does for its own
// cells: invalid UTF-8 is replaced, and a cell starting with '=', '+', '-', '@', TAB or CR
// gets a leading single quote so it is shown as text, never evaluated as a formula. Other
// CSV writers (audit logs, archives) use it so every CSV Dictum writes follows one rule.
func SafeCell(s string) string { return safeCell(s) }
