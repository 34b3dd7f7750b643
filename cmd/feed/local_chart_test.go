package main

import (
	"bytes"
	"context"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/browsertest"
	"github.com/finfeed/finfeed/shared/dev/synth"
	indicator "github.com/finfeed/finfeed/shared/indicators"
	"github.com/finfeed/finfeed/shared/kafka"
)

var chartRE = regexp.MustCompile(`chart: (http://127\.0\.0\.1:\d+/)`)

// TestLocalChartInBrowser is the browser check: `feed local` serves the chart, Debian's chromium loads it
// with no console error, it draws every enriched bar of the synthetic session for the chosen symbol, and a bar
// written to raw afterwards shows on the page without a reload; the 5m interval shows the published candles. FINFEED_SCREENSHOT=path also saves the
// screenshot there (make screenshot).
func TestLocalChartInBrowser(t *testing.T) {
	browsertest.Find(t)                  // before anything starts: a missing browser fails at once
	const symbol = "AAPL"                // the session's symbol with both MA crosses and a volume alert
	var want, crosses, alerts, sma20 int // the symbol's bars, and what their indicators should show
	var last bar.Raw
	series := new(indicator.Series) // the indicators of the session as the enrich function computes them
	for _, b := range synth.Default().Bars {
		if b.Symbol == symbol {
			want++
			last = b
			v := series.Apply(&b)
			crosses, alerts, sma20 = crosses+boolInt(v.MACross != ""), alerts+boolInt(v.VolumeAlert), sma20+boolInt(v.HasSMA20)
		}
	}
	r := startLocal(t, nil, "--kafka-addr", "127.0.0.1:0", "--speed", "0", "--batch-window", "20ms", "--http", "127.0.0.1:0")
	m := chartRE.FindStringSubmatch(r.stdout.String())
	if m == nil {
		t.Fatalf("no chart URL printed:\n%s", r.stdout)
	}
	page := browsertest.Open(t, m[1]+"#"+symbol, 1280, 760)
	ds := page.WaitDataset(t, "chart", "the chart to hold the synthetic session's bars", waitLimit, func(ds map[string]string) bool {
		return ds["symbol"] == symbol && ds["total"] == strconv.Itoa(want)
	})
	if n, err := strconv.Atoi(ds["candles"]); err != nil || n < 100 {
		t.Errorf("the chart drew %q candles of %d bars, want at least 100 (as many as fit)", ds["candles"], want)
	}
	for name, want := range map[string]int{"crosses": crosses, "alerts": alerts, "sma20": sma20} {
		if ds[name] != strconv.Itoa(want) {
			t.Errorf("the page holds %s bars with %s, want %d (indicators.Series on the session)", ds[name], name, want)
		}
	}
	if crosses == 0 || alerts == 0 {
		t.Errorf("the session's %s has %d MA crosses and %d volume alerts: the check above shows nothing", symbol, crosses, alerts)
	}
	if ds["lastTime"] != last.Time.Format(bar.TimestampLayout) {
		t.Errorf("last candle at %q, want the session's last %s bar %s", ds["lastTime"], symbol, last.Time.Format(bar.TimestampLayout))
	}

	// a new bar, as the ingester would write it
	next := last
	next.Time = last.Time.Add(time.Minute)
	next.Open, next.Close = last.Close, math.Round(last.Close*1.004*100)/100
	next.High, next.Low = next.Close+0.05, last.Close-0.05
	cl, err := kafka.NewClient(t.Context(), kafka.Config{Brokers: []string{r.addr}, Auth: kafka.AuthSCRAM, Username: r.serviceUser, Password: r.servicePass},
		kafka.Deps{}, kgo.DefaultProduceTopic("raw"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	written := time.Now()
	if err := cl.ProduceSync(t.Context(), &kgo.Record{Key: []byte(symbol), Value: bar.AppendRaw(nil, &next)}).FirstErr(); err != nil {
		t.Fatalf("write the new bar to raw: %v", err)
	}
	ds = page.WaitDataset(t, "chart", "the new bar on the page", waitLimit, func(ds map[string]string) bool {
		return ds["lastTime"] == next.Time.Format(bar.TimestampLayout)
	})
	t.Logf("the new bar showed %v after it was written to raw (the issue asks for at most 2s)", time.Since(written).Round(time.Millisecond))
	if got, err := strconv.ParseFloat(ds["lastClose"], 64); err != nil || got != next.Close {
		t.Errorf("new candle's close %q, want %v", ds["lastClose"], next.Close)
	}
	if ds["total"] != strconv.Itoa(want+1) {
		t.Errorf("chart holds %s bars after the new one, want %d", ds["total"], want+1)
	}
	latest := browsertest.Eval[string](t, page, `document.getElementById('latest').textContent`)
	if !regexp.MustCompile(regexp.QuoteMeta(strconv.FormatFloat(next.Close, 'f', 2, 64))).MatchString(latest) {
		t.Errorf("latest bar panel %q does not show the new close %.2f", latest, next.Close)
	}
	if p := page.Problems(); len(p) > 0 {
		t.Errorf("console errors and exceptions on the page:\n%v", p)
	}
	// the customer principal may read both topics the chart reads (enhanced and candles)
	if stats := browsertest.Eval[string](t, page, `fetch('api/meta').then(r => r.json()).then(m => JSON.stringify(m.stats))`,
		chromedp.EvalAwaitPromise); strings.Contains(stats, "readError") || !strings.Contains(stats, `"skipped":0`) {
		t.Errorf("the chart's counts %s: want no read error and nothing skipped", stats)
	}
	shot := filepath.Join(t.TempDir(), "chart.png")
	page.Screenshot(t, shot)
	if out := os.Getenv("FINFEED_SCREENSHOT"); out != "" {
		page.Screenshot(t, out)
		t.Logf("screenshot saved to %s", out)
	}

	// the 5m candles the enrich function publishes on candles: an 11-hour session has 132 intervals
	browsertest.Eval[bool](t, page, `(() => { const s = document.getElementById('interval'); s.value = '5m';
		return s.dispatchEvent(new Event('change')); })()`)
	ds = page.WaitDataset(t, "chart", "the 5m candles", waitLimit, func(ds map[string]string) bool {
		n, err := strconv.Atoi(ds["total"])
		return ds["interval"] == "5m" && err == nil && n >= 100
	})
	if at, err := time.Parse(bar.TimestampLayout, ds["lastTime"]); err != nil || at.Minute()%5 != 0 || at.Second() != 0 {
		t.Errorf("last 5m candle starts at %q, want a time on the 5-minute clock", ds["lastTime"])
	}
	if p := page.Problems(); len(p) > 0 {
		t.Errorf("console errors and exceptions on the page:\n%v", p)
	}
}

// TestLocalChartAddress: --http "" turns the chart off; an address given with --http must be free; a taken
// default address moves to a free port and says so.
func TestLocalChartAddress(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()

	t.Run("off", func(t *testing.T) {
		r := startLocal(t, nil, "--kafka-addr", "127.0.0.1:0", "--speed", "0", "--http", "")
		if strings.Contains(r.stdout.String(), "chart:") {
			t.Errorf("--http \"\" still prints a chart:\n%s", r.stdout)
		}
	})
	t.Run("given and taken", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
		defer cancel()
		code := runBounded(t, ctx, []string{"local", "--kafka-addr", "127.0.0.1:0", "--http", taken.Addr().String()}, &stdout, &stderr)
		if code != exitFailure || !strings.Contains(stderr.String(), "--http") || !strings.Contains(stderr.String(), "address already in use") {
			t.Errorf("got exit %d, stderr %q; want exit %d saying --http's address is in use", code, stderr.String(), exitFailure)
		}
	})
	t.Run("default taken", func(t *testing.T) {
		o := localOptions{kafkaAddr: "127.0.0.1:0", customerUser: "alice", customerPassword: "pw", batchSize: 100,
			httpAddr: taken.Addr().String()} // as the default: httpSet false
		r := startLocal(t, &o)
		m := regexp.MustCompile(`chart: (http://127\.0\.0\.1:(\d+)/) \(` + regexp.QuoteMeta(taken.Addr().String()) + ` is taken\)`).FindStringSubmatch(r.stdout.String())
		if m == nil {
			t.Fatalf("no chart on another port printed:\n%s", r.stdout)
		}
		resp, err := http.Get(m[1] + "api/meta")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %sapi/meta: %s", m[1], resp.Status)
		}
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
