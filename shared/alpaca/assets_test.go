package alpaca_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/finfeed/finfeed/shared/alpaca"
	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/fakealpaca"
	"github.com/finfeed/finfeed/shared/dev/fakealpaca/fakealpacatest"
)

func TestAssetsAreTheActiveTradableUSEquities(t *testing.T) {
	srv := fakealpacatest.Start(t, "k", "Secr3t")
	srv.AddAssets(
		fakealpaca.Asset{Symbol: "MSFT", Tradable: true},
		fakealpaca.Asset{Symbol: "AAPL", Tradable: true, Exchange: "NASDAQ"},
		fakealpaca.Asset{Symbol: "BRK.B", Tradable: true, Exchange: "NYSE"},
		fakealpaca.Asset{Symbol: "HALTD", Tradable: false},                   // listed, not tradable
		fakealpaca.Asset{Symbol: "GONE", Tradable: true, Status: "inactive"}, // delisted
		fakealpaca.Asset{Symbol: "BTC/USD", Tradable: true, Class: "crypto"},
	)
	a := alpaca.NewAssets(alpaca.Config{APIURL: srv.APIURL, Key: "k", Secret: "Secr3t"}, 0)
	got, err := a.Tradable(context.Background())
	if err != nil {
		t.Fatalf("tradable: %v", err)
	}
	if want := []string{"AAPL", "BRK.B", "MSFT"}; !reflect.DeepEqual(got, want) {
		t.Errorf("symbols: got %v, want %v", got, want)
	}
}

func TestAssetsFailuresAreErrorsWithoutTheSecret(t *testing.T) {
	tests := []struct {
		name   string
		secret string
		fail   int
		want   string
	}{
		{name: "server error", secret: "Secr3t", fail: 500, want: "500"},
		{name: "bad credentials", secret: "wrong-Secr3t", want: "403"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakealpacatest.Start(t, "k", "Secr3t")
			srv.AddAssets(fakealpaca.Asset{Symbol: "AAPL", Tradable: true})
			if tt.fail != 0 {
				srv.FailAssets(1, tt.fail)
			}
			_, err := alpaca.NewAssets(alpaca.Config{APIURL: srv.APIURL, Key: "k", Secret: tt.secret}, 0).Tradable(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error: got %v, want one mentioning %s", err, tt.want)
			}
			if strings.Contains(err.Error(), "Secr3t") {
				t.Errorf("error shows the secret: %v", err)
			}
			if got := srv.AssetCalls(); got != 1 {
				t.Errorf("asset requests: got %d, want 1 (no retry of its own)", got)
			}
		})
	}
}

func TestAssetsEndWithTheContext(t *testing.T) {
	srv := fakealpacatest.Start(t, "k", "s")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := alpaca.NewAssets(alpaca.Config{APIURL: srv.APIURL, Key: "k", Secret: "s"}, 0).Tradable(ctx); err == nil {
		t.Fatal("tradable with a canceled context: got no error")
	}
}

func TestAPIURLIsHTTPSExceptToLoopback(t *testing.T) {
	tests := []struct {
		url     string
		wantErr string // "" when valid
	}{
		{url: "", wantErr: ""}, // the default
		{url: "https://api.alpaca.markets", wantErr: ""},
		{url: "https://paper-api.alpaca.markets/", wantErr: ""},
		{url: "http://127.0.0.1:8080", wantErr: ""},
		{url: "http://localhost:8080", wantErr: ""},
		{url: "http://[::1]:8080", wantErr: ""},
		{url: "http://paper-api.alpaca.markets", wantErr: "loopback"},
		{url: "http://10.0.0.1:8080", wantErr: "loopback"},
		{url: "wss://paper-api.alpaca.markets", wantErr: "scheme"},
		{url: "paper-api.alpaca.markets", wantErr: "absolute URL"},
		{url: "https://user:hunter2@paper-api.alpaca.markets", wantErr: "no credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			env := map[string]string{"ALPACA_API_KEY": "k", "ALPACA_API_SECRET": "s", "SYMBOLS": "*", "ALPACA_API_URL": tt.url}
			c, err := alpaca.Load(func(k string) string { return env[k] })
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("load: got %v, want no error", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), "ALPACA_API_URL") || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("load: got %v, want an ALPACA_API_URL error mentioning %q", err, tt.wantErr)
			case err != nil && strings.Contains(err.Error(), "hunter2"):
				t.Errorf("error shows the URL's password: %v", err)
			}
			if tt.url == "" && c.APIURL != alpaca.DefaultAPIURL {
				t.Errorf("default API URL: got %q, want %q", c.APIURL, alpaca.DefaultAPIURL)
			}
		})
	}
}

// A request names at most ChunkSize symbols and a page holds at most PageLimit bars, however many symbols are
// asked for: the fake refuses larger ones, as a URL or page limit would.
func TestRESTRequestsAndPagesAreBounded(t *testing.T) {
	srv := fakealpacatest.Start(t, "k", "s")
	srv.SetMaxSymbols(40)
	var symbols []string
	var want []bar.Raw
	for i := range 250 {
		sym := fmt.Sprintf("S%03d", i)
		symbols = append(symbols, sym)
		for m := range 3 {
			want = append(want, testBar(sym, m, 10+float64(i)))
		}
	}
	srv.Record(want...)
	r := alpaca.NewREST(alpaca.Config{Feed: "iex", DataURL: srv.DataURL, Key: "k", Secret: "s"}, 0)
	r.ChunkSize, r.PageLimit = 40, 50
	got, err := r.MinuteBars(context.Background(), symbols, want[0].Time, want[2].Time.Add(60e9))
	if err != nil {
		t.Fatalf("minute bars: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("bars: got %d, want %d", len(got), len(want))
	}
	st := srv.BarsStats()
	if st.Refused != 0 || st.MaxSymbols != 40 || st.MaxPage != 50 || st.Bars != len(want) {
		t.Errorf("requests: got refused %d, max symbols %d, max page %d, bars %d; want 0, 40, 50, %d",
			st.Refused, st.MaxSymbols, st.MaxPage, st.Bars, len(want))
	}
	// 7 chunks (6 of 40 symbols, 1 of 10), 120 bars each in pages of 50: 3 pages each, 1 for the last (30 bars)
	if st.Requests != 6*3+1 {
		t.Errorf("pages: got %d, want %d", st.Requests, 6*3+1)
	}
	r.ChunkSize = 41
	if _, err := r.MinuteBars(context.Background(), symbols, want[0].Time, want[2].Time); err == nil {
		t.Errorf("41 symbols against a limit of 40: got no error")
	}
}
