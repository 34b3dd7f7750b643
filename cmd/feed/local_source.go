package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/synth"
	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/prevclose"
	"github.com/finfeed/finfeed/shared/topics"
)

// sourceRecord is one record the source writes to raw.
type sourceRecord struct {
	key, value []byte
	at         time.Time // bar time; zero when the record does not decode (it still goes to raw, and on to raw.dlq)
}

// source is what feed local writes to raw.
type source struct {
	name      string
	records   []sourceRecord
	synthetic bool
	// closes are the synthetic session's previous closes, for a run without --prev-closes(-table).
	closes []prevclose.Close
}

func loadSource(o localOptions) (source, error) {
	if o.prevCloses != "" {
		// checked before anything starts, so a bad file fails at once
		if _, err := prevclose.LoadCSVFile(o.prevCloses); err != nil {
			return source{}, fmt.Errorf("--prev-closes: %w", err)
		}
	}
	if o.replay != "" {
		recs, err := readReplay(o.replay)
		if err != nil {
			return source{}, err
		}
		return source{name: "replay of " + o.replay, records: recs}, nil
	}
	session := synth.Default()
	src := source{
		name:      fmt.Sprintf("synthetic session %s (%d symbols)", session.Date, len(synth.DefaultSymbols)),
		synthetic: true,
		closes:    session.Closes,
	}
	for i := range session.Bars {
		b := &session.Bars[i]
		src.records = append(src.records, sourceRecord{key: []byte(b.Symbol), value: bar.AppendRaw(nil, b), at: b.Time})
	}
	return src, nil
}

// readReplay reads raw-bar JSON lines. Every non-blank line is replayed as is, invalid ones too: the enrich
// function sends those to raw.dlq. The key is the symbol whenever one can be found.
func readReplay(path string) ([]sourceRecord, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--replay: %w", err)
	}
	defer f.Close()
	var recs []sourceRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		r := sourceRecord{value: bytes.Clone(line)}
		if raw, err := bar.DecodeRaw(line); err == nil {
			r.key, r.at = []byte(raw.Symbol), raw.Time
		} else {
			var v struct {
				Symbol string `json:"symbol"`
			}
			if json.Unmarshal(line, &v) == nil && bar.ValidateSymbol(v.Symbol) == nil {
				r.key = []byte(v.Symbol)
			}
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--replay %s: %w", path, err)
	}
	return recs, nil
}

// readRawTimeout bounds reading raw at start to find what an earlier run wrote.
const readRawTimeout = 60 * time.Second

// unwritten returns, in order, the records of recs that raw does not hold yet (an earlier run's, with a data
// dir). It reads raw to its end rather than counting its records: raw also holds what other producers (the
// ingester) wrote, and a run stopped mid-session may have had a later record acknowledged on one partition
// while an earlier one on another partition was not. cl is a client of kc, the service principal.
func unwritten(ctx context.Context, cl *kgo.Client, kc kafka.Config, recs []sourceRecord, opts ...kgo.Opt) ([]sourceRecord, error) {
	ctx, cancel := context.WithTimeout(ctx, readRawTimeout)
	defer cancel()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topics.Raw)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("list raw end offsets: %w", err)
	}
	end := map[int32]int64{} // partitions still to read, and their end offsets
	from := map[int32]kgo.Offset{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			end[o.Partition] = o.Offset
			from[o.Partition] = kgo.NewOffset().AtStart()
		}
	})
	have := make(map[string]bool, len(recs))
	for _, r := range recs {
		have[string(r.value)] = false
	}
	if len(end) > 0 {
		rd, err := kafka.NewClient(ctx, kc, kafka.Deps{}, append(opts, kgo.ClientID("finfeed-source-resume"),
			kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topics.Raw: from}))...)
		if err != nil {
			return nil, err
		}
		defer rd.Close()
		for len(end) > 0 {
			fs := rd.PollFetches(ctx)
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("read raw: %w", err)
			}
			if errs := fs.Errors(); len(errs) > 0 {
				return nil, fmt.Errorf("read raw partition %d: %w", errs[0].Partition, errs[0].Err)
			}
			fs.EachRecord(func(r *kgo.Record) {
				if _, ok := have[string(r.Value)]; ok {
					have[string(r.Value)] = true
				}
				if r.Offset+1 >= end[r.Partition] {
					delete(end, r.Partition)
				}
			})
		}
	}
	var out []sourceRecord
	for _, r := range recs {
		if !have[string(r.value)] {
			out = append(out, r)
		}
	}
	return out, nil
}

// writeRaw writes recs to raw through w, paced by p, and waits until every record is acknowledged; produced is
// called for each acknowledged record.
func writeRaw(ctx context.Context, w *kgo.Client, recs []sourceRecord, p *pacer, produced func()) (int, error) {
	var (
		mu       sync.Mutex
		firstErr error
	)
	promise := func(r *kgo.Record, err error) {
		if err != nil {
			mu.Lock()
			if firstErr == nil {
				firstErr = fmt.Errorf("write to raw: %w", err)
			}
			mu.Unlock()
			return
		}
		produced()
	}
	for _, r := range recs {
		if !p.wait(ctx, r.at) {
			return 0, ctx.Err()
		}
		w.Produce(ctx, &kgo.Record{Key: r.key, Value: r.value}, promise)
	}
	if err := w.Flush(ctx); err != nil {
		return 0, fmt.Errorf("flush raw: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	return len(recs), firstErr
}
