package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/dev/broker"
	"github.com/finfeed/finfeed/shared/dev/fixtures"
	"github.com/finfeed/finfeed/shared/dev/searchtest"
	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/topics"
)

// TestLocalForContainers: with --advertise the broker tells clients a name that resolves nowhere on this
// machine (as host.docker.internal on Linux), yet feed local's own pipeline runs; a client that resolves the
// name (a container) logs in with the passwords given on the command line and reads every enriched bar.
func TestLocalForContainers(t *testing.T) {
	const name = "finfeed-local.invalid"
	raw := readLines(t, fixtures.Path(t, fixtures.JPMRaw))[:40]
	closes := fixtures.Path(t, fixtures.JPMPrevCloses)
	want := expected(t, closes, raw)
	srv := searchtest.NewServer(t, searchtest.Options{})
	r := startLocal(t, nil, "--listen", "127.0.0.1:0", "--advertise", name, "--service-password", "svc-Pa55",
		"--operator-password", "op-Pa55", "--replay", writeFile(t, "raw.ndjson", raw), "--prev-closes", closes, "--speed", "0",
		"--opensearch-url", srv.URL, "--http", "127.0.0.1:0")
	host, port, err := net.SplitHostPort(r.addr)
	if err != nil || host != name {
		t.Fatalf("banner address %q, want %s:PORT:\n%s", r.addr, name, r.stdout)
	}
	if !strings.Contains(r.stdout.String(), "listening on 127.0.0.1:0, advertised as "+r.addr) {
		t.Errorf("banner does not say where it listens and what it advertises:\n%s", r.stdout)
	}
	if r.serviceUser != broker.DefaultServiceUser || r.servicePass != "svc-Pa55" || r.operatorUser != broker.OperatorUser || r.operatorPass != "op-Pa55" {
		t.Errorf("banner principals %s/%s and %s/%s, want the passwords given", r.serviceUser, r.servicePass, r.operatorUser, r.operatorPass)
	}
	resolve := kgo.Dialer(func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == r.addr {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	})
	kc := kafka.Config{Brokers: []string{r.addr}, Auth: kafka.AuthSCRAM, Username: broker.DefaultServiceUser, Password: "svc-Pa55"}
	cl, err := kafka.NewClient(t.Context(), kc, kafka.Deps{}, resolve, kgo.ConsumeTopics(topics.Enhanced),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	got := map[string]bool{}
	for len(got) < len(want) && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil && ctx.Err() == nil {
			t.Fatalf("read enhanced as the service: %v", err)
		}
		fs.EachRecord(func(rec *kgo.Record) {
			for id, v := range want {
				if v == string(rec.Value) {
					got[id] = true
				}
			}
		})
	}
	if len(got) != len(want) {
		t.Errorf("read %d of the %d enriched bars through the advertised name", len(got), len(want))
	}
	// the index function's mapping and the chart's reader are feed local's own clients too
	waitFor(t, "every bar indexed", func() bool { return srv.Count() >= len(want) })
	m := chartRE.FindStringSubmatch(r.stdout.String())
	if m == nil {
		t.Fatalf("no chart URL printed:\n%s", r.stdout)
	}
	waitFor(t, "the chart to hold JPM", func() bool {
		resp, err := http.Get(m[1] + "api/meta")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var meta struct{ Symbols []string }
		return json.NewDecoder(resp.Body).Decode(&meta) == nil && slices.Contains(meta.Symbols, "JPM")
	})
}
