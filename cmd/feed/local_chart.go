package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/dev/chart"
	"github.com/finfeed/finfeed/shared/dev/localstack"
	"github.com/finfeed/finfeed/shared/kafka"
)

// defaultHTTPAddr is where `feed local` serves its chart unless --http says otherwise.
const defaultHTTPAddr = "127.0.0.1:8080"

// chartServer is the live chart of a running `feed local`.
type chartServer struct {
	url   string // "" when the chart is off
	note  string // said next to the URL: why the address is not the one asked for
	close func()
}

// startChart serves the chart on o.httpAddr ("" turns it off), reading the feed as the customer principal
// does, until ctx is done and close is called. When the default address is taken (another `feed local`, a
// test) it takes a free port instead; an address given with --http must be free.
func startChart(ctx context.Context, s *localstack.Stack, o localOptions, log *slog.Logger) (*chartServer, error) {
	if o.httpAddr == "" {
		return &chartServer{close: func() {}}, nil
	}
	cs := &chartServer{}
	ln, err := net.Listen("tcp", o.httpAddr)
	if err != nil && !o.httpSet {
		host, _, splitErr := net.SplitHostPort(o.httpAddr)
		if splitErr != nil {
			return nil, fmt.Errorf("chart: %w", splitErr)
		}
		cs.note = fmt.Sprintf(" (%s is taken)", o.httpAddr)
		ln, err = net.Listen("tcp", net.JoinHostPort(host, "0"))
	}
	if err != nil {
		return nil, fmt.Errorf("chart: --http: %w", err)
	}
	// the enriched bars and the candles, both of which the customer may read
	read := chart.Topics{Enriched: s.Enrich().EnhancedTopic, Candles: s.Enrich().CandlesTopic}
	cl, err := kafka.NewClient(ctx, s.Broker().CustomerKafka(), kafka.Deps{}, append(s.Broker().DialOpts(), kgo.ClientID("finfeed-chart"),
		kgo.ConsumeTopics(read.Enriched, read.Candles), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("chart: %w", err)
	}
	store := chart.NewStore(chart.Limits{})
	srv := &http.Server{Handler: chart.Handler(store, log), ReadHeaderTimeout: 10 * time.Second}
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("chart: serve", "err", err)
		}
	})
	wg.Go(func() { chart.Consume(ctx, cl, read, store, log) })
	cs.url = "http://" + ln.Addr().String() + "/"
	cs.close = func() {
		if err := srv.Close(); err != nil {
			log.Warn("chart: close", "err", err)
		}
		cl.Close()
		wg.Wait()
	}
	return cs, nil
}
