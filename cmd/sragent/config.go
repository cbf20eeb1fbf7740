package main

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"

	"github.com/sragent/sragent/codec"
	"github.com/sragent/sragent/producer"
)

// Config is sragent's whole configuration. Every key has a default (the
// one table is defaultConfig), can be set in the YAML file given with
// --config, and can be overridden by the environment variable
// SRAGENT_<KEY> (dots become underscores), e.g.
// SRAGENT_KAFKA_BROKERS=a:9092,b:9092. The kafka and schema_registry
// sections decode straight into the producer package's types.
type Config struct {
	Input          InputConfig             `mapstructure:"input"`
	Archive        DirConfig               `mapstructure:"archive"`
	Quarantine     DirConfig               `mapstructure:"quarantine"`
	State          DirConfig               `mapstructure:"state"`
	Kafka          producer.Config         `mapstructure:"kafka"`
	SchemaRegistry producer.RegistryConfig `mapstructure:"schema_registry"`
	Metrics        MetricsConfig           `mapstructure:"metrics"`
	Log            LogConfig               `mapstructure:"log"`
	Shutdown       ShutdownConfig          `mapstructure:"shutdown"`
	Unchanged      UnchangedConfig         `mapstructure:"unchanged"`
	Lists          ListsConfig             `mapstructure:"lists"`
	// Reconcile decodes straight into the producer's type; its per-table
	// keys (reconcile.tables.<Table>.*) are the one open-ended section.
	Reconcile producer.ReconcileConfig `mapstructure:"reconcile"`
}

// UnchangedConfig says what happens to a row identical to the last image
// published for its key.
type UnchangedConfig struct {
	// Suppress skips it (counted as unchanged); off, every row is
	// published again.
	Suppress bool `mapstructure:"suppress"`
}

// ListsConfig is what the list files (SRMapping, SRConfiguredListOption)
// add to the tables whose columns hold their ids.
type ListsConfig struct {
	// Labels gives every such column a <Column>_label field with the
	// text of its id, from the group's latest lists.
	Labels bool `mapstructure:"labels"`
}

// ShutdownConfig bounds how long SIGTERM or a service stop may take.
type ShutdownConfig struct {
	// Timeout: the open transaction is aborted within it, and the process
	// exits when it is over whatever is still waiting (a hung broker); the
	// next start resumes after the last checkpoint.
	Timeout time.Duration `mapstructure:"timeout"`
}

// InputConfig is where batches arrive and how their files are written.
type InputConfig struct {
	Dir string `mapstructure:"dir"`
	// Delimiter and Quote are one character each; "\t" or "tab" is a tab,
	// an empty Quote means no quoting.
	Delimiter       string        `mapstructure:"delimiter"`
	Quote           string        `mapstructure:"quote"`
	Encoding        string        `mapstructure:"encoding"`
	Settle          time.Duration `mapstructure:"settle"`
	FutureTolerance time.Duration `mapstructure:"future_tolerance"`
	IncompleteAfter time.Duration `mapstructure:"incomplete_after"`
	Poll            time.Duration `mapstructure:"poll"`
	MaxRecordBytes  int           `mapstructure:"max_record_bytes"`
}

// DirConfig is a folder setting.
type DirConfig struct {
	Dir string `mapstructure:"dir"`
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

// defaultConfig is the one table of defaults; the Kafka ones are the
// producer package's, the dialect's codec's.
func defaultConfig() Config {
	d := codec.DefaultDialect()
	return Config{
		Input: InputConfig{Dir: "input", Delimiter: string(d.Delimiter), Quote: string(d.Quote), Encoding: d.Encoding.String(),
			Settle: 30 * time.Second, FutureTolerance: time.Hour, IncompleteAfter: time.Hour, Poll: time.Minute, MaxRecordBytes: d.MaxRecordBytes},
		Archive: DirConfig{"archive"}, Quarantine: DirConfig{"quarantine"}, State: DirConfig{"state"},
		Kafka:          producer.DefaultConfig(),
		SchemaRegistry: producer.RegistryConfig{URL: "http://localhost:8081"},
		Metrics:        MetricsConfig{Listen: "127.0.0.1:9464"},
		Log:            LogConfig{Level: "info", Format: "text", MaxSizeMB: 10, MaxFiles: 5},
		Unchanged:      UnchangedConfig{Suppress: true},
		Reconcile:      producer.DefaultReconcile(),
		Shutdown:       ShutdownConfig{Timeout: 15 * time.Second},
	}
}

// defaults maps every config key to its default value; a key not here is
// rejected.
var defaults = flatten(defaultConfig())

// flatten lists a config struct's leaves by their dotted mapstructure
// keys; durations as their text, so that they decode like a file's.
func flatten(c any) map[string]any {
	out := map[string]any{}
	var walk func(prefix string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			key := prefix + f.Tag.Get("mapstructure")
			switch fv := v.Field(i); {
			case fv.Type() == reflect.TypeOf(time.Duration(0)):
				out[key] = time.Duration(fv.Int()).String()
			case fv.Kind() == reflect.Struct:
				walk(key+".", fv)
			default:
				out[key] = fv.Interface()
			}
		}
	}
	walk("", reflect.ValueOf(c))
	return out
}

