// Package browsertest opens a page in a real headless browser (Debian's chromium, found on PATH) for a test,
// records what the page writes to its console, and reads what it shows.
package browsertest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Executables are the names the browser is looked up by on PATH, in order.
var Executables = []string{"chromium", "chromium-browser"}

// Page is one browser tab, closed when the test ends.
type Page struct {
	ctx context.Context

	mu       sync.Mutex
	problems []string // console errors and uncaught exceptions
}

// Find returns the browser's path, or fails the test saying how to install it (never a skip: CI installs it).
func Find(t testing.TB) string {
	t.Helper()
	for _, name := range Executables {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatalf("no headless browser: none of %v is on PATH; install Debian's chromium (apt-get install -y chromium; .ci/run does)", Executables)
	return ""
}

// Open starts the browser, headless with a width x height window, and loads url in a tab.
func Open(t testing.TB, url string, width, height int) *Page {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(Find(t)), chromedp.WindowSize(width, height),
		chromedp.NoSandbox, // CI runs as root, where chromium's sandbox cannot start
		chromedp.Flag("hide-scrollbars", true))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	p := &Page{ctx: ctx}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		wg.Wait()
	})
	messages := chromedp.Console(ctx) // subscribed now, before the page loads
	wg.Go(func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				p.mu.Lock()
				p.problems = append(p.problems, m.String())
				p.mu.Unlock()
			}
		}
	})
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s in %s: %v", url, Find(t), err)
	}
	return p
}

// Problems are the console errors and uncaught exceptions (promise rejections included) the page has had.
func (p *Page) Problems() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.problems...)
}

// Eval evaluates a JavaScript expression in the page and decodes its JSON value into T (with
// chromedp.EvalAwaitPromise, the value a promise resolves to).
func Eval[T any](t testing.TB, p *Page, expr string, opts ...chromedp.EvaluateOption) T {
	t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// Dataset is the data attributes of the element with id, as the page has them now.
func (p *Page) Dataset(t testing.TB, id string) map[string]string {
	t.Helper()
	return Eval[map[string]string](t, p, fmt.Sprintf("Object.assign({}, document.getElementById(%q).dataset)", id))
}

// WaitDataset polls the element's data attributes until ok holds for them, failing the test with the last ones
// seen after limit.
func (p *Page) WaitDataset(t testing.TB, id, what string, limit time.Duration, ok func(map[string]string) bool) map[string]string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ds := p.Dataset(t, id)
		if ok(ds) {
			return ds
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v waiting for %s; data attributes of #%s: %v; console problems: %v", limit, what, id, ds, p.Problems())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Screenshot saves what the tab shows as a PNG file.
func (p *Page) Screenshot(t testing.TB, path string) {
	t.Helper()
	png, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("screenshot: not a PNG (%d bytes)", len(png))
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("screenshot: %v", err)
	}
}
