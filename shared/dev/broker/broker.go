// Package broker runs finfeed's embedded Kafka (franz-go's kfake) on a real TCP port, set up like the MSK cluster.
package broker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/finfeed/finfeed/shared/kafka"
)

// Defaults.
const (
	DefaultAddr        = "127.0.0.1:9092"
	DefaultPartitions  = 4
	DefaultServiceUser = "finfeed-service"
	// OperatorUser is the broker's superuser (OperatorKafka), standing in for an IAM login on MSK.
	OperatorUser   = "finfeed-admin"
	scramMechanism = "SCRAM-SHA-512"
	setupTimeout   = 15 * time.Second
)

// Credentials are a SASL/SCRAM-SHA-512 user name and password.
type Credentials struct {
	User     string
	Password string
}

// Config says how to run the broker. The zero value is a fresh in-memory broker on 127.0.0.1 with a free port,
// SCRAM and ACLs on, and generated passwords.
type Config struct {
	// Addr is HOST:PORT to listen on: 127.0.0.1 (the default), another local address, or a wildcard (0.0.0.0)
	// so containers can reach the broker; port 0 or an empty Addr picks a free port.
	Addr string
	// Advertise is the host the broker tells clients to connect to (what Kafka calls the advertised listener),
	// e.g. host.docker.internal for functions in containers. Empty means Addr's host, which must then not be a
	// wildcard. The broker's own clients (ServiceKafka and the rest, with DialOpts) reach it at Addr whatever
	// the name resolves to here.
	Advertise string
	// Partitions per topic (default DefaultPartitions).
	Partitions int32
	// DataDir, when set, persists topics, records, committed offsets and ACLs across restarts.
	DataDir string
	// NoAuth runs without SASL and ACLs so any Kafka tool can attach.
	NoAuth bool
	// Service is the pipeline's principal: it has the rights provision grants the ingester, the enrich and the
	// index function on MSK, together (Settings). An empty User is DefaultServiceUser, an empty Password is
	// generated.
	Service Credentials
	// Customer has a customer's rights on MSK: read `enhanced` with the consumer group named as the user.
	// Empty User means no customer principal; an empty Password is generated.
	Customer Credentials
	// OperatorPassword is the password of the operator principal (OperatorKafka); empty is generated.
	OperatorPassword string
}

// Broker is a running embedded Kafka.
type Broker struct {
	cluster *kfake.Cluster
	addr    string // advertised host:port
	dial    string // where this process reaches the listener
	cfg     Config
	admin   Credentials
}

// Start starts the broker and provisions it as the custom resource does MSK (Spec): the feed's topics and,
// with auth on, the users and ACLs.
// Credentials and ACLs always come from cfg, never from an earlier run's DataDir.
func Start(ctx context.Context, cfg Config) (*Broker, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	l, err := parseListen(cfg.Addr, cfg.Advertise)
	if err != nil {
		return nil, err
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(l.port),
		kfake.ListenFn(l.listen),
		kfake.ClusterID("finfeed-local"),
		kfake.DefaultNumPartitions(int(cfg.Partitions)),
	}
	admin := Credentials{User: OperatorUser, Password: cfg.OperatorPassword}
	if !cfg.NoAuth {
		opts = append(opts,
			kfake.EnableSASL(),
			kfake.EnableACLs(),
			kfake.Superuser(scramMechanism, admin.User, admin.Password),
			kfake.User(scramMechanism, cfg.Service.User, cfg.Service.Password),
		)
		if cfg.Customer.User != "" {
			opts = append(opts, kfake.User(scramMechanism, cfg.Customer.User, cfg.Customer.Password))
		}
	}
	if cfg.DataDir != "" {
		if err := forgetCredentials(cfg.DataDir); err != nil {
			return nil, err
		}
		opts = append(opts, kfake.DataDir(cfg.DataDir))
	}
	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("start embedded kafka on %s: %w", cfg.Addr, err)
	}
	addrs := cluster.ListenAddrs()
	if len(addrs) != 1 {
		cluster.Close()
		return nil, fmt.Errorf("start embedded kafka: listening on %d addresses, want 1", len(addrs))
	}
	_, port, err := net.SplitHostPort(addrs[0])
	if err != nil {
		cluster.Close()
		return nil, fmt.Errorf("start embedded kafka: listen address %q: %w", addrs[0], err)
	}
	b := &Broker{cluster: cluster, addr: addrs[0], dial: net.JoinHostPort(l.dialHost(), port), cfg: cfg, admin: admin}
	setupCtx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	if err := b.setup(setupCtx); err != nil {
		cluster.Close()
		return nil, err
	}
	return b, nil
}

