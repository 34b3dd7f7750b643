package deadletter

import (
	"encoding/base64"
	"testing"

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
