// Package codec turns the bytes of SR table files into typed rows and
// Avro change events: a streaming CSV reader (Windows-1252 or UTF-8 in,
// UTF-8 out, RFC 4180 quoting, line numbers), the mapping of a file's header
// onto its catalogued table, cell conversion (int64 ids, UK wall-clock
// datetimes to UTC instants, booleans, null for empty cells), and the
// goavro-backed encoding of keys and Debezium-shaped values.
//
// It imports schemas (the catalogue) and nothing that talks to Kafka.
// Errors never quote a cell: they name the line and the column.
package codec
