// Package manifest owns sragent's input domain: what a batch is and when,
// independent of what its table files hold.
//
// It owns:
//   - batch folders: their `yyyyMMdd_HHmm` names (Stamp), reporting-group
//     folders, and finding them under the input folder (Discover);
//   - readiness: a batch is ready when its SRManifest.csv and every file it
//     lists are present (loose or in SRExtract.zip) and nothing changed for
//     the settle time (Pending.Ready, Pending.Waiting);
//   - the manifest: a strict reader of SRManifest.csv in the configured
//     dialect (Options: delimiter and quote, shared with the data files),
//     its rules (sr-format §4), and a batch's structure (Load, Batch, File);
//   - continuity: how each file continues the chain of its reporting group
//     (Classify, Staleness) and the order of a group's batches (Discover);
//   - the London clock: the one conversion of UK wall-clock times to
//     instants (Clock, London), used by Stamp.Time and by package codec for
//     date-time cells, so a stamp and a cell naming the same wall-clock
//     time are the same instant.
//
// It does not own the table files' content: CSV cells, their dialect
// beyond the delimiter and quote, character sets, catalogued layouts and
// conversion belong to package codec, which reads the files a Batch opens.
// Avro, Kafka, the agent's state and its configuration are elsewhere. It
// imports only the standard library; package codec may import it, never
// the reverse.
//
// # Wall clocks and instants
//
// Folder names and the manifest's DateExtractFrom and DateExtractTo are
// London wall-clock times. A Stamp compares as a wall clock; its instant
// is Stamp.Time, resolved the way java.time does: in the spring-forward
// gap with the offset before the change (20240331_0130 is 01:30Z), in the
// autumn repeat the earlier instant (20241027_0130 is 00:30Z, 01:30 BST);
// Stamp.TimeLater gives the later one (01:30Z, 01:30 GMT).
//
// An extract range is resolved by ResolveRange, everywhere the package
// compares a From with a To: From is its Time; To is its Time unless To is
// not after From on the wall clock, falls in the autumn repeated hour and
// its later instant is after From's — then the range crossed the change
// and To is the later instant. So a delta From 20241027_0130 To
// 20241027_0115 runs from 00:30Z to 01:15Z and is valid, while From
// 20241027_0200 To 20241027_0115 is rejected: a delta's From must be
// before its To as instants. Manifest.CutOffTime is the batch's cut-off
// resolved against its deltas' start; a batch of full files only has no
// start, and its cut-off in the repeated hour is the earlier instant.
//
// # Order of a chain
//
// Discover orders a group's batches by cut-off, not by folder name: first
// the earliest cut-off instant; then a batch whose deltas start exactly at
// the wall-clock cut-off of the batch just placed (the link), else the
// next earliest cut-off instant; ties by folder name, and batches whose
// manifest cannot be read yet keep their place in folder-name order. The
// link carries a chain across the autumn change even where a manifest on
// its own reads the wrong hour (From 20241027_0115 To 20241027_0150 reads
// 00:15Z to 00:50Z, but follows the batch cut at 20241027_0115, 01:15Z).
package manifest
