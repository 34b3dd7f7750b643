// Package repo finds the finfeed repository from wherever a test or a development command runs, so the tools
// and files beside the code (tools/, bin/, events/) are found the same way everywhere.
package repo

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Module is the module path of the repository's root go.mod.
const Module = "github.com/finfeed/finfeed"

// Root is the repository root: the nearest directory at or above the working directory whose go.mod declares
// Module (a nested module such as tools/jsonbench declares its own path and is passed over).
func Root() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find the repository: %w", err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if declares(filepath.Join(d, "go.mod"), Module) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod of %s at or above %s", Module, wd)
		}
	}
}

// declares reports whether the go.mod at path is module's.
func declares(path, module string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`) == module
		}
	}
	return false
}
