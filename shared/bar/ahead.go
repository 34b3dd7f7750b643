package bar

import (
	"strconv"
	"time"
)

// MaxAhead is how far a bar's start may lie after the moment its raw record was written (the Kafka record's
// timestamp): a minute bar is written after its minute ends, so a bar stamped later than this is wrong (a clock
// or a source fault). One such bar would otherwise become its symbol's latest bar and its partition's watermark:
// every real bar after it would be out of sequence and every candle of the partition frozen.
const MaxAhead = 5 * time.Minute

// CheckAhead returns an error wrapping ErrInvalid when b starts more than MaxAhead after written, the time its
// raw record was written. A zero or pre-1971 written (a record without a timestamp) checks nothing. The check
// depends only on the record, never on the clock of the reader, so a replay decides as the first reading did.
func CheckAhead(b *Raw, written time.Time) error {
	if written.Before(time.Unix(365*24*3600, 0)) {
		return nil
	}
	if ahead := b.Time.Sub(written); ahead > MaxAhead {
		how := ahead.Round(time.Second).String()
		if ahead >= 48*time.Hour {
			how = strconv.Itoa(int(ahead/(24*time.Hour))) + " days"
		}
		return invalid("timestamp: %s is %s after the record was written (%s); a bar cannot start more than %v after it is written",
			b.Time.UTC().Format(TimestampLayout), how, written.UTC().Format(time.RFC3339Nano), MaxAhead)
	}
	return nil
}
