package bar

import "sync"

// symbols interns symbol strings: a feed carries a few thousand symbols, so decoding a bar usually allocates
// nothing for its symbol. Bounded so hostile input cannot grow it without limit.
var symbols = struct {
	sync.RWMutex
	m map[string]string
}{m: make(map[string]string)}

const maxInterned = 1 << 15

func internSymbol(b []byte) string {
	symbols.RLock()
	s, ok := symbols.m[string(b)] // no allocation for the lookup
	symbols.RUnlock()
	if ok {
		return s
	}
	s = string(b)
	symbols.Lock()
	if len(symbols.m) < maxInterned {
		symbols.m[s] = s
	}
	symbols.Unlock()
	return s
}
