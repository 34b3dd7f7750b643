// Package kitdata locates the team kit's market data and reference output (../shared/data beside the repository)
// for tests. The files are read in place, never copied into the repository.
package kitdata

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the kit's data directory: $FINFEED_KIT_DATA, or ../shared/data next to the repository root.
func Dir() (string, error) {
	if d := os.Getenv("FINFEED_KIT_DATA"); d != "" {
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			data := filepath.Join(filepath.Dir(d), "shared", "data")
			if _, err := os.Stat(data); err != nil {
				return "", fmt.Errorf("kit data not found at %s (set FINFEED_KIT_DATA): %w", data, err)
			}
			return data, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s", wd)
		}
	}
}

// Path returns the path of a kit data file, failing the test when the kit is not there.
func Path(t testing.TB, name string) string {
	t.Helper()
	d, err := Dir()
	if err != nil {
		t.Fatalf("kitdata: %v", err)
	}
	p := filepath.Join(d, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("kitdata: %v", err)
	}
	return p
}

// Read returns a kit data file's bytes.
func Read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(Path(t, name))
	if err != nil {
		t.Fatalf("kitdata: %v", err)
	}
	return b
}
