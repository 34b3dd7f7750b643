package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestLocalFlagErrors(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"negative speed", []string{"--speed", "-1"}, exitUsage, "--speed"},
		{"NaN speed", []string{"--speed", "NaN"}, exitUsage, "--speed"},
		{"empty customer", []string{"--customer-user", ""}, exitUsage, "--customer-user"},
		{"extra argument", []string{"now"}, exitUsage, "unexpected arguments"},
		{"every interface, nothing advertised", []string{"--kafka-addr", "0.0.0.0:0"}, exitFailure, "every interface"},
		{"advertised port", []string{"--listen", "127.0.0.1:0", "--advertise", "host.docker.internal:9092"}, exitFailure, "a host only"},
		{"no auth beyond loopback", []string{"--no-auth", "--listen", "0.0.0.0:0", "--advertise", "host.docker.internal"}, exitUsage, "--no-auth"},
		{"missing replay", []string{"--replay", "/nonexistent/raw.ndjson", "--kafka-addr", "127.0.0.1:0"}, exitFailure, "--replay"},
		{"bad closes", []string{"--prev-closes", "/nonexistent/closes.csv", "--kafka-addr", "127.0.0.1:0"}, exitFailure, "--prev-closes"},
		{"bad batch size", []string{"--batch-size", "10001", "--kafka-addr", "127.0.0.1:0"}, exitFailure, "batch size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			// bounded: a run that wrongly starts serving stops and fails the test instead of hanging it
			ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
			defer cancel()
			code := runBounded(t, ctx, append([]string{"local"}, tt.args...), &stdout, &stderr)
			if code != tt.wantCode || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("got exit %d, stderr %q; want exit %d mentioning %q", code, stderr.String(), tt.wantCode, tt.wantErr)
			}
		})
	}
}

// TestDisplayRedrawsInPlace: on a terminal the live block is erased (one line up and clear per line) before
// anything else is printed, and drawn without line wrapping.
func TestDisplayRedrawsInPlace(t *testing.T) {
	var out, logs bytes.Buffer
	d := &display{out: &out, logOut: &logs, tty: true}
	d.Block([]string{"a", "b"})
	d.Printf("line %d", 1)
	if _, err := d.Write([]byte("log\n")); err != nil {
		t.Fatal(err)
	}
	d.Block([]string{"c"})
	d.Block(nil)
	const up = "\x1b[1A\x1b[2K"
	want := "\x1b[?7la\nb\n\x1b[?7h" + up + up + "line 1\n" + "\x1b[?7lc\n\x1b[?7h" + up
	if got := out.String(); got != want {
		t.Errorf("terminal output:\ngot  %q\nwant %q", got, want)
	}
	if logs.String() != "log\n" {
		t.Errorf("log output: got %q, want %q", logs.String(), "log\n")
	}
}
