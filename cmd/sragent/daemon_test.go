package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sragent/sragent/schemas/srgen"
)

// The daemon publishes what is there, then a batch that arrives while it
// runs, and stops cleanly on SIGTERM.
func TestRunDaemon(t *testing.T) {
	k := brokerAndRegistry(t)
	dir := t.TempDir()
	in, archive := filepath.Join(dir, "in"), filepath.Join(dir, "archive")
	later := filepath.Join(dir, "later")
	g := srgen.New(srgen.Options{Seed: 22, Groups: 1, Orgs: 1, Batches: 3, Rows: 30})
	if err := g.Write(later); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(in, "group1"), 0o755)
	first := g.BatchName(0)
	if err := os.Rename(filepath.Join(later, "group1", first), filepath.Join(in, "group1", first)); err != nil {
		t.Fatal(err)
	}
	listen := freeAddr(t)
	cfg := writeConfig(t, fmt.Sprintf(`input: {dir: %q, settle: 0s, poll: 200ms}
archive: {dir: %q}
quarantine: {dir: %q}
state: {dir: %q}
%smetrics: {listen: %q}
log: {level: info, format: json}
`, in, archive, filepath.Join(dir, "quarantine"), filepath.Join(dir, "state"), kafkaConfig(k, ", partitions: 2"), listen))
	cmd, out := agentProcess(t, "run", "--config", cfg)
	waitFor := func(path string) {
		t.Helper()
		for i := 0; i < 200; i++ {
			if _, err := os.Stat(path); err == nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		cmd.Process.Kill()
		t.Fatalf("%s never appeared\n%s", path, out)
	}
	waitFor(filepath.Join(archive, "group1", first, "SHA256SUMS"))
	// A second agent on the same state.dir (a manual publish beside the
	// daemon) is refused and names the daemon; an operator command for a
	// chain that is not halted is refused and fences nobody.
	second := runSragent(t, nil, "publish", "--config", cfg)
	if second.code != exitFailed || !strings.Contains(second.stderr, "another sragent is running from state.dir") ||
		!strings.Contains(second.stderr, fmt.Sprintf("pid %d ", cmd.Process.Pid)) || !strings.Contains(second.stderr, "sragent run") {
		t.Errorf("second agent: exit %d %s", second.code, second.stderr)
	}
	if res := runSragent(t, nil, "chain", "resume", "group1", "--config", cfg); res.code != exitFailed || !strings.Contains(res.stderr, "not halted") {
		t.Errorf("resume of a healthy chain: exit %d %s", res.code, res.stderr)
	}
	for _, b := range []string{g.BatchName(1), g.BatchName(2)} {
		if err := os.Rename(filepath.Join(later, "group1", b), filepath.Join(in, "group1", b)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(filepath.Join(archive, "group1", g.BatchName(2), "SHA256SUMS"))

	// /metrics counts exactly what a read_committed consumer finds.
	var topics []string
	for _, tb := range g.Tables() {
		topics = append(topics, k.Prefix+"."+tb)
	}
	rows := 0
	for _, r := range readCommitted(t, k, topics...) {
		if r.Value != nil && len(r.Headers) == 0 {
			rows++
		}
	}
	body := httpGet(t, "http://"+listen+"/metrics", 200)
	if got := sumSeries(body, "sragent_rows_published_total"); got != float64(rows) {
		t.Errorf("/metrics says %v rows published, the topics hold %d", got, rows)
	}
	for _, series := range []string{"sragent_build_info", "sragent_kafka_produce_bytes_total", "go_goroutines", "process_resident_memory_bytes", `sragent_batches_total{group="group1",outcome="published"} 3`} {
		if !strings.Contains(body, series) {
			t.Errorf("/metrics lacks %s", series)
		}
	}
	if ready := httpGet(t, "http://"+listen+"/readyz", 200); !strings.Contains(ready, `"status":"ready"`) {
		t.Errorf("/readyz: %s", ready)
	}
	httpGet(t, "http://"+listen+"/healthz", 200)
	began := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run did not exit cleanly on SIGTERM: %v\n%s", err, out)
	}
	if d := time.Since(began); d > 10*time.Second {
		t.Errorf("took %s to stop", d)
	}
	if !strings.Contains(out.String(), `"msg":"stopping"`) {
		t.Errorf("no stopping log line:\n%s", out)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func httpGet(t *testing.T, url string, want int) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("GET %s: %d, want %d: %s", url, resp.StatusCode, want, b)
	}
	return string(b)
}

// sumSeries adds the samples of a metric in Prometheus text format.
func sumSeries(body, name string) float64 {
	var total float64
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") || (strings.HasSuffix(name, "}") && strings.HasPrefix(line, name)) {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			total += v
		}
	}
	return total
}
