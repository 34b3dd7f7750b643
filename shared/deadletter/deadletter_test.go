package deadletter

import (
	"bytes"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

func TestRecord(t *testing.T) {
	in := &events.KafkaRecord{Topic: "raw", Partition: 3, Offset: 42, Key: base64.StdEncoding.EncodeToString([]byte("AMZN")),
		Headers: []map[string]events.JSONNumberBytes{{"b": []byte("2"), "a": []byte("1")}, {"c": []byte("3")}}}
	r := Record("raw.dlq", in, []byte("bad"), "close: missing")
	if r.Topic != "raw.dlq" || string(r.Key) != "AMZN" || string(r.Value) != "bad" {
		t.Errorf("got topic %s key %q value %q", r.Topic, r.Key, r.Value)
	}
	var got []string
	for _, h := range r.Headers {
		got = append(got, h.Key+"="+string(h.Value))
	}
	want := []string{"a=1", "b=2", "c=3", "error=close: missing", "source=raw/3/42"}
	if len(got) != len(want) {
		t.Fatalf("headers: got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("header %d: got %s, want %s", i, got[i], want[i])
		}
	}
	in.Key = "not base64!"
	if r := Record("raw.dlq", in, nil, "x"); string(r.Key) != "not base64!" {
		t.Errorf("undecodable key: got %q, want it kept as given", r.Key)
	}
	in.Key = ""
	if r := Record("raw.dlq", in, nil, "x"); r.Key != nil {
		t.Errorf("no key: got %q, want nil", r.Key)
	}
}

// A value or key too large for the dead-letter topic keeps its first bytes and says so; error and source stay last.
func TestRecordBoundsWhatItKeeps(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 2<<20)
	in := &events.KafkaRecord{Topic: "raw", Partition: 1, Offset: 7, Key: base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("K"), 5000))}
	r := Record("raw.dlq", in, big, "not a JSON object")
	if len(r.Value) != MaxValue || len(r.Key) != MaxKey {
		t.Fatalf("kept %d value and %d key bytes, want %d and %d", len(r.Value), len(r.Key), MaxValue, MaxKey)
	}
	var names []string
	for _, h := range r.Headers {
		names = append(names, h.Key)
	}
	if want := []string{HeaderTruncated, HeaderError, HeaderSource}; !slices.Equal(names, want) {
		t.Fatalf("headers %v, want %v", names, want)
	}
	if got := string(r.Headers[0].Value); got != "value: kept the first 262144 of 2097152 bytes; key: kept the first 1024 of 5000 bytes" {
		t.Errorf("truncated header %q", got)
	}
	in.Key = base64.StdEncoding.EncodeToString([]byte("AMZN"))
	small := Record("raw.dlq", in, bytes.Repeat([]byte("y"), MaxValue), "x")
	for _, h := range small.Headers {
		if h.Key == HeaderTruncated {
			t.Errorf("a key and value within the bounds were marked truncated")
		}
	}
}

func TestPanicReason(t *testing.T) {
	long := strings.Repeat("é", MaxPanicReason) // 2 bytes a character: the cut must not split one
	for _, tt := range []struct {
		name string
		v    any
		want string
	}{
		{"string", "boom", "panic: boom"},
		{"error", errors.New("index out of range [3] with length 2"), "panic: index out of range [3] with length 2"},
		{"other", 42, "panic: 42"},
		{"invalid UTF-8", "a\xffb", "panic: a?b"},
	} {
		if got := PanicReason(tt.v); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
	got := PanicReason(long)
	if !utf8.ValidString(got) || len(got) > MaxPanicReason+len(" [cut]") || !strings.HasSuffix(got, "é [cut]") {
		t.Errorf("long panic: %d bytes, valid UTF-8 %v, ends %q", len(got), utf8.ValidString(got), got[len(got)-12:])
	}
}
