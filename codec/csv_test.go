package codec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

type rec struct {
	line   int64
	fields []string
	err    string // substring of a *RecordError, for a bad record
}

// readAll reads every record, collecting record errors in place.
func readAll(t *testing.T, r *Reader) ([]rec, error) {
	t.Helper()
	var out []rec
	for {
		fs, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		var re *RecordError
		if errors.As(err, &re) {
			out = append(out, rec{line: re.Line, err: re.Error()})
			continue
		}
		if err != nil {
			return out, err
		}
		strs := make([]string, len(fs))
		for i, f := range fs {
			strs[i] = string(f)
		}
		out = append(out, rec{line: r.Line(), fields: strs})
	}
}

func TestReader(t *testing.T) {
	utf8 := DefaultDialect()
	utf8.Encoding = UTF8
	semi := DefaultDialect()
	semi.Delimiter, semi.Quote = ';', '\''
	noQuote := DefaultDialect()
	noQuote.Quote = 0
	tests := []struct {
		name    string
		d       Dialect
		in      string
		want    []rec
		wantErr string // fatal error substring
	}{
		{name: "crlf", in: "a,b\r\n1,2\r\n", want: []rec{{1, []string{"a", "b"}, ""}, {2, []string{"1", "2"}, ""}}},
		{name: "lf and no final newline", in: "a,b\n1,2", want: []rec{{1, []string{"a", "b"}, ""}, {2, []string{"1", "2"}, ""}}},
		{name: "lone cr ends a record", in: "a,b\r1,2\r", want: []rec{{1, []string{"a", "b"}, ""}, {2, []string{"1", "2"}, ""}}},
		{name: "empty fields", in: ",,\r\n", want: []rec{{1, []string{"", "", ""}, ""}}},
		{name: "blank lines skipped, lines still counted", in: "a\r\n\r\n\r\nb\r\n", want: []rec{{1, []string{"a"}, ""}, {4, []string{"b"}, ""}}},
		{name: "quoted comma", in: `"GMS,Contraception",x` + "\r\n", want: []rec{{1, []string{"GMS,Contraception", "x"}, ""}}},
		{name: "doubled quote", in: `"say ""hi""",""` + "\r\n", want: []rec{{1, []string{`say "hi"`, ""}, ""}}},
		{name: "quoted crlf kept verbatim, next record line", in: "\"l1\r\nl2\",x\r\ny,z\r\n",
			want: []rec{{1, []string{"l1\r\nl2", "x"}, ""}, {3, []string{"y", "z"}, ""}}},
		{name: "quote inside unquoted field is literal", in: `5" tall,x` + "\n", want: []rec{{1, []string{`5" tall`, "x"}, ""}}},
		{name: "utf-8 bom dropped", in: "\xEF\xBB\xBFRowIdentifier\r\n", want: []rec{{1, []string{"RowIdentifier"}, ""}}},
		{name: "a utf-8 bom makes the file utf-8", in: "\xEF\xBB\xBFSurname\r\nM\xC3\xBCller\r\n\"Zo\xC3\xAB\",x\r\n",
			want: []rec{{1, []string{"Surname"}, ""}, {2, []string{"Müller"}, ""}, {3, []string{"Zoë", "x"}, ""}}},
		{name: "and invalid utf-8 after it is a record error", in: "\xEF\xBB\xBFSurname\r\nM\xFCller\r\n",
			want: []rec{{1, []string{"Surname"}, ""}, {2, nil, "line 2 field 1: bytes not valid in utf-8"}}},
		{name: "windows-1252 decoded", in: "\xA3 caf\xE9 \x80 \x92 \x81\r\n", want: []rec{{1, []string{"£ café € ’ \u0081"}, ""}}},
		{name: "utf-8 passes through", d: utf8, in: "£ Zoë\r\n", want: []rec{{1, []string{"£ Zoë"}, ""}}},
		{name: "invalid utf-8 is a record error", d: utf8, in: "a,b\xA3\r\nc,d\r\n",
			want: []rec{{1, nil, "line 1 field 2: bytes not valid in utf-8"}, {2, []string{"c", "d"}, ""}}},
		{name: "text after closing quote is a record error", in: "\"a\"b,c\r\nd,e\r\n",
			want: []rec{{1, nil, "line 1 field 1: text after the closing quote"}, {2, []string{"d", "e"}, ""}}},
		{name: "unterminated quote is fatal", in: "a,b\r\n1,\"open\r\n2,3\r\n", want: []rec{{1, []string{"a", "b"}, ""}},
			wantErr: "line 2 field 2: quoted field not terminated"},
		{name: "other delimiter and quote", d: semi, in: "a;'b;c';'it''s'\r\n", want: []rec{{1, []string{"a", "b;c", "it's"}, ""}}},
		{name: "no qualifier", d: noQuote, in: "\"a\",b\r\n", want: []rec{{1, []string{`"a"`, "b"}, ""}}},
		{name: "empty input", in: "", want: nil},
	}
	for _, tt := range tests {
		d := tt.d
		if d.Delimiter == 0 {
			d = DefaultDialect()
		}
		for _, mode := range []string{"whole", "one byte at a time"} {
			t.Run(tt.name+"/"+mode, func(t *testing.T) {
				var src io.Reader = strings.NewReader(tt.in)
				if mode != "whole" {
					src = iotest.OneByteReader(src)
				}
				got, err := readAll(t, NewReader(src, d))
				if tt.wantErr == "" && err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				if len(got) != len(tt.want) {
					t.Fatalf("got %d records %+v, want %d %+v", len(got), got, len(tt.want), tt.want)
				}
				for i := range got {
					g, w := got[i], tt.want[i]
					if g.line != w.line || strings.Join(g.fields, "|") != strings.Join(w.fields, "|") || !strings.Contains(g.err, w.err) || (w.err == "") != (g.err == "") {
						t.Errorf("record %d: got %+v, want %+v", i, g, w)
					}
				}
			})
		}
	}
}

