package prevclose_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/finfeed/finfeed/shared/prevclose"
)

func TestReadCSVMalformed(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		wants []string
	}{
		{"empty file", "", []string{"empty"}},
		{"no header", "AMZN,2024-07-10,196.365\n", []string{"header"}},
		{"wrong header", "sym,day,px\n", []string{"header"}},
		{"bad rows are all reported with line numbers", "symbol,date,close\nAMZN,2024-07-10,196.365\nAMZN,07/10/2024,1\nAMZN,2024-07-11,abc\nAMZN,2024-07-12\n,2024-07-12,1\nX,2024-07-12,-1\nY,2024-07-12,0\n",
			[]string{"line 3:", "line 4:", "line 5:", "line 6:", "line 7:", "line 8:"}},
		{"unterminated quote", "symbol,date,close\n\"AMZN,2024-07-10,1\n", []string{"line"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := prevclose.ReadCSV(strings.NewReader(tt.in))
			if err == nil {
				t.Fatal("got no error")
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q, want it to mention %q", err, w)
				}
			}
		})
	}
}

func TestCSVRoundTrip(t *testing.T) {
	in := "\ufeffSymbol,Date,Close\r\nAMZN, 2024-07-10 ,196.365\r\n\r\nNVDA,2024-07-10,134.91\r\n"
	closes, err := prevclose.ReadCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(closes) != 2 || closes[0].Close != 196.365 || closes[1].Symbol != "NVDA" {
		t.Fatalf("got %+v", closes)
	}
	var buf bytes.Buffer
	if err := prevclose.WriteCSV(&buf, closes); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), "symbol,date,close\nAMZN,2024-07-10,196.365\nNVDA,2024-07-10,134.91\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestLoadCSVFileErrors(t *testing.T) {
	if _, err := prevclose.LoadCSVFile(filepath.Join(t.TempDir(), "missing.csv")); err == nil || !strings.Contains(err.Error(), "open prev-close file") {
		t.Errorf("missing file: got %v", err)
	}
	p := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(p, []byte("symbol,date,close\nX,2024-13-01,1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := prevclose.LoadCSVFile(p); err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad file: got %v, want the path and line 2", err)
	}
}
