package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/finfeed/finfeed/shared/calendar"
)

// Metrics are the ingester's counters. They are logged as CloudWatch Embedded Metric Format lines: CloudWatch
// Logs turns each line into metric data points with no API calls from the task.
type Metrics struct {
	// Service is the value of the lines' one dimension, Service: the stack's name for its ingester
	// (Config.MetricsService), which the template's alarms select.
	Service string

	BarsIn          atomic.Int64 // bars read from the stream
	UpdatedBarsIn   atomic.Int64 // corrected bars read from the stream
	Produced        atomic.Int64 // records acknowledged by Kafka
	ProduceErrors   atomic.Int64 // failed produce attempts (each is retried)
	Reconnects      atomic.Int64 // stream sessions that ended and were re-established
	StaleReconnects atomic.Int64 // of those, ended by the staleness watchdog
	ConnLimitHolds  atomic.Int64 // 406 answers waited out
	LoginRefused    atomic.Int64 // logins Alpaca refused for good (402: keys missing, wrong or revoked)
	Backfilled      atomic.Int64 // bars produced from REST after a gap
	BackfillErrors  atomic.Int64 // failed backfill fetches (bars or asset list), and gaps left unfilled
	Lost            atomic.Int64 // records abandoned at a shutdown that ran out of time
	Buffered        atomic.Int64 // gauge: records handed to Kafka and not yet acknowledged

	mu   sync.Mutex
	last map[string]int64
}

// Namespace is the CloudWatch namespace of the ingester's metrics.
const Namespace = "finfeed/ingester"

// counters lists the counters by metric name.
func (m *Metrics) counters() []struct {
	name string
	v    *atomic.Int64
} {
	return []struct {
		name string
		v    *atomic.Int64
	}{
		{"BarsIn", &m.BarsIn}, {"UpdatedBarsIn", &m.UpdatedBarsIn}, {"Produced", &m.Produced},
		{"ProduceErrors", &m.ProduceErrors}, {"Reconnects", &m.Reconnects}, {"StaleReconnects", &m.StaleReconnects},
		{"ConnLimitHolds", &m.ConnLimitHolds}, {"LoginRefused", &m.LoginRefused}, {"Backfilled", &m.Backfilled}, {"BackfillErrors", &m.BackfillErrors},
		{"Lost", &m.Lost},
	}
}

// WriteEMF writes one EMF line under the dimension Service=m.Service: each counter's increase since the previous
// line, the buffer depth, and whether now is in the exchange's regular session.
func (m *Metrics) WriteEMF(w io.Writer, now time.Time) error {
	if m.Service == "" {
		return errors.New("encode metrics: no Service dimension value")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.last == nil {
		m.last = map[string]int64{}
	}
	type metric struct {
		Name string `json:"Name"`
		Unit string `json:"Unit"`
	}
	line := map[string]any{"Service": m.Service}
	var defs []metric
	for _, c := range m.counters() {
		v := c.v.Load()
		line[c.name] = v - m.last[c.name]
		m.last[c.name] = v
		defs = append(defs, metric{c.name, "Count"})
	}
	line["BufferDepth"] = m.Buffered.Load()
	defs = append(defs, metric{"BufferDepth", "Count"})
	// InSession is 1 while the exchange's regular session runs (shared/calendar: holidays and early closes
	// known), so alarms that only make sense in session (no bars produced) are gated by the same calendar.
	inSession := 0
	if calendar.InRegularSession(now) {
		inSession = 1
	}
	line["InSession"] = inSession
	defs = append(defs, metric{"InSession", "None"})
	line["_aws"] = map[string]any{
		"Timestamp": now.UnixMilli(),
		"CloudWatchMetrics": []map[string]any{{
			"Namespace":  Namespace,
			"Dimensions": [][]string{{"Service"}},
			"Metrics":    defs,
		}},
	}
	b, err := json.Marshal(line)
	if err != nil {
		return fmt.Errorf("encode metrics: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write metrics: %w", err)
	}
	return nil
}
