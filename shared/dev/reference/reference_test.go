package reference_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/finfeed/finfeed/shared/dev/fixtures"
	"github.com/finfeed/finfeed/shared/dev/reference"
)

func TestCheckPrefix(t *testing.T) {
	ref := strings.Split(strings.TrimSpace(string(fixtures.Read(t, fixtures.SeedEnhanced))), "\n")[0]
	good := `{"symbol":"AMZN","close":194.64,"open":194.58,"low":194.58,"high":194.64,"volume":255,"timestamp":"2024-07-11 19:49:00","%change":-0.8784661217630548,"indicator":"Neutral","prevClose":196.365,"tradingDate":"2024-07-11","sma20":null,"sma50":null,"ema12":null,"ema26":null,"rsi14":null,"vwapSession":194.61,"volumeAlert":false,"maCross":null,"outOfSequence":false}`
	if err := reference.CheckPrefix([]byte(good), []byte(ref)); err != nil {
		t.Fatalf("the seed's first record: %v", err)
	}
	bad := map[string]string{
		"another close":           strings.Replace(good, `"close":194.64`, `"close":194.65`, 1),
		"a change one ulp away":   strings.Replace(good, `-0.8784661217630548`, `-0.8784661217630549`, 1),
		"indicator differs":       strings.Replace(good, `"Neutral"`, `"Bullish"`, 1),
		"keys swapped":            strings.Replace(good, `"open":194.58,"low":194.58`, `"low":194.58,"open":194.58`, 1),
		"an extension key gone":   strings.Replace(good, `"maCross":null,`, ``, 1),
		"an extra key at the end": strings.Replace(good, `false}`, `false,"x":1}`, 1),
		"extension out of order":  strings.Replace(good, `"sma20":null,"sma50":null`, `"sma50":null,"sma20":null`, 1),
		"not JSON":                good[:40],
	}
	for name, rec := range bad {
		if rec == good {
			t.Fatalf("%s: the mutation changed nothing", name)
		}
		if err := reference.CheckPrefix([]byte(rec), []byte(ref)); err == nil {
			t.Errorf("%s: no error for %s", name, rec)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	if err := reference.CheckPrefix([]byte(good), bytes.Replace([]byte(ref), []byte(`"indicator"`), []byte(`"indicatorX"`), 1)); err == nil {
		t.Error("a reference line with other keys: no error")
	}
}
