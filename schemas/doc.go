// Package schemas owns the SR table catalogue and the Avro schemas
// generated from it. By file:
//
//   - headers.go: the newest known header of every catalogued table; its
//     column order is the field order of the Avro records.
//   - catalogue.go: Table, Column, Type and Scope; every table's column
//     types, key columns, scope (organisation or shared) and list
//     references; Lookup, Tables, Dynamic (an unknown table as all strings)
//     and WithExtra (extra header columns).
//   - avro.go: Build, a table's key schema and Debezium-shaped envelope
//     schema (with the shared Source and Marker records), and the Avro
//     name rules (ValidName, SanitizeName).
//   - embed.go: the generated .avsc files, checked in under avsc/ and
//     embedded (Embedded, Files); `go generate ./schemas` rewrites them
//     with internal/avscgen, and a test fails when they drift.
//
// Subpackage srgen generates synthetic SR batches from the catalogue.
//
// It does not read CSV, convert cells or encode Avro data (package codec),
// nor register schemas or talk to Kafka (package producer). It imports
// only the standard library.
package schemas
