package topics_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/finfeed/finfeed/shared/dev/repo"
	"github.com/finfeed/finfeed/shared/topics"
)

// names are the literals that must be written only in topics.go.
var names = append(topics.All(), topics.EnrichGroup, topics.IndexGroup, topics.IndexCandlesGroup)

// home is the one non-test file allowed to spell the names, relative to the module root.
const home = "shared/topics/topics.go"

// TestNamesWrittenOnce: no non-test Go file of the module other than topics.go has a string literal equal to a
// topic or group name, so a name changes in one place. Log keys ("enhanced" as the count of enhanced records)
// are not names. docs/examples is code for customers to copy, which must not import the module's packages, and
// tools/ holds other modules.
func TestNamesWrittenOnce(t *testing.T) {
	root := moduleRoot(t)
	found := map[string][]string{} // file -> literals
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			switch {
			case rel != "." && strings.HasPrefix(d.Name(), "."), d.Name() == "node_modules", d.Name() == "testdata",
				rel == "docs/examples", rel == "tools", rel == "bin":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		if lits := nameLiterals(t, path); len(lits) > 0 {
			found[rel] = lits
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := found[home]; len(got) != len(names) {
		t.Errorf("%s: got literals %q, want each of %q once (is the walk looking at the module?)", home, got, names)
	}
	delete(found, home)
	for file, lits := range found {
		t.Errorf("%s spells %q: refer to package topics instead", file, lits)
	}
}

// TestNameLiterals: the scan finds names in code and skips log keys and feed's command names, so
// TestNamesWrittenOnce can fail.
func TestNameLiterals(t *testing.T) {
	src := `package p
const c = "raw"
var v = map[string]string{"enhanced.dlq": "finfeed-index"}
func f(log interface{ Info(string, ...any) }, n int) string {
	log.Info("done", "enhanced", n, "topic", "raw.dlq")
	return "enhanced" + "rawer"
}
func init() { register("candles", "a command"); use("candles") }`
	path := filepath.Join(t.TempDir(), "p.go")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	got := nameLiterals(t, path)
	want := []string{"raw", "enhanced.dlq", "finfeed-index", "raw.dlq", "enhanced", "candles"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// nameLiterals returns the string literals in the file equal to a name, in order, leaving out log keys.
func nameLiterals(t *testing.T, path string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	keys := map[*ast.BasicLit]bool{}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			markLogKeys(n, keys)
		case *ast.BasicLit:
			if n.Kind != token.STRING || keys[n] {
				return true
			}
			if s, err := strconv.Unquote(n.Value); err == nil && slices.Contains(names, s) {
				out = append(out, s)
			}
		}
		return true
	})
	return out
}

// markLogKeys marks the key arguments of a slog-style call: Info(msg, k, v, ...), With(k, v, ...) and attribute
// constructors such as slog.Int(k, v).
func markLogKeys(call *ast.CallExpr, keys map[*ast.BasicLit]bool) {
	if id, ok := call.Fun.(*ast.Ident); ok && id.Name == "register" && len(call.Args) > 0 {
		// feed's subcommand names (`feed candles`) are not topic names
		if lit, ok := call.Args[0].(*ast.BasicLit); ok {
			keys[lit] = true
		}
		return
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return
	}
	first := -1
	switch sel.Sel.Name {
	case "Debug", "Info", "Warn", "Error":
		first = 1
	case "DebugContext", "InfoContext", "WarnContext", "ErrorContext":
		first = 2
	case "With":
		first = 0
	case "String", "Int", "Int64", "Uint64", "Float64", "Bool", "Time", "Duration", "Any", "Group":
		if x, ok := sel.X.(*ast.Ident); ok && x.Name == "slog" {
			if len(call.Args) > 0 {
				if lit, ok := call.Args[0].(*ast.BasicLit); ok {
					keys[lit] = true
				}
			}
		}
		return
	default:
		return
	}
	for i := first; i >= 0 && i < len(call.Args); i += 2 {
		if lit, ok := call.Args[i].(*ast.BasicLit); ok {
			keys[lit] = true
		}
	}
}

// moduleRoot is the repository root.
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	return root
}
