package billing

import "errors"

// MaxHourlyRate is the highest hourly rate Dictum accepts, in currency units.
const MaxHourlyRate = 100000

// ErrRateRange is returned for an hourly rate below 0, above MaxHourlyRate or not a number.
var ErrRateRange = errors.New("rate must be between 0 and 100000 per hour")

// HourlyRate converts an hourly rate in currency units (412.5) to cents, rounding half up.
func HourlyRate(r float64) (Cents, error) {
	if r != r || r < 0 || r > MaxHourlyRate {
		return 0, ErrRateRange
	}
	return Cents(r*100 + 0.5), nil
}

// ResolveRate picks the hourly rate for an entry: a matter override wins over the
// timekeeper's standard rate, which wins over the firm default. Zero (or a negative value,
// which is never a valid rate) means "not set" at that level; the result is 0 when no level
// has a rate, which the LEDES writer rejects as a missing rate.
func ResolveRate(firmDefault, timekeeper, matterOverride Cents) Cents {
	for _, r := range []Cents{matterOverride, timekeeper, firmDefault} {
		if r > 0 {
			return r
		}
	}
	return 0
}

// RateKey names a timekeeper on a matter.
type RateKey struct {
	MatterID     string
	TimekeeperID string
}

// RateTable holds a firm's rates at every level. Maps may be nil.
type RateTable struct {
	FirmDefault Cents
	// Timekeeper is each timekeeper's standard rate, by timekeeper id.
	Timekeeper map[string]Cents
	// Matter is a rate that applies to everyone on a matter, by matter id.
	Matter map[string]Cents
	// MatterTimekeeper is a negotiated rate for one timekeeper on one matter; it is the most
	// specific level and wins over all others.
	MatterTimekeeper map[RateKey]Cents
}

// Rate resolves the rate for a timekeeper on a matter: matter+timekeeper override >
// matter override > timekeeper rate > firm default (see ResolveRate).
func (t RateTable) Rate(matterID, timekeeperID string) Cents {
	if r := t.MatterTimekeeper[RateKey{MatterID: matterID, TimekeeperID: timekeeperID}]; r > 0 {
		return r
	}
	return ResolveRate(t.FirmDefault, t.Timekeeper[timekeeperID], t.Matter[matterID])
}
