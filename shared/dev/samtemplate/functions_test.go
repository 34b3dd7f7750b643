package samtemplate_test

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/dev/lambdarie"
	"github.com/finfeed/finfeed/shared/dev/samtemplate"
)

// functions are the template's functions with the package their Makefile target builds.
func functions(t *testing.T) ([]samtemplate.Function, map[string]string) {
	t.Helper()
	targets, err := samtemplate.BuildTargets(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	return load(t, "template.yaml").Functions(), targets
}

func TestEveryFunctionHasABuildTarget(t *testing.T) {
	fns, targets := functions(t)
	if len(fns) == 0 {
		t.Fatal("no AWS::Serverless::Function in template.yaml")
	}
	seen := map[string]bool{}
	for _, f := range fns {
		seen[f.LogicalID] = true
		pkg, ok := targets[f.LogicalID]
		if !ok {
			t.Errorf("%s: no build-%s target in the Makefile (sam build runs it)", f.LogicalID, f.LogicalID)
			continue
		}
		if _, err := os.Stat(filepath.Join(root, pkg, "main.go")); err != nil {
			t.Errorf("%s: build-%s builds %s, which has no main.go", f.LogicalID, f.LogicalID, pkg)
		}
	}
	for id := range targets {
		if !seen[id] {
			t.Errorf("Makefile target build-%s builds a function the template does not have", id)
		}
	}
}

var (
	buildMu sync.Mutex
	built   = map[string]string{} // id/arch -> bootstrap path, or "" after a failure
)

// bootstrap builds a function once per test run with its own Makefile target, as `sam build` does.
func bootstrap(t *testing.T, id, arch string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	key := id + "/" + arch
	if p, ok := built[key]; ok {
		if p == "" {
			t.Fatalf("make build-%s failed earlier", id)
		}
		return p
	}
	built[key] = ""
	dir := filepath.Join(buildDir, key)
	cmd := exec.Command("make", "--no-print-directory", "build-"+id, "ARTIFACTS_DIR="+dir, "LAMBDA_GOARCH="+arch)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make build-%s (%s): %v\n%s", id, arch, err, out)
	}
	p := filepath.Join(dir, "bootstrap")
	built[key] = p
	return p
}

var buildDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "samtemplate-build-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildDir = dir
	code := m.Run()
	if err := os.RemoveAll(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

func TestBuildTargetsProduceBootstraps(t *testing.T) {
	fns, targets := functions(t)
	for _, f := range fns {
		if _, ok := targets[f.LogicalID]; !ok {
			continue // reported by TestEveryFunctionHasABuildTarget
		}
		t.Run(f.LogicalID, func(t *testing.T) {
			p := bootstrap(t, f.LogicalID, "arm64")
			ef, err := elf.Open(p)
			if err != nil {
				t.Fatalf("bootstrap is not an ELF executable: %v", err)
			}
			defer ef.Close()
			if ef.Machine != elf.EM_AARCH64 {
				t.Errorf("bootstrap machine %v, want %v (the template says arm64)", ef.Machine, elf.EM_AARCH64)
			}
			if ef.Type != elf.ET_EXEC {
				t.Errorf("bootstrap type %v, want a static executable (CGO_ENABLED=0)", ef.Type)
			}
			if interp := ef.Section(".interp"); interp != nil {
				t.Error("bootstrap has a dynamic loader: provided.al2023 wants a static binary")
			}
		})
	}
}

// templateEnv resolves a function's Environment.Variables for the default parameters, with plausible stand-ins
// for what only a deployed stack knows (bootstrap strings, endpoints, ARNs).
func templateEnv(t *testing.T, tpl *samtemplate.Template, f samtemplate.Function) map[string]string {
	t.Helper()
	env := map[string]string{}
	for k, v := range f.Env {
		s, ok, err := tpl.String(v, tpl.Defaults(), samtemplate.PlausibleFakes)
		if err != nil {
			t.Fatalf("%s: %s: %v", f.LogicalID, k, err)
		}
		if ok {
			env[k] = s
		}
	}
	return env
}

// awsEnv is what Lambda puts in every function's environment, minus anything real.
var awsEnv = map[string]string{
	"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
	"AWS_ACCESS_KEY_ID": "AKIDTEMPLATETEST", "AWS_SECRET_ACCESS_KEY": "template-test-secret",
	"AWS_EC2_METADATA_DISABLED": "true",
}

// TestEnvironment checks both directions for every function: the code reads every variable the template sets,
// and the configuration the template gives is accepted at start (the function gets as far as asking the Lambda
// Runtime API for work, or fails only on reaching the stand-in endpoints).
func TestEnvironment(t *testing.T) {
	tpl := load(t, "template.yaml")
	fns, targets := functions(t)
	for _, f := range fns {
		pkg, ok := targets[f.LogicalID]
		if !ok {
			continue
		}
		t.Run(f.LogicalID, func(t *testing.T) {
			names, err := samtemplate.EnvNames(root, pkg)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range slices.Sorted(maps.Keys(f.Env)) {
				if !names[k] && !sdkReads(t, pkg, k) {
					t.Errorf("template sets %s for %s, but no code of %s reads it", k, f.LogicalID, pkg)
				}
			}
			env := templateEnv(t, tpl, f)
			maps.Copy(env, awsEnv)
			out, reached := initOnly(t, bootstrap(t, f.LogicalID, hostArch()), env)
			if bytes.Contains(out, []byte(`"invalid configuration"`)) {
				t.Fatalf("the template's environment is rejected:\n%s", out)
			}
			switch {
			case reached:
				t.Log("configuration accepted; the function asked the Runtime API for work")
			case bytes.Contains(out, []byte(`"msg":"start"`)):
				t.Logf("configuration accepted; building clients failed on the stand-in endpoints, as expected offline")
			default:
				t.Fatalf("the function neither started nor failed on its clients:\n%s", out)
			}
		})
	}
}

// sdkReads reports whether name is AWS_ENDPOINT_URL_<SERVICE> of an AWS SDK service client pkg is built with
// (the SDK reads it, so the literal is not in our code).
func sdkReads(t *testing.T, pkg, name string) bool {
	t.Helper()
	service, ok := strings.CutPrefix(name, "AWS_ENDPOINT_URL_")
	if !ok {
		return false
	}
	cmd := exec.Command("go", "list", "-deps", pkg)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	want := "github.com/aws/aws-sdk-go-v2/service/" + strings.ToLower(strings.ReplaceAll(service, "_", ""))
	return slices.Contains(strings.Fields(string(out)), want)
}

func hostArch() string {
	if out, err := exec.Command("go", "env", "GOARCH").Output(); err == nil {
		return strings.TrimSpace(string(out))
	}
	return "amd64"
}

// initOnly runs a bootstrap against a stand-in Lambda Runtime API until it asks for its first invocation (true)
// or exits (false), and returns what it printed.
func initOnly(t *testing.T, bin string, env map[string]string) ([]byte, bool) {
	t.Helper()
	asked := make(chan struct{})
	var once sync.Once
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/2018-06-01/runtime/invocation/next" {
			once.Do(func() { close(asked) })
			<-r.Context().Done() // no work: hold the long poll until the process is stopped
			return
		}
		http.NotFound(w, r)
	}))
	defer api.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = lambdarie.EnvList(env, "AWS_LAMBDA_RUNTIME_API="+strings.TrimPrefix(api.URL, "http://"))
	var out bytes.Buffer // read only after the process has exited
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-asked:
		if err := cmd.Process.Kill(); err != nil {
			t.Errorf("stop bootstrap: %v", err)
		}
		<-exited
		return out.Bytes(), true
	case <-exited:
		return out.Bytes(), false
	case <-ctx.Done():
		<-exited // CommandContext kills it
		t.Fatalf("bootstrap neither asked for work nor exited within 60s:\n%s", out.Bytes())
	}
	return nil, false
}

