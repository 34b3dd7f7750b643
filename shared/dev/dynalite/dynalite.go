// Package dynalite starts a local dynalite server (a DynamoDB API implementation on Node.js) for tests and the
// local stack, and builds DynamoDB clients for it.
package dynalite

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/finfeed/finfeed/shared/dev/repo"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Dir is where the pinned dynalite npm package lives, relative to the repository root.
const Dir = "tools/dynalite"

// Server is a running dynalite.
type Server struct {
	Endpoint string // http://127.0.0.1:PORT
	cmd      *exec.Cmd
	stdin    io.Closer // held open: dynalite exits when it closes
	done     chan error
}

const script = `const d = require('dynalite')({createTableMs: 0, deleteTableMs: 0, updateTableMs: 0});
d.listen(0, '127.0.0.1', function () { console.log('port ' + this.address().port); });
process.stdin.on('end', () => process.exit(0)); process.stdin.resume();`

// Start runs dynalite on a free loopback port. It stops when Close is called or when this process exits
// (dynalite exits when its stdin closes).
func Start(ctx context.Context) (*Server, error) {
	dir, err := moduleDir()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "dynalite")); err != nil {
		return nil, fmt.Errorf("dynalite is not installed in %s: run `make deps` (npm ci --prefix %s)", dir, Dir)
	}
	cmd := exec.Command("node", "-e", script)
	cmd.Dir = dir
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start dynalite: %w", err)
	}
	s := &Server{cmd: cmd, stdin: stdin, done: make(chan error, 1)}
	portc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if p, ok := strings.CutPrefix(sc.Text(), "port "); ok {
				portc <- p
			}
		}
	}()
	go func() { s.done <- cmd.Wait() }()
	select {
	case p := <-portc:
		s.Endpoint = "http://127.0.0.1:" + p
		return s, nil
	case err := <-s.done:
		return nil, fmt.Errorf("dynalite exited before listening: %v", err)
	case <-time.After(20 * time.Second):
		return nil, errors.Join(errors.New("dynalite did not start within 20s"), s.Close())
	case <-ctx.Done():
		return nil, errors.Join(ctx.Err(), s.Close())
	}
}

// Close stops the server.
func (s *Server) Close() error {
	if s.cmd.Process == nil {
		return nil
	}
	err := s.stdin.Close()
	if errors.Is(err, os.ErrClosed) { // Wait closes it once the process has exited
		err = nil
	}
	if kerr := s.cmd.Process.Kill(); kerr != nil && !errors.Is(kerr, os.ErrProcessDone) {
		err = errors.Join(err, kerr)
	}
	<-s.done
	return err
}

// Client returns a DynamoDB client for the server with dummy static credentials.
func (s *Server) Client() *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
}

// StartT starts a server for the test and stops it at cleanup; it fails the test when dynalite cannot start.
func StartT(t testing.TB) *Server {
	t.Helper()
	s, err := Start(context.Background())
	if err != nil {
		t.Fatalf("dynalite: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("stop dynalite: %v", err)
		}
	})
	return s
}

// moduleDir is $FINFEED_DYNALITE_DIR, or tools/dynalite in the repository.
func moduleDir() (string, error) {
	if d := os.Getenv("FINFEED_DYNALITE_DIR"); d != "" {
		return d, nil
	}
	root, err := repo.Root()
	if err != nil {
		return "", fmt.Errorf("cannot find %s (set FINFEED_DYNALITE_DIR): %w", Dir, err)
	}
	return filepath.Join(root, Dir), nil
}
