package bar

import (
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// scanner is a small strict JSON reader for the flat objects finfeed's topics carry. It follows RFC 8259:
// strings must be valid UTF-8 with legal escapes, numbers follow the JSON grammar, and nested values of unknown
// fields are skipped (with a depth limit).
type scanner struct {
	data []byte
	pos  int
	buf  []byte // unescaped string scratch
}

const maxDepth = 64

var errEOF = errors.New("unexpected end of input")

func (s *scanner) peek() byte {
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

func (s *scanner) consume(c byte) bool {
	if s.pos < len(s.data) && s.data[s.pos] == c {
		s.pos++
		return true
	}
	return false
}

func (s *scanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *scanner) literal(lit string) error {
	if len(s.data)-s.pos < len(lit) || string(s.data[s.pos:s.pos+len(lit)]) != lit {
		return fmt.Errorf("invalid literal at offset %d", s.pos)
	}
	s.pos += len(lit)
	return nil
}

// readString reads a JSON string and returns its unescaped bytes. The result aliases the input or the
// scanner's scratch buffer and is valid until the next call.
func (s *scanner) readString() ([]byte, error) {
	if !s.consume('"') {
		if s.pos >= len(s.data) {
			return nil, errEOF
		}
		return nil, fmt.Errorf("expected string at offset %d", s.pos)
	}
	start := s.pos
	// Fast path: no escapes, ASCII.
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		if c == '"' {
			s.pos++
			return s.data[start : s.pos-1], nil
		}
		if c == '\\' || c < 0x20 || c >= 0x80 {
			break
		}
		s.pos++
	}
	s.buf = append(s.buf[:0], s.data[start:s.pos]...)
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c == '"':
			s.pos++
			return s.buf, nil
		case c < 0x20:
			return nil, fmt.Errorf("control character in string at offset %d", s.pos)
		case c == '\\':
			if s.pos+1 >= len(s.data) {
				return nil, errEOF
			}
			e := s.data[s.pos+1]
			s.pos += 2
			switch e {
			case '"', '\\', '/':
				s.buf = append(s.buf, e)
			case 'b':
				s.buf = append(s.buf, '\b')
			case 'f':
				s.buf = append(s.buf, '\f')
			case 'n':
				s.buf = append(s.buf, '\n')
			case 'r':
				s.buf = append(s.buf, '\r')
			case 't':
				s.buf = append(s.buf, '\t')
			case 'u':
				r, ok := s.hex4()
				if !ok {
					return nil, fmt.Errorf("invalid \\u escape at offset %d", s.pos-2)
				}
				if utf16.IsSurrogate(r) {
					r2 := utf8.RuneError
					if s.pos+1 < len(s.data) && s.data[s.pos] == '\\' && s.data[s.pos+1] == 'u' {
						save := s.pos
						s.pos += 2
						var ok2 bool
						if r2, ok2 = s.hex4(); !ok2 {
							return nil, fmt.Errorf("invalid \\u escape at offset %d", save)
						}
						if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
							r = d
						} else {
							s.pos = save
							r = utf8.RuneError
						}
					} else {
						r = utf8.RuneError
					}
				}
				s.buf = utf8.AppendRune(s.buf, r)
			default:
				return nil, fmt.Errorf("invalid escape at offset %d", s.pos-2)
			}
		case c < 0x80:
			s.buf = append(s.buf, c)
			s.pos++
		default:
			r, size := utf8.DecodeRune(s.data[s.pos:])
			if r == utf8.RuneError && size <= 1 {
				return nil, fmt.Errorf("invalid UTF-8 at offset %d", s.pos)
			}
			s.buf = append(s.buf, s.data[s.pos:s.pos+size]...)
			s.pos += size
		}
	}
	return nil, errEOF
}

func (s *scanner) hex4() (rune, bool) {
	if len(s.data)-s.pos < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s.data[s.pos : s.pos+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	s.pos += 4
	return r, true
}

// skipNumber advances over one number in JSON grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) skipNumber() error {
	start := s.pos
	s.consume('-')
	switch c := s.peek(); {
	case c == '0':
		s.pos++
	case c >= '1' && c <= '9':
		s.digits()
	default:
		return fmt.Errorf("invalid number at offset %d", start)
	}
	if s.consume('.') {
		if s.digits() == 0 {
			return fmt.Errorf("invalid number at offset %d", start)
		}
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.pos++
		if c := s.peek(); c == '+' || c == '-' {
			s.pos++
		}
		if s.digits() == 0 {
			return fmt.Errorf("invalid number at offset %d", start)
		}
	}
	return nil
}

func (s *scanner) digits() int {
	n := 0
	for s.pos < len(s.data) && s.data[s.pos] >= '0' && s.data[s.pos] <= '9' {
		s.pos++
		n++
	}
	return n
}

// skipValue advances over any JSON value.
func (s *scanner) skipValue() error { return s.skipValueDepth(0) }

func (s *scanner) skipValueDepth(depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("nesting deeper than %d at offset %d", maxDepth, s.pos)
	}
	switch c := s.peek(); {
	case c == '"':
		_, err := s.readString()
		return err
	case c == '-' || (c >= '0' && c <= '9'):
		return s.skipNumber()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '{' || c == '[':
		s.pos++
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		s.skipSpace()
		if s.consume(end) {
			return nil
		}
		for {
			s.skipSpace()
			if c == '{' {
				if _, err := s.readString(); err != nil {
					return err
				}
				s.skipSpace()
				if !s.consume(':') {
					return fmt.Errorf("expected ':' at offset %d", s.pos)
				}
				s.skipSpace()
			}
			if err := s.skipValueDepth(depth + 1); err != nil {
				return err
			}
			s.skipSpace()
			if s.consume(',') {
				continue
			}
			if s.consume(end) {
				return nil
			}
			if s.pos >= len(s.data) {
				return errEOF
			}
			return fmt.Errorf("expected ',' or '%c' at offset %d", end, s.pos)
		}
	case c == 0 && s.pos >= len(s.data):
		return errEOF
	default:
		return fmt.Errorf("unexpected character %q at offset %d", c, s.pos)
	}
}
