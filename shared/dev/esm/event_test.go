package esm_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/dev/esm"
)

// TestBuildEventShape compares with the MSK event shape of aws-lambda-go's testdata/kafka-event.json.
func TestBuildEventShape(t *testing.T) {
	ts := time.UnixMilli(1595035749700).Add(123 * time.Microsecond)
	recs := []*kgo.Record{
		{Topic: "raw", Partition: 1, Offset: 7, Timestamp: ts, Key: []byte("AMZN"), Value: []byte(`{"a":1}`),
			Headers: []kgo.RecordHeader{{Key: "headerKey", Value: []byte{118, 220, 0, 127, 128}}}},
		{Topic: "raw", Partition: 0, Offset: 3, Timestamp: ts, Value: []byte("x")},
		{Topic: "raw", Partition: 1, Offset: 8, Timestamp: ts, Key: []byte("AMZN"), Value: []byte("y")},
	}
	ev := esm.BuildEvent(recs, "arn:x", []string{"127.0.0.1:1", "127.0.0.1:2"})
	got, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"eventSource":"aws:kafka","eventSourceArn":"arn:x","records":{` +
		`"raw-0":[{"topic":"raw","partition":0,"offset":3,"timestamp":1595035749700,"timestampType":"CREATE_TIME","value":"eA==","headers":[]}],` +
		`"raw-1":[{"topic":"raw","partition":1,"offset":7,"timestamp":1595035749700,"timestampType":"CREATE_TIME","key":"QU1aTg==","value":"eyJhIjoxfQ==","headers":[{"headerKey":[118,-36,0,127,-128]}]},` +
		`{"topic":"raw","partition":1,"offset":8,"timestamp":1595035749700,"timestampType":"CREATE_TIME","key":"QU1aTg==","value":"eQ==","headers":[]}]},` +
		`"bootstrapServers":"127.0.0.1:1,127.0.0.1:2"}`
	if string(got) != want {
		t.Errorf("event JSON:\ngot  %s\nwant %s", got, want)
	}
}
