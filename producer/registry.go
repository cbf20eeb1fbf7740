package producer

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/sr"
)

// Registry registers sragent's schemas in a Confluent-compatible Schema
// Registry under TopicNameStrategy subjects and remembers their ids.
type Registry struct {
	cl  *sr.Client
	mu  sync.Mutex
	ids map[string]int // subject + "\x00" + schema → id
}

// NewRegistry returns a Registry for the registry at url; opts are passed
// to franz-go's sr client (auth, TLS, HTTP client).
func NewRegistry(url string, opts ...sr.ClientOpt) (*Registry, error) {
	cl, err := sr.NewClient(append([]sr.ClientOpt{sr.URLs(url)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("schema registry client: %w", err)
	}
	return &Registry{cl: cl, ids: map[string]int{}}, nil
}

// IncompatibleError is a schema the registry refuses under the subject's
// compatibility rule: publishing it would break consumers.
type IncompatibleError struct {
	Subject  string
	Messages []string
}

// Error names the subject and the registry's reasons.
func (e *IncompatibleError) Error() string {
	msg := "schema is not compatible with the latest registered version"
	if len(e.Messages) > 0 {
		msg += ": " + strings.Join(e.Messages, "; ")
	}
	return fmt.Sprintf("subject %s: %s", e.Subject, msg)
}

// Versions returns every schema registered under subject, oldest first
// (none when the subject has none).
func (r *Registry) Versions(ctx context.Context, subject string) ([]string, error) {
	ss, err := r.cl.Schemas(ctx, subject)
	switch {
	case isNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read the schemas of %s: %w", subject, err)
	}
	sort.Slice(ss, func(i, j int) bool { return ss[i].Version < ss[j].Version })
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Schema.Schema
	}
	return out, nil
}

// Register returns the id of schema under subject, registering it when
// new. Before registering it asks the registry whether the schema is
// compatible with the latest version, so that an incompatible change fails
// here, before anything is produced.
func (r *Registry) Register(ctx context.Context, subject, schema string) (int, error) {
	key := subject + "\x00" + schema
	r.mu.Lock()
	id, ok := r.ids[key]
	r.mu.Unlock()
	if ok {
		return id, nil
	}
	s := sr.Schema{Schema: schema, Type: sr.TypeAvro}
	res, err := r.cl.CheckCompatibility(ctx, subject, -1, s)
	switch {
	case isNotFound(err):
		// No version yet: nothing to be compatible with.
	case err != nil:
		return 0, fmt.Errorf("check compatibility of %s: %w", subject, err)
	case !res.Is:
		return 0, &IncompatibleError{Subject: subject, Messages: res.Messages}
	}
	ss, err := r.cl.CreateSchema(ctx, subject, s)
	if err != nil {
		return 0, fmt.Errorf("register schema %s: %w", subject, err)
	}
	r.mu.Lock()
	r.ids[key] = ss.ID
	r.mu.Unlock()
	return ss.ID, nil
}

func isNotFound(err error) bool {
	var re *sr.ResponseError
	return errors.As(err, &re) && (re.StatusCode == http.StatusNotFound || re.ErrorCode == 40401 || re.ErrorCode == 40402)
}

// Check asks whether schema would be accepted under subject, without
// registering anything: nil when compatible or when the subject is new,
// an *IncompatibleError when the registry refuses it.
func (r *Registry) Check(ctx context.Context, subject, schema string) error {
	res, err := r.cl.CheckCompatibility(ctx, subject, -1, sr.Schema{Schema: schema, Type: sr.TypeAvro})
	switch {
	case isNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("check compatibility of %s: %w", subject, err)
	case !res.Is:
		return &IncompatibleError{Subject: subject, Messages: res.Messages}
	}
	return nil
}

// frame appends the Confluent wire header (magic 0, big-endian schema id).
func frame(dst []byte, id int) []byte {
	dst = append(dst, 0)
	return binary.BigEndian.AppendUint32(dst, uint32(id))
}

// SchemaText returns the schema registered under id.
func (r *Registry) SchemaText(ctx context.Context, id int) (string, error) {
	s, err := r.cl.SchemaByID(ctx, id)
	if err != nil {
		return "", fmt.Errorf("schema registry: schema %d: %w", id, err)
	}
	return s.Schema, nil
}

// Ping checks that the registry answers.
func (r *Registry) Ping(ctx context.Context) error {
	if _, err := r.cl.Subjects(ctx); err != nil {
		return fmt.Errorf("schema registry: %w", err)
	}
	return nil
}
