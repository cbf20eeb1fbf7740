package main

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/viper"

	"github.com/sragent/sragent/codec"
	"github.com/sragent/sragent/producer"
)

// Config is sragent's whole configuration. Every key has a default, can be
// set in the YAML file given with --config, and can be overridden by the
// environment variable SRAGENT_<KEY> (dots become underscores), e.g.
// SRAGENT_KAFKA_BROKERS=a:9092,b:9092.
type Config struct {
	Input          InputConfig    `mapstructure:"input"`
	Archive        DirConfig      `mapstructure:"archive"`
	Quarantine     DirConfig      `mapstructure:"quarantine"`
	State          DirConfig      `mapstructure:"state"`
	Kafka          KafkaConfig    `mapstructure:"kafka"`
	SchemaRegistry RegistryConfig `mapstructure:"schema_registry"`
	Metrics        MetricsConfig  `mapstructure:"metrics"`
	Log            LogConfig      `mapstructure:"log"`
}

// InputConfig is where batches arrive and how their files are written.
type InputConfig struct {
	Dir            string        `mapstructure:"dir"`
	Delimiter      string        `mapstructure:"delimiter"`
	Quote          string        `mapstructure:"quote"`
	Encoding       string        `mapstructure:"encoding"`
	Settle         time.Duration `mapstructure:"settle"`
	Poll           time.Duration `mapstructure:"poll"`
	MaxRecordBytes int           `mapstructure:"max_record_bytes"`
}

// DirConfig is a folder setting.
type DirConfig struct {
	Dir string `mapstructure:"dir"`
}

// KafkaConfig is the cluster and topics sragent publishes to.
type KafkaConfig struct {
	Brokers            []string      `mapstructure:"brokers"`
	TopicPrefix        string        `mapstructure:"topic_prefix"`
	Partitions         int           `mapstructure:"partitions"`
	ReplicationFactor  int           `mapstructure:"replication_factor"`
	ClientID           string        `mapstructure:"client_id"`
	Compression        string        `mapstructure:"compression"`
	Linger             time.Duration `mapstructure:"linger"`
	BatchMaxBytes      int           `mapstructure:"batch_max_bytes"`
	DeliveryTimeout    time.Duration `mapstructure:"delivery_timeout"`
	TransactionRecords int           `mapstructure:"transaction_records"`
	TransactionBytes   int           `mapstructure:"transaction_bytes"`
	TransactionTimeout time.Duration `mapstructure:"transaction_timeout"`
	TLS                TLSConfig     `mapstructure:"tls"`
	SASL               SASLConfig    `mapstructure:"sasl"`
}

// TLSConfig secures the broker connections.
type TLSConfig struct {
	Enabled    bool   `mapstructure:"enabled"`
	CAFile     string `mapstructure:"ca_file"`
	CertFile   string `mapstructure:"cert_file"`
	KeyFile    string `mapstructure:"key_file"`
	ServerName string `mapstructure:"server_name"`
}

// SASLConfig authenticates to the brokers.
type SASLConfig struct {
	Mechanism string `mapstructure:"mechanism"`
	Username  string `mapstructure:"username"`
	Password  string `mapstructure:"password"`
}

// RegistryConfig is the Confluent-compatible Schema Registry.
type RegistryConfig struct {
	URL      string `mapstructure:"url"`
	Username string `mapstructure:"username"`
	Password string `mapstructure:"password"`
}

// MetricsConfig is the HTTP listener for /metrics and health.
type MetricsConfig struct {
	Listen          string `mapstructure:"listen"`
	ReadyWhenHalted bool   `mapstructure:"ready_when_halted"`
}

// LogConfig sets the log handler.
type LogConfig struct {
	Level  string `mapstructure:"level"`
	Format string `mapstructure:"format"`
	// File, when set, also writes the log to this file, rotated at
	// MaxSizeMB keeping MaxFiles old files (a Windows service's log).
	File      string `mapstructure:"file"`
	MaxSizeMB int    `mapstructure:"max_size_mb"`
	MaxFiles  int    `mapstructure:"max_files"`
}

// defaults lists every config key with its default value; a key not here is
// rejected.
var defaults = map[string]any{
	"input.dir":                 "input",
	"input.delimiter":           ",",
	"input.quote":               `"`,
	"input.encoding":            "windows-1252",
	"input.settle":              "30s",
	"input.poll":                "1m",
	"input.max_record_bytes":    16 << 20,
	"archive.dir":               "archive",
	"quarantine.dir":            "quarantine",
	"state.dir":                 "state",
	"kafka.brokers":             []string{"localhost:9092"},
	"kafka.topic_prefix":        "systmone",
	"kafka.partitions":          6,
	"kafka.replication_factor":  -1,
	"kafka.client_id":           "sragent",
	"kafka.compression":         "snappy",
	"kafka.linger":              "5ms",
	"kafka.batch_max_bytes":     1 << 20,
	"kafka.delivery_timeout":    "2m",
	"kafka.transaction_records": 50000,
	"kafka.transaction_bytes":   64 << 20,
	"kafka.transaction_timeout": "1m",
	"kafka.tls.enabled":         false,
	"kafka.tls.ca_file":         "",
	"kafka.tls.cert_file":       "",
	"kafka.tls.key_file":        "",
	"kafka.tls.server_name":     "",
	"kafka.sasl.mechanism":      "",
	"kafka.sasl.username":       "",
	"kafka.sasl.password":       "",
	"schema_registry.username":  "",
	"schema_registry.password":  "",
	"schema_registry.url":       "http://localhost:8081",
	"metrics.listen":            "127.0.0.1:9464",
	"metrics.ready_when_halted": false,
	"log.level":                 "info",
	"log.format":                "text",
	"log.file":                  "",
	"log.max_size_mb":           10,
	"log.max_files":             5,
}

