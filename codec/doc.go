// Package codec turns the bytes of one SR table file into typed rows and
// the Avro binary of their change events. By file:
//
//   - dialect.go: the input Encoding (Windows-1252 or UTF-8) and Dialect
//     (delimiter, quote, record bound), and the Windows-1252 decoding table.
//   - csv.go, csv_fast.go, csv_slow.go: Reader, a streaming CSV record
//     reader (UTF-8 out, RFC 4180 quoting, BOM, CRLF/LF/CR, line numbers,
//     bounded memory) with a fast path for whole regular lines and a
//     byte-by-byte parser for the rest; RecordError, UnterminatedQuoteError.
//   - layout.go: Layout, the mapping of a file's header onto its catalogued
//     table (missing, extra and renamed columns, RemovedData, key columns),
//     or onto a dynamic all-string table for an unknown one; HeaderError.
//   - convert.go: Converter, cell conversion into a Row of Values (int64
//     ids, doubles, booleans, datetimes, null for empty cells); CellError.
//   - clock.go: Clock, UK wall-clock datetimes to UTC instants.
//   - scanner.go: Scanner, header then typed rows of one file; RowError
//     and FileError.
//   - reasons.go: the stable reason codes of row-level errors (the labels
//     of dead-letter metrics) and ErrTooLarge.
//   - avro.go, binary.go: TableCodec, built from schemas.Build. Keys and
//     Debezium-shaped row values (Op, Source, Event) are written straight
//     to Avro binary by codec's own encoder (binary.go), not by goavro.
//     goavro, behind the AvroCodec interface, parses the schemas, encodes
//     the snapshot markers, decodes (the oracle the tests hold those bytes
//     to), and serves producer's own fixed schemas through NewAvroCodec.
//
// It does not own the catalogue or the Avro schemas (package schemas),
// finding batches, reading the manifest, folders or SRExtract.zip (package
// manifest), or anything that talks to Kafka or the schema registry,
// including the Confluent framing (package producer). It imports schemas
// and goavro. Errors never quote a cell: they name the line and the column.
package codec
