package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/dynalite"
	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/prevclose"
)

// localDynamo starts dynalite and points the AWS SDK's default configuration at it.
func localDynamo(t *testing.T) *dynalite.Server {
	t.Helper()
	db := dynalite.StartT(t)
	for k, v := range map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": db.Endpoint, "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "PREV_CLOSE_TABLE": ""} {
		t.Setenv(k, v)
	}
	return db
}

func TestFeedPrevCloseImport(t *testing.T) {
	db := localDynamo(t)
	dir := t.TempDir()
	// 500 symbols over 5 trading days: 2,500 closes
	var csv strings.Builder
	csv.WriteString("symbol,date,close\n")
	days := []string{"2024-07-03", "2024-07-05", "2024-07-08", "2024-07-09", "2024-07-10"}
	for s := range 500 {
		for i, day := range days {
			fmt.Fprintf(&csv, "S%03d,%s,%d.%02d\n", s, day, 10+i, s%100)
		}
	}
	good := filepath.Join(dir, "closes.csv")
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(good, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("symbol,date,close\nAAPL,2024-07-10,190\nMSFT,2024-13-01,400\nNVDA,2024-07-10,-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"no file", []string{"--table", "closes"}, exitUsage, "", "--csv and --table are required"},
		{"no table", []string{"--csv", good}, exitUsage, "", "--csv and --table are required"},
		{"missing file", []string{"--csv", filepath.Join(dir, "nope.csv"), "--table", "closes"}, exitUsage, "", "no such file"},
		{"bad rows: nothing written, every bad line said", []string{"--csv", bad, "--table", "closes", "--create-table"}, exitUsage, "", "line 3"},
		{"import", []string{"--csv", good, "--table", "closes", "--create-table"}, exitOK, `"closes":2500,"symbols":500,"snapshots":5`, "imported 2500 of 2500 closes (100%)"},
		{"again: same items", []string{"--csv", good, "--table", "closes"}, exitOK, `"closes":2500,"symbols":500,"snapshots":5`, "imported 250"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"prevclose", "import"}, tt.args...), nil, &stdout, &stderr)
			if code != tt.wantCode || !strings.Contains(stdout.String(), tt.wantOut) || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Fatalf("exit %d stdout %q stderr %q; want exit %d, %q and %q", code, stdout.String(), stderr.String(), tt.wantCode, tt.wantOut, tt.wantErr)
			}
			if tt.name == "bad rows: nothing written, every bad line said" && !strings.Contains(stderr.String(), "line 4") {
				t.Errorf("stderr %q: want line 4 reported too", stderr.String())
			}
			if tt.wantCode == exitOK {
				var res importResult
				if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
					t.Fatal(err)
				}
				// plain progress lines when stderr is not a terminal: one a tenth
				if n := strings.Count(stderr.String(), "imported "); n < 3 || n > 10 || strings.Contains(stderr.String(), "\r") {
					t.Errorf("progress: %q, want plain lines", stderr.String())
				}
			}
		})
	}
	client := db.Client()
	if _, err := client.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String("closes")}); err != nil {
		t.Fatal(err)
	}
	// the functions' store reads what was imported, from the snapshots
	store := prevclose.NewDynamoDB(client, "closes")
	var lookups []enrich.Lookup
	for s := range 500 {
		lookups = append(lookups, enrich.Lookup{Symbol: fmt.Sprintf("S%03d", s), Before: bar.Date{Year: 2024, Month: 7, Day: 9}})
	}
	found, err := store.PrevCloses(context.Background(), lookups)
	if err != nil {
		t.Fatal(err)
	}
	for s, l := range lookups {
		if want := 12 + float64(s%100)/100; found[l] != want {
			t.Fatalf("%v: got %v, want %v (the close of 2024-07-08)", l, found[l], want)
		}
	}
	if _, ok, err := store.PrevClose(context.Background(), "AAPL", bar.Date{Year: 2024, Month: 7, Day: 11}); err != nil || ok {
		t.Errorf("AAPL from the rejected file: got %v, %v; want nothing written", ok, err)
	}
}

// Closes written some other way (here: the store's Put alone) reach the snapshots with `feed prevclose snapshots`.
func TestFeedPrevCloseSnapshots(t *testing.T) {
	db := localDynamo(t)
	ctx := context.Background()
	store := prevclose.NewDynamoDB(db.Client(), "closes")
	if err := prevclose.CreateTable(ctx, db.Client(), "closes"); err != nil {
		t.Fatal(err)
	}
	if err := store.Put(ctx, []prevclose.Close{{Symbol: "AAPL", Date: bar.Date{Year: 2024, Month: 7, Day: 10}, Close: 190},
		{Symbol: "NVDA", Date: bar.Date{Year: 2024, Month: 7, Day: 9}, Close: 130}, {Symbol: "NVDA", Date: bar.Date{Year: 2024, Month: 7, Day: 10}, Close: 131}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"no table", nil, exitUsage, ""},
		{"bad symbol", []string{"--table", "closes", "--symbols", "A B"}, exitUsage, ""},
		{"missing table", []string{"--table", "nope", "--symbols", "AAPL"}, exitFailure, ""},
		{"rebuild", []string{"--table", "closes", "--symbols", "AAPL, NVDA"}, exitOK, `{"dates":2,"symbols":2,"chunks":2,"deleted":0}`},
		{"again, symbols from the snapshots", []string{"--table", "closes"}, exitOK, `{"dates":2,"symbols":2,"chunks":2,"deleted":0}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(ctx, append([]string{"prevclose", "snapshots"}, tt.args...), nil, &stdout, &stderr)
			if code != tt.wantCode || !strings.Contains(stdout.String(), tt.wantOut) {
				t.Fatalf("exit %d stdout %q stderr %q; want exit %d and %q", code, stdout.String(), stderr.String(), tt.wantCode, tt.wantOut)
			}
		})
	}
	snap, err := db.Client().Query(ctx, &dynamodb.QueryInput{TableName: aws.String("closes"),
		KeyConditionExpression:    aws.String("symbol = :s"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": &types.AttributeValueMemberS{Value: prevclose.SnapshotSymbol}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Items) != 2 {
		t.Fatalf("%d snapshot items, want 2", len(snap.Items))
	}
	if got := snap.Items[1][prevclose.AttrCloses].(*types.AttributeValueMemberS).Value; got != "AAPL\t190\nNVDA\t131\n" {
		t.Errorf("snapshot of 2024-07-10: %q", got)
	}
}
