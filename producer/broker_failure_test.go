package producer

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sragent/sragent/schemas/srgen"
)

// Transaction coordinator errors on commit are retried or end in an
// abort that the next run repairs: never a duplicate or a gap.
func TestCoordinatorErrors(t *testing.T) {
	for _, code := range []int16{kerr.CoordinatorNotAvailable.Code, kerr.NotCoordinator.Code, kerr.ConcurrentTransactions.Code} {
		t.Run(kerr.ErrorForCode(code).Error(), func(t *testing.T) {
			e := newFakeEnv(t)
			e.cfg.TxnRecords = 60
			g := e.chain(srgen.Options{Seed: 31, Groups: 1, Orgs: 2, Batches: 2, Rows: 60})
			var n atomic.Int64
			e.k.Fake.ControlKey(int16(kmsg.EndTxn), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
				if n.Add(1) != 3 {
					return nil, nil, false
				}
				resp := kreq.(*kmsg.EndTxnRequest).ResponseKind().(*kmsg.EndTxnResponse)
				resp.ErrorCode = code
				return resp, nil, true
			})
			ctx := context.Background()
			if _, err := e.run(ctx); err != nil {
				t.Logf("first run: %v", err)
			}
			if pass, err := e.run(ctx); err != nil || len(pass.Halted) != 0 {
				t.Fatalf("second run: %+v %v", pass, err)
			}
			if n.Load() < 3 {
				t.Fatal("the coordinator error was never injected")
			}
			verifyExactlyOnce(t, e, g)
		})
	}
}

// Registry failures stop the batch before any record is produced; once
// the registry is back the batch publishes.
func TestRegistryErrors(t *testing.T) {
	e := newEnv(t)
	g := e.chain(srgen.Options{Seed: 32, Groups: 1, Orgs: 1, Batches: 1, Rows: 20})
	proxy := e.k.RegistryProxy(t)
	e.registry = proxy.URL
	proxy.Fail(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPost && strings.Contains(r.URL.Path, e.cfg.TopicFor("SRCode")) {
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte(`{"error_code":50001,"message":"Error in the backend data store"}`))
			return true
		}
		return false
	})
	ctx := context.Background()
	_, err := e.run(ctx)
	if err == nil || !strings.Contains(err.Error(), e.cfg.TopicFor("SRCode")) || !strings.Contains(err.Error(), "backend data store") {
		t.Fatalf("got %v", err)
	}
	if n := len(e.consume(allTopics(g, e.cfg)...)); n != 0 {
		t.Fatalf("%d records produced although the registry failed", n)
	}
	proxy.Heal()
	if pass, err := e.run(ctx); err != nil || len(pass.Batches) != 1 || pass.Batches[0].Outcome != Published {
		t.Fatalf("after the registry recovered: %+v %v", pass, err)
	}
	verifyExactlyOnce(t, e, g)
}

// The broker goes away in the middle of a batch and comes back with its
// data: the agent reports the failure and the next run finishes the batch
// without duplicates.
func TestBrokerRestart(t *testing.T) {
	port := freePort(t)
	data := t.TempDir()
	start := func() *kfake.Cluster {
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port), kfake.DataDir(data), kfake.SyncWrites())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	e := newFakeEnv(t)
	cluster := start()
	e.cfg.Brokers = cluster.ListenAddrs()
	e.cfg.TxnRecords, e.cfg.DeliveryTimeout = 100, 3*time.Second
	g := e.chain(srgen.Options{Seed: 33, Groups: 1, Orgs: 2, Batches: 2, Rows: 3000, Tables: []string{"SRPatient", "SRCode"}})
	ctx := context.Background()
	var seen atomic.Int64
	cluster.ControlKey(int16(kmsg.EndTxn), func(kmsg.Request) (kmsg.Response, error, bool) {
		if seen.Add(1) == 5 {
			go cluster.Close() // the broker dies after a few commits
		}
		return nil, nil, false
	})
	runCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	began := time.Now()
	_, err := e.run(runCtx)
	cancel()
	t.Logf("failed run took %s: %v", time.Since(began), err)
	if err == nil {
		t.Fatal("publishing through a dead broker did not fail")
	}
	cluster = start()
	t.Cleanup(cluster.Close)
	if pass, err := e.run(ctx); err != nil || len(pass.Halted) != 0 {
		t.Fatalf("after the restart: %+v %v", pass, err)
	}
	verifyExactlyOnce(t, e, g)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
