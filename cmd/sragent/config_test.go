package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sragent/sragent/producer"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sragent.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigDefaults(t *testing.T) {
	c, err := loadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Input.Settle != 30*time.Second || c.Kafka.TopicPrefix != "systmone" || c.Input.Encoding != "windows-1252" ||
		strings.Join(c.Kafka.Brokers, ",") != "localhost:9092" || c.Metrics.Listen != "127.0.0.1:9464" || c.Kafka.ReplicationFactor != -1 {
		t.Errorf("defaults %+v", c)
	}
	d, err := c.Dialect()
	if err != nil || d.Delimiter != ',' || d.Quote != '"' {
		t.Errorf("dialect %+v %v", d, err)
	}
}

// The file overrides the defaults and the environment overrides the file,
// down to the struct, for scalars, durations and lists.
func TestConfigFileAndEnvironment(t *testing.T) {
	p := writeConfig(t, "input:\n  dir: /data/sr\n  settle: 1m\n  delimiter: \"\\\\t\"\nkafka:\n  brokers: [a:9092, b:9092]\n  partitions: 3\n")
	c, err := loadConfig(p, []string{"SRAGENT_KAFKA_BROKERS=x:1,y:2,z:3", "SRAGENT_INPUT_SETTLE=2s", "SRAGENT_SCHEMA_REGISTRY_URL=http://sr:8081", "PATH=/bin"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Input.Dir != "/data/sr" || c.Input.Settle != 2*time.Second || c.Kafka.Partitions != 3 ||
		strings.Join(c.Kafka.Brokers, ",") != "x:1,y:2,z:3" || c.SchemaRegistry.URL != "http://sr:8081" {
		t.Errorf("config %+v", c)
	}
	if d, _ := c.Dialect(); d.Delimiter != '\t' {
		t.Errorf("delimiter %q", d.Delimiter)
	}
}

// Per-table reconcile keys come from the file and the environment, and
// an environment variable for one table leaves the file's other tables.
func TestReconcileTableKeys(t *testing.T) {
	p := writeConfig(t, "reconcile:\n  mode: delete\n  tables:\n    SRCode:\n      window_column: DateEvent\n      window_months: 24\n")
	c, err := loadConfig(p, []string{"SRAGENT_RECONCILE_TABLES_SRPATIENT_MODE=off", "SRAGENT_RECONCILE_TABLES_SRCODE_WINDOW_MONTHS=6"})
	if err != nil {
		t.Fatal(err)
	}
	want := producer.ReconcileConfig{Mode: producer.ReconcileDelete, Shared: producer.ReconcileOff, MinRatio: 0.5,
		Tables: map[string]producer.TableReconcile{"srcode": {WindowColumn: "DateEvent", WindowMonths: 6}, "srpatient": {Mode: producer.ReconcileOff}}}
	if !reflect.DeepEqual(c.Reconcile, want) || !reflect.DeepEqual(c.Agent().Reconcile, want) {
		t.Errorf("reconcile %+v, want %+v", c.Reconcile, want)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name, file string
		env        []string
		want       string
	}{
		{"unknown key", "input:\n  dri: x\n", nil, "unknown key(s) input.dri"},
		{"unknown section", "kafkaa:\n  brokers: [a]\n", nil, "unknown key(s) kafkaa.brokers"},
		{"bad delimiter", "input:\n  delimiter: ';;'\n", nil, "input.delimiter: must be one ASCII character"},
		{"bad encoding", "input:\n  encoding: latin9\n", nil, `unknown encoding "latin9"`},
		{"same delimiter and quote", "input:\n  quote: ','\n", nil, "delimiter and quote must differ"},
		{"bad partitions", "kafka:\n  partitions: 0\n", nil, "kafka.partitions: must be at least 1"},
		{"bad duration", "", []string{"SRAGENT_INPUT_SETTLE=soon"}, "input.settle"},
		{"duration without a unit", "input:\n  poll: 60\n", nil, "input.poll: 60 is not a duration: give a unit"},
		{"duration without a unit from the environment", "", []string{"SRAGENT_KAFKA_LINGER=5"}, `kafka.linger: "5" is not a duration`},
		{"bad compression", "kafka:\n  compression: brotli\n", nil, "kafka.compression: unknown compression"},
		{"bad sasl", "kafka:\n  sasl: {mechanism: GSSAPI}\n", nil, "kafka.sasl.mechanism"},
		{"no registry", "schema_registry:\n  url: ''\n", nil, "schema_registry.url: must be set"},
		{"bad log level", "log:\n  level: loud\n", nil, "log.level"},
		{"not yaml", "input: [\n", nil, "read config"},
		{"bad reconcile mode", "reconcile:\n  mode: purge\n", nil, "reconcile.mode: must be off, report or delete"},
		{"bad table mode", "reconcile:\n  tables:\n    SRCode: {mode: purge}\n", nil, "reconcile.tables.srcode.mode"},
		{"unknown table key", "reconcile:\n  tables:\n    SRCode: {window: 3}\n", nil, "unknown key(s) reconcile.tables.srcode.window"},
		{"window without months", "reconcile:\n  tables:\n    SRCode: {window_column: DateEvent}\n", nil, "window_column and a positive window_months"},
		{"bad min_ratio", "", []string{"SRAGENT_RECONCILE_MIN_RATIO=2"}, "reconcile.min_ratio"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ""
			if tt.file != "" {
				p = writeConfig(t, tt.file)
			}
			_, err := loadConfig(p, tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

// deploy/config.example.yaml documents every key with its default: it
// loads strictly and equals the built-in defaults, and names every key.
func TestExampleConfigIsTheDefaults(t *testing.T) {
	path := filepath.Join("..", "..", "deploy", "config.example.yaml")
	got, err := loadConfig(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := loadConfig("", nil)
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Errorf("example differs from the defaults:\n got %+v\nwant %+v", got, want)
	}
	raw, _ := os.ReadFile(path)
	for key := range defaults {
		leaf := key[strings.LastIndex(key, ".")+1:]
		if !strings.Contains(string(raw), leaf+":") {
			t.Errorf("the example does not show %s", key)
		}
	}
}

// An SRAGENT_* variable that is no config key is ignored with a warning
// naming the closest key (a typo is still noticed), never fatal: other
// programs' variables (SRAGENT_HOME) and SRAGENT_CONFIG, which names the
// config file, leave the configuration alone.
func TestEnvironmentWarnings(t *testing.T) {
	tests := []struct {
		env  string
		want string // in the warning; "" for none
	}{
		{"SRAGENT_KAFKA_BROKER=a:1", "SRAGENT_KAFKA_BROKER is not a config key and is ignored (did you mean SRAGENT_KAFKA_BROKERS?"},
		{"SRAGENT_INPUT_DIRR=x", "did you mean SRAGENT_INPUT_DIR?"},
		{"SRAGENT_RECONCILE_TABLES_SRCODE_WINDOW=3", "SRAGENT_RECONCILE_TABLES_SRCODE_WINDOW is not a config key"},
		{"SRAGENT_HOME=/opt/sragent", "SRAGENT_HOME is not a config key and is ignored (the keys are in"},
		{"SRAGENT_CONFIG=/etc/sragent.yaml", ""},
		{"SRAGENT_KAFKA_BROKERS=a:1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			c, warnings, err := loadConfigWarn("", []string{tt.env})
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(warnings, "\n")
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("warnings %q, want %q", got, tt.want)
			}
			if tt.want != "" && !reflect.DeepEqual(c, defaultConfig()) {
				t.Errorf("an ignored variable changed the configuration")
			}
		})
	}
	// SRAGENT_CONFIG names the file; --config wins over it.
	file := writeConfig(t, "input:\n  dir: from-the-file\n")
	other := writeConfig(t, "input:\n  dir: from-the-flag\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "from-the-file"},
		{[]string{"--config", other}, "from-the-flag"},
	} {
		var out, errb bytes.Buffer
		a := &app{stdout: &out, stderr: &errb, environ: []string{configEnv + "=" + file, "SRAGENT_HOME=/opt"}}
		root := a.rootCommand()
		root.SetArgs(append([]string{"version"}, tc.args...))
		if err := root.Execute(); err != nil {
			t.Fatal(err)
		}
		c, err := a.config()
		if err != nil || c.Input.Dir != tc.want || !strings.Contains(errb.String(), "SRAGENT_HOME is not a config key") {
			t.Errorf("%v: input.dir %q (%v), stderr %q", tc.args, c.Input.Dir, err, errb.String())
		}
	}
}
