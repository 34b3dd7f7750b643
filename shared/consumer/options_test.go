package consumer_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/consumer"
	"github.com/finfeed/finfeed/shared/dev/broker"
	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/topics"
)

// enriched is an enhanced record of symbol at the New York minute hhmm of 2024-10-31, with close c.
func enriched(t *testing.T, symbol, hhmm string, c float64) *bar.Enriched {
	t.Helper()
	at, err := time.ParseInLocation("2006-01-02 15:04", "2024-10-31 "+hhmm, bar.NewYork)
	if err != nil {
		t.Fatal(err)
	}
	return &bar.Enriched{Symbol: symbol, Open: c, High: c, Low: c, Close: c, Volume: 100, Time: at.UTC(),
		Change: (c - 100) / 100 * 100, HasPrev: true, PrevClose: 100, Indicator: bar.Neutral, TradingDate: bar.TradingDate(at)}
}

func value(e *bar.Enriched) string { return string(bar.AppendEnriched(nil, e)) }

// rec is an enhanced record of e whose Kafka timestamp is ts (e's bar time when zero), as the enrich function
// writes it.
func rec(e *bar.Enriched, ts time.Time) *kgo.Record {
	if ts.IsZero() {
		ts = e.Time
	}
	return &kgo.Record{Topic: topics.Enhanced, Key: []byte(e.Symbol), Value: []byte(value(e)), Timestamp: ts}
}

