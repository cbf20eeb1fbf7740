package producer

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Config is how sragent talks to Kafka and what it publishes. Its
// mapstructure tags are the keys of the kafka section of sragent's
// configuration; DefaultConfig holds their defaults.
type Config struct {
	// Brokers are the seed brokers.
	Brokers []string `mapstructure:"brokers"`
	// ClientID names the client to the brokers.
	ClientID string `mapstructure:"client_id"`
	// TopicPrefix starts every topic name: <prefix>.<Table>,
	// <prefix>.batches, <prefix>.deadletter, <prefix>.state.
	TopicPrefix string `mapstructure:"topic_prefix"`
	// Partitions and ReplicationFactor apply to topics sragent creates
	// (ReplicationFactor -1: the broker default).
	Partitions        int32 `mapstructure:"partitions"`
	ReplicationFactor int16 `mapstructure:"replication_factor"`
	// Compression is snappy, zstd, lz4, gzip or none.
	Compression string `mapstructure:"compression"`
	// Linger is how long a partition's batch may wait to fill.
	Linger time.Duration `mapstructure:"linger"`
	// BatchMaxBytes bounds one produce batch.
	BatchMaxBytes int32 `mapstructure:"batch_max_bytes"`
	// DeliveryTimeout bounds how long a record may take to be acknowledged
	// (franz-go retries forever by default).
	DeliveryTimeout time.Duration `mapstructure:"delivery_timeout"`
	// TxnRecords and TxnBytes bound one transaction: a batch is published
	// in transactions of at most this many records or bytes, each ending
	// with a checkpoint.
	TxnRecords int `mapstructure:"transaction_records"`
	TxnBytes   int `mapstructure:"transaction_bytes"`
	// TxnTimeout is the transaction timeout asked of the broker: a
	// transaction open longer (a stalled read) is aborted by the broker,
	// and the next pass resumes after the last checkpoint. It must not
	// exceed the broker's transaction.max.timeout.ms.
	TxnTimeout time.Duration `mapstructure:"transaction_timeout"`
	// TLS and SASL secure the connection.
	TLS  TLSConfig  `mapstructure:"tls"`
	SASL SASLConfig `mapstructure:"sasl"`
}

// TLSConfig enables TLS to the brokers.
type TLSConfig struct {
	Enabled bool `mapstructure:"enabled"`
	// CAFile verifies the brokers (system roots when empty); CertFile and
	// KeyFile are the client certificate for mutual TLS.
	CAFile   string `mapstructure:"ca_file"`
	CertFile string `mapstructure:"cert_file"`
	KeyFile  string `mapstructure:"key_file"`
	// ServerName overrides the name checked in the brokers' certificates.
	ServerName string `mapstructure:"server_name"`
}

// SASLConfig authenticates with SASL.
type SASLConfig struct {
	// Mechanism is "" (none), PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
	Mechanism string `mapstructure:"mechanism"`
	User      string `mapstructure:"username"`
	Password  string `mapstructure:"password"`
}

// DefaultConfig is the one table of Kafka defaults: what every unset key
// means.
func DefaultConfig() Config {
	return Config{
		Brokers: []string{"localhost:9092"}, ClientID: "sragent", TopicPrefix: "systmone",
		Partitions: 6, ReplicationFactor: -1, Compression: "snappy", Linger: 5 * time.Millisecond,
		BatchMaxBytes: 1 << 20, DeliveryTimeout: 2 * time.Minute,
		TxnRecords: 50_000, TxnBytes: 64 << 20, TxnTimeout: time.Minute,
	}
}

// withDefaults fills unset fields from DefaultConfig (brokers excepted).
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	set := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	set(&c.ClientID, d.ClientID)
	set(&c.TopicPrefix, d.TopicPrefix)
	set(&c.Compression, d.Compression)
	if c.Partitions == 0 {
		c.Partitions = d.Partitions
	}
	if c.ReplicationFactor == 0 {
		c.ReplicationFactor = d.ReplicationFactor
	}
	if c.Linger == 0 {
		c.Linger = d.Linger
	}
	if c.BatchMaxBytes == 0 {
		c.BatchMaxBytes = d.BatchMaxBytes
	}
	if c.DeliveryTimeout == 0 {
		c.DeliveryTimeout = d.DeliveryTimeout
	}
	if c.TxnRecords == 0 {
		c.TxnRecords = d.TxnRecords
	}
	if c.TxnBytes == 0 {
		c.TxnBytes = d.TxnBytes
	}
	if c.TxnTimeout == 0 {
		c.TxnTimeout = d.TxnTimeout
	}
	return c
}

