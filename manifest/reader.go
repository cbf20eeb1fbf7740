package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Options says how a batch's files are written: the CSV dialect of the
// manifest, which the data files share.
//
// The zero Options is the SR default, ',' and '"'. When Delimiter is 0,
// Quote is ignored and the defaults apply; otherwise Quote is taken as
// given, and a Quote of 0 means no quoting at all: every byte but the
// delimiter and the line ends is an ordinary character, '"' included.
type Options struct {
	// Delimiter separates fields.
	Delimiter byte
	// Quote is the text qualifier: a field that starts with it runs to the
	// next Quote not doubled, and a doubled Quote inside stands for one.
	Quote byte
}

// DefaultOptions is the SR default dialect: comma and double quote.
func DefaultOptions() Options { return Options{Delimiter: ',', Quote: '"'} }

// resolved returns o with the zero Delimiter replaced by the defaults.
func (o Options) resolved() Options {
	if o.Delimiter == 0 {
		return DefaultOptions()
	}
	return o
}

// Validate reports whether o is a dialect the manifest can be read with:
// ASCII delimiter and quote, different from each other and from the line
// ends.
func (o Options) Validate() error {
	o = o.resolved()
	switch {
	case o.Delimiter == o.Quote:
		return fmt.Errorf("delimiter and quote are both %q", o.Delimiter)
	case o.Delimiter == '\r' || o.Delimiter == '\n' || o.Quote == '\r' || o.Quote == '\n':
		return errors.New("a line end cannot be the delimiter or the quote")
	case o.Delimiter >= 0x80 || o.Quote >= 0x80:
		return errors.New("the delimiter and the quote must be ASCII")
	}
	return nil
}

// maxManifestBytes bounds what Parse reads: a real manifest is a few KB.
const maxManifestBytes = 1 << 20

// line is one non-empty line of a manifest: its 1-based number, its bytes
// without the line end, or why it cannot be read.
type line struct {
	num  int64
	text []byte
	err  error
}

// readLines reads a manifest and splits it at LF or CRLF, dropping empty
// lines and a UTF-8 byte-order mark at the start. A carriage return that
// does not end a line makes that line an error.
func readLines(r io.Reader) ([]line, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxManifestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(data) > maxManifestBytes {
		return nil, fmt.Errorf("larger than %d bytes; not a manifest", maxManifestBytes)
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	var lines []line
	for num := int64(1); len(data) > 0; num++ {
		text := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			text, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		text = bytes.TrimSuffix(text, []byte("\r"))
		switch {
		case bytes.IndexByte(text, '\r') >= 0:
			lines = append(lines, line{num: num, err: errors.New("carriage return inside a line; lines end in CRLF or LF")})
		case len(text) > 0:
			lines = append(lines, line{num: num, text: text})
		}
	}
	return lines, nil
}

// splitFields splits one line into fields with the delimiter and quote of
// opt (resolved). Quoting is strict: a quoted field must close on its line
// and be followed by a delimiter or the line end, and an unquoted field
// must not contain the quote.
func splitFields(text []byte, opt Options) ([]string, error) {
	delim, quote := opt.Delimiter, opt.Quote
	var out []string
	for i := 0; ; {
		n := len(out) + 1
		if quote != 0 && i < len(text) && text[i] == quote {
			var b []byte
			i++
			for {
				j := bytes.IndexByte(text[i:], quote)
				if j < 0 {
					return nil, fmt.Errorf("field %d: extraneous or missing %q in quoted field (it does not close on its line)", n, quote)
				}
				b = append(b, text[i:i+j]...)
				i += j + 1
				if i < len(text) && text[i] == quote {
					b = append(b, quote)
					i++
					continue
				}
				break
			}
			out = append(out, string(b))
			if i == len(text) {
				return out, nil
			}
			if text[i] != delim {
				return nil, fmt.Errorf("field %d: extraneous or missing %q in quoted field (text after the closing quote)", n, quote)
			}
			i++
			continue
		}
		f := text[i:]
		j := bytes.IndexByte(f, delim)
		if j >= 0 {
			f = f[:j]
		}
		if quote != 0 && bytes.IndexByte(f, quote) >= 0 {
			return nil, fmt.Errorf("field %d: bare %q in unquoted field", n, quote)
		}
		out = append(out, string(f))
		if j < 0 {
			return out, nil
		}
		i += j + 1
	}
}
