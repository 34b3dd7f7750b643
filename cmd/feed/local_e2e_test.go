package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/IBM/sarama"

	"github.com/finfeed/finfeed/shared/bar"
	"github.com/finfeed/finfeed/shared/dev/fixtures"
)

// badLines are raw records the enrich function must send to raw.dlq.
var badLines = []string{
	`not json at all`,
	`{"open":1,"high":1,"low":1,"close":1,"volume":1,"timestamp":"2024-10-31 14:00:00"}`,
	`{"open":2,"high":1,"low":3,"close":2,"volume":5,"timestamp":"2024-10-31 14:00:00","symbol":"JPM"}`,
	`{"open":1,"high":1,"low":1,"close":0,"volume":1,"timestamp":"2024-10-31 14:01:00","symbol":"JPM"}`,
	`{"open":1,"high":1,"low":1,"close":1,"volume":1,"timestamp":"yesterday","symbol":"AMZN"}`,
}

// replayFixture is the seed sample fixture and JPM session with bad records mixed in, and both previous-close
// files in one.
func replayFixture(t *testing.T) (replay, closes string, raw []string) {
	t.Helper()
	seed := readLines(t, fixtures.Path(t, fixtures.SeedRaw))
	jpm := readLines(t, fixtures.Path(t, fixtures.JPMRaw))
	raw = append(raw, seed[:2]...)
	raw = append(raw, badLines[:2]...)
	raw = append(raw, jpm...)
	raw = append(raw, badLines[2:]...)
	raw = append(raw, seed[2:]...)
	closeLines := readLines(t, fixtures.Path(t, fixtures.JPMPrevCloses))
	closeLines = append(closeLines, readLines(t, fixtures.Path(t, fixtures.SeedPrevCloses))[1:]...)
	return writeFile(t, "replay.ndjson", raw), writeFile(t, "closes.csv", closeLines), raw
}

