// Package schemas owns the SR table catalogue (every known table's columns,
// column types, key columns, scope, and list references) and the Avro key
// and value schemas generated from it. The generated .avsc files are checked
// in under avsc/ and embedded; `go generate ./schemas` rewrites them.
//
// It imports only the standard library.
package schemas
