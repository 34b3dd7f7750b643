package ingest_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/ingest"
)

// minimalEnv is what the task needs set; every tuning knob is left to its default.
func minimalEnv() map[string]string {
	return map[string]string{"SYMBOLS": "AAPL", "ALPACA_API_KEY": "key", "ALPACA_API_SECRET": "secret", "KAFKA_BROKERS": "127.0.0.1:9092"}
}

// Load starts from DefaultOptions and changes only what the environment sets.
func TestLoadStartsFromDefaultOptions(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want func(*ingest.Options)
	}{
		{"nothing set", nil, func(*ingest.Options) {}},
		{"some knobs set", map[string]string{"INGEST_MAX_BUFFERED": "7", "RECONNECT_MAX": "2m", "BACKFILL_ON_START": "0", "SHUTDOWN_TIMEOUT": "3s"},
			func(o *ingest.Options) {
				o.MaxBuffered, o.ReconnectMax, o.BackfillOnStart, o.ShutdownTimeout = 7, 2*time.Minute, 0, 3*time.Second
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := minimalEnv()
			for k, v := range tt.env {
				env[k] = v
			}
			cfg, err := ingest.Load(func(k string) string { return env[k] })
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			want := ingest.DefaultOptions()
			tt.want(&want)
			if cfg.Options != want {
				t.Errorf("options:\ngot  %+v\nwant %+v", cfg.Options, want)
			}
		})
	}
}

// DefaultOptions pass their own validation, and the task's documented defaults hold.
func TestDefaultOptions(t *testing.T) {
	o := ingest.DefaultOptions()
	if err := o.Validate(); err != nil {
		t.Fatalf("default options invalid: %v", err)
	}
	if o.MaxBuffered != 10000 || o.ReconnectMin != time.Second || o.ReconnectMax != time.Minute || o.StaleAfter != 3*time.Minute ||
		o.BackfillOnStart != 5*time.Minute || o.ShutdownTimeout != 20*time.Second {
		t.Errorf("defaults: got %+v, want max buffered 10000, reconnect 1s..1m, stale after 3m, backfill on start 5m, shutdown 20s", o)
	}
}

// Every option out of range is reported at once, by Load and by Validate.
func TestOptionsReportEveryProblem(t *testing.T) {
	env := minimalEnv()
	for k, v := range map[string]string{"INGEST_MAX_BUFFERED": "0", "RECONNECT_MIN": "1m", "RECONNECT_MAX": "1s",
		"STALE_AFTER": "0s", "CONN_LIMIT_HOLD": "-1s", "METRICS_INTERVAL": "soon"} {
		env[k] = v
	}
	_, err := ingest.Load(func(k string) string { return env[k] })
	if err == nil {
		t.Fatal("load: got nil, want the problems")
	}
	for _, want := range []string{"INGEST_MAX_BUFFERED", "RECONNECT_MIN and RECONNECT_MAX", "STALE_AFTER", "CONN_LIMIT_HOLD", "METRICS_INTERVAL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("load error lacks %s:\n%v", want, err)
		}
	}
	err = ingest.Options{}.Validate()
	if err == nil {
		t.Fatal("zero options: got nil, want the problems")
	}
	for _, want := range []string{"INGEST_MAX_BUFFERED", "RECONNECT_MIN", "STALE_AFTER", "METRICS_INTERVAL", "SHUTDOWN_TIMEOUT",
		"backfill attempts", "backfill chunk", "backfill window", "assets refresh", "produce retry"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("zero options error lacks %s:\n%v", want, err)
		}
	}
}

// An Ingester built without options is refused before it dials anything: zero is no default.
func TestIngesterRefusesInvalidOptions(t *testing.T) {
	dialed := false
	in := &ingest.Ingester{
		Dial:    func(context.Context) (ingest.Session, error) { dialed = true; return nil, context.Canceled },
		Metrics: &ingest.Metrics{}, Health: &ingest.Health{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	err := in.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "ingester options") {
		t.Errorf("run: got %v, want the invalid options", err)
	}
	if dialed {
		t.Error("dialed with invalid options")
	}
}

// HEALTH_ADDR is read one way by Load and by the task's probe.
func TestLoadHealthAddr(t *testing.T) {
	for _, tt := range []struct{ env, want string }{
		{"", ingest.DefaultHealthAddr},
		{"0.0.0.0:9000", "0.0.0.0:9000"},
		{"off", ""},
		{" OFF ", ""},
	} {
		env := minimalEnv()
		env["HEALTH_ADDR"] = tt.env
		getenv := func(k string) string { return env[k] }
		cfg, err := ingest.Load(getenv)
		if err != nil {
			t.Fatalf("load: %v", err)
		}
		if got := ingest.LoadHealthAddr(getenv); got != tt.want || cfg.HealthAddr != tt.want {
			t.Errorf("HEALTH_ADDR=%q: got %q (config %q), want %q", tt.env, got, cfg.HealthAddr, tt.want)
		}
	}
}

// METRICS_SERVICE names the Service dimension: the stack's value when set, the local one otherwise, and a value
// CloudWatch would refuse is a configuration error.
func TestLoadMetricsService(t *testing.T) {
	for _, tt := range []struct{ env, want, wantErr string }{
		{"", ingest.DefaultMetricsService, ""},
		{"  ", ingest.DefaultMetricsService, ""},
		{"finfeed-prod-ingester", "finfeed-prod-ingester", ""},
		{strings.Repeat("x", 1025), "", "METRICS_SERVICE"},
	} {
		env := minimalEnv()
		env["METRICS_SERVICE"] = tt.env
		cfg, err := ingest.Load(func(k string) string { return env[k] })
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("METRICS_SERVICE of %d bytes: error %v, want one naming %s", len(tt.env), err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("METRICS_SERVICE=%q: %v", tt.env, err)
		case cfg.MetricsService != tt.want:
			t.Errorf("METRICS_SERVICE=%q: got %q, want %q", tt.env, cfg.MetricsService, tt.want)
		}
	}
}
