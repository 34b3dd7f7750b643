package lambdarie

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// The enrich bootstrap under the emulator: an empty batch answers zero counts and the init phase is reported.
func TestStartInvokeInitDuration(t *testing.T) {
	closes := filepath.Join(t.TempDir(), "closes.csv")
	if err := os.WriteFile(closes, []byte("symbol,date,close\nAMZN,2024-07-10,196.365\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	emu := Start(t, Build(t, "./functions/enrich"), map[string]string{"KAFKA_BROKERS": "127.0.0.1:1", "PREV_CLOSES_FILE": closes})
	if _, err := emu.InitDuration(); err == nil {
		t.Error("init reported before the first invocation")
	}
	body := emu.Invoke(t, []byte(`{"eventSource":"aws:kafka","records":{}}`))
	var counts struct{ Records, Enhanced, DLQ int }
	if err := json.Unmarshal(body, &counts); err != nil || counts.Records != 0 {
		t.Errorf("response %s: %v", body, err)
	}
	if d, err := emu.InitDuration(); err != nil || d <= 0 {
		t.Errorf("init duration: %v, %v", d, err)
	}
	// a function error is a 200 with errorMessage
	raw, err := emu.InvokeRaw([]byte(`{"records":"not a map"}`))
	if err != nil {
		t.Fatal(err)
	}
	if msg, ok := FunctionError(raw); !ok || msg == "" {
		t.Errorf("bad event: got %s, want a function error", raw)
	}
}
