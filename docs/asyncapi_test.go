package docs_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7/intrinsics"

	"github.com/finfeed/finfeed/docs"
	"github.com/finfeed/finfeed/shared/dev/broker"
	"github.com/finfeed/finfeed/shared/provision"
	"github.com/finfeed/finfeed/shared/topics"
)

// asyncAPI is the document as generic JSON (goformation's YAML reader, already a dependency for the SAM
// template checks; NoProcess leaves the document as written).
func asyncAPI(t *testing.T) map[string]any {
	t.Helper()
	y, err := fs.ReadFile(docs.FS(), docs.AsyncAPI)
	if err != nil {
		t.Fatal(err)
	}
	j, err := intrinsics.ProcessYAML(y, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		t.Fatalf("%s: %v", docs.AsyncAPI, err)
	}
	var doc map[string]any
	if err := json.Unmarshal(j, &doc); err != nil {
		t.Fatalf("%s: %v", docs.AsyncAPI, err)
	}
	return doc
}

// at walks keys down a generic JSON value, failing the test when one is missing.
func at(t *testing.T, v any, keys ...string) any {
	t.Helper()
	for i, k := range keys {
		m, ok := v.(map[string]any)
		if !ok || m[k] == nil {
			t.Fatalf("%s: no %s", docs.AsyncAPI, strings.Join(keys[:i+1], "."))
		}
		v = m[k]
	}
	return v
}

// The document says what the code does: the topics, partitions, replicas and retention the stack provisions,
// the local server's address, and only versions and content types the producer writes.
func TestAsyncAPIMatchesTheCode(t *testing.T) {
	doc := asyncAPI(t)
	if got := at(t, doc, "asyncapi"); got != "3.0.0" {
		t.Errorf("asyncapi: got %v, want 3.0.0", got)
	}
	spec, _, err := provision.ParseProperties(map[string]any{"BootstrapServers": "127.0.0.1:9092"})
	if err != nil {
		t.Fatal(err)
	}
	channels := at(t, doc, "channels").(map[string]any)
	var addresses []string
	for id, ch := range channels {
		addr, _ := at(t, ch, "address").(string)
		addresses = append(addresses, addr)
		if id != addr {
			t.Errorf("channel %s: address %q, want the topic name as the channel id", id, addr)
		}
		kafka := at(t, ch, "bindings", "kafka")
		if got := at(t, kafka, "topic"); got != addr {
			t.Errorf("channel %s: kafka topic %v, want %s", id, got, addr)
		}
		i := slices.IndexFunc(spec.Topics, func(tp provision.Topic) bool { return tp.Name == addr })
		if i < 0 {
			t.Errorf("channel %s: the stack provisions no topic %s", id, addr)
			continue
		}
		want := spec.Topics[i]
		for key, w := range map[string]int64{"partitions": int64(want.Partitions), "replicas": int64(want.Replication)} {
			if got := at(t, kafka, key); got != float64(w) {
				t.Errorf("channel %s: %s %v, want the stack's default %d", id, key, got, w)
			}
		}
		if got := at(t, kafka, "topicConfiguration", "retention.ms"); got != float64(want.RetentionMs) {
			t.Errorf("channel %s: retention.ms %v, want the stack's default %d", id, got, want.RetentionMs)
		}
	}
	slices.Sort(addresses)
	if want := slices.Sorted(slices.Values(topics.All())); !slices.Equal(addresses, want) {
		t.Errorf("channels %v, want the feed's topics %v", addresses, want)
	}
	if got := at(t, doc, "servers", "local", "host"); got != broker.DefaultAddr {
		t.Errorf("local server host %v, want feed local's default %s", got, broker.DefaultAddr)
	}
	for _, ct := range spec.CustomerTopics() {
		if got := at(t, doc, "channels", ct, "servers"); !strings.Contains(fmt.Sprint(got), "#/servers/msk") {
			t.Errorf("the customer topic %s is not served on msk: %v", ct, got)
		}
	}
}

// Every message's payload and headers refer to an embedded schema file (and every schema file is used), and
// every example in the document satisfies the schemas it illustrates.
func TestAsyncAPIMessages(t *testing.T) {
	doc := asyncAPI(t)
	used := map[string]bool{}
	for id, msg := range at(t, doc, "components", "messages").(map[string]any) {
		m := msg.(map[string]any)
		for _, part := range []string{"payload", "headers"} {
			p, ok := m[part].(map[string]any)
			if !ok {
				continue
			}
			ref, _ := p["$ref"].(string)
			if ref == "" {
				if part == "headers" || id != "deadLetter" {
					t.Errorf("message %s: %s is inline, want a $ref to a schema file", id, part)
				}
				continue
			}
			name := path.Clean(ref)
			used[name] = true
			s, err := docs.Schema(name)
			if err != nil {
				t.Errorf("message %s: %s: %v", id, part, err)
				continue
			}
			examples, _ := m["examples"].([]any)
			n := 0
			for _, ex := range examples {
				v, ok := ex.(map[string]any)[part]
				if !ok {
					continue
				}
				n++
				b, err := json.Marshal(v)
				if err != nil {
					t.Fatal(err)
				}
				if err := docs.ValidateJSON(s, b); err != nil {
					t.Errorf("message %s: example %v: %s: %v", id, ex.(map[string]any)["name"], part, err)
				}
			}
			if n == 0 {
				t.Errorf("message %s: no example of its %s", id, part)
			}
		}
	}
	files, err := fs.Glob(docs.FS(), "schemas/*.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !used[f] {
			t.Errorf("%s is not referred to by any message of %s", f, docs.AsyncAPI)
		}
	}
}
