package kafkatest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"
)

// This file checks Avro schema evolution for real, because franz-go's srfake
// answers "compatible" to every compatibility request. It deliberately
// imports nothing of sragent, so that any sragent package (codec, schemas)
// can use it from its tests without an import cycle.
//
// Two traps of github.com/hamba/avro/v2 are avoided here on purpose:
//
//   - avro.Parse registers every named type in the process-wide
//     avro.DefaultSchemaCache, and a later parse resolves names it does not
//     define itself from there. Our subjects reuse names (sragent.Source,
//     sragent.Marker, sragent.<Table>.Value) with different shapes, and a
//     schema that references a name it never defines would parse "fine".
//     Every parse here gets a fresh avro.SchemaCache.
//   - avro.SchemaCompatibility memoises results by the schemas' Parsing
//     Canonical Form fingerprints, which leave out defaults: once it has
//     seen a reader that has a default, it answers the same for the same
//     reader without one. Every check here gets a fresh checker.

// BackwardCompatible reports whether a consumer using newSchema (the reader)
// can read data written with oldSchema (the writer): Avro schema resolution,
// as the registry's BACKWARD rule checks it. It returns nil when it can, and
// otherwise an error that names the first offending field path (schema
// names only, never data). Logical types are not compared, as in Apache
// Avro's checker: long and timestamp-millis long are interchangeable.
func BackwardCompatible(newSchema, oldSchema string) error {
	reader, err := compatParse(newSchema)
	if err != nil {
		return fmt.Errorf("new schema: %w", err)
	}
	writer, err := compatParse(oldSchema)
	if err != nil {
		return fmt.Errorf("old schema: %w", err)
	}
	return compatCheck(reader, writer)
}

// CheckSubjectEvolution lists every subject of the Confluent-compatible
// Schema Registry at registryURL whose name starts with prefix (every
// subject when prefix is empty), fetches all versions of each, and checks
// that every version can read data written with every earlier version of
// its subject: BACKWARD_TRANSITIVE, stricter than the registry's BACKWARD,
// which compares with the latest version only. It works against srfake,
// whose own check accepts anything, and against a real registry (Confluent,
// or Apicurio's ccompat API; opts carry auth or TLS).
//
// It returns nil when every subject evolves compatibly, and otherwise one
// error per failure, joined with errors.Join, each naming the subject and
// the two versions (never any data). Non-Avro subjects are skipped; an Avro
// version with schema references cannot be checked and is an error.
func CheckSubjectEvolution(ctx context.Context, registryURL, prefix string, opts ...sr.ClientOpt) error {
	cl, err := sr.NewClient(append([]sr.ClientOpt{sr.URLs(registryURL)}, opts...)...)
	if err != nil {
		return fmt.Errorf("schema registry client: %w", err)
	}
	subjects, err := cl.Subjects(ctx)
	if err != nil {
		return fmt.Errorf("list subjects: %w", err)
	}
	sort.Strings(subjects)
	var errs []error
	for _, subject := range subjects {
		// Filtered here rather than with sr.SubjectPrefix, which not every
		// compatible registry honours.
		if !strings.HasPrefix(subject, prefix) {
			continue
		}
		errs = append(errs, compatCheckSubject(ctx, cl, subject)...)
	}
	return errors.Join(errs...)
}

// compatVersion is one parsed version of a subject.
type compatVersion struct {
	version int
	schema  avro.Schema
}

func compatCheckSubject(ctx context.Context, cl *sr.Client, subject string) []error {
	all, err := cl.Schemas(ctx, subject)
	if err != nil {
		return []error{fmt.Errorf("subject %s: fetch versions: %w", subject, err)}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Version < all[j].Version })
	var (
		errs     []error
		versions []compatVersion
	)
	for _, ss := range all {
		if ss.Type != sr.TypeAvro {
			continue
		}
		if len(ss.References) > 0 {
			errs = append(errs, fmt.Errorf("subject %s: version %d has schema references, which this check does not resolve", subject, ss.Version))
			continue
		}
		s, err := compatParse(ss.Schema.Schema)
		if err != nil {
			errs = append(errs, fmt.Errorf("subject %s: version %d: %w", subject, ss.Version, err))
			continue
		}
		versions = append(versions, compatVersion{version: ss.Version, schema: s})
	}
	for j := 1; j < len(versions); j++ {
		for i := 0; i < j; i++ {
			if err := compatCheck(versions[j].schema, versions[i].schema); err != nil {
				errs = append(errs, fmt.Errorf("subject %s: version %d is not BACKWARD compatible with version %d (cannot read its data): %w",
					subject, versions[j].version, versions[i].version, err))
			}
		}
	}
	return errs
}

