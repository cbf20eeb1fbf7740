package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name, file string
		env        []string
		want       string
	}{
		{"unknown key", "input:\n  dri: x\n", nil, "unknown key(s) input.dri"},
		{"unknown section", "kafkaa:\n  brokers: [a]\n", nil, "unknown key(s) kafkaa.brokers"},
		{"unknown env", "", []string{"SRAGENT_KAFKA_BROKER=a:1"}, "unknown variable SRAGENT_KAFKA_BROKER"},
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
