package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/dev/repo"
)

// TestCFNResponse sends the listener what a custom resource may answer, after a stray GET, and checks its verdict
// against the repository's own request fixture.
func TestCFNResponse(t *testing.T) {
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	event := filepath.Join(root, "events", "provision-create.json")
	var req map[string]any
	data, err := os.ReadFile(event)
	if err != nil || json.Unmarshal(data, &req) != nil {
		t.Fatalf("read %s: %v", event, err)
	}
	answer := func(change func(map[string]any)) string {
		r := map[string]any{"Status": "SUCCESS", "PhysicalResourceId": "finfeed-kafka:x", "StackId": req["StackId"],
			"RequestId": req["RequestId"], "LogicalResourceId": req["LogicalResourceId"], "Data": map[string]any{"Topics": "raw"}}
		change(r)
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tests := []struct {
		name     string
		body     string
		wantCode int
		wantOut  string
	}{
		{"success", answer(func(map[string]any) {}), exitOK, "SUCCESS for KafkaSetup"},
		{"failed", answer(func(r map[string]any) { r["Status"], r["Reason"] = "FAILED", "topic raw has 3 partitions" }), exitFailure, "FAILED for KafkaSetup: topic raw"},
		{"failed without reason", answer(func(r map[string]any) { r["Status"] = "FAILED" }), exitFailure, "without a Reason"},
		{"another request", answer(func(r map[string]any) { r["RequestId"] = "other" }), exitFailure, "the request was"},
		{"too large", answer(func(r map[string]any) { r["Data"] = map[string]any{"x": strings.Repeat("a", 5000)} }), exitFailure, "at most 4096"},
		{"unknown field", `{"Status":"SUCCESS","Extra":1}`, exitFailure, "not a custom-resource response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
			defer cancel()
			stdout, stderr := &output{}, &output{}
			done := make(chan int, 1)
			go func() {
				done <- run(ctx, []string{"cfnresponse", "--listen", "127.0.0.1:0", "--event", event, "--timeout", "1m"}, nil, stdout, stderr)
			}()
			addr := waitForMatch(t, stdout, regexp.MustCompile(`on (http://\S+)`))
			if resp, err := http.Get(addr + "/cloudformation-response"); err == nil {
				resp.Body.Close()
				if resp.StatusCode != http.StatusMethodNotAllowed {
					t.Errorf("GET: status %d, want 405", resp.StatusCode)
				}
			}
			put, err := http.NewRequestWithContext(ctx, http.MethodPut, addr+"/cloudformation-response?X-Amz-Signature=x", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(put)
			if err != nil {
				t.Fatalf("PUT: %v", err)
			}
			resp.Body.Close()
			var code int
			select {
			case code = <-done:
			case <-time.After(waitLimit):
				t.Fatal("cfnresponse did not exit after the response")
			}
			all := stdout.String() + stderr.String()
			if code != tt.wantCode || !strings.Contains(all, tt.wantOut) {
				t.Errorf("got exit %d, output:\n%s\nwant exit %d mentioning %q", code, all, tt.wantCode, tt.wantOut)
			}
		})
	}
}

// waitForMatch waits, bounded, until out matches re and returns the first group.
func waitForMatch(t *testing.T, out *output, re *regexp.Regexp) string {
	t.Helper()
	var m []string
	waitFor(t, re.String(), func() bool {
		m = re.FindStringSubmatch(out.String())
		return m != nil
	})
	return m[1]
}
