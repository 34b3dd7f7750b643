package enrichfn_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/candles"
	"github.com/finfeed/finfeed/shared/dev/fixtures"
	"github.com/finfeed/finfeed/shared/enrich"
	"github.com/finfeed/finfeed/shared/enrichfn"
	"github.com/finfeed/finfeed/shared/prevclose"
	"github.com/finfeed/finfeed/shared/state"
)

// TestBuildWritesCandles: the JPM fixture as one partition in batches of 100 gives, after each bar's enriched
// record, exactly the candle records a candles.Partition publishes on the same bars (key symbol, value
// AppendCandle, the enhanced headers, timestamp the candle's start), on the candles topic; without a candles
// topic the handler writes none.
func TestBuildWritesCandles(t *testing.T) {
	var values [][]byte
	sc := bufio.NewScanner(bytes.NewReader(fixtures.Read(t, fixtures.JPMRaw)))
	for sc.Scan() {
		values = append(values, bytes.Clone(sc.Bytes()))
	}
	closes, err := prevclose.LoadCSVFile(fixtures.Path(t, fixtures.JPMPrevCloses))
	if err != nil {
		t.Fatal(err)
	}
	for _, topic := range []string{"candles", ""} {
		st, err := enrichfn.NewStateWithCandles(state.NewMemory(), noHistory{}, state.DefaultCheckpointEvery, candles.DefaultConfig(), nil)
		if err != nil {
			t.Fatal(err)
		}
		e := &enrich.Enricher{Rules: enrich.Rules{Threshold: enrich.DefaultThreshold}, Store: closes}
		h := enrichfn.NewHandler(e, st, nil, "enhanced", "raw.dlq", slog.New(slog.NewJSONHandler(io.Discard, nil)))
		h.SetCandlesTopic(topic)
		alone := candles.NewPartition(candles.DefaultConfig())
		var want, got []string
		written := 0
		for start := 0; start < len(values); start += 100 {
			ev := events.KafkaEvent{EventSource: "aws:kafka", Records: map[string][]events.KafkaRecord{}}
			for i := start; i < min(start+100, len(values)); i++ {
				ev.Records["raw-0"] = append(ev.Records["raw-0"], events.KafkaRecord{Topic: "raw", Partition: 0, Offset: int64(i),
					Key: base64.StdEncoding.EncodeToString([]byte("JPM")), Value: base64.StdEncoding.EncodeToString(values[i])})
				r, err := bar.DecodeRaw(values[i])
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, "enhanced")
				for _, c := range alone.Apply(&r) {
					if topic != "" {
						want = append(want, "candles "+string(candles.AppendCandle(nil, &c))+" "+c.Start.String())
					}
				}
			}
			b, err := h.Build(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range b.Records {
				switch {
				case r.Topic == "enhanced":
					got = append(got, "enhanced")
				case r.Topic == "candles" && string(r.Key) == "JPM" && len(r.Headers) == len(enrichfn.EnhancedHeaders):
					got = append(got, "candles "+string(r.Value)+" "+r.Timestamp.UTC().String())
				default:
					got = append(got, "unexpected record on "+r.Topic+": "+string(r.Value))
				}
			}
			written += b.Counts.Candles
			h.Commit(context.Background(), &b)
		}
		if len(got) != len(want) {
			t.Fatalf("topic %q: %d records, want %d", topic, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("topic %q: record %d:\n got %s\nwant %s", topic, i, got[i], want[i])
			}
		}
		if wantN := len(want) - len(values); written != wantN || (topic != "" && written < 300) {
			t.Errorf("topic %q: Counts.Candles %d, want %d (and hundreds with a topic)", topic, written, wantN)
		}
	}
}
