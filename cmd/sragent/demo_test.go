package main

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The README's first command: demo generates batches, publishes them to an
// in-process broker and registry, and reports what a consumer finds.
func TestDemo(t *testing.T) {
	res := runSragent(t, nil, "demo", "--rows", "50")
	if res.code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if n := strings.Count(res.stdout, " published "); n != 8 {
		t.Errorf("%d batches published, want 8:\n%s", n, res.stdout)
	}
	// SRCode has full files (markers) and deletes (tombstones).
	m := regexp.MustCompile(`systmone\.SRCode\s+(\d+)\s+(\d+)\s+(\d+)`).FindStringSubmatch(res.stdout)
	if m == nil {
		t.Fatalf("no SRCode line:\n%s", res.stdout)
	}
	events, _ := strconv.Atoi(m[1])
	tombstones, _ := strconv.Atoi(m[2])
	markers, _ := strconv.Atoi(m[3])
	if events == 0 || tombstones == 0 || markers != 2*2*2*3 { // 2 groups x 2 full files x begin+end x 3 partitions
		t.Errorf("SRCode: %d events, %d tombstones, %d markers:\n%s", events, tombstones, markers, res.stdout)
	}
}

// After a demo publish, /metrics counts exactly the row events the demo
// found on the topics.
func TestDemoMetrics(t *testing.T) {
	listen := freeAddr(t)
	cmd, out := agentProcess(t, "demo", "--keep", "--rows", "40", "--listen", listen)
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	for i := 0; i < 200 && !strings.Contains(out.String(), "stay up until Ctrl-C"); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	text := out.String()
	if !strings.Contains(text, "stay up until Ctrl-C") {
		t.Fatalf("demo did not come up:\n%s", text)
	}
	events := 0
	for _, m := range regexp.MustCompile(`(?m)^systmone\.SR\S+\s+(\d+)\s+\d+\s+\d+`).FindAllStringSubmatch(text, -1) {
		n, _ := strconv.Atoi(m[1])
		events += n
	}
	body := httpGet(t, "http://"+listen+"/metrics", 200)
	if got := sumSeries(body, "sragent_rows_published_total"); events == 0 || got != float64(events) {
		t.Errorf("/metrics counts %v rows, the demo's topics hold %d row events", got, events)
	}
	if got := sumSeries(body, `sragent_batches_total{group="group1",outcome="published"}`); got != 4 {
		t.Errorf("group1 published batches: %v", got)
	}
	httpGet(t, "http://"+listen+"/readyz", 200)
}

// demo --keep removes its folders when it is stopped (Ctrl-C, SIGTERM),
// listens by default beside a running agent's metrics.listen, and a port
// in use is an error that names the flag.
func TestDemoKeepCleansUp(t *testing.T) {
	if demoListen == defaultConfig().Metrics.Listen {
		t.Errorf("demo's --listen default %s is the agent's metrics.listen", demoListen)
	}
	cmd, out := agentProcess(t, "demo", "--keep", "--rows", "10", "--listen", freeAddr(t))
	for i := 0; i < 400 && !strings.Contains(out.String(), "stay up until Ctrl-C"); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	m := regexp.MustCompile(`batches archived under (\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		cmd.Process.Kill()
		t.Fatalf("demo did not come up:\n%s", out)
	}
	dir := filepath.Dir(m[1])
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the demo's folder while it runs: %v", err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("demo after SIGTERM: %v\n%s", err, out)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("demo --keep left %s behind (%v)", dir, err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	res := runSragent(t, nil, "demo", "--keep", "--rows", "10", "--listen", ln.Addr().String())
	if res.code != exitFailed || !strings.Contains(res.stderr, "--listen "+ln.Addr().String()) {
		t.Errorf("a --listen in use: exit %d, %q", res.code, res.stderr)
	}
}