// Validate reports every setting that cannot work, naming its key in
// sragent's configuration (kafka.<key>). New validates after filling unset
// (zero) fields from DefaultConfig; sragent's configuration, which has
// every default already, validates before, so an explicit 0 is an error.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("kafka.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if len(c.Brokers) == 0 {
		bad("brokers", "must list at least one broker")
	}
	if c.TopicPrefix == "" || strings.ContainsAny(c.TopicPrefix, " /\\") {
		bad("topic_prefix", "must be a non-empty topic name prefix")
	}
	if c.Partitions < 1 {
		bad("partitions", "must be at least 1")
	}
	if c.ReplicationFactor == 0 || c.ReplicationFactor < -1 {
		bad("replication_factor", "must be positive, or -1 for the broker default")
	}
	if _, err := compression(c.Compression); err != nil {
		bad("compression", "%v", err)
	}
	if c.Linger < 0 {
		bad("linger", "must not be negative")
	}
	if c.BatchMaxBytes < 1 {
		bad("batch_max_bytes", "must be positive")
	}
	if c.TxnRecords < 1 {
		bad("transaction_records", "must be positive")
	}
	if c.TxnBytes < 1 {
		bad("transaction_bytes", "must be positive")
	}
	if c.DeliveryTimeout <= 0 {
		bad("delivery_timeout", "must be positive")
	}
	if c.TxnTimeout <= 0 {
		bad("transaction_timeout", "must be positive")
	}
	switch strings.ToUpper(c.SASL.Mechanism) {
	case "", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
	default:
		bad("sasl.mechanism", "unknown SASL mechanism %q (want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)", c.SASL.Mechanism)
	}
	sortErrs(errs)
	return errors.Join(errs...)
}

func sortErrs(errs []error) {
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
}

func compression(name string) (kgo.CompressionCodec, error) {
	switch strings.ToLower(name) {
	case "", "snappy":
		return kgo.SnappyCompression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "none":
		return kgo.NoCompression(), nil
	}
	return kgo.NoCompression(), fmt.Errorf("unknown compression %q (want snappy, zstd, lz4, gzip or none)", name)
}

// clientOpts translates the connection settings (shared by producing,
// admin and consuming clients) into franz-go options.
func (c Config) clientOpts() ([]kgo.Opt, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(c.Brokers...), kgo.ClientID(c.ClientID)}
	if c.TLS.Enabled {
		tc, err := c.TLS.config()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	switch strings.ToUpper(c.SASL.Mechanism) {
	case "PLAIN":
		opts = append(opts, kgo.SASL(plain.Auth{User: c.SASL.User, Pass: c.SASL.Password}.AsMechanism()))
	case "SCRAM-SHA-256":
		opts = append(opts, kgo.SASL(scram.Auth{User: c.SASL.User, Pass: c.SASL.Password}.AsSha256Mechanism()))
	case "SCRAM-SHA-512":
		opts = append(opts, kgo.SASL(scram.Auth{User: c.SASL.User, Pass: c.SASL.Password}.AsSha512Mechanism()))
	}
	return opts, nil
}

// client returns a client with the connection settings and extra.
func (c Config) client(extra ...kgo.Opt) (*kgo.Client, error) {
	opts, err := c.clientOpts()
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	return cl, nil
}

// producerOpts are the options of a group's transactional producer.
func (c Config) producerOpts(txnID string) ([]kgo.Opt, error) {
	opts, err := c.clientOpts()
	if err != nil {
		return nil, err
	}
	codec, err := compression(c.Compression)
	if err != nil {
		return nil, err
	}
	return append(opts,
		kgo.TransactionalID(txnID),
		kgo.TransactionTimeout(c.TxnTimeout),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(codec),
		kgo.ProducerLinger(c.Linger),
		kgo.ProducerBatchMaxBytes(c.BatchMaxBytes),
		kgo.RecordDeliveryTimeout(c.DeliveryTimeout),
		kgo.RecordPartitioner(partitioner{kgo.StickyKeyPartitioner(nil)}),
		kgo.MaxBufferedRecords(100_000),
	), nil
}

func (t TLSConfig) config() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read kafka CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka CA file %s holds no PEM certificate", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" || t.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load kafka client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// partitioner hashes keys exactly as Kafka's Java client does (murmur2),
// except for snapshot markers, which go to the partition they name.
type partitioner struct{ inner kgo.Partitioner }

func (p partitioner) ForTopic(t string) kgo.TopicPartitioner {
	return topicPartitioner{p.inner.ForTopic(t)}
}

type topicPartitioner struct{ kgo.TopicPartitioner }

func (topicPartitioner) RequiresConsistency(*kgo.Record) bool { return true }

func (tp topicPartitioner) Partition(r *kgo.Record, n int) int {
	if isMarker(r) {
		return int(r.Partition)
	}
	return tp.TopicPartitioner.Partition(r, n)
}

func isMarker(r *kgo.Record) bool {
	for _, h := range r.Headers {
		if h.Key == MarkerHeader {
			return true
		}
	}
	return false
}
