package alpaca_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/alpaca"
	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/fakealpaca"
	"github.com/finfeed/finfeed/shared/dev/fakealpaca/fakealpacatest"
)

func testBar(sym string, minute int, c float64) bar.Raw {
	t := time.Date(2024, 7, 11, 19, 0, 0, 0, time.UTC).Add(time.Duration(minute) * time.Minute)
	return alpaca.Raw(sym, c-0.5, c+0.25, c-0.75, c, 255, 9, c-0.1, t)
}

func dial(t *testing.T, srv *fakealpaca.Server, key, secret string, symbols ...string) (*alpaca.Session, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := alpaca.Dial(ctx, alpaca.StreamOptions{URL: srv.StreamURL, Feed: "iex", Key: key, Secret: secret, Symbols: symbols})
	if err == nil {
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("close session: %v", err)
			}
		})
	}
	return s, err
}

func TestStreamDeliversSubscribedBars(t *testing.T) {
	srv := fakealpacatest.Start(t, "k", "s")
	s, err := dial(t, srv, "k", "s", "AAPL", "AMZN")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	want := []bar.Raw{testBar("AAPL", 0, 194.64), testBar("AMZN", 0, 185.5)}
	if err := srv.Publish(ctx, append(want, testBar("MSFT", 0, 400))...); err != nil {
		t.Fatalf("publish: %v", err)
	}
	updated := testBar("AAPL", 0, 194.7)
	if err := srv.PublishUpdated(ctx, updated); err != nil {
		t.Fatalf("publish updated: %v", err)
	}
	var got []alpaca.Event
	for len(got) < 3 {
		if got, err = s.Read(ctx, got); err != nil {
			t.Fatalf("read: %v (got %d events)", err, len(got))
		}
	}
	wantEv := []alpaca.Event{{Bar: want[0]}, {Bar: want[1]}, {Bar: updated, Updated: true}}
	if !reflect.DeepEqual(got, wantEv) {
		t.Errorf("events:\n got %+v\nwant %+v", got, wantEv)
	}
}

func TestDialRefusals(t *testing.T) {
	tests := []struct {
		name      string
		key       string
		reject    []int
		wantIs    error
		permanent bool
	}{
		{name: "bad credentials", key: "wrong", wantIs: alpaca.ErrAuthFailed, permanent: true},
		{name: "connection limit", key: "k", reject: []int{406}, wantIs: alpaca.ErrConnectionLimit},
		{name: "insufficient subscription", key: "k", reject: []int{409}, wantIs: alpaca.ErrInsufficientSub, permanent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakealpacatest.Start(t, "k", "s")
			srv.RejectNext(tt.reject...)
			_, err := dial(t, srv, tt.key, "s", "AAPL")
			if !errors.Is(err, tt.wantIs) {
				t.Fatalf("dial error: got %v, want %v", err, tt.wantIs)
			}
			var se *alpaca.ServerError
			if !errors.As(err, &se) || se.Permanent() != tt.permanent {
				t.Errorf("permanent: got %v, want %v", se != nil && se.Permanent(), tt.permanent)
			}
			if strings.Contains(err.Error(), "\"s\"") {
				t.Errorf("error quotes the secret: %v", err)
			}
		})
	}
}

func TestRESTMinuteBarsMatchTheStream(t *testing.T) {
	srv := fakealpacatest.Start(t, "k", "s")
	var bars []bar.Raw
	for m := range 30 {
		bars = append(bars, testBar("AAPL", m, 194+float64(m)/8), testBar("AMZN", m, 185+float64(m)/16))
	}
	srv.Record(bars...)
	srv.SetPageSize(7) // several pages
	r := alpaca.NewREST(alpaca.Config{Feed: "iex", DataURL: srv.DataURL, Key: "k", Secret: "s"}, 0)
	from, to := bars[10].Time, bars[50].Time // minutes 5..24
	got, err := r.MinuteBars(context.Background(), []string{"AAPL", "AMZN"}, from, to)
	if err != nil {
		t.Fatalf("minute bars: %v", err)
	}
	want := bars[10:50]
	if len(got) != len(want) {
		t.Fatalf("bars: got %d, want %d", len(got), len(want))
	}
	if calls := srv.RESTCalls(); calls < 6 {
		t.Errorf("REST calls: got %d, want >= 6 (40 bars in pages of 7)", calls)
	}
	for i := range want {
		g, w := bar.AppendRaw(nil, &got[i]), bar.AppendRaw(nil, &want[i])
		if string(g) != string(w) {
			t.Errorf("bar %d:\n got %s\nwant %s", i, g, w)
		}
	}
}

