package enrichfn_test

import (
	"strings"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/enrichfn"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoad(t *testing.T) {
	c, err := enrichfn.Load(env(map[string]string{"KAFKA_BROKERS": "b1:9096, b2:9096", "KAFKA_AUTH": "scram", "KAFKA_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:AmazonMSK_x", "PREV_CLOSE_TABLE": "prev-closes"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.EnhancedTopic != "enhanced" || c.DLQTopic != "raw.dlq" || c.Threshold != 5 || !c.Kafka.TLS || len(c.Kafka.Brokers) != 2 ||
		c.CheckpointEvery != 5*time.Minute || c.StateBucket != "" || c.StateDir != "" {
		t.Errorf("defaults: got %+v", c)
	}
	c, err = enrichfn.Load(env(map[string]string{"KAFKA_BROKERS": "b1:9098", "PREV_CLOSE_TABLE": "prev-closes", "STATE_BUCKET": " finfeed-state ", "STATE_CHECKPOINT_EVERY": "90s"}))
	if err != nil || c.StateBucket != "finfeed-state" || c.CheckpointEvery != 90*time.Second {
		t.Errorf("state settings: got %+v, %v", c, err)
	}
	_, err = enrichfn.Load(env(map[string]string{"KAFKA_AUTH": "kerberos", "THRESHOLD_PCT": "-1", "ENHANCED_TOPIC": "x", "DLQ_TOPIC": "x", "KAFKA_TLS": "maybe",
		"STATE_BUCKET": "b", "STATE_DIR": "/tmp/s", "STATE_CHECKPOINT_EVERY": "often"}))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"KAFKA_BROKERS", "KAFKA_AUTH", "THRESHOLD_PCT", "DLQ_TOPIC", "PREV_CLOSE_TABLE", "KAFKA_TLS", "STATE_BUCKET and STATE_DIR", "STATE_CHECKPOINT_EVERY"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
}

func TestConfigLogValueHasNoPassword(t *testing.T) {
	c, err := enrichfn.Load(env(map[string]string{"KAFKA_BROKERS": "b1:9096", "KAFKA_AUTH": "scram", "KAFKA_USERNAME": "svc", "KAFKA_PASSWORD": "hunter2-secret", "PREV_CLOSES_FILE": "x.csv"}))
	if err != nil {
		t.Fatal(err)
	}
	if s := c.LogValue().String(); strings.Contains(s, "hunter2") || !strings.Contains(s, "svc") {
		t.Errorf("log value: %s", s)
	}
}
