package srgen

import (
	"io"
	"strings"
	"unicode/utf8"
)

// csvWriter writes CRLF records, quoting fields that need it (or every
// non-empty field with quoteAll), in Windows-1252 unless utf8 is set.
type csvWriter struct {
	w        io.Writer
	utf8     bool
	quoteAll bool
	buf      []byte
	err      error
}

func (c *csvWriter) record(fields []string) {
	if c.err != nil {
		return
	}
	b := c.buf[:0]
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		quote := (c.quoteAll && f != "") || strings.ContainsAny(f, ",\"\r\n")
		if quote {
			b = append(b, '"')
		}
		for _, r := range f {
			if r == '"' {
				b = append(b, '"', '"')
				continue
			}
			b = c.appendRune(b, r)
		}
		if quote {
			b = append(b, '"')
		}
	}
	b = append(b, '\r', '\n')
	c.buf = b
	_, c.err = c.w.Write(b)
}

// win1252 maps the non-Latin-1 characters srgen writes to their bytes.
var win1252 = map[rune]byte{'€': 0x80, '‘': 0x91, '’': 0x92, '“': 0x93, '”': 0x94, '–': 0x96, '—': 0x97}

func (c *csvWriter) appendRune(b []byte, r rune) []byte {
	switch {
	case r < 0x80:
		return append(b, byte(r))
	case c.utf8:
		return utf8.AppendRune(b, r)
	case r >= 0xA0 && r <= 0xFF:
		return append(b, byte(r))
	}
	if x, ok := win1252[r]; ok {
		return append(b, x)
	}
	return append(b, '?')
}
