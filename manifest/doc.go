// Package manifest owns sragent's input domain: batch folders and their
// SRManifest.csv, how they are discovered under the input folder, when a
// batch is ready, which files it holds (loose or in SRExtract.zip), and how
// each file continues the chain of its reporting group.
//
// It imports only the standard library. It knows nothing of CSV cells,
// Avro or Kafka: package codec reads the files a Batch opens.
package manifest