func produceRecords(t *testing.T, cl *kgo.Client, recs ...*kgo.Record) {
	t.Helper()
	if err := cl.ProduceSync(t.Context(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, cfg consumer.Config) []string {
	t.Helper()
	var out bytes.Buffer
	n, err := consumer.Run(bounded(t), cfg, &out)
	if err != nil {
		t.Fatal(err)
	}
	lines := splitLines(out.String())
	if cfg.Format != consumer.FormatTSV && n != len(lines) {
		t.Errorf("Run reported %d records, printed %d lines", n, len(lines))
	}
	return lines
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

func TestGroupContinuesWhereItStopped(t *testing.T) {
	b, svc := setup(t)
	var all []string
	for i := range 12 {
		sym := []string{"AMZN", "NVDA", "TSLA"}[i%3]
		e := enriched(t, sym, fmt.Sprintf("10:%02d", i), 100+float64(i))
		produceRecords(t, svc, rec(e, time.Time{}))
		all = append(all, value(e))
	}
	cfg := consumer.Config{Kafka: b.CustomerKafka(), Topic: topics.Enhanced, Group: "alice", FromBeginning: true}
	cfg.Max = 5
	first := run(t, cfg)
	committed := committedTotal(t, b, "alice")
	if committed != 5 {
		t.Errorf("after printing 5 records the group committed %d, want 5", committed)
	}
	cfg.Max = 7
	second := run(t, cfg)
	if got := append(append([]string{}, first...), second...); !sameSet(got, all) {
		t.Errorf("two runs printed %q then %q, want every record once: %q", first, second, all)
	}
	// without a group nothing is committed: the group's offsets stay where the second run left them
	run(t, consumer.Config{Kafka: b.CustomerKafka(), Topic: topics.Enhanced, FromBeginning: true, Max: 12})
	if got := committedTotal(t, b, "alice"); got != 12 {
		t.Errorf("group alice committed %d after a group-less run, want 12", got)
	}
}

// committedTotal is the sum of group's committed offsets on enhanced, read by the customer (who may describe
// its own group; the service principal may not).
func committedTotal(t *testing.T, b *broker.Broker, group string) int64 {
	t.Helper()
	cl, err := kafka.NewClient(t.Context(), b.CustomerKafka(), kafka.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	resp, err := kadm.NewClient(cl).FetchOffsets(bounded(t), group)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	resp.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topics.Enhanced && o.At > 0 {
			total += o.At
		}
	})
	return total
}

func TestGroupRefused(t *testing.T) {
	b, _ := setup(t)
	var out bytes.Buffer
	_, err := consumer.Run(bounded(t), consumer.Config{Kafka: b.CustomerKafka(), Topic: topics.Enhanced, Group: topics.EnrichGroup, Max: 1}, &out)
	if !errors.Is(err, consumer.ErrGroupRefused) || !errors.Is(err, kerr.GroupAuthorizationFailed) || !strings.Contains(err.Error(), "--group alice") {
		t.Errorf("got %v, want a group refusal naming --group alice", err)
	}
	if out.Len() != 0 {
		t.Errorf("printed %q, want nothing", out.String())
	}
}

func TestFromTime(t *testing.T) {
	b, svc := setup(t)
	at := func(hhmm string) time.Time { return enriched(t, "X", hhmm, 1).Time }
	want := []string{
		value(enriched(t, "AMZN", "09:30", 101)),
		value(enriched(t, "AMZN", "09:31", 102)),
		value(enriched(t, "AMZN", "09:50", 104)),
		value(enriched(t, "NVDA", "09:35", 201)),
	}
	produceRecords(t, svc,
		rec(enriched(t, "AMZN", "09:29", 100), time.Time{}),
		// a record whose Kafka timestamp is before --from-time but bar time after: only a scan from the start
		// would print it; listing offsets by time starts after it
		rec(enriched(t, "AMZN", "09:45", 999), at("09:28")),
		rec(enriched(t, "AMZN", "09:30", 101), time.Time{}),
		rec(enriched(t, "AMZN", "09:31", 102), time.Time{}),
		// a late (backfilled) bar before --from-time, after the start offset: filtered by its bar time
		rec(enriched(t, "AMZN", "09:20", 103), time.Time{}),
		rec(enriched(t, "AMZN", "09:50", 104), time.Time{}),
		rec(enriched(t, "NVDA", "09:25", 200), time.Time{}),
		rec(enriched(t, "NVDA", "09:35", 201), time.Time{}),
		rec(enriched(t, "TSLA", "09:10", 300), time.Time{}),
	)
	from, err := consumer.ParseTime("2024-10-31 09:30")
	if err != nil {
		t.Fatal(err)
	}
	cfg := consumer.Config{Kafka: b.CustomerKafka(), Topic: topics.Enhanced, FromTime: from, Max: len(want)}
	if got := run(t, cfg); !sameSet(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	t.Run("overrides the group's commits", func(t *testing.T) {
		g := consumer.Config{Kafka: b.CustomerKafka(), Topic: topics.Enhanced, Group: "alice", FromBeginning: true, Max: 9}
		run(t, g) // everything committed
		g.FromBeginning, g.FromTime, g.Max = false, from, len(want)
		if got := run(t, g); !sameSet(got, want) {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("with from-beginning", func(t *testing.T) {
		_, err := consumer.Run(bounded(t), consumer.Config{Kafka: b.CustomerKafka(), Topic: topics.Enhanced, FromTime: from, FromBeginning: true}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "choose one") {
			t.Errorf("got %v, want a refusal of both", err)
		}
	})
}

func TestDedupe(t *testing.T) {
	b, svc := setup(t)
	v1 := enriched(t, "AMZN", "09:30", 101)
	fix := enriched(t, "AMZN", "09:30", 101.5) // a correction: same symbol and bar time, other bytes
	next := enriched(t, "AMZN", "09:31", 102)
	produceRecords(t, svc, rec(v1, time.Time{}), rec(v1, time.Time{}), rec(fix, time.Time{}), rec(fix, time.Time{}), rec(next, time.Time{}))
	tests := []struct {
		name   string
		dedupe bool
		want   []string
	}{
		{"dedupe", true, []string{value(v1), value(fix), value(next)}},
		{"all", false, []string{value(v1), value(v1), value(fix)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := run(t, consumer.Config{Kafka: b.CustomerKafka(), Topic: topics.Enhanced, FromBeginning: true, Dedupe: tt.dedupe, Max: 3})
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestTSVAndBadRecords: a record without a previous close and with every indicator null prints empty fields;
// records that cannot be read as enriched bars (malformed JSON, missing or mistyped fields, a candle) are skipped
// and reported with their partition and offset.
func TestTSVAndBadRecords(t *testing.T) {
	b, svc := setup(t)
	noPrev := enriched(t, "FNFD", "09:30", 24.5)
	noPrev.HasPrev, noPrev.Change, noPrev.PrevClose, noPrev.Indicator = false, 0, 0, bar.Unknown
	bad := []string{
		`{"symbol":"FNFD"}`,
		`{"symbol":"FNFD","close":1`,
		`not json`,
		strings.Replace(value(noPrev), `"sma20":null`, `"sma20":"24.5"`, 1),
		strings.Replace(value(noPrev), `"maCross":null`, `"maCross":"sideways"`, 1),
		`{"symbol":"FNFD","interval":"5m","start":"2024-10-31 13:30:00","open":1,"high":1,"low":1,"close":1,"volume":1,"trade_count":null,"vwap":1,"bars":1,"final":true}`,
	}
	for _, v := range bad {
		produceRecords(t, svc, &kgo.Record{Topic: topics.Enhanced, Key: []byte("FNFD"), Value: []byte(v)})
	}
	produceRecords(t, svc, rec(noPrev, time.Time{}))
	var reported []string
	got := run(t, consumer.Config{Kafka: b.CustomerKafka(), Topic: topics.Enhanced, FromBeginning: true, Format: consumer.FormatTSV, Max: 1,
		OnBadRecord: func(p int32, o int64, err error) { reported = append(reported, fmt.Sprintf("%d/%d: %v", p, o, err)) }})
	want := []string{consumer.TSVHeader, "FNFD\t2024-10-31 13:30:00\t2024-10-31\t24.5\t24.5\t24.5\t24.5\t100\t\t\tUnknown\t\t\t\t\t\t\tfalse\t\tfalse"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q, want %q", got, want)
	}
	wantReported := []string{"missing", "malformed JSON", "not a JSON object", "sma20", "maCross", "timestamp: missing"}
	if len(reported) != len(bad) {
		t.Fatalf("bad records reported: %q, want %d", reported, len(bad))
	}
	for i, r := range reported {
		if !strings.Contains(r, fmt.Sprintf("/%d: ", i)) || !strings.Contains(r, wantReported[i]) {
			t.Errorf("report %d: %q, want offset %d and %q", i, r, i, wantReported[i])
		}
	}
}
