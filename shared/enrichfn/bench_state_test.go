package enrichfn_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/fold"
	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/state"
)

// Whole market: 8,000 symbols over the template's 6 partitions of raw.
const (
	marketSymbols    = 8000
	marketPartitions = 6
	partitionSymbols = (marketSymbols + marketPartitions - 1) / marketPartitions
)

// marketMinute is one minute of bars of a partition's symbols.
func marketMinute(m int) [][]byte {
	start := time.Date(2025, 6, 12, 13, 30, 0, 0, time.UTC)
	out := make([][]byte, partitionSymbols)
	for s := range partitionSymbols {
		p := 20 + float64(s%500) + float64(m%17)*0.03
		r := bar.Raw{Symbol: fmt.Sprintf("S%04d", s), Open: p, High: p + 0.05, Low: p - 0.05, Close: p + 0.01,
			Volume: float64(100 + (s*7+m*13)%5000), VWAP: p, HasVWAP: true, TradeCount: 12, HasTradeCount: true,
			Time: start.Add(time.Duration(m) * time.Minute)}
		out[s] = bar.AppendRaw(nil, &r)
	}
	return out
}

// BenchmarkColdStart8k is a cold container's first batch of one partition at whole-market scale: empty memory,
// so the engine GETs the newest checkpoint (1,334 symbols with full windows, from S3 on gofakes3 over TCP) and
// replays the 5 minutes of the partition written after it (6,670 records, from kfake over TCP). It reports the
// checkpoint's size and the state bytes per symbol.
func BenchmarkColdStart8k(b *testing.B) {
	ctx := context.Background()
	c, err := kfake.NewCluster(kfake.Ports(0), kfake.SeedTopics(1, "raw"))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	kc := kafka.Config{Brokers: c.ListenAddrs(), Auth: kafka.AuthNone}
	cl, err := kafka.NewClient(ctx, kc, kafka.Deps{}, kgo.ProducerLinger(0))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	defer srv.Close()
	s3c := s3.New(s3.Options{BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("bench", "bench", "")})
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("state")}); err != nil {
		b.Fatal(err)
	}
	store := state.NewS3(s3c, "state")

	// 60 minutes before the checkpoint (every window full), 5 after it.
	const before, after = 60, 5
	f := fold.New()
	var offset int64
	for m := range before + after {
		recs := make([]*kgo.Record, 0, partitionSymbols)
		for _, v := range marketMinute(m) {
			recs = append(recs, &kgo.Record{Topic: "raw", Value: v})
			if m < before {
				f.Replay(v, time.Time{})
			}
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			b.Fatal(err)
		}
		offset += int64(len(recs))
		if m == before-1 {
			warm, err := enrichfnState(store, kc)
			if err != nil {
				b.Fatal(err)
			}
			l, err := warm.Begin(ctx, "raw", 0, 0)
			if err != nil {
				b.Fatal(err)
			}
			l.Fold = f
			warm.Commit(ctx, l, offset) // the first commit of a partition always checkpoints
			if s := warm.Stats(); s.Checkpoints != 1 {
				b.Fatalf("checkpoint not written: %+v", s)
			}
		}
	}
	_, blob, found, err := store.Latest(ctx, "raw", 0, offset)
	if err != nil || !found {
		b.Fatalf("no checkpoint: %v", err)
	}
	b.ResetTimer()
	for b.Loop() {
		st, err := enrichfnState(store, kc)
		if err != nil {
			b.Fatal(err)
		}
		l, err := st.Begin(ctx, "raw", 0, offset)
		if err != nil {
			b.Fatal(err)
		}
		if s := st.Stats(); s.FromCheckpoint != 1 || s.Replayed != after*partitionSymbols || l.Fold.Symbols() != partitionSymbols {
			b.Fatalf("cold start: %+v, %d symbols", s, l.Fold.Symbols())
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/cold-start")
	b.ReportMetric(float64(len(blob)), "checkpoint-bytes")
	b.ReportMetric(float64(len(blob))/partitionSymbols, "state-bytes/symbol")
}

func enrichfnState(store state.Store, kc kafka.Config) (*state.Engine[*fold.Partition], error) {
	return state.New(fold.Codec, store, state.NewKafka(kc, kafka.Deps{}), state.Options{CheckpointEvery: state.DefaultCheckpointEvery})
}
