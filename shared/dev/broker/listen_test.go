package broker_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/finfeed/finfeed/shared/dev/broker"
	"github.com/finfeed/finfeed/shared/topics"
)

// advertisedHost resolves nowhere (.invalid is reserved for that), as host.docker.internal does on a Linux host.
const advertisedHost = "finfeed-broker.invalid"

// TestAdvertise: the broker listens where Addr says, tells clients the advertised host in metadata, its own
// clients (DialOpts) still work although that name resolves nowhere here, and a client elsewhere that resolves
// the name to the listener (a container with host.docker.internal) produces and reads as the service.
func TestAdvertise(t *testing.T) {
	// 127.0.0.2 is loopback too on Linux: listening there proves the listen host is used rather than 127.0.0.1
	b := start(t, broker.Config{Addr: "127.0.0.2:0", Advertise: advertisedHost, Customer: broker.Credentials{User: "customer"}})
	host, port, err := net.SplitHostPort(b.Addr())
	if err != nil || host != advertisedHost {
		t.Fatalf("Addr() = %q, want %s:PORT", b.Addr(), advertisedHost)
	}
	if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
		c.Close()
		t.Errorf("127.0.0.1:%s accepted a connection: the broker should listen on 127.0.0.2 only", port)
	}

	// the broker's own clients: set up ran (topics exist), and the service produces
	ctx := ctxTimeout(t)
	own := client(t, b.ServiceKafka(), b.DialOpts()...)
	if err := produce(ctx, own, topics.Raw, "from the host"); err != nil {
		t.Fatalf("produce with DialOpts: %v", err)
	}
	meta, err := kadm.NewClient(own).BrokerMetadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(meta.Brokers) != 1 || meta.Brokers[0].Host != advertisedHost || net.JoinHostPort(meta.Brokers[0].Host, port) != b.Addr() {
		t.Errorf("metadata brokers = %+v, want %s", meta.Brokers, b.Addr())
	}

	// a client elsewhere: its resolver maps the advertised name to the broker's address
	var asked []string
	resolve := kgo.Dialer(func(ctx context.Context, network, addr string) (net.Conn, error) {
		asked = append(asked, addr)
		h, p, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if h == advertisedHost {
			h = "127.0.0.2"
		}
		var d net.Dialer
		return d.DialContext(ctx, network, net.JoinHostPort(h, p))
	})
	container := client(t, b.ServiceKafka(), resolve)
	if err := produce(ctx, container, topics.Raw, "from a container"); err != nil {
		t.Fatalf("produce through the advertised name: %v", err)
	}
	for _, a := range asked {
		if a != b.Addr() {
			t.Errorf("the client dialed %s, want only the advertised %s", a, b.Addr())
		}
	}
	got, err := readAll(ctx, b.OperatorKafka(), topics.Raw, 2, b.DialOpts()...)
	if err != nil || strings.Join(got, ",") != "from the host,from a container" {
		t.Errorf("raw holds %q (%v), want both records", got, err)
	}

	// and without either the advertised name goes nowhere
	short, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	lost := client(t, b.ServiceKafka(), kgo.SeedBrokers("127.0.0.2:"+port))
	if err := produce(short, lost, topics.Raw, "lost"); err == nil {
		t.Errorf("a client that cannot resolve %s produced anyway", advertisedHost)
	} else if !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), advertisedHost) {
		t.Logf("produce without the advertised name failed: %v", err)
	}
}

// TestListenEveryInterface: a wildcard listen address with an advertised host serves on loopback too, and the
// broker's own clients reach it.
func TestListenEveryInterface(t *testing.T) {
	b := start(t, broker.Config{Addr: "0.0.0.0:0", Advertise: advertisedHost})
	ctx := ctxTimeout(t)
	if err := produce(ctx, client(t, b.ServiceKafka(), b.DialOpts()...), topics.Raw, "v"); err != nil {
		t.Fatalf("produce: %v", err)
	}
}
