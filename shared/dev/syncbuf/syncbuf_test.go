package syncbuf

import (
	"strings"
	"sync"
	"testing"
)

// Concurrent writers and readers (run with -race): every write ends up in the buffer whole.
func TestConcurrentWrites(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if _, err := b.Write([]byte("ab")); err != nil {
					t.Error(err)
				}
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if got := b.String(); len(got) != 1600 || strings.Count(got, "ab") != 800 || string(b.Bytes()) != got {
		t.Errorf("got %d bytes, %d writes", len(got), strings.Count(got, "ab"))
	}
}