// TestEnvironmentCatchesAMissingVariable shows the start check fails when the template leaves out what the code
// requires.
func TestEnvironmentCatchesAMissingVariable(t *testing.T) {
	tpl := load(t, "template.yaml")
	for _, f := range tpl.Functions() {
		if f.LogicalID != "EnrichFunction" {
			continue
		}
		env := templateEnv(t, tpl, f)
		maps.Copy(env, awsEnv)
		delete(env, "KAFKA_BROKERS")
		delete(env, "PREV_CLOSE_TABLE")
		out, reached := initOnly(t, bootstrap(t, f.LogicalID, hostArch()), env)
		if reached || !bytes.Contains(out, []byte(`"invalid configuration"`)) || !bytes.Contains(out, []byte("KAFKA_BROKERS")) || !bytes.Contains(out, []byte("PREV_CLOSE_TABLE")) {
			t.Errorf("without KAFKA_BROKERS and PREV_CLOSE_TABLE: asked for work %v, output:\n%s\nwant an invalid configuration naming both", reached, out)
		}
		return
	}
	t.Fatal("no EnrichFunction in template.yaml")
}

// TestIngesterTaskEnvironment checks the Fargate task's variables the same way: the ingester's code reads each.
func TestIngesterTaskEnvironment(t *testing.T) {
	tpl := load(t, "template.yaml")
	task, ok := tpl.Resources["IngesterTask"]
	if !ok {
		t.Fatal("no IngesterTask in template.yaml")
	}
	names, err := samtemplate.EnvNames(root, "./functions/ingester")
	if err != nil {
		t.Fatal(err)
	}
	defs, _ := task.Properties["ContainerDefinitions"].([]any)
	if len(defs) == 0 {
		t.Fatal("IngesterTask has no container")
	}
	env, _ := defs[0].(map[string]any)["Environment"].([]any)
	if len(env) == 0 {
		t.Fatal("the ingester container has no Environment")
	}
	for _, e := range env {
		name, _ := e.(map[string]any)["Name"].(string)
		if !names[name] {
			t.Errorf("IngesterTask sets %s, but no code of ./functions/ingester reads it", name)
		}
	}
}

// TestDLQMetricFilters wants each dead-letter metric filter to match what its function logs: the message and
// the field it counts are literals in the function's code.
func TestDLQMetricFilters(t *testing.T) {
	tpl := load(t, "template.yaml")
	_, targets := functions(t)
	groups := map[string]string{} // log group logical id -> function
	for _, f := range tpl.Functions() {
		lc, _ := tpl.Resources[f.LogicalID].Properties["LoggingConfig"].(map[string]any)
		if ref, ok := lc["LogGroup"].(map[string]any); ok {
			groups[fmt.Sprint(ref["Ref"])] = f.LogicalID
		}
	}
	n := 0
	for _, id := range tpl.ResourceIDs() {
		r := tpl.Resources[id]
		if r.Type != "AWS::Logs::MetricFilter" {
			continue
		}
		n++
		group, _ := r.Properties["LogGroupName"].(map[string]any)
		fn, ok := groups[fmt.Sprint(group["Ref"])]
		if !ok {
			t.Errorf("%s: log group %v is no function's", id, group)
			continue
		}
		lits, err := samtemplate.StringLiterals(root, targets[fn])
		if err != nil {
			t.Fatal(err)
		}
		pattern, _ := r.Properties["FilterPattern"].(string)
		for _, m := range regexp.MustCompile(`\$\.(\w+) = "([^"]+)"|\$\.(\w+) >`).FindAllStringSubmatch(pattern, -1) {
			for _, lit := range []string{m[1], m[2], m[3]} {
				if lit != "" && lit != slog.MessageKey && !lits[lit] { // the functions log with slog's JSON handler
					t.Errorf("%s: filter %q needs %q, which %s's code never writes", id, pattern, lit, fn)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no AWS::Logs::MetricFilter in template.yaml")
	}
}
