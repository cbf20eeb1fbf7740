package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/sragent/sragent/schemas/srgen"
)

// `run` started while Kafka is down keeps retrying and says so on
// /readyz; once the broker is there it publishes, and SIGTERM stops it.
func TestRunStartsBeforeKafka(t *testing.T) {
	dir := t.TempDir()
	in, archive := filepath.Join(dir, "in"), filepath.Join(dir, "archive")
	g := srgen.New(srgen.Options{Seed: 23, Groups: 1, Orgs: 1, Batches: 1, Rows: 10, Tables: []string{"SRPatient"}})
	if err := g.Write(in); err != nil {
		t.Fatal(err)
	}
	_, portText, _ := net.SplitHostPort(freeAddr(t))
	port, _ := strconv.Atoi(portText)
	registry := srfake.New()
	defer registry.Close()
	listen := freeAddr(t)
	cfg := writeConfig(t, fmt.Sprintf(`input: {dir: %q, settle: 0s, poll: 200ms}
archive: {dir: %q}
quarantine: {dir: %q}
state: {dir: %q}
kafka: {brokers: ["127.0.0.1:%d"], partitions: 1, delivery_timeout: 2s}
schema_registry: {url: %q}
metrics: {listen: %q}
`, in, archive, filepath.Join(dir, "quarantine"), filepath.Join(dir, "state"), port, registry.URL(), listen))
	cmd, out := agentProcess(t, "run", "--config", cfg)
	defer cmd.Process.Kill()
	var body string
	for i := 0; ; i++ {
		resp, err := http.Get("http://" + listen + "/readyz")
		if err == nil {
			b := make([]byte, 4096)
			n, _ := resp.Body.Read(b)
			resp.Body.Close()
			body = string(b[:n])
			if resp.StatusCode == http.StatusServiceUnavailable && strings.Contains(body, "not connected yet, retrying") {
				break
			}
		}
		if i == 100 {
			t.Fatalf("/readyz never said the agent is starting: %s\n%s", body, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if cmd.ProcessState != nil {
		t.Fatalf("run exited while Kafka was down:\n%s", out)
	}
	c, err := kfake.NewCluster(kfake.Ports(port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	done := filepath.Join(archive, "group1", g.BatchName(0), "SHA256SUMS")
	for i := 0; ; i++ {
		if _, err := os.Stat(done); err == nil {
			break
		}
		if i == 300 {
			t.Fatalf("nothing published once Kafka came up:\n%s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	httpGet(t, "http://"+listen+"/readyz", 200)
	began := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v\n%s", err, out)
	}
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("SIGTERM took %s", took)
	}
}

// SIGTERM while the broker hangs mid-publish still stops `run` within
// shutdown.timeout.
func TestStopWithHungBroker(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	g := srgen.New(srgen.Options{Seed: 24, Groups: 1, Orgs: 1, Batches: 1, Rows: 20000, Tables: []string{"SRPatient"}})
	if err := g.Write(in); err != nil {
		t.Fatal(err)
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	registry := srfake.New()
	defer registry.Close()
	hang := make(chan struct{})
	defer func() { close(hang); c.Close() }()
	var produces atomic.Int64
	c.Control(func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if req.Key() == int16(kmsg.Produce) {
			produces.Add(1)
		}
		if produces.Load() > 1 {
			<-hang // the broker stops answering anything
		}
		return nil, nil, false
	})
	cfg := writeConfig(t, fmt.Sprintf(`input: {dir: %q, settle: 0s, poll: 200ms}
archive: {dir: %q}
quarantine: {dir: %q}
state: {dir: %q}
kafka: {brokers: [%q], partitions: 1, transaction_records: 200, linger: 1ms}
schema_registry: {url: %q}
metrics: {listen: %q}
shutdown: {timeout: 2s}
`, in, filepath.Join(dir, "archive"), filepath.Join(dir, "quarantine"), filepath.Join(dir, "state"), c.ListenAddrs()[0], registry.URL(), freeAddr(t)))
	cmd, out := agentProcess(t, "run", "--config", cfg)
	defer cmd.Process.Kill()
	for i := 0; produces.Load() <= 1; i++ {
		if i == 300 {
			t.Fatalf("the agent never produced:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // stuck on the hung broker now
	began := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("SIGTERM with a hung broker took %s, shutdown.timeout is 2s\n%s", took, out)
	}
}
