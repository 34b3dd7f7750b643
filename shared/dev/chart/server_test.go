package chart

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

const waitLimit = 30 * time.Second

// The topics of these tests.
var testTopics = Topics{Enriched: "enhanced", Candles: "candles"}

// feed is a kfake cluster with the chart's topics, a producer on it, and a Consume into a store behind an
// httptest server.
type feed struct {
	store *Store
	srv   *httptest.Server
	out   *kgo.Client
}

func startFeed(t *testing.T) *feed {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, testTopics.Enriched, testTopics.Candles))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	out, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(out.Close)
	in, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(testTopics.Enriched, testTopics.Candles),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	f := &feed{store: NewStore(Limits{}), out: out}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { Consume(ctx, in, testTopics, f.store, nil) })
	f.srv = httptest.NewServer(Handler(f.store, nil))
	t.Cleanup(func() {
		f.srv.Close()
		cancel()
		wg.Wait()
		in.Close()
	})
	return f
}

func (f *feed) produce(t *testing.T, topic string, values ...string) {
	t.Helper()
	for _, v := range values {
		key := []byte("k")
		if err := f.out.ProduceSync(t.Context(), &kgo.Record{Topic: topic, Key: key, Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

func (f *feed) get(t *testing.T, path string, into any) int {
	t.Helper()
	resp, err := http.Get(f.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if into != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, into); err != nil {
			t.Fatalf("GET %s: %v in %s", path, err, body)
		}
	}
	return resp.StatusCode
}

type meta struct {
	Symbols   []string `json:"symbols"`
	Intervals []string `json:"intervals"`
	Stats     Stats    `json:"stats"`
}

type barsResponse struct {
	Symbol   string `json:"symbol"`
	Interval string `json:"interval"`
	Bars     []Bar  `json:"bars"`
	Latest   *Bar   `json:"latest"`
}

func (f *feed) waitMeta(t *testing.T, what string, ok func(meta) bool) meta {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		var m meta
		f.get(t, "/api/meta", &m)
		if ok(m) {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s; meta %+v", what, m)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// enriched is a plain enriched record of AMZN at minute m.
func enriched(m int, close string) string {
	return strings.NewReplacer("MM", time.Date(2024, 7, 11, 19, m, 0, 0, time.UTC).Format("04"), "CLOSE", close).Replace(
		`{"symbol":"AMZN","close":CLOSE,"open":194.58,"low":194.5,"high":194.7,"volume":255,"timestamp":"2024-07-11 19:MM:00","%change":-0.87,"indicator":"Neutral","prevClose":196.365,"tradingDate":"2024-07-11"}`)
}

// TestHandlerServesTheFeed: enriched bars and candles read from Kafka come out of the JSON endpoints; malformed
// records are skipped with a count and the reason of the latest; the page and its script are served.
func TestHandlerServesTheFeed(t *testing.T) {
	f := startFeed(t)
	f.produce(t, testTopics.Enriched, enriched(50, "194.6"), `not json`, enriched(49, "194.5"), `{"symbol":"AMZN"}`, rich)
	f.produce(t, testTopics.Candles, `{"symbol":"AMZN","interval":"5m","start":"2024-07-11 19:45:00","open":1,"high":3,"low":0.5,"close":2,"volume":100,"trade_count":null,"vwap":null,"bars":5,"final":true}`,
		`{"symbol":"AMZN","interval":"5m"}`)
	m := f.waitMeta(t, "every record", func(m meta) bool { return m.Stats.Records+m.Stats.Skipped == 7 })
	if m.Stats.Records != 4 || m.Stats.Skipped != 3 || !strings.Contains(m.Stats.LastSkip, "malformed record") {
		t.Errorf("stats %+v, want 4 records, 3 skipped, the latest reason", m.Stats)
	}
	if strings.Join(m.Symbols, ",") != "AMZN" || strings.Join(m.Intervals, ",") != "1m,5m" {
		t.Errorf("symbols %v intervals %v, want [AMZN] [1m 5m]", m.Symbols, m.Intervals)
	}

	var r barsResponse
	if code := f.get(t, "/api/bars?symbol=AMZN", &r); code != http.StatusOK {
		t.Fatalf("GET /api/bars: %d", code)
	}
	// rich is a correction of the 19:49 bar, written after it: it replaces it
	if r.Interval != Minute || len(r.Bars) != 2 || r.Bars[0].T != "2024-07-11 19:49:00" || r.Bars[1].T != "2024-07-11 19:50:00" {
		t.Fatalf("got %+v, want the 19:49 and 19:50 bars in time order", r)
	}
	if b := r.Bars[0]; b.Close != 194.64 || b.SMA20 == nil || *b.SMA20 != 194.1 || b.MACross != "bearish" || !b.VolumeAlert {
		t.Errorf("19:49 bar %+v, want the correction with its indicator fields", b)
	}
	if r.Latest == nil || r.Latest.T != "2024-07-11 19:50:00" || r.Latest.Close != 194.6 {
		t.Errorf("latest %+v, want the 19:50 bar", r.Latest)
	}
	f.get(t, "/api/bars?symbol=AMZN&interval=5m", &r)
	if len(r.Bars) != 1 || r.Bars[0].Bars != 5 || r.Bars[0].Final == nil || r.Latest == nil {
		t.Errorf("5m: got %+v, want the candle and the latest enriched bar", r)
	}
	f.get(t, "/api/bars?symbol=NONE", &r)
	if r.Bars == nil || len(r.Bars) != 0 || r.Latest != nil {
		t.Errorf("unknown symbol: got %+v, want no bars ([]) and no latest", r)
	}
	if code := f.get(t, "/api/bars", nil); code != http.StatusBadRequest {
		t.Errorf("GET /api/bars without a symbol: %d, want 400", code)
	}
	for path, want := range map[string]string{"/": "<canvas id=\"chart\"", "/chart.js": "EventSource", "/chart.css": "canvas"} {
		resp, err := http.Get(f.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %d, body without %q", path, resp.StatusCode, want)
		}
	}
}

// TestEventsStreamNewBars: a page connected to /api/events gets each bar read after it connected.
func TestEventsStreamNewBars(t *testing.T) {
	f := startFeed(t)
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.srv.URL+"/api/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("content type %q, want text/event-stream", ct)
	}
	lines := bufio.NewScanner(resp.Body)
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), ":") {
		t.Fatalf("first line %q, want a comment", lines.Text())
	}
	f.produce(t, testTopics.Enriched, `{"symbol":"BAD"}`, enriched(51, "195.25"))
	var event string
	for lines.Scan() {
		l := lines.Text()
		if strings.HasPrefix(l, "event: ") {
			event = strings.TrimPrefix(l, "event: ")
			continue
		}
		if !strings.HasPrefix(l, "data: ") {
			continue
		}
		var u Update
		if err := json.Unmarshal([]byte(strings.TrimPrefix(l, "data: ")), &u); err != nil {
			t.Fatalf("event data %q: %v", l, err)
		}
		if event != "bar" || u.Symbol != "AMZN" || u.Interval != Minute || u.Bar.T != "2024-07-11 19:51:00" || u.Bar.Close != 195.25 {
			t.Errorf("got event %q %+v, want the 19:51 AMZN bar", event, u)
		}
		return
	}
	t.Fatalf("the stream ended without the new bar: %v", lines.Err())
}
