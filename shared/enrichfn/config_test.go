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

// TestLoadCandles: the candle settings, their defaults, and every bad value reported.
func TestLoadCandles(t *testing.T) {
	base := map[string]string{"KAFKA_BROKERS": "b1:9098", "PREV_CLOSE_TABLE": "prev-closes"}
	c, err := enrichfn.Load(env(base))
	if err != nil || c.CandlesTopic != "candles" || c.Candles.Grace != time.Minute || c.Candles.Horizon != 15*time.Minute ||
		c.Candles.Partial || len(c.Candles.Intervals) != 3 {
		t.Errorf("defaults: got %+v, %v", c, err)
	}
	set := map[string]string{"CANDLES_TOPIC": "bars.candles", "CANDLES_GRACE": "30s", "CANDLES_HORIZON": "1h", "CANDLES_PARTIAL": "true"}
	for k, v := range base {
		set[k] = v
	}
	c, err = enrichfn.Load(env(set))
	if err != nil || c.CandlesTopic != "bars.candles" || c.Candles.Grace != 30*time.Second || c.Candles.Horizon != time.Hour || !c.Candles.Partial {
		t.Errorf("set: got %+v, %v", c, err)
	}
	bad := map[string]string{"CANDLES_TOPIC": "enhanced", "CANDLES_GRACE": "soon", "CANDLES_HORIZON": "0s", "CANDLES_PARTIAL": "sometimes"}
	for k, v := range base {
		bad[k] = v
	}
	_, err = enrichfn.Load(env(bad))
	for _, want := range []string{"CANDLES_TOPIC", "CANDLES_GRACE", "CANDLES_HORIZON", "CANDLES_PARTIAL"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
}
