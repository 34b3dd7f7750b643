package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/dynalite"
	"github.com/finfeed/finfeed/shared/dev/fakealpaca"
	"github.com/finfeed/finfeed/shared/dev/fakealpaca/fakealpacatest"
	"github.com/finfeed/finfeed/shared/dev/lambdarie"
	"github.com/finfeed/finfeed/shared/prevclose"
)

// TestBootstrapUnderRIE builds the function as Lambda runs it and invokes it through the AWS Runtime Interface
// Emulator with both event fixtures: closes from a fake Alpaca (REST) into dynalite, the secret never logged.
func TestBootstrapUnderRIE(t *testing.T) {
	bootstrap := lambdarie.Build(t, "./functions/prevclose")

	srv := fakealpacatest.Start(t, "rie-key", "rie-Secr3t")
	for i, d := range []string{"2024-06-03", "2024-06-04", "2024-06-05", "2024-06-06", "2024-06-07", "2024-06-10"} {
		date, err := bar.ParseDate(d)
		if err != nil {
			t.Fatal(err)
		}
		srv.AddDaily(fakealpaca.DailyBar{Symbol: "NVDA", Date: date, Close: 1200 + float64(i)})
	}
	srv.AddSplit(fakealpaca.Split{Symbol: "NVDA", Date: bar.Date{Year: 2024, Month: 6, Day: 10}, Ratio: 10})
	srv.SetToday(bar.Date{Year: 2024, Month: 6, Day: 10})
	db := dynalite.StartT(t)
	if err := prevclose.CreateTable(context.Background(), db.Client(), "closes"); err != nil {
		t.Fatal(err)
	}

	emu := lambdarie.Start(t, bootstrap, map[string]string{
		"SYMBOLS": "NVDA", "ALPACA_API_KEY": "rie-key", "ALPACA_API_SECRET": "rie-Secr3t", "ALPACA_DATA_URL": srv.DataURL,
		"PREV_CLOSE_TABLE": "closes", "AWS_ENDPOINT_URL_DYNAMODB": db.Endpoint, "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
	})

	tests := []struct {
		fixture string
		want    string
	}{
		{"prevclose-range.json", `{"from":"2024-06-03","to":"2024-06-14","symbols":1,"closes":6,"skipped":0,"snapshots":6}`},
		{"prevclose-scheduled.json", `{"from":"2024-05-31","to":"2024-06-10","symbols":1,"closes":6,"skipped":0,"snapshots":6}`},
	}
	for _, tt := range tests { // one at a time: the emulator takes one invocation at once
		event, err := os.ReadFile(filepath.Join("..", "..", "events", tt.fixture))
		if err != nil {
			t.Fatal(err)
		}
		body := emu.Invoke(t, event)
		var got, want any
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("%s: response %s: %v", tt.fixture, body, err)
		}
		if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: got %s, want %s", tt.fixture, body, tt.want)
		}
	}
	c, ok, err := prevclose.NewDynamoDB(db.Client(), "closes").PrevClose(context.Background(), "NVDA", bar.Date{Year: 2024, Month: 6, Day: 10})
	if err != nil || !ok || c != 120.4 {
		t.Errorf("NVDA before the ex-date: got %v %v %v, want the split-adjusted 120.4", c, ok, err)
	}
	if strings.Contains(string(emu.Output()), "rie-Secr3t") {
		t.Errorf("the Alpaca secret appears in the function's logs")
	}
}
