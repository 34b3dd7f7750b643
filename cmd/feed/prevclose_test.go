package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/dynalite"
	"github.com/finfeed/finfeed/shared/dev/fakealpaca"
	"github.com/finfeed/finfeed/shared/dev/fakealpaca/fakealpacatest"
	"github.com/finfeed/finfeed/shared/prevclose"
)

func TestFeedPrevCloseLoadsARange(t *testing.T) {
	db := dynalite.StartT(t)
	srv := fakealpacatest.Start(t, "k", "s")
	for i, c := range []float64{100, 101, 102} {
		srv.AddDaily(fakealpaca.DailyBar{Symbol: "AAPL", Date: bar.Date{Year: 2024, Month: 6, Day: 3 + i}, Close: c})
	}
	for k, v := range map[string]string{"ALPACA_API_KEY": "k", "ALPACA_API_SECRET": "s", "ALPACA_SECRET_ARN": "",
		"AWS_ENDPOINT_URL_DYNAMODB": db.Endpoint, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "local",
		"AWS_SECRET_ACCESS_KEY": "local", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_CONFIG_FILE": "/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE": "/dev/null"} {
		t.Setenv(k, v)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"range", []string{"--from", "2024-06-03", "--to", "2024-06-05"}, exitOK, `"closes":3`},
		{"again: same items", []string{"--from", "2024-06-03", "--to", "2024-06-05"}, exitOK, `"closes":3`},
		{"only from", []string{"--from", "2024-06-03"}, exitUsage, ""},
		{"reversed", []string{"--from", "2024-06-05", "--to", "2024-06-03"}, exitUsage, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"prevclose", "--symbols", "AAPL", "--table", "closes", "--data-url", srv.DataURL, "--create-table"}, tt.args...)
			code := run(context.Background(), args, nil, &stdout, &stderr)
			if code != tt.wantCode || !strings.Contains(stdout.String(), tt.wantOut) {
				t.Fatalf("exit %d stdout %q stderr %q; want exit %d and %q", code, stdout.String(), stderr.String(), tt.wantCode, tt.wantOut)
			}
		})
	}
	store := prevclose.NewDynamoDB(db.Client(), "closes")
	got, ok, err := store.PrevClose(context.Background(), "AAPL", bar.Date{Year: 2024, Month: 6, Day: 5})
	if err != nil || !ok || got != 101 {
		t.Errorf("prev close before 2024-06-05: got %v %v %v, want 101", got, ok, err)
	}
}
