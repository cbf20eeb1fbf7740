// Package srgen generates realistic synthetic SR extract batches from the
// table catalogue: deterministic for a seed, any size, streamed to disk.
// The tests, the benchmarks, the sragent demo and cmd/srgen use it.
//
// A chain starts with a full batch and continues with delta batches that
// insert, update and delete rows (RemovedData=1 with sparse columns). The
// third batch re-sends SRCode in full inside a delta batch, as TPP did. Files
// carry the quirks of real extracts: Windows-1252 text with £ and accents,
// quoted commas and line breaks, -1 ids, header-only files, files without
// RemovedData, the undated SRAppointmentAttendees manifest row, and the list
// files SRMapping / SRMappingGroup outside the manifest.
//
// Row content is a pure function of (seed, table, id, version), so the
// expected final state of every table is known without holding the rows:
// Generator.Expected replays it.
//
// By file:
//
//   - srgen.go: Options, Generator, New and the names it generates.
//   - batch.go: Write and WriteTable, batch folders, SRManifest.csv and
//     SRExtract.zip.
//   - table.go: each table's headers, row counts and state across batches,
//     the rows of one file, and Expected.
//   - rows.go: the content of rows and cells.
//   - csv.go: the CSV writer (CRLF, quoting, Windows-1252 or UTF-8).
//
// It writes files only: reading them back is package manifest (batches)
// and package codec (rows); it imports only schemas and the standard
// library.
package srgen