// TestLocalServesCustomerOverSCRAM is the "done when": feed local replays a file; IBM/sarama, logged
// in as the customer, reads every enriched record once, keyed by symbol, with the right values; bad records
// are in raw.dlq with their reasons; the customer may not read raw nor write enhanced; a wrong password fails.
func TestLocalServesCustomerOverSCRAM(t *testing.T) {
	replay, closes, raw := replayFixture(t)
	want := expected(t, closes, raw)
	const user, pass = "alice", "alice-secret-pw"
	r := startLocal(t, nil, "--replay", replay, "--prev-closes", closes, "--kafka-addr", "127.0.0.1:0",
		"--customer-user", user, "--customer-password", pass, "--speed", "0", "--batch-window", "20ms")

	got := saramaRead(t, r.addr, user, pass, "enhanced", len(want))
	seen := map[string]int{}
	for _, m := range got {
		e, err := bar.DecodeEnriched([]byte(m.value))
		if err != nil {
			t.Errorf("enhanced record %q: %v", m.value, err)
			continue
		}
		id := barID(e.Symbol, e.Time)
		seen[id]++
		if m.key != e.Symbol {
			t.Errorf("%s: key %q, want the symbol %q", id, m.key, e.Symbol)
		}
		if w, ok := want[id]; !ok {
			t.Errorf("unexpected enhanced record %s", m.value)
		} else if m.value != w {
			t.Errorf("%s:\ngot  %s\nwant %s", id, m.value, w)
		}
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("%s arrived %d times, want once", id, seen[id])
		}
	}
	values := make([]string, len(got))
	for i, m := range got {
		values[i] = m.value
	}
	if known, unknown := checkEnhancedContract(t, values); known == 0 || unknown == 0 {
		t.Errorf("checked %d records with a previous close and %d without against the contract, want both", known, unknown)
	}
	checkEnhancedHeaders(t, got)

	// the reference's own published lines, value for value
	for _, line := range readLines(t, fixtures.Path(t, fixtures.SeedEnhanced)) {
		ref, err := bar.DecodeEnriched([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		g, err := bar.DecodeEnriched([]byte(want[barID(ref.Symbol, ref.Time)]))
		if err != nil || !seenOnce(seen, ref) {
			t.Fatalf("reference bar %s %v not delivered", ref.Symbol, ref.Time)
		}
		if g.Change != ref.Change || g.Indicator != ref.Indicator || g.Close != ref.Close || g.Volume != ref.Volume {
			t.Errorf("%s %v: got %%change %v %s, want the reference's %v %s", ref.Symbol, ref.Time, g.Change, g.Indicator, ref.Change, ref.Indicator)
		}
	}

	dlq := saramaRead(t, r.addr, r.operatorUser, r.operatorPass, "raw.dlq", len(badLines))
	// the service principal has the pipeline's rights only: the dead letters are the operator's to read
	if err := saramaConsumeErr(t, r.addr, r.serviceUser, r.servicePass, "raw.dlq"); !isAuthError(err) {
		t.Errorf("service consume of raw.dlq: got %v, want %v", err, sarama.ErrTopicAuthorizationFailed)
	}
	checkDeadLetterContract(t, dlq)
	reasons := map[string]string{}
	wantKeys := map[string]string{badLines[2]: "JPM", badLines[3]: "JPM", badLines[4]: "AMZN"} // others have no symbol
	for _, m := range dlq {
		reasons[m.value] = m.headers["error"]
		if m.key != wantKeys[m.value] {
			t.Errorf("dlq record %q: key %q, want %q (the original record's)", m.value, m.key, wantKeys[m.value])
		}
		if !regexp.MustCompile(`^raw/\d+/\d+$`).MatchString(m.headers["source"]) {
			t.Errorf("dlq record %q: source header %q, want raw/PARTITION/OFFSET", m.value, m.headers["source"])
		}
	}
	for _, l := range badLines {
		_, derr := bar.DecodeRaw([]byte(l))
		if got, ok := reasons[l]; !ok {
			t.Errorf("bad record %q not in raw.dlq", l)
		} else if got != derr.Error() {
			t.Errorf("dlq reason of %q: got %q, want %q", l, got, derr.Error())
		}
	}

	t.Run("wrong password", func(t *testing.T) {
		c, err := sarama.NewClient([]string{r.addr}, saramaConfig(user, "not-"+pass))
		if err == nil {
			c.Close()
			t.Fatal("sarama with a wrong password: got a client, want a refused login")
		}
	})
	t.Run("customer reads raw", func(t *testing.T) {
		c, err := sarama.NewClient([]string{r.addr}, saramaConfig(user, pass))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		cons, err := sarama.NewConsumerFromClient(c)
		if err != nil {
			t.Fatal(err)
		}
		defer cons.Close()
		pc, err := cons.ConsumePartition("raw", 0, sarama.OffsetOldest)
		if err == nil {
			pc.Close()
			t.Fatal("customer consume of raw: got a partition consumer, want refused")
		}
		if !isAuthError(err) {
			t.Errorf("customer consume of raw: got %v, want %v", err, sarama.ErrTopicAuthorizationFailed)
		}
	})
	t.Run("customer writes enhanced", func(t *testing.T) {
		p, err := sarama.NewSyncProducer([]string{r.addr}, saramaConfig(user, pass))
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		_, _, err = p.SendMessage(&sarama.ProducerMessage{Topic: "enhanced", Key: sarama.StringEncoder("AMZN"), Value: sarama.StringEncoder("{}")})
		if !isAuthError(err) {
			t.Errorf("customer produce to enhanced: got %v, want an authorization error", err)
		}
	})

	if code := r.stop(); code != exitOK {
		t.Errorf("exit status: got %d, want %d; stderr:\n%s", code, exitOK, r.stderr)
	}
	last := splitLines(r.stdout.String())
	if n := len(last); n == 0 || !strings.HasPrefix(last[n-1], "stopped:") || !strings.Contains(last[n-1], "lag 0") {
		t.Errorf("last line: got %q, want the final status with lag 0", last)
	}
}

func seenOnce(seen map[string]int, e bar.Enriched) bool { return seen[barID(e.Symbol, e.Time)] == 1 }

// TestLocalDefaultShowsEveryIndicator is `make run`: the built-in session at the default speed shows enriched
// bars of all four indicator values (the issue allows 30 s; this waits at most waitLimit).
func TestLocalDefaultShowsEveryIndicator(t *testing.T) {
	r := startLocal(t, nil, "--kafka-addr", "127.0.0.1:0")
	for _, ind := range []string{"Bullish", "Bearish", "Neutral", "Unknown"} {
		waitFor(t, ind+" bars on stdout", func() bool {
			return strings.Contains(r.stdout.String(), ind+` bars on enhanced, latest: {"symbol":`)
		})
	}
	for _, l := range splitLines(r.stdout.String()) {
		if _, js, found := strings.Cut(l, "latest: "); found {
			if _, err := bar.DecodeEnriched([]byte(js)); err != nil {
				t.Errorf("printed bar %q: %v", js, err)
			}
		}
	}
	if !strings.Contains(r.stdout.String(), "go run ./cmd/feed consume --brokers "+r.addr+" --topic enhanced --user customer --password customer-secret") {
		t.Errorf("connect line for the customer missing:\n%s", r.stdout)
	}
}
