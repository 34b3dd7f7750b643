package repo_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/finfeed/finfeed/shared/dev/repo"
)

// From this package, from a nested module's directory, and nowhere near the repository.
func TestRoot(t *testing.T) {
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "template.yaml")); err != nil {
		t.Fatalf("root %s holds no template.yaml: %v", root, err)
	}
	t.Chdir(filepath.Join(root, "tools", "jsonbench")) // its own go.mod, another module
	if got, err := repo.Root(); err != nil || got != root {
		t.Errorf("from tools/jsonbench: got %q, %v; want %q", got, err, root)
	}
	t.Chdir(t.TempDir())
	if got, err := repo.Root(); err == nil {
		t.Errorf("outside the repository: got %q, want an error", got)
	}
}