// loadConfig reads path (if not empty) over the defaults, then applies the
// SRAGENT_* environment, and validates the result.
func loadConfig(path string, environ []string) (Config, error) {
	v := viper.New()
	for k, d := range defaults {
		v.SetDefault(k, d)
	}
	if path != "" {
		v.SetConfigFile(path)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			return Config{}, fmt.Errorf("read config %s: %w", path, err)
		}
		if err := checkKeys(v.AllKeys()); err != nil {
			return Config{}, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := applyEnv(v, environ); err != nil {
		return Config{}, err
	}
	var c Config
	if err := v.UnmarshalExact(&c); err != nil {
		return Config{}, fmt.Errorf("decode config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// applyEnv sets every SRAGENT_* variable; an unknown one is an error, so a
// typo cannot silently leave a default in place.
func applyEnv(v *viper.Viper, environ []string) error {
	byEnv := map[string]string{}
	for k := range defaults {
		byEnv[envName(k)] = k
	}
	for _, kv := range environ {
		name, val, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "SRAGENT_") {
			continue
		}
		key, ok := byEnv[name]
		if !ok {
			return fmt.Errorf("environment: unknown variable %s (see deploy/README.md for the keys)", name)
		}
		v.Set(key, val)
	}
	return nil
}

func envName(key string) string {
	return "SRAGENT_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

func checkKeys(keys []string) error {
	var unknown []string
	for _, k := range keys {
		if _, ok := defaults[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	return fmt.Errorf("unknown key(s) %s; known keys: %s", strings.Join(unknown, ", "), strings.Join(knownKeys(), ", "))
}

func knownKeys() []string {
	keys := make([]string, 0, len(defaults))
	for k := range defaults {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Validate reports every invalid setting, naming its key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key string, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.Input.Dir == "" {
		bad("input.dir", "must be set")
	}
	if _, err := c.Dialect(); err != nil {
		bad("input", "%v", err)
	}
	if c.Input.Settle < 0 {
		bad("input.settle", "must not be negative")
	}
	if c.Input.Poll <= 0 {
		bad("input.poll", "must be positive")
	}
	if err := c.Producer().Validate(); err != nil {
		bad("kafka", "%v", err)
	}
	if len(c.Kafka.Brokers) == 0 {
		bad("kafka.brokers", "must list at least one broker")
	}
	if c.Kafka.TopicPrefix == "" || strings.ContainsAny(c.Kafka.TopicPrefix, " /\\") {
		bad("kafka.topic_prefix", "must be a non-empty topic name prefix")
	}
	if c.Kafka.Partitions < 1 {
		bad("kafka.partitions", "must be at least 1")
	}
	if c.Kafka.ReplicationFactor == 0 || c.Kafka.ReplicationFactor < -1 {
		bad("kafka.replication_factor", "must be positive, or -1 for the broker default")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "must be debug, info, warn or error")
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "must be text or json")
	}
	return errors.Join(errs...)
}

// Dialect returns the CSV dialect of the input settings.
func (c Config) Dialect() (codec.Dialect, error) {
	d := codec.DefaultDialect()
	delim, err := oneByte("input.delimiter", c.Input.Delimiter, false)
	if err != nil {
		return d, err
	}
	quote, err := oneByte("input.quote", c.Input.Quote, true)
	if err != nil {
		return d, err
	}
	enc, err := codec.ParseEncoding(c.Input.Encoding)
	if err != nil {
		return d, fmt.Errorf("input.encoding: %w", err)
	}
	d.Delimiter, d.Quote, d.Encoding = delim, quote, enc
	if c.Input.MaxRecordBytes > 0 {
		d.MaxRecordBytes = c.Input.MaxRecordBytes
	}
	if err := d.Validate(); err != nil {
		return d, err
	}
	return d, nil
}

func oneByte(key, s string, emptyOK bool) (byte, error) {
	switch s {
	case `\t`, "tab":
		return '\t', nil
	case "":
		if emptyOK {
			return 0, nil
		}
	}
	if len(s) != 1 {
		return 0, fmt.Errorf("%s: must be one ASCII character (or \\t)", key)
	}
	return s[0], nil
}

// Producer returns the Kafka settings of the producer package.
func (c Config) Producer() producer.Config {
	k := c.Kafka
	return producer.Config{
		Brokers: k.Brokers, ClientID: k.ClientID, TopicPrefix: k.TopicPrefix,
		Partitions: int32(k.Partitions), ReplicationFactor: int16(k.ReplicationFactor),
		Compression: k.Compression, Linger: k.Linger, BatchMaxBytes: int32(k.BatchMaxBytes),
		DeliveryTimeout: k.DeliveryTimeout, TxnRecords: k.TransactionRecords, TxnBytes: k.TransactionBytes, TxnTimeout: k.TransactionTimeout,
		TLS: producer.TLSConfig{Enabled: k.TLS.Enabled, CAFile: k.TLS.CAFile, CertFile: k.TLS.CertFile,
			KeyFile: k.TLS.KeyFile, ServerName: k.TLS.ServerName},
		SASL: producer.SASLConfig{Mechanism: k.SASL.Mechanism, User: k.SASL.Username, Password: k.SASL.Password},
	}
}

// Agent returns the folder settings of the producer package.
func (c Config) Agent() producer.AgentConfig {
	return producer.AgentConfig{InputDir: c.Input.Dir, ArchiveDir: c.Archive.Dir, QuarantineDir: c.Quarantine.Dir,
		Settle: c.Input.Settle, Delimiter: rune(c.Input.Delimiter[0])}
}
