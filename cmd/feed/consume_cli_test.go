package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/finfeed/finfeed/shared/bar"
)

// TestConsumeAgainstLocal runs `feed consume` against `feed local` as the customer.
func TestConsumeAgainstLocal(t *testing.T) {
	r := startLocal(t, nil, "--kafka-addr", "127.0.0.1:0", "--speed", "0")
	base := []string{"consume", "--brokers", r.addr, "--user", "customer"}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		check    func(t *testing.T, stdout, stderr string)
	}{
		{"NVDA bars", []string{"--password", "customer-secret", "--from-beginning", "--symbols", "NVDA,TSLA", "--max", "20"}, exitOK,
			func(t *testing.T, stdout, _ string) {
				lines := splitLines(stdout)
				if len(lines) != 20 {
					t.Fatalf("got %d lines, want 20", len(lines))
				}
				for _, l := range lines {
					e, err := bar.DecodeEnriched([]byte(l))
					if err != nil {
						t.Fatalf("line %q: %v", l, err)
					}
					if e.Symbol != "NVDA" && e.Symbol != "TSLA" {
						t.Errorf("symbol %s, want NVDA or TSLA", e.Symbol)
					}
				}
			}},
		{"wrong password", []string{"--password", "Wr0ng-P4ss", "--from-beginning", "--max", "1"}, exitFailure,
			func(t *testing.T, stdout, stderr string) {
				if stdout != "" || !strings.Contains(stderr, "wrong user or password") {
					t.Errorf("stdout %q stderr %q, want nothing and a login error", stdout, stderr)
				}
				if strings.Contains(stderr, "Wr0ng-P4ss") {
					t.Errorf("stderr shows the password: %q", stderr)
				}
			}},
		{"raw topic", []string{"--password", "customer-secret", "--topic", "raw", "--max", "1"}, exitFailure,
			func(t *testing.T, stdout, stderr string) {
				if stdout != "" || !strings.Contains(stderr, "may not read") {
					t.Errorf("stdout %q stderr %q, want nothing and a refusal", stdout, stderr)
				}
			}},
		{"no password", []string{"--max", "1"}, exitUsage,
			func(t *testing.T, _, stderr string) {
				if !strings.Contains(stderr, "--password") {
					t.Errorf("stderr %q, want it to ask for --password", stderr)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("KAFKA_PASSWORD", "")
			var stdout, stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
			defer cancel()
			code := runBounded(t, ctx, append(append([]string{}, base...), tt.args...), &stdout, &stderr)
			if code != tt.wantCode {
				t.Fatalf("exit: got %d, want %d; stderr:\n%s", code, tt.wantCode, stderr.String())
			}
			tt.check(t, stdout.String(), stderr.String())
		})
	}
}
