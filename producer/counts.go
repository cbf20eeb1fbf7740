package producer

// FileDigest is a file's size and SHA-256 (hex) as sragent read it.
type FileDigest struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// TableCount is what one batch published for one table.
type TableCount struct {
	Events      int64 `json:"events"`
	Deletes     int64 `json:"deletes"`
	DeadLetters int64 `json:"dead_letters"`
	// Unchanged are rows not published: the same image as the last one
	// published for their key.
	Unchanged int64 `json:"unchanged,omitempty"`
	// Vanished are keys known for a full file's scope that it no longer
	// held; VanishedDeleted those of them removed (reconcile delete mode),
	// also counted in Events and Deletes.
	Vanished        int64 `json:"vanished,omitempty"`
	VanishedDeleted int64 `json:"vanished_deleted,omitempty"`
	// NulledCells are cells of deleted rows that did not convert and were
	// published as null (a delete needs only its key).
	NulledCells int64 `json:"nulled_cells,omitempty"`
	// KeyOnlyUpserts are rows of deltas without RemovedData that held
	// only their key, published as upserts of otherwise null records.
	KeyOnlyUpserts int64 `json:"key_only_upserts,omitempty"`
	// Unlabelled are list ids that the group's lists have no row of: the
	// label field is null (lists.labels).
	Unlabelled int64 `json:"unlabelled,omitempty"`
}
