package producer

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Config is how sragent talks to Kafka and what it publishes.
type Config struct {
	// Brokers are the seed brokers.
	Brokers []string
	// ClientID names the client to the brokers; the default is "sragent".
	ClientID string
	// TopicPrefix starts every topic name: <prefix>.<Table>,
	// <prefix>.batches, <prefix>.deadletter, <prefix>.state.
	TopicPrefix string
	// Partitions and ReplicationFactor apply to topics sragent creates
	// (ReplicationFactor -1: the broker default).
	Partitions        int32
	ReplicationFactor int16
	// Compression is snappy (default), zstd, lz4, gzip or none.
	Compression string
	// Linger is how long a partition's batch may wait to fill; the default
	// is 5ms.
	Linger time.Duration
	// BatchMaxBytes bounds one produce batch; the default is 1 MiB.
	BatchMaxBytes int32
	// DeliveryTimeout bounds how long a record may take to be acknowledged
	// (franz-go retries forever by default); the default is 2 minutes.
	DeliveryTimeout time.Duration
	// TxnRecords and TxnBytes bound one transaction: a batch is published
	// in transactions of at most this many records or bytes, each ending
	// with a checkpoint. Defaults: 50,000 records, 64 MiB.
	TxnRecords int
	TxnBytes   int
	// TxnTimeout is the transaction timeout asked of the broker: a
	// transaction open longer (a stalled read) is aborted by the broker,
	// and the next pass resumes after the last checkpoint. It must not
	// exceed the broker's transaction.max.timeout.ms. Default 1 minute.
	TxnTimeout time.Duration
	// TLS and SASL secure the connection.
	TLS  TLSConfig
	SASL SASLConfig
}

// TLSConfig enables TLS to the brokers.
type TLSConfig struct {
	Enabled bool
	// CAFile verifies the brokers (system roots when empty); CertFile and
	// KeyFile are the client certificate for mutual TLS.
	CAFile, CertFile, KeyFile string
	// ServerName overrides the name checked in the brokers' certificates.
	ServerName string
}

// SASLConfig authenticates with SASL.
type SASLConfig struct {
	// Mechanism is "" (none), PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
	Mechanism      string
	User, Password string
}

// withDefaults fills unset fields.
func (c Config) withDefaults() Config {
	if c.ClientID == "" {
		c.ClientID = "sragent"
	}
	if c.TopicPrefix == "" {
		c.TopicPrefix = "systmone"
	}
	if c.Partitions == 0 {
		c.Partitions = 6
	}
	if c.ReplicationFactor == 0 {
		c.ReplicationFactor = -1
	}
	if c.Compression == "" {
		c.Compression = "snappy"
	}
	if c.Linger == 0 {
		c.Linger = 5 * time.Millisecond
	}
	if c.BatchMaxBytes == 0 {
		c.BatchMaxBytes = 1 << 20
	}
	if c.DeliveryTimeout == 0 {
		c.DeliveryTimeout = 2 * time.Minute
	}
	if c.TxnRecords == 0 {
		c.TxnRecords = 50_000
	}
	if c.TxnBytes == 0 {
		c.TxnBytes = 64 << 20
	}
	if c.TxnTimeout == 0 {
		c.TxnTimeout = time.Minute
	}
	return c
}

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("no brokers"))
	}
	if _, err := compression(c.Compression); err != nil {
		errs = append(errs, err)
	}
	if c.TxnRecords < 0 || c.TxnBytes < 0 {
		errs = append(errs, errors.New("transaction bounds must be positive"))
	}
	switch strings.ToUpper(c.SASL.Mechanism) {
	case "", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
	default:
		errs = append(errs, fmt.Errorf("unknown SASL mechanism %q (want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)", c.SASL.Mechanism))
	}
	return errors.Join(errs...)
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
