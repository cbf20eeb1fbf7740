package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/sragent/sragent/schemas/srgen"
)

const repo = "../.."

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repo, path))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

type composeFile struct {
	Services map[string]struct {
		Image       string
		Build       *struct{ Context, Dockerfile string }
		Ports       []string
		Volumes     []string
		Environment map[string]any
		Command     []string
		StopGrace   string `yaml:"stop_grace_period"`
	}
}

// liveMetricNames runs the agent in-process over generated batches (one
// bad row included) and returns every series name its /metrics serves.
func liveMetricNames(t *testing.T) map[string]bool {
	t.Helper()
	k := brokerAndRegistry(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	g := srgen.New(srgen.Options{Seed: 61, Groups: 1, Orgs: 1, Batches: 3, Rows: 20})
	if err := g.Write(in); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(in, "group1", g.BatchName(1), "SRMapping.csv")
	raw, _ := os.ReadFile(f)
	os.WriteFile(f, append(raw, []byte("x,1,y\r\n")...), 0o644)
	// Batch 2's SRCode re-bulk cut to its first row: its other rows vanish
	// (reported, the default), under min_ratio.
	f = filepath.Join(in, "group1", g.BatchName(2), "SRCode.csv")
	raw, _ = os.ReadFile(f)
	lines := bytes.SplitAfter(raw, []byte("\n"))
	os.WriteFile(f, bytes.Join(lines[:2], nil), 0o644)
	cfg, err := loadConfig(writeConfig(t, fmt.Sprintf("input: {dir: %q, settle: 0s}\narchive: {dir: %q}\nstate: {dir: %q}\n%s",
		in, filepath.Join(dir, "a"), filepath.Join(dir, "state"), kafkaConfig(k, ""))), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := (&app{stdout: &strings.Builder{}, stderr: &strings.Builder{}}).connect(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.agent.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	health{s: s}.mux().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	names := map[string]bool{"up": true} // Prometheus's own
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		names[strings.FieldsFunc(line, func(r rune) bool { return r == '{' || r == ' ' })[0]] = true
	}
	return names
}

var metricRef = regexp.MustCompile(`\b(sragent_[a-z0-9_]+|go_[a-z0-9_]+|process_[a-z0-9_]+|up)\b`)

// checkExpr fails for every metric an expression names that the agent
// does not export.
func checkExpr(t *testing.T, where, expr string, names map[string]bool) {
	t.Helper()
	refs := metricRef.FindAllString(expr, -1)
	if len(refs) == 0 {
		t.Errorf("%s: expression names no metric: %s", where, expr)
	}
	for _, m := range refs {
		if !names[m] {
			t.Errorf("%s: %s is not a metric sragent exports", where, m)
		}
	}
}

// docker-compose.yml, the Prometheus and Grafana files and the dashboard
// fit together and fit the agent: no container engine runs here, so this
// checks what can be checked without one.
func TestDeployArtifacts(t *testing.T) {
	var c composeFile
	readYAML(t, "docker-compose.yml", &c)
	for _, want := range []string{"kafka", "schema-registry", "srgen", "sragent", "prometheus", "grafana", "consumer"} {
		if _, ok := c.Services[want]; !ok {
			t.Errorf("docker-compose.yml has no %s service", want)
		}
	}
	// docker stop must wait longer than the agent may take to stop.
	if grace, err := time.ParseDuration(c.Services["sragent"].StopGrace); err != nil || grace <= defaultConfig().Shutdown.Timeout {
		t.Errorf("sragent's stop_grace_period %q is not longer than shutdown.timeout %s", c.Services["sragent"].StopGrace, defaultConfig().Shutdown.Timeout)
	}
	mounts := map[string]string{} // container path → repository path
	for name, svc := range c.Services {
		if svc.Build != nil {
			for _, p := range []string{svc.Build.Context, filepath.Join(svc.Build.Context, svc.Build.Dockerfile)} {
				if _, err := os.Stat(filepath.Join(repo, p)); err != nil {
					t.Errorf("service %s builds from %s: %v", name, p, err)
				}
			}
		}
		for _, v := range svc.Volumes {
			parts := strings.Split(v, ":")
			if strings.HasPrefix(parts[0], "./") {
				if _, err := os.Stat(filepath.Join(repo, parts[0])); err != nil {
					t.Errorf("service %s mounts %s: %v", name, parts[0], err)
				}
				mounts[parts[1]] = parts[0]
			}
		}
	}

	// The agent's config loads strictly and agrees with the compose file.
	agentCfg, err := loadConfig(filepath.Join(repo, mounts["/etc/sragent/sragent.yaml"]), nil)
	if err != nil {
		t.Fatalf("compose config of sragent: %v", err)
	}
	_, port, _ := net.SplitHostPort(agentCfg.Metrics.Listen)
	if ports := c.Services["sragent"].Ports; len(ports) == 0 || ports[0] != port+":"+port {
		t.Errorf("sragent publishes %v, metrics.listen is %s", ports, agentCfg.Metrics.Listen)
	}
	host, kport, _ := net.SplitHostPort(agentCfg.Kafka.Brokers[0])
	if _, ok := c.Services[host]; !ok || !strings.Contains(fmt.Sprint(c.Services[host].Environment["KAFKA_ADVERTISED_LISTENERS"]), agentCfg.Kafka.Brokers[0]) {
		t.Errorf("kafka.brokers %s is not an advertised listener of service %s (port %s)", agentCfg.Kafka.Brokers[0], host, kport)
	}
	reg, _ := url.Parse(agentCfg.SchemaRegistry.URL)
	if _, ok := c.Services[reg.Hostname()]; !ok || !strings.Contains(fmt.Sprint(c.Services[reg.Hostname()].Environment["SCHEMA_REGISTRY_LISTENERS"]), ":"+reg.Port()) {
		t.Errorf("schema_registry.url %s does not match the registry service", agentCfg.SchemaRegistry.URL)
	}

	// Prometheus scrapes the agent's port and loads the mounted rules.
	var prom struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string                       `yaml:"job_name"`
			StaticConfigs []struct{ Targets []string } `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, mounts["/etc/prometheus/prometheus.yml"], &prom)
	if len(prom.ScrapeConfigs) == 0 || prom.ScrapeConfigs[0].JobName != "sragent" || prom.ScrapeConfigs[0].StaticConfigs[0].Targets[0] != "sragent:"+port {
		t.Errorf("prometheus does not scrape sragent:%s: %+v", port, prom.ScrapeConfigs)
	}
	if len(prom.RuleFiles) != 1 || mounts[prom.RuleFiles[0]] == "" {
		t.Errorf("rule files %v are not mounted", prom.RuleFiles)
	}

	names := liveMetricNames(t)
	var alerts struct {
		Groups []struct {
			Rules []struct {
				Alert, Expr string
				Annotations map[string]string
			}
		}
	}
	readYAML(t, mounts[prom.RuleFiles[0]], &alerts)
	want := map[string]bool{"SragentDown": true, "SragentNoBatch26h": true, "SragentChainHalted": true, "SragentCutoffAge18Days": true,
		"SragentDeadLetters": true, "SragentPublishErrors": true, "SragentTransactionAborts": true, "SragentReconcileGuarded": true}
	for _, r := range alerts.Groups[0].Rules {
		delete(want, r.Alert)
		checkExpr(t, "alert "+r.Alert, r.Expr, names)
		if len(r.Annotations["runbook"]) < 40 || r.Annotations["summary"] == "" {
			t.Errorf("alert %s lacks a summary or runbook text", r.Alert)
		}
	}
	if len(want) > 0 {
		t.Errorf("alerts missing: %v", want)
	}

	// Grafana provisions the dashboard from the mounted folder.
	var provider struct {
		Providers []struct{ Options struct{ Path string } }
	}
	readYAML(t, filepath.Join(mounts["/etc/grafana/provisioning"], "dashboards", "sragent.yml"), &provider)
	dashDir := mounts[provider.Providers[0].Options.Path]
	raw, err := os.ReadFile(filepath.Join(repo, dashDir, "sragent.json"))
	if err != nil {
		t.Fatalf("dashboard in %s: %v", provider.Providers[0].Options.Path, err)
	}
	var dash struct {
		UID    string
		Panels []struct {
			Type, Title string
			Targets     []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	n := 0
	for _, p := range dash.Panels {
		if p.Type == "row" {
			continue
		}
		n++
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			checkExpr(t, "panel "+p.Title, tg.Expr, names)
		}
	}
	if n < 15 {
		t.Errorf("dashboard has %d panels", n)
	}
}

// The image builds static binaries in one stage and runs them as a
// non-root user in another.
func TestDockerfile(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repo, "deploy", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	d := string(raw)
	for _, want := range []string{"CGO_ENABLED=0", "./cmd/sragent", "./cmd/srgen", "USER 65532", "EXPOSE 9464"} {
		if !strings.Contains(d, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	if strings.Count(d, "\nFROM ") < 1 || !strings.HasPrefix(strings.TrimSpace(d[strings.Index(d, "FROM"):]), "FROM golang") {
		t.Error("Dockerfile is not a multi-stage build from a Go image")
	}
}