// repeatReader yields n bytes of b without holding them.
type repeatReader struct {
	b byte
	n int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.n {
		p = p[:r.n]
	}
	for i := range p {
		p[i] = r.b
	}
	r.n -= int64(len(p))
	return len(p), nil
}

// A 100 MB field is reported as one bad record, the file goes on, and the
// reader never holds more than its record limit.
func TestReaderHugeFieldBoundedMemory(t *testing.T) {
	const huge = 100 << 20
	for _, quoted := range []bool{false, true} {
		q := ""
		if quoted {
			q = `"`
		}
		src := io.MultiReader(strings.NewReader("1,"+q), &repeatReader{b: 'x', n: huge}, strings.NewReader(q+"\r\n2,ok\r\n"))
		d := DefaultDialect()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		got, err := readAll(t, NewReader(src, d))
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || !strings.Contains(got[0].err, "record longer than 16777216 bytes") || got[1].fields[1] != "ok" || got[1].line != 2 {
			t.Fatalf("quoted=%v: got %+v", quoted, got)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 2*uint64(d.MaxRecordBytes)+8<<20 {
			t.Errorf("quoted=%v: allocated %d MiB reading a 100 MiB field; want about the 16 MiB record limit", quoted, grew>>20)
		}
	}
}

func TestReaderReadError(t *testing.T) {
	boom := errors.New("disk gone")
	r := NewReader(io.MultiReader(strings.NewReader("a,b\r\n1,"), iotest.ErrReader(boom)), DefaultDialect())
	if _, err := r.Read(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(); !errors.Is(err, boom) {
		t.Fatalf("got %v, want the read error", err)
	}
}

func TestDialectValidate(t *testing.T) {
	for _, d := range []Dialect{
		{Delimiter: 0, Quote: '"', MaxRecordBytes: 1},
		{Delimiter: ',', Quote: ',', MaxRecordBytes: 1},
		{Delimiter: '\n', Quote: '"', MaxRecordBytes: 1},
		{Delimiter: 0xA3, Quote: '"', MaxRecordBytes: 1},
		{Delimiter: ',', Quote: '"', MaxRecordBytes: 0},
	} {
		if d.Validate() == nil {
			t.Errorf("%+v: want an error", d)
		}
	}
	if err := DefaultDialect().Validate(); err != nil {
		t.Error(err)
	}
}

// writeCSV renders records with every field quoted, for round trips.
func writeCSV(recs [][]string, d Dialect) []byte {
	var b bytes.Buffer
	q := string(d.Quote)
	for _, r := range recs {
		for i, f := range r {
			if i > 0 {
				b.WriteByte(d.Delimiter)
			}
			b.WriteString(q + strings.ReplaceAll(f, q, q+q) + q)
		}
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

// FuzzReader: any input either fails cleanly or yields records that survive
// a write/read round trip unchanged; the reader never panics.
func FuzzReader(f *testing.F) {
	for _, s := range []string{"a,b\r\n1,2\r\n", "\"x\"\"y\",\"l1\r\nl2\"\n", "\"open", "a\"b,\"c\"d\r\n", "\xEF\xBB\xBF\xA3,\x81\r", ",,\n\n"} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, in []byte, asUTF8 bool) {
		d := DefaultDialect()
		d.MaxRecordBytes = 1 << 16
		if asUTF8 {
			d.Encoding = UTF8
		}
		r := NewReader(bytes.NewReader(in), d)
		var recs [][]string
		for {
			fs, err := r.Read()
			if err != nil {
				var re *RecordError
				if errors.As(err, &re) {
					continue
				}
				break
			}
			rec := make([]string, len(fs))
			for i, f := range fs {
				rec[i] = string(f)
			}
			recs = append(recs, rec)
		}
		d.Encoding = UTF8 // the records are UTF-8 now
		r2 := NewReader(bytes.NewReader(writeCSV(recs, d)), d)
		for i, want := range recs {
			fs, err := r2.Read()
			if err != nil {
				t.Fatalf("record %d: re-read: %v", i, err)
			}
			if len(fs) != len(want) {
				t.Fatalf("record %d: %d fields after round trip, want %d", i, len(fs), len(want))
			}
			for j := range fs {
				if string(fs[j]) != want[j] {
					t.Fatalf("record %d field %d: %q after round trip, want %q", i, j, fs[j], want[j])
				}
			}
		}
	})
}

// FuzzFastPathAgrees: the line-at-a-time fast path and the byte-by-byte
// parser return the same records, lines and errors for any input.
func FuzzFastPathAgrees(f *testing.F) {
	for _, s := range []string{"a,b\r\n1,2\r\n", "\"x\"\"y\",\"l1\r\nl2\"\n", "\"a\"b,c\n", "a,\"b,c\",\"\"\r\n\r\n", "x\r\r\n\"\"\"\n", "\xA3,\"\xE9\"\n"} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, in []byte, asUTF8 bool) {
		d := DefaultDialect()
		d.MaxRecordBytes = 64
		if asUTF8 {
			d.Encoding = UTF8
		}
		fast := NewReader(bytes.NewReader(in), d)
		slow := NewReader(bytes.NewReader(in), d)
		slow.noFast = true
		for i := 0; ; i++ {
			ff, ferr := fast.Read()
			sf, serr := slow.Read()
			if fmt.Sprint(ferr) != fmt.Sprint(serr) {
				t.Fatalf("record %d: fast error %v, slow error %v", i, ferr, serr)
			}
			if ferr == nil && (fmt.Sprintf("%q", ff) != fmt.Sprintf("%q", sf) || fast.Line() != slow.Line()) {
				t.Fatalf("record %d: fast %q at line %d, slow %q at line %d", i, ff, fast.Line(), sf, slow.Line())
			}
			if ferr != nil {
				var re *RecordError
				if !errors.As(ferr, &re) {
					return
				}
			}
		}
	})
}
