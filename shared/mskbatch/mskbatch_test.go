package mskbatch_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/finfeed/finfeed/shared/mskbatch"
)

func rec(partition, offset int64, value string) events.KafkaRecord {
	return events.KafkaRecord{Topic: "raw", Partition: partition, Offset: offset,
		Key: base64.StdEncoding.EncodeToString([]byte("AMZN")), Value: value}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// Groups come in name order (as strings: "raw-10" before "raw-2"), each group's records as delivered.
func TestRecordsOrder(t *testing.T) {
	ev := events.KafkaEvent{Records: map[string][]events.KafkaRecord{
		"raw-2":  {rec(2, 7, b64("c")), rec(2, 8, b64("d"))},
		"raw-10": {rec(10, 3, b64("a")), rec(10, 4, b64("b"))},
		"raw-0":  {rec(0, 1, b64("z"))},
		"raw-5":  {},
	}}
	for run := range 3 { // map order differs between runs; the walk must not
		var got []string
		for i, in := range mskbatch.Records(ev) {
			got = append(got, fmt.Sprintf("%d:%d/%d", i, in.Partition, in.Offset))
		}
		want := []string{"0:0/1", "1:10/3", "2:10/4", "3:2/7", "4:2/8"}
		if !slices.Equal(got, want) {
			t.Fatalf("run %d: got %v, want %v", run, got, want)
		}
	}
	if n, size := mskbatch.Size(ev); n != 5 || size != 5*len(b64("a")) {
		t.Errorf("size: got %d records %d bytes, want 5 and %d", n, size, 5*len(b64("a")))
	}
	// yielded records are the event's own, not copies
	for _, in := range mskbatch.Records(ev) {
		if in != &ev.Records["raw-0"][0] {
			t.Errorf("first record: got a copy, want the event's record")
		}
		break
	}
	seen := 0
	for i := range mskbatch.Records(ev) {
		seen++
		if i == 2 {
			break
		}
	}
	if seen != 3 {
		t.Errorf("break after 3: walked %d", seen)
	}
}

// The checked-in event fixtures walk in the same order as the event source grouped them.
func TestRecordsFixtures(t *testing.T) {
	for _, name := range []string{"enrich-msk.json", "index-msk.json"} {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("..", "..", "events", name))
			if err != nil {
				t.Fatal(err)
			}
			var ev events.KafkaEvent
			if err := json.Unmarshal(b, &ev); err != nil {
				t.Fatal(err)
			}
			n, _ := mskbatch.Size(ev)
			var prev *events.KafkaRecord
			count := 0
			for i, in := range mskbatch.Records(ev) {
				if i != count {
					t.Fatalf("position: got %d, want %d", i, count)
				}
				count++
				if prev != nil && prev.Topic == in.Topic && prev.Partition == in.Partition && in.Offset <= prev.Offset {
					t.Errorf("%s/%d: offset %d after %d", in.Topic, in.Partition, in.Offset, prev.Offset)
				}
				prev = in
			}
			if count == 0 || count != n {
				t.Errorf("walked %d records, Size says %d", count, n)
			}
		})
	}
}

func TestAppendValue(t *testing.T) {
	cases := []struct {
		name, value, want, err string
	}{
		{name: "json", value: b64(`{"symbol":"AMZN"}`), want: `{"symbol":"AMZN"}`},
		{name: "empty", value: "", want: ""},
		{name: "not base64", value: "{not base64}", err: "value: invalid base64: illegal base64 data at input byte 0"},
		{name: "truncated", value: b64("abcd")[:5], err: "value: invalid base64: illegal base64 data at input byte 4"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			arena := append(make([]byte, 0, 4), "prev"...)
			out, err := mskbatch.AppendValue(arena, &events.KafkaRecord{Value: c.value})
			if c.err != "" {
				if err == nil || err.Error() != c.err || !errors.Is(err, mskbatch.ErrBase64) {
					t.Fatalf("error: got %v, want %q wrapping ErrBase64", err, c.err)
				}
				if string(out) != "prev" {
					t.Errorf("arena after an error: got %q, want %q", out, "prev")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := string(out); got != "prev"+c.want {
				t.Errorf("got %q, want %q", got, "prev"+c.want)
			}
		})
	}
}

func TestDeadLetter(t *testing.T) {
	in := rec(3, 42, "%%%")
	in.Headers = []map[string]events.JSONNumberBytes{{"trace": []byte("t1")}}
	_, err := mskbatch.AppendValue(nil, &in)
	if err == nil {
		t.Fatal("want an error for an undecodable value")
	}
	r := mskbatch.DeadLetter("raw.dlq", &in, err)
	var hs []string
	for _, h := range r.Headers {
		hs = append(hs, h.Key+"="+string(h.Value))
	}
	want := []string{"trace=t1", "error=" + err.Error(), "source=raw/3/42"}
	if r.Topic != "raw.dlq" || string(r.Key) != "AMZN" || string(r.Value) != "%%%" || !slices.Equal(hs, want) {
		t.Errorf("got topic %s key %q value %q headers %v, want raw.dlq AMZN %%%%%% %v", r.Topic, r.Key, r.Value, hs, want)
	}
}

func TestNoteReason(t *testing.T) {
	var reasons []string
	for i := range mskbatch.MaxReasons + 5 {
		in := rec(1, int64(i), "")
		reasons = mskbatch.NoteReason(reasons, &in, "bad")
	}
	if len(reasons) != mskbatch.MaxReasons || reasons[0] != "raw/1/0: bad" ||
		!strings.HasPrefix(reasons[mskbatch.MaxReasons-1], fmt.Sprintf("raw/1/%d:", mskbatch.MaxReasons-1)) {
		t.Errorf("got %v, want the first %d reasons", reasons, mskbatch.MaxReasons)
	}
}