// loadConfig reads path (if not empty) over the defaults, then applies the
// SRAGENT_* environment, and validates the result.
func loadConfig(path string, environ []string) (Config, error) {
	c, _, err := loadConfigWarn(path, environ)
	return c, err
}

// configEnv names the config file when --config is not given.
const configEnv = "SRAGENT_CONFIG"

// loadConfigWarn is loadConfig that also returns warnings: SRAGENT_*
// variables that are not config keys (each naming the closest key), which
// are ignored.
func loadConfigWarn(path string, environ []string) (Config, []string, error) {
	v := viper.New()
	for k, d := range defaults {
		v.SetDefault(k, d)
	}
	if path != "" {
		v.SetConfigFile(path)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			return Config{}, nil, fmt.Errorf("read config %s: %w", path, err)
		}
		if err := checkKeys(v.AllKeys()); err != nil {
			return Config{}, nil, fmt.Errorf("config %s: %w", path, err)
		}
	}
	warnings := applyEnv(v, environ)
	var c Config
	hook := viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(durationHook, mapstructure.StringToSliceHookFunc(",")))
	if err := v.UnmarshalExact(&c, hook); err != nil {
		return Config{}, warnings, decodeError(err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, warnings, err
	}
	return c, warnings, nil
}

func checkKeys(keys []string) error {
	var unknown []string
	for _, k := range keys {
		if _, ok := defaults[k]; !ok && !isTableKey(k) {
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

// decodeError rewrites mapstructure's "'input.poll' 60 is not ..." lines
// as "input.poll: 60 is not ...", one per bad key.
func decodeError(err error) error {
	var lines []string
	for _, l := range strings.Split(err.Error(), "\n") {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "'") {
			continue
		}
		if key, rest, ok := strings.Cut(l[1:], "' "); ok {
			lines = append(lines, key+": "+rest)
		}
	}
	if len(lines) == 0 {
		return fmt.Errorf("decode config: %w", err)
	}
	return errors.New(strings.Join(lines, "\n"))
}

// durationHook decodes durations from text with a unit ("90s", "1m"); a
// bare number is an error, not nanoseconds.
func durationHook(from, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeOf(time.Duration(0)) {
		return data, nil
	}
	if from.Kind() != reflect.String {
		return nil, fmt.Errorf("%v is not a duration: give a unit, e.g. \"60s\" or \"1m\"", data)
	}
	d, err := time.ParseDuration(data.(string))
	if err != nil {
		return nil, fmt.Errorf("%q is not a duration: give a number and a unit, e.g. \"60s\" or \"1m\"", data)
	}
	return d, nil
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
		errs = append(errs, err)
	}
	if c.Input.Settle < 0 {
		bad("input.settle", "must not be negative")
	}
	if c.Shutdown.Timeout <= 0 {
		bad("shutdown.timeout", "must be positive")
	}
	if c.Input.FutureTolerance <= 0 {
		bad("input.future_tolerance", "must be positive")
	}
	if c.Input.IncompleteAfter <= 0 {
		bad("input.incomplete_after", "must be positive")
	}
	if c.Input.Poll <= 0 {
		bad("input.poll", "must be positive")
	}
	if c.Input.MaxRecordBytes < 1 {
		bad("input.max_record_bytes", "must be positive")
	}
	if c.Archive.Dir == "" {
		bad("archive.dir", "must be set")
	}
	if c.Quarantine.Dir == "" {
		bad("quarantine.dir", "must be set")
	}
	if err := c.Reconcile.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Kafka.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.SchemaRegistry.URL == "" {
		bad("schema_registry.url", "must be set")
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

// Dialect returns the one CSV dialect of the input settings: the manifest
// reader, the readiness check and the table reader all use it.
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
	d.Delimiter, d.Quote, d.Encoding, d.MaxRecordBytes = delim, quote, enc, c.Input.MaxRecordBytes
	if err := d.Validate(); err != nil {
		return d, fmt.Errorf("input.delimiter, input.quote: %w", err)
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

// Agent translates the configuration into the producer package's, once:
// every command (validate, publish, run, demo) starts from this value.
func (c Config) Agent() producer.AgentConfig {
	d, _ := c.Dialect() // validated by loadConfig
	return producer.AgentConfig{InputDir: c.Input.Dir, ArchiveDir: c.Archive.Dir, QuarantineDir: c.Quarantine.Dir,
		Settle: c.Input.Settle, FutureTolerance: c.Input.FutureTolerance, IncompleteAfter: c.Input.IncompleteAfter, ShutdownTimeout: c.Shutdown.Timeout, Dialect: d,
		StateDir: c.State.Dir, SuppressUnchanged: c.Unchanged.Suppress, Reconcile: c.Reconcile, Labels: c.Lists.Labels, Kafka: c.Kafka, Registry: c.SchemaRegistry}
}
