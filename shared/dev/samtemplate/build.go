package samtemplate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

var (
	buildTarget = regexp.MustCompile(`^build-([A-Za-z0-9]+):`)
	functionPkg = regexp.MustCompile(`\./functions/[A-Za-z0-9_-]+`)
)

// BuildTargets reads a Makefile's build-<LogicalId> targets (what `sam build` runs for BuildMethod: makefile)
// and the ./functions/<name> package each one builds.
func BuildTargets(makefile string) (map[string]string, error) {
	data, err := os.ReadFile(makefile)
	if err != nil {
		return nil, fmt.Errorf("read makefile: %w", err)
	}
	out := map[string]string{}
	current := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if m := buildTarget.FindStringSubmatch(line); m != nil {
			current = m[1]
			continue
		}
		if current != "" && strings.HasPrefix(line, "\t") {
			if pkg := functionPkg.FindString(line); pkg != "" {
				out[current] = pkg
			}
			continue
		}
		current = ""
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read makefile: %w", err)
	}
	return out, nil
}

var envName = regexp.MustCompile(`^[A-Z][A-Z0-9_]{2,}$`)

// EnvNames lists the environment variable names a function's code can read: string literals shaped like
// NAME_OF_VAR (upper case) in the non-test Go files of the package and every package of this module it imports.
// (Names are often passed through tables and helpers, so literals are a safer net than tracing getenv calls.)
func EnvNames(root, pkg string) (map[string]bool, error) {
	lits, err := StringLiterals(root, pkg)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for s := range lits {
		if envName.MatchString(s) {
			names[s] = true
		}
	}
	return names, nil
}

// StringLiterals lists the string literals in the non-test Go files of pkg and every package of this module it
// imports.
func StringLiterals(root, pkg string) (map[string]bool, error) {
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Dir,GoFiles,Module", pkg)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %w: %s", pkg, err, stderr.String())
	}
	lits := map[string]bool{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p struct {
			Dir     string
			GoFiles []string
			Module  *struct{ Main bool }
		}
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("decode go list: %w", err)
		}
		if p.Module == nil || !p.Module.Main {
			continue
		}
		for _, f := range p.GoFiles {
			if err := literals(filepath.Join(p.Dir, f), lits); err != nil {
				return nil, err
			}
		}
	}
	return lits, nil
}

func literals(path string, into map[string]bool) error {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		return fmt.Errorf("parse %s: %w", path, err)
	}
	ast.Inspect(f, func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			if s, err := strconv.Unquote(lit.Value); err == nil {
				into[s] = true
			}
		}
		return true
	})
	return nil
}
