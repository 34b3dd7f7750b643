package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/finfeed/finfeed/shared/dev/lambdarie"
	"github.com/finfeed/finfeed/shared/dev/searchtest"
)

// TestBootstrapUnderRIE builds this function as Lambda runs it (linux, lambda.norpc) and invokes it through the
// AWS Runtime Interface Emulator with events/index-msk.json: configuration from the environment, the template
// applied at cold start, documents on the (strict fake) OpenSearch, the bad record reported in the counts.
func TestBootstrapUnderRIE(t *testing.T) {
	bootstrap := lambdarie.Build(t, "./functions/index")

	search := searchtest.NewServer(t, searchtest.Options{Username: "indexer", Password: "rie-Pa55"})
	kc, err := kfake.NewCluster(kfake.Ports(0), kfake.SeedTopics(1, "enhanced", "enhanced.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)

	emu := lambdarie.Start(t, bootstrap, map[string]string{
		"OPENSEARCH_URL":      search.URL,
		"OPENSEARCH_AUTH":     "basic",
		"OPENSEARCH_USERNAME": "indexer",
		"OPENSEARCH_PASSWORD": "rie-Pa55",
		"KAFKA_BROKERS":       strings.Join(kc.ListenAddrs(), ","),
		"KAFKA_AUTH":          "none",
	})

	event, err := os.ReadFile(filepath.Join("..", "..", "events", "index-msk.json"))
	if err != nil {
		t.Fatal(err)
	}
	body := emu.Invoke(t, event)
	logs := string(emu.Output())
	var counts struct {
		Records, Indexed, DLQ, Invalid, Rejected int
		ErrorMessage                             string
	}
	if err := json.Unmarshal(body, &counts); err != nil {
		t.Fatalf("response %s: %v", body, err)
	}
	if counts.ErrorMessage != "" || counts.Records != 6 || counts.Indexed != 5 || counts.DLQ != 1 || counts.Invalid != 1 {
		t.Fatalf("invocation: got %s, want records 6, indexed 5, dlq 1\nlogs:\n%s", body, logs)
	}
	if search.Count() != 5 || search.Template("finfeed-bars") == nil {
		t.Errorf("server: got %d documents, template %v; want 5 and the template applied", search.Count(), search.Template("finfeed-bars") != nil)
	}
	if policy, _ := search.Policy("finfeed-bars-retention"); policy == nil || search.ManagedBy("bars-2024.07") != "finfeed-bars-retention" {
		t.Errorf("server: retention policy %v, bars-2024.07 managed by %q; want the policy created at cold start and attached to the month's index",
			policy != nil, search.ManagedBy("bars-2024.07"))
	}
	if strings.Contains(logs, "rie-Pa55") {
		t.Errorf("the password appears in the function's logs")
	}
}
