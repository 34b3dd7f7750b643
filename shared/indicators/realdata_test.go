package indicators_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/dev/fixtures"
	"github.com/finfeed/finfeed/shared/indicators"
)

// TestSeriesUnseenRealData: 38,964 real DBB minute bars over two years (data the indicators were not written
// against) match the independent implementation to 1e-9, bar for bar, including through a decode(encode()) of the
// series every 997 bars.
func TestSeriesUnseenRealData(t *testing.T) {
	zr, err := gzip.NewReader(bytes.NewReader(fixtures.Read(t, fixtures.DBBRawGzip)))
	if err != nil {
		t.Fatalf("open %s: %v", fixtures.DBBRawGzip, err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("read %s: %v", fixtures.DBBRawGzip, err)
	}
	bars := readRaw(t, data)
	if len(bars) != 38964 {
		t.Fatalf("got %d bars, want 38964", len(bars))
	}
	want := referenceAll(bars)
	var s indicators.Series
	var crosses, alerts int
	for i := range bars {
		if i%997 == 0 {
			var d indicators.Series
			if _, err := d.DecodeBinary(s.AppendBinary(nil)); err != nil {
				t.Fatalf("bar %d: decode: %v", i, err)
			}
			s = d
		}
		got := s.Apply(&bars[i])
		if d := diff(got, want[i]); d != "" {
			t.Fatalf("bar %d (%s):%s", i, bars[i].Time.Format(time.DateTime), d)
		}
		if got.MACross != "" {
			crosses++
		}
		if got.VolumeAlert {
			alerts++
		}
	}
	if crosses < 100 || alerts < 100 {
		t.Fatalf("only %d crosses and %d volume alerts: the data does not exercise them", crosses, alerts)
	}
	t.Logf("%d bars, %d crosses, %d volume alerts", len(bars), crosses, alerts)
}
