// Package producer owns sragent's output: it publishes SR batches to Kafka
// exactly once, or predicts in a dry run what publishing would do, with the
// same code.
//
// It owns:
//   - the Agent (agent.go, folders.go): one pass over the input folder,
//     chain by chain in cut-off order; halts, resumes, and moving batches to
//     the archive or the quarantine (the only code that moves folders);
//   - the Publisher (publisher.go, options.go): Kafka clients, topics
//     (topics.go), schema registration (registry.go) and the committed
//     state (state.go), behind Open, the one start-up call;
//   - the per-batch pipeline, shared by publish and validate: classify the
//     batch against the committed state (classify.go), check every file and
//     register its schemas (prepare.go), then scan, convert, encode,
//     size-check and produce every row in bounded transactions closed by
//     checkpoints (produce.go, txn.go), with BEGIN/END batch events and dead
//     letters (records.go). A dry run (WithDryRun) runs all of it over a
//     counting transaction and an in-memory copy of the state;
//   - the one outcome vocabulary (outcome.go): Outcome, Result, FileReport,
//     Problem, which both commands render;
//   - the Kafka configuration (config.go) with its one table of defaults,
//     and Prometheus metrics (metrics.go).
//
// Events are per-table change-event topics, snapshot markers on every
// partition around full files, tombstones after deletes, a batches topic,
// a dead-letter topic and a compacted state topic holding each reporting
// group's checkpoint, written with a stable transactional id per group.
//
// It does not own reading batch folders and manifests (package manifest)
// or CSV, conversion and Avro (package codec), and it never reads
// configuration files, flags or the environment: cmd/sragent does, once.
// Package kafkatest (tests only) runs the suites on kfake and srfake or on
// a real cluster.
package producer
