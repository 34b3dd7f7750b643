package kafka_test

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/finfeed/finfeed/shared/kafka"
)

// kfake has no AWS_MSK_IAM mechanism, so the broker side is played by control functions on the real wire
// protocol: the client must ask for AWS_MSK_IAM and send a SigV4-signed kafka-cluster:Connect made with the
// function's credentials (never the secret key itself).
func TestIAMLoginIsSigned(t *testing.T) {
	c := scramBroker(t) // SASL on, so the broker advertises SaslAuthenticate; the login itself is intercepted
	var (
		mu        sync.Mutex
		mechanism string
		payload   []byte
	)
	c.ControlKey(int16(kmsg.SASLHandshake), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		r := req.(*kmsg.SASLHandshakeRequest)
		mu.Lock()
		mechanism = r.Mechanism
		mu.Unlock()
		resp := r.ResponseKind().(*kmsg.SASLHandshakeResponse)
		resp.SupportedMechanisms = []string{"AWS_MSK_IAM"}
		return resp, nil, true
	})
	c.ControlKey(int16(kmsg.SASLAuthenticate), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		r := req.(*kmsg.SASLAuthenticateRequest)
		mu.Lock()
		payload = append([]byte(nil), r.SASLAuthBytes...)
		mu.Unlock()
		resp := r.ResponseKind().(*kmsg.SASLAuthenticateResponse)
		resp.ErrorCode = 58 // SASL_AUTHENTICATION_FAILED: we only inspect the attempt
		msg := "inspected by the test"
		resp.ErrorMessage = &msg
		return resp, nil, true
	})
	// The signer takes the region from the MSK broker host name, so the client is given an MSK-style name and
	// a dialer that reaches the local broker instead.
	cfg := kafka.Config{Brokers: []string{"b-1.finfeed.abc123.c2.kafka.us-east-1.amazonaws.com:9098"}, Auth: kafka.AuthIAM}
	local := c.ListenAddrs()[0]
	var d net.Dialer
	dial := kgo.Dialer(func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, local)
	})
	creds := credentials.NewStaticCredentialsProvider("AKIDFINFEEDTEST", "very-secret-key", "session-token")
	cl, err := kafka.NewClient(context.Background(), cfg, kafka.Deps{Credentials: creds}, dial, kgo.RequestRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := cl.Ping(ctx); err == nil {
		t.Fatal("ping succeeded although the broker refused the login")
	}
	mu.Lock()
	defer mu.Unlock()
	if mechanism != "AWS_MSK_IAM" {
		t.Fatalf("mechanism: got %q, want AWS_MSK_IAM", mechanism)
	}
	var signed map[string]string
	if err := json.Unmarshal(payload, &signed); err != nil {
		t.Fatalf("auth payload %q: %v", payload, err)
	}
	if signed["action"] != "kafka-cluster:Connect" || !strings.HasPrefix(signed["x-amz-credential"], "AKIDFINFEEDTEST/") ||
		signed["x-amz-security-token"] != "session-token" || signed["x-amz-signature"] == "" {
		t.Errorf("auth payload: %v", signed)
	}
	if strings.Contains(string(payload), "very-secret-key") {
		t.Error("the secret key was sent")
	}
}
