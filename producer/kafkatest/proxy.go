package kafkatest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/sr"
)

// RegistryProxy stands in front of the Env's registry, real or in-process,
// and fails the requests a test chooses, so that registry outages are
// tested on every tier the same way.
type RegistryProxy struct {
	// URL is the proxy's base URL, to give the agent instead of the
	// registry's.
	URL string
	mu  sync.Mutex
	// fail answers a request itself when it returns true.
	fail func(w http.ResponseWriter, r *http.Request) bool
}

// RegistryProxy starts a proxy to the Env's registry, closed with the test.
func (e *Env) RegistryProxy(t testing.TB) *RegistryProxy {
	t.Helper()
	target, err := url.Parse(e.Registry)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	p := &RegistryProxy{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		fail := p.fail
		p.mu.Unlock()
		if fail != nil && fail(w, r) {
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// Fail makes the proxy answer a request with fn whenever fn returns true;
// other requests pass through.
func (p *RegistryProxy) Fail(fn func(w http.ResponseWriter, r *http.Request) bool) {
	p.mu.Lock()
	p.fail = fn
	p.mu.Unlock()
}

// Heal lets every request through again.
func (p *RegistryProxy) Heal() { p.Fail(nil) }

// MakeIncompatible makes the registry refuse schema under subject as not
// BACKWARD compatible, as if field had changed type. A real registry is
// made to judge by itself: an earlier version is registered first in which
// the envelope's ts_ms is a string (a row field would not do: sragent keeps
// a row field's registered type). srfake, which accepts every change, is
// told to answer its compatibility check with that verdict.
func (e *Env) MakeIncompatible(t testing.TB, subject, schema, field string) {
	t.Helper()
	if e.FakeRegistry != nil {
		e.FakeRegistry.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
			if strings.HasPrefix(r.URL.Path, "/compatibility/subjects/"+subject) {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"is_compatible":false,"messages":["reader field %s changed type"]}`, field)
				return true
			}
			return false
		})
		return
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(schema), &doc); err != nil {
		t.Fatal(err)
	}
	fields, _ := doc["fields"].([]any)
	found := false
	for _, f := range fields {
		if m, ok := f.(map[string]any); ok && m["name"] == "ts_ms" {
			m["type"], found = "string", true
		}
	}
	if !found {
		t.Fatalf("no top-level ts_ms in the schema of %s", subject)
	}
	earlier, _ := json.Marshal(doc)
	cl, err := sr.NewClient(sr.URLs(e.Registry))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CreateSchema(context.Background(), subject, sr.Schema{Schema: string(earlier), Type: sr.TypeAvro}); err != nil {
		t.Fatalf("register the earlier %s: %v", subject, err)
	}
}