// compatParse parses one schema with a cache of its own (see the top of
// this file).
func compatParse(schema string) (avro.Schema, error) {
	s, err := avro.ParseWithCache(schema, "", &avro.SchemaCache{})
	if err != nil {
		return nil, fmt.Errorf("parse avro schema: %w", err)
	}
	return s, nil
}

// compatCheck checks reader against writer with a fresh checker (see the
// top of this file) and, on failure, names the offending field and gives
// the checker's reason at that field rather than at the top-level union.
func compatCheck(reader, writer avro.Schema) error {
	if err := avro.NewSchemaCompatibility().Compatible(reader, writer); err == nil {
		return nil
	}
	path, r, w := compatBlame(reader, writer, "")
	err := avro.NewSchemaCompatibility().Compatible(r, w)
	if err == nil { // cannot happen: compatBlame returns a failing pair
		err = errors.New("not compatible")
	}
	if path == "" {
		return err
	}
	return fmt.Errorf("field %s: %w", path, err)
}

func compatDeref(s avro.Schema) avro.Schema {
	if r, ok := s.(*avro.RefSchema); ok {
		return r.Schema()
	}
	return s
}

// compatBlame walks down an incompatible reader/writer pair to the
// innermost pair that is still incompatible, and returns it with its
// dotted field path.
func compatBlame(reader, writer avro.Schema, path string) (string, avro.Schema, avro.Schema) {
	reader, writer = compatDeref(reader), compatDeref(writer)
	failing := func(r, w avro.Schema) bool { return avro.NewSchemaCompatibility().Compatible(r, w) != nil }
	if wu, ok := writer.(*avro.UnionSchema); ok {
		for _, wb := range wu.Types() {
			if failing(reader, wb) {
				return compatBlame(reader, wb, path)
			}
		}
		return path, reader, writer
	}
	if ru, ok := reader.(*avro.UnionSchema); ok {
		// Descend into the reader branch of the writer's name, if any.
		if wn, ok := writer.(avro.NamedSchema); ok {
			for _, rb := range ru.Types() {
				if rn, ok := compatDeref(rb).(avro.NamedSchema); ok && rn.Name() == wn.Name() {
					return compatBlame(rb, writer, path)
				}
			}
		}
		return path, reader, writer
	}
	switch r := reader.(type) {
	case *avro.RecordSchema:
		w, ok := writer.(*avro.RecordSchema)
		if !ok {
			break
		}
		for _, rf := range r.Fields() {
			p := rf.Name()
			if path != "" {
				p = path + "." + p
			}
			wf := compatField(w, rf)
			if wf == nil {
				if !rf.HasDefault() {
					return p, reader, writer
				}
				continue
			}
			if failing(rf.Type(), wf.Type()) {
				return compatBlame(rf.Type(), wf.Type(), p)
			}
		}
	case *avro.ArraySchema:
		if w, ok := writer.(*avro.ArraySchema); ok {
			return compatBlame(r.Items(), w.Items(), path+"[]")
		}
	case *avro.MapSchema:
		if w, ok := writer.(*avro.MapSchema); ok {
			return compatBlame(r.Values(), w.Values(), path+"{}")
		}
	}
	return path, reader, writer
}

// compatField finds the writer field a reader field reads: same name, or
// one of the reader field's aliases.
func compatField(w *avro.RecordSchema, rf *avro.Field) *avro.Field {
	for _, wf := range w.Fields() {
		if wf.Name() == rf.Name() {
			return wf
		}
		for _, a := range rf.Aliases() {
			if wf.Name() == a {
				return wf
			}
		}
	}
	return nil
}
