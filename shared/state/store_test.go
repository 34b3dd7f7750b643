package state_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/finfeed/finfeed/shared/state"
)

// s3Store starts gofakes3 on a loopback TCP port and returns a store in a new bucket on it.
func s3Store(t *testing.T) (*state.S3, *s3.Client) {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	client := s3.New(s3.Options{
		BaseEndpoint: aws.String(srv.URL),
		UsePathStyle: true,
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("state")}); err != nil {
		t.Fatal(err)
	}
	return state.NewS3(client, "state"), client
}

func fileStore(t *testing.T) *state.File {
	t.Helper()
	f, err := state.NewFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// stores are every Store implementation, for the contract test and the engine tests.
func stores(t *testing.T) map[string]func(t *testing.T) state.Store {
	return map[string]func(t *testing.T) state.Store{
		"memory": func(*testing.T) state.Store { return state.NewMemory() },
		"file":   func(t *testing.T) state.Store { return fileStore(t) },
		"s3":     func(t *testing.T) state.Store { s, _ := s3Store(t); return s },
	}
}

// TestStoreContract runs one contract against every store: newest at or below an offset, per topic and
// partition, overwrite, exact bytes.
func TestStoreContract(t *testing.T) {
	for name, mk := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := mk(t)
			if _, _, found, err := s.Latest(ctx, "raw", 0, 1<<62); err != nil || found {
				t.Fatalf("empty store: found %v err %v, want nothing", found, err)
			}
			puts := []struct {
				topic string
				part  int32
				off   int64
				blob  string
			}{
				{"raw", 0, 100, "a100"}, {"raw", 0, 10, "a10"}, {"raw", 0, 0, "a0"}, {"raw", 0, 1000, "a1000"},
				{"raw", 1, 50, "b50"}, {"raw.x", 0, 70, "c70"}, {"raw", 0, 100, "a100-again"},
			}
			for _, p := range puts {
				if err := s.Put(ctx, p.topic, p.part, p.off, []byte(p.blob)); err != nil {
					t.Fatalf("put %+v: %v", p, err)
				}
			}
			for _, c := range []struct {
				name  string
				topic string
				part  int32
				at    int64
				off   int64
				blob  string
				found bool
			}{
				{"exact", "raw", 0, 100, 100, "a100-again", true},
				{"between", "raw", 0, 99, 10, "a10", true},
				{"zero", "raw", 0, 0, 0, "a0", true},
				{"newest", "raw", 0, 1 << 62, 1000, "a1000", true},
				{"max", "raw", 0, 1<<63 - 1, 1000, "a1000", true},
				{"below every", "raw", 1, 49, 0, "", false},
				{"other partition", "raw", 1, 60, 50, "b50", true},
				{"other topic", "raw.x", 0, 1000, 70, "c70", true},
				{"no partition", "raw", 7, 1000, 0, "", false},
				{"negative", "raw", 0, -1, 0, "", false},
			} {
				off, blob, found, err := s.Latest(ctx, c.topic, c.part, c.at)
				if err != nil || found != c.found || off != c.off || !bytes.Equal(blob, []byte(c.blob)) {
					t.Errorf("%s: got %d %q %v %v, want %d %q %v", c.name, off, blob, found, err, c.off, c.blob, c.found)
				}
			}
			if err := s.Put(ctx, "bad/topic", 0, 1, nil); err == nil {
				t.Error("put with a topic that is not a Kafka name: no error")
			}
			if err := s.Put(ctx, "raw", 0, -1, nil); err == nil {
				t.Error("put at a negative offset: no error")
			}
		})
	}
}

// TestFileStoreKeepsNewest: the file store prunes to Keep checkpoints per partition, newest kept, and leaves no
// temporary files behind.
func TestFileStoreKeepsNewest(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := state.NewFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Keep = 3
	for off := int64(1); off <= 10; off++ {
		if err := s.Put(ctx, "raw", 2, off*10, []byte{byte(off)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		at, off int64
		found   bool
	}{{1000, 100, true}, {95, 90, true}, {85, 80, true}, {79, 0, false}} {
		off, _, found, err := s.Latest(ctx, "raw", 2, c.at)
		if err != nil || found != c.found || off != c.off {
			t.Errorf("latest at %d: got %d %v %v, want %d %v", c.at, off, found, err, c.off, c.found)
		}
	}
	ents, err := filepath.Glob(dir + "/raw/00002/*")
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 3 {
		t.Errorf("files left: got %v, want 3 checkpoints", ents)
	}
}

// TestS3StoreKeys: one object per checkpoint under state/v1/<topic>/<partition>/ with the offset inverted, so
// the newest sorts first (what the lifecycle rule and the IAM prefix are written for).
func TestS3StoreKeys(t *testing.T) {
	ctx := context.Background()
	s, client := s3Store(t)
	for _, off := range []int64{5, 500} {
		if err := s.Put(ctx, "raw", 3, off, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	out, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("state")})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	want := []string{"state/v1/raw/00003/9223372036854775307", "state/v1/raw/00003/9223372036854775802"}
	if len(keys) != 2 || keys[0] != want[0] || keys[1] != want[1] {
		t.Errorf("keys: got %q, want %q", keys, want)
	}
}
