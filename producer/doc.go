// Package producer publishes SR batches to Kafka exactly once: per-table
// change-event topics, snapshot markers on every partition around full
// files, tombstones after deletes, a batches topic with BEGIN/END events,
// a dead-letter topic for rows that do not convert, and a compacted state
// topic holding each reporting group's checkpoint, all written in bounded
// Kafka transactions with a stable transactional id per group.
//
// It imports codec (rows and Avro) and manifest (batches and chains), and
// franz-go. It never reads configuration files or flags: cmd/sragent does.
package producer
