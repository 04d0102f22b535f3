// Package billing holds the time-entry values that leave Dictum (hours in tenths, money in
// cents, rates) and the writers that turn approved entries into files a billing system
// accepts: CSV for spreadsheets and LEDES 1998B for e-billing portals.
//
// The package does no I/O of its own beyond the io.Writer it is given and knows nothing of
// the database: callers hand it Row values (or a RowIterator for streaming CSV).
package billing
