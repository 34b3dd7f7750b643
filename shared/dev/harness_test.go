// Package dev_test checks the line between the product and its development harness: the packages under
// shared/dev serve `feed`'s development commands and the tests, and no deployable may link them.
package dev_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/finfeed/finfeed/shared/dev/repo"
)

const module = "github.com/finfeed/finfeed"

// deps lists the packages pkgs link, from the repository root.
func deps(t *testing.T, pkgs ...string) []string {
	t.Helper()
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", append([]string{"list", "-deps"}, pkgs...)...)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %v: %v", pkgs, err)
	}
	return strings.Fields(string(out))
}

// No deployable (a Lambda function or the ingester container) reaches a development package.
func TestFunctionsLinkNoDevelopmentPackage(t *testing.T) {
	all := deps(t, "./functions/...")
	if !slices.Contains(all, module+"/shared/bar") {
		t.Fatalf("go list -deps ./functions/... does not list shared/bar: the check would see nothing (%d packages)", len(all))
	}
	for _, p := range all {
		if strings.HasPrefix(p, module+"/shared/dev/") || p == module+"/shared/dev" {
			t.Errorf("a deployable links the development package %s", p)
		}
		if p == "testing" {
			t.Errorf("a deployable links package testing")
		}
	}
}

// The feed binary links its development commands' packages, but never package testing.
func TestFeedLinksNoTestingPackage(t *testing.T) {
	all := deps(t, "./cmd/feed")
	if !slices.Contains(all, module+"/shared/dev/broker") {
		t.Fatalf("go list -deps ./cmd/feed does not list shared/dev/broker: the check would see nothing")
	}
	if slices.Contains(all, "testing") {
		t.Errorf("feed links package testing")
	}
}

// cmd/feed stays flags, wiring and output: no file of it (tests included) grows past 400 lines.
func TestFeedFilesStaySmall(t *testing.T) {
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	paths, err := filepath.Glob(filepath.Join(root, "cmd", "feed", "*.go"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no cmd/feed sources found: %v", err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(b), "\n"); n > 400 {
			t.Errorf("%s has %d lines: split it (the feed command is flags, wiring and output; the work lives in packages)", filepath.Base(p), n)
		}
	}
}