func TestRESTDailyClosesAdjustForSplitsFromTheExDate(t *testing.T) {
	srv := fakealpacatest.Start(t, "k", "s")
	d := func(s string) bar.Date {
		v, err := bar.ParseDate(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	srv.AddDaily(fakealpaca.DailyBar{Symbol: "NVDA", Date: d("2024-06-06"), Close: 1209.98},
		fakealpaca.DailyBar{Symbol: "NVDA", Date: d("2024-06-07"), Close: 1208.88},
		fakealpaca.DailyBar{Symbol: "NVDA", Date: d("2024-06-10"), Close: 121.79})
	srv.AddSplit(fakealpaca.Split{Symbol: "NVDA", Date: d("2024-06-10"), Ratio: 10})
	r := alpaca.NewREST(alpaca.Config{Feed: "iex", DataURL: srv.DataURL, Key: "k", Secret: "s"}, 0)
	tests := []struct {
		today string
		want  []float64
	}{
		{today: "2024-06-07", want: []float64{1209.98, 1208.88, 121.79}},
		{today: "2024-06-10", want: []float64{120.998, 120.888, 121.79}},
	}
	for _, tt := range tests {
		srv.SetToday(d(tt.today))
		got, err := r.DailyCloses(context.Background(), []string{"NVDA"}, d("2024-06-06"), d("2024-06-10"))
		if err != nil {
			t.Fatalf("daily closes: %v", err)
		}
		var closes []float64
		for _, c := range got {
			closes = append(closes, c.Close)
		}
		if !reflect.DeepEqual(closes, tt.want) || got[0].Date != d("2024-06-06") {
			t.Errorf("today %s: got %v (first %v), want %v", tt.today, closes, got[0].Date, tt.want)
		}
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	env := map[string]string{"ALPACA_FEED": "nasdaq", "ALPACA_STREAM_URL": "http://x", "ALPACA_API_KEY": "k"}
	_, err := alpaca.Load(func(k string) string { return env[k] })
	for _, want := range []string{"ALPACA_FEED", "ALPACA_STREAM_URL", "SYMBOLS", "ALPACA_API_SECRET"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v: want a mention of %s", err, want)
		}
	}
	env = map[string]string{"ALPACA_API_KEY": "k", "ALPACA_API_SECRET": "topsecret", "SYMBOLS": "aapl, amzn"}
	c, err := alpaca.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if got := c.Symbols; !reflect.DeepEqual(got, []string{"AAPL", "AMZN"}) {
		t.Errorf("symbols: got %v", got)
	}
	if strings.Contains(c.String(), "topsecret") {
		t.Errorf("config text shows the secret: %s", c)
	}
}

// The stream and data URLs carry the API keys too: secure schemes, or the plain ones only to a loopback host.
func TestStreamAndDataURLsAreSecure(t *testing.T) {
	tests := []struct {
		name, url, wantErr string
	}{
		{"ALPACA_STREAM_URL", "wss://stream.data.alpaca.markets/v2", ""},
		{"ALPACA_STREAM_URL", "ws://127.0.0.1:8080/v2", ""},
		{"ALPACA_STREAM_URL", "ws://stream.data.alpaca.markets/v2", "loopback"},
		{"ALPACA_STREAM_URL", "https://stream.data.alpaca.markets/v2", "scheme"},
		{"ALPACA_STREAM_URL", "wss://user:hunter2@stream.data.alpaca.markets/v2", "no credentials"},
		{"ALPACA_DATA_URL", "https://data.alpaca.markets", ""},
		{"ALPACA_DATA_URL", "http://localhost:9000", ""},
		{"ALPACA_DATA_URL", "http://data.alpaca.markets", "loopback"},
		{"ALPACA_DATA_URL", "http://192.168.1.10:9000", "loopback"},
		{"ALPACA_DATA_URL", "https://data.alpaca.markets?token=hunter2", "no credentials or query"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" "+tt.url, func(t *testing.T) {
			env := map[string]string{"ALPACA_API_KEY": "k", "ALPACA_API_SECRET": "s", "SYMBOLS": "AAPL", tt.name: tt.url}
			_, err := alpaca.Load(func(k string) string { return env[k] })
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("got %v, want no error", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.name) || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("got %v, want a %s error mentioning %q", err, tt.name, tt.wantErr)
			case err != nil && strings.Contains(err.Error(), "hunter2"):
				t.Errorf("the error shows the URL's secret: %v", err)
			}
		})
	}
}
