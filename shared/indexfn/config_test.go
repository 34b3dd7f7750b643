package indexfn

import (
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantDLQ string
		wantErr []string
	}{
		{
			name:    "defaults",
			env:     map[string]string{"KAFKA_BROKERS": "127.0.0.1:9092", "OPENSEARCH_URL": "https://search.example"},
			wantDLQ: "enhanced.dlq",
		},
		{
			name:    "every problem at once",
			env:     map[string]string{"DLQ_TOPIC": "enhanced", "OPENSEARCH_AUTH": "magic", "OPENSEARCH_SETUP": "later"},
			wantErr: []string{"KAFKA_BROKERS", "OPENSEARCH_URL", "OPENSEARCH_AUTH", "DLQ_TOPIC", "OPENSEARCH_SETUP"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(func(k string) string { return tt.env[k] })
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("Load: got no error, want %q", tt.wantErr)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("Load error: got %q, want it to mention %s", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if c.DLQTopic != tt.wantDLQ || c.Search.Alias != "bars" || c.Search.Auth != "sigv4" || c.Setup != SetupColdStart {
				t.Errorf("Load: got dlq %q alias %q auth %q, want %q bars sigv4", c.DLQTopic, c.Search.Alias, c.Search.Auth, tt.wantDLQ)
			}
		})
	}
}