func (c Config) withDefaults() (Config, error) {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:0"
	}
	if c.Partitions == 0 {
		c.Partitions = DefaultPartitions
	}
	if c.Partitions < 1 {
		return c, fmt.Errorf("broker partitions: must be at least 1, got %d", c.Partitions)
	}
	if c.Service.User == "" {
		c.Service.User = DefaultServiceUser
	}
	if c.Service.Password == "" {
		c.Service.Password = randomPassword()
	}
	if c.Customer.User != "" && c.Customer.Password == "" {
		c.Customer.Password = randomPassword()
	}
	if c.OperatorPassword == "" {
		c.OperatorPassword = randomPassword()
	}
	var errs []error
	for _, u := range []string{c.Service.User, c.Customer.User} {
		if u == OperatorUser {
			errs = append(errs, fmt.Errorf("user name %q is reserved", u))
		}
	}
	if c.Customer.User != "" && c.Customer.User == c.Service.User {
		errs = append(errs, fmt.Errorf("customer and service are both user %q", c.Customer.User))
	} else if err := c.Settings().Validate(); err != nil {
		errs = append(errs, err) // the custom resource refuses the same names on MSK
	}
	return c, errors.Join(errs...)
}

// forgetCredentials removes the users an earlier run persisted (kfake would reload them over the configured
// ones), so this run's passwords are the ones that work.
func forgetCredentials(dir string) error {
	err := os.Remove(filepath.Join(dir, "sasl.json"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("broker data dir: %w", err)
	}
	return nil
}

func randomPassword() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("broker: crypto/rand: %v", err)) // never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

// Addr is the host:port the broker advertises: what clients elsewhere connect to.
func (b *Broker) Addr() string { return b.addr }

// DialOpts are the options a client in this process needs to reach the broker at its listen address whatever
// the advertised host resolves to here (host.docker.internal, for one, often resolves nowhere on the host).
// ServiceKafka and the other configurations are meant to be used with them.
func (b *Broker) DialOpts() []kgo.Opt {
	d := &net.Dialer{Timeout: 10 * time.Second}
	return []kgo.Opt{kgo.Dialer(func(ctx context.Context, network, host string) (net.Conn, error) {
		if host == b.addr {
			host = b.dial
		}
		return d.DialContext(ctx, network, host)
	})}
}

// NoAuth reports whether the broker runs without SASL and ACLs.
func (b *Broker) NoAuth() bool { return b.cfg.NoAuth }

// Partitions is the number of partitions of each topic created at start.
func (b *Broker) Partitions() int32 { return b.cfg.Partitions }

// Service is the pipeline principal's credentials (meaningless with NoAuth).
func (b *Broker) Service() Credentials { return b.cfg.Service }

// Customer is the customer principal's credentials (meaningless with NoAuth).
func (b *Broker) Customer() Credentials { return b.cfg.Customer }

// ServiceKafka is the client configuration of the pipeline principal.
func (b *Broker) ServiceKafka() kafka.Config { return b.clientConfig(b.cfg.Service) }

// CustomerKafka is the client configuration of the customer principal.
func (b *Broker) CustomerKafka() kafka.Config { return b.clientConfig(b.cfg.Customer) }

// OperatorKafka is the client configuration of the broker's superuser. It stands in for an operator who logs
// in to MSK with IAM, which Kafka ACLs do not govern: it may do what no service or customer may, such as read
// the dead-letter topics. The pipeline never uses it.
func (b *Broker) OperatorKafka() kafka.Config { return b.clientConfig(b.admin) }

func (b *Broker) clientConfig(c Credentials) kafka.Config {
	kc := kafka.Config{Brokers: []string{b.addr}, Auth: kafka.AuthNone}
	if !b.cfg.NoAuth {
		kc.Auth, kc.Username, kc.Password = kafka.AuthSCRAM, c.User, c.Password
	}
	return kc
}

// Cluster is the underlying kfake cluster, for fault injection in tests.
func (b *Broker) Cluster() *kfake.Cluster { return b.cluster }

// Close stops the broker; with a DataDir it first writes its state (records, offsets, ACLs) to disk.
func (b *Broker) Close() { b.cluster.Close() }

// adminClient logs in as the broker's own superuser to set the broker up.
func (b *Broker) adminClient() (*kgo.Client, error) {
	opts := append([]kgo.Opt{kgo.SeedBrokers(b.addr), kgo.ClientID("finfeed-broker-setup")}, b.DialOpts()...)
	if !b.cfg.NoAuth {
		opts = append(opts, kgo.SASL(scram.Auth{User: b.admin.User, Pass: b.admin.Password}.AsSha512Mechanism()))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("broker setup client: %w", err)
	}
	return cl, nil
}
