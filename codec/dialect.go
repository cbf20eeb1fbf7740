package codec

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/sragent/sragent/manifest"
)

// How a CSV file is written: its character set and its delimiter, quote
// and record bound, and the Windows-1252 decoding table.

// Encoding is the character set of the input files.
type Encoding uint8

const (
	// Windows1252 is SystmOne's default (Java's Cp1252). The five bytes it
	// leaves undefined map to the C1 controls, as the WHATWG decoder does,
	// so no byte is ever lost.
	Windows1252 Encoding = iota
	// UTF8 input is passed through after validation.
	UTF8
)

// ParseEncoding accepts "windows-1252" (also "cp1252") and "utf-8" ("utf8").
func ParseEncoding(s string) (Encoding, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "windows-1252", "cp1252", "windows1252":
		return Windows1252, nil
	case "utf-8", "utf8":
		return UTF8, nil
	}
	return 0, fmt.Errorf("unknown encoding %q (want windows-1252 or utf-8)", s)
}

// String returns the encoding's canonical name.
func (e Encoding) String() string {
	if e == UTF8 {
		return "utf-8"
	}
	return "windows-1252"
}

// Dialect is how a CSV file is written.
type Dialect struct {
	// Delimiter separates fields; the default is ','.
	Delimiter byte
	// Quote is the text qualifier, doubled inside a quoted field to stand
	// for itself; the default is '"'. Zero means fields are never quoted.
	Quote byte
	// Encoding is the input character set; output is always UTF-8.
	Encoding Encoding
	// MaxRecordBytes bounds the decoded size of one record; a longer record
	// is reported and skipped, so memory never depends on the input.
	// The default is 16 MiB.
	MaxRecordBytes int
}

// DefaultDialect is the SR default: Windows-1252, comma, double quote.
func DefaultDialect() Dialect {
	return Dialect{Delimiter: ',', Quote: '"', Encoding: Windows1252, MaxRecordBytes: 16 << 20}
}

// Validate reports a dialect that cannot be parsed unambiguously.
func (d Dialect) Validate() error {
	switch {
	case d.Delimiter == 0:
		return errors.New("delimiter must be set")
	case d.Delimiter == d.Quote:
		return errors.New("delimiter and quote must differ")
	case d.Delimiter == '\r' || d.Delimiter == '\n' || d.Quote == '\r' || d.Quote == '\n':
		return errors.New("delimiter and quote cannot be CR or LF")
	case d.Delimiter >= 0x80 || d.Quote >= 0x80:
		return errors.New("delimiter and quote must be ASCII")
	case d.MaxRecordBytes <= 0:
		return errors.New("max record bytes must be positive")
	}
	return nil
}

// cp1252 holds the UTF-8 encoding of bytes 0x80-0xFF: length, then bytes.
var cp1252 = func() (t [128][4]byte) {
	// 0x80-0x9F differ from Latin-1; 0 marks the five undefined bytes,
	// which decode to the C1 control of the same value.
	high := [32]rune{
		0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
		0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
	}
	for i := range t {
		r := rune(0x80 + i)
		if i < 32 && high[i] != 0 {
			r = high[i]
		}
		n := utf8.EncodeRune(t[i][1:], r)
		t[i][0] = byte(n)
	}
	return t
}()

// Manifest returns the dialect of the batch's manifest (the same
// delimiter and quote), for the manifest package's readers.
func (d Dialect) Manifest() manifest.Options {
	return manifest.Options{Delimiter: d.Delimiter, Quote: d.Quote}
}
