// Package fakealpacatest starts a fake Alpaca for a test. It is apart from fakealpaca so that the programs that
// link the fake (`feed ingest --fake-alpaca`) do not link the testing package.
package fakealpacatest

import (
	"testing"

	"github.com/finfeed/finfeed/shared/dev/fakealpaca"
)

// Start starts a server for the test that accepts the key/secret pair and closes it at cleanup.
func Start(t testing.TB, key, secret string) *fakealpaca.Server {
	t.Helper()
	s, err := fakealpaca.New(key, secret)
	if err != nil {
		t.Fatalf("fake alpaca: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}
