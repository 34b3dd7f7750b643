package alpaca_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/alpaca"
	"github.com/finfeed/finfeed/shared/bar"
)

// Daily closes come from the consolidated tape even when the stream uses IEX (the official close is the
// closing auction); minute-bar backfills use the stream's own feed so they match what was streamed.
func TestRESTFeeds(t *testing.T) {
	var mu sync.Mutex
	feeds := map[string]string{} // timeframe -> feed asked for
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		feeds[r.URL.Query().Get("timeframe")] = r.URL.Query().Get("feed")
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(w).Encode(map[string]any{"bars": map[string]any{}, "next_page_token": nil}); err != nil {
			t.Error(err)
		}
	}))
	t.Cleanup(srv.Close)
	for _, tt := range []struct{ stream, minute, daily string }{
		{alpaca.FeedIEX, "iex", "sip"},
		{alpaca.FeedSIP, "sip", "sip"},
		{alpaca.FeedTest, "", ""},
	} {
		r := alpaca.NewREST(alpaca.Config{Feed: tt.stream, DataURL: srv.URL, Key: "k", Secret: "s"}, 10*time.Second)
		ctx := context.Background()
		if _, err := r.MinuteBars(ctx, []string{"AMZN"}, time.Date(2024, 7, 11, 19, 0, 0, 0, time.UTC), time.Date(2024, 7, 11, 19, 5, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
		if _, err := r.DailyCloses(ctx, []string{"AMZN"}, bar.Date{Year: 2024, Month: 7, Day: 1}, bar.Date{Year: 2024, Month: 7, Day: 10}); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		if feeds["1Min"] != tt.minute || feeds["1Day"] != tt.daily {
			t.Errorf("stream feed %s: minute bars asked feed %q, daily %q; want %q and %q", tt.stream, feeds["1Min"], feeds["1Day"], tt.minute, tt.daily)
		}
		mu.Unlock()
	}
}
