package provision_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/aws"
	msk "github.com/aws/aws-sdk-go-v2/service/kafka"

	"github.com/finfeed/finfeed/shared/kafka"
	"github.com/finfeed/finfeed/shared/provision"
)

var unreachable provision.Dialer = func(context.Context, provision.Target) (provision.Cluster, error) {
	return provision.Cluster{}, errors.New("dial tcp 10.0.0.1:9098: i/o timeout")
}

func TestRespond(t *testing.T) {
	good := map[string]any{"BootstrapServers": "127.0.0.1:1", "Customers": "acme"}
	goodID := "finfeed-kafka:127.0.0.1:1"
	tests := []struct {
		name       string
		ev         cfn.Event
		dial       provision.Dialer
		wantStatus cfn.StatusType
		wantID     string
		wantReason string
	}{
		{
			name:       "create with bad properties fails with every problem",
			ev:         cfn.Event{RequestType: cfn.RequestCreate, RequestID: "r1", ResourceProperties: map[string]any{"Partitions": "-1"}},
			wantStatus: cfn.StatusFailed, wantID: "finfeed-kafka-failed:r1", wantReason: "ClusterArn or BootstrapServers",
		},
		{
			name:       "create on an unreachable cluster fails",
			ev:         cfn.Event{RequestType: cfn.RequestCreate, RequestID: "r2", ResourceProperties: good},
			dial:       unreachable,
			wantStatus: cfn.StatusFailed, wantID: goodID, wantReason: "i/o timeout",
		},
		{
			name:       "delete after a failed create touches nothing",
			ev:         cfn.Event{RequestType: cfn.RequestDelete, PhysicalResourceID: "finfeed-kafka-failed:r1", ResourceProperties: map[string]any{"Partitions": "-1"}},
			wantStatus: cfn.StatusSuccess, wantID: "finfeed-kafka-failed:r1",
		},
		{
			name:       "delete on an unreachable cluster still succeeds",
			ev:         cfn.Event{RequestType: cfn.RequestDelete, PhysicalResourceID: goodID, ResourceProperties: good},
			dial:       unreachable,
			wantStatus: cfn.StatusSuccess, wantID: goodID, wantReason: "left behind",
		},
		{
			name:       "update with bad properties fails and keeps the id",
			ev:         cfn.Event{RequestType: cfn.RequestUpdate, PhysicalResourceID: goodID, ResourceProperties: map[string]any{"ClusterArn": "x"}},
			wantStatus: cfn.StatusFailed, wantID: goodID, wantReason: "not an ARN",
		},
		{
			name:       "unknown request type",
			ev:         cfn.Event{RequestType: "Replace", PhysicalResourceID: goodID, ResourceProperties: good},
			wantStatus: cfn.StatusFailed, wantID: goodID, wantReason: "unknown request type",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dial := tt.dial
			if dial == nil {
				dial = func(context.Context, provision.Target) (provision.Cluster, error) {
					t.Error("Dial called, want no cluster access")
					return provision.Cluster{}, errors.New("not here")
				}
			}
			h := &provision.Handler{Dial: dial}
			got := h.Respond(context.Background(), tt.ev)
			if got.Status != tt.wantStatus || got.PhysicalResourceID != tt.wantID || !strings.Contains(got.Reason, tt.wantReason) {
				t.Errorf("Respond = status %s id %q reason %q, want %s %q containing %q", got.Status, got.PhysicalResourceID, got.Reason, tt.wantStatus, tt.wantID, tt.wantReason)
			}
		})
	}
}

func TestSendResponse(t *testing.T) {
	ev := cfn.Event{RequestType: cfn.RequestDelete, RequestID: "r", PhysicalResourceID: "finfeed-kafka-failed:x"}
	t.Run("retries a 5xx", func(t *testing.T) {
		r := newResponder(t)
		r.fail = 2
		ev := ev
		ev.ResponseURL = r.url()
		if err := (&provision.Handler{RetryWait: time.Millisecond}).Handle(context.Background(), ev); err != nil {
			t.Fatalf("Handle = %v, want nil after retries", err)
		}
		wantSuccess(t, r, "delete")
	})
	t.Run("a 403 is an error without the signature", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "SignatureDoesNotMatch", http.StatusForbidden)
		}))
		t.Cleanup(srv.Close)
		ev := ev
		ev.ResponseURL = srv.URL + "/x?X-Amz-Signature=s3cr3t-signature"
		err := (&provision.Handler{RetryWait: time.Millisecond}).Handle(context.Background(), ev)
		if !errors.Is(err, provision.ErrResponse) || !strings.Contains(err.Error(), "403") {
			t.Fatalf("Handle = %v, want ErrResponse with the status", err)
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("error %q leaks the pre-signed URL", err)
		}
	})
	t.Run("connection refused is an error without the signature", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		dead := srv.URL
		srv.Close()
		ev := ev
		ev.ResponseURL = dead + "/x?X-Amz-Signature=s3cr3t-signature"
		err := (&provision.Handler{RetryWait: time.Millisecond}).Handle(context.Background(), ev)
		if err == nil || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("Handle = %v, want an error that does not quote the URL", err)
		}
	})
}

// TestBrokers talks to an httptest server speaking the MSK REST API (GET /v1/clusters/{arn}/bootstrap-brokers).
func TestBrokers(t *testing.T) {
	arn := "arn:aws:kafka:us-east-1:111122223333:cluster/finfeed/abc-1"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/v1/clusters/"+arn+"/bootstrap-brokers" {
			t.Errorf("request %s %s, want GET of the cluster's bootstrap-brokers", r.Method, r.URL.EscapedPath())
		}
		if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256") {
			t.Errorf("Authorization = %q, want a SigV4 signature", r.Header.Get("Authorization"))
		}
		w.Header().Set("Content-Type", "application/json")
		_, err := w.Write([]byte(`{"bootstrapBrokerStringSaslIam":"b-1:9098,b-2:9098","bootstrapBrokerStringSaslScram":"b-1:9096,b-2:9096","bootstrapBrokerStringVpcConnectivitySaslScram":"b-1:14001"}`))
		if err != nil {
			t.Errorf("write: %v", err)
		}
	}))
	t.Cleanup(srv.Close)
	api := msk.New(msk.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret"}, nil
		})})
	tests := []struct {
		auth        kafka.Auth
		wantBrokers string
		wantErr     error
	}{
		{auth: kafka.AuthIAM, wantBrokers: "b-1:9098,b-2:9098"},
		{auth: kafka.AuthSCRAM, wantBrokers: "b-1:9096,b-2:9096"},
		{auth: kafka.AuthNone, wantErr: provision.ErrNoBrokers},
	}
	for _, tt := range tests {
		t.Run(string(tt.auth), func(t *testing.T) {
			data, brokers, err := provision.Brokers(context.Background(), api, arn, tt.auth)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got := strings.Join(brokers, ","); got != tt.wantBrokers {
				t.Errorf("brokers = %q, want %q", got, tt.wantBrokers)
			}
			want := map[string]any{
				provision.AttrBrokers: tt.wantBrokers, provision.AttrBrokersIAM: "b-1:9098,b-2:9098", provision.AttrBrokersSCRAM: "b-1:9096,b-2:9096",
				provision.AttrBrokersVPCSCRAM: "b-1:14001", provision.AttrBrokersPlain: "none",
				provision.AttrTopicArnPrefix: "arn:aws:kafka:us-east-1:111122223333:topic/finfeed/abc-1",
				provision.AttrGroupArnPrefix: "arn:aws:kafka:us-east-1:111122223333:group/finfeed/abc-1",
			}
			for k, v := range want {
				if data[k] != v {
					t.Errorf("data[%s] = %v, want %v", k, data[k], v)
				}
			}
		})
	}
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{name: "iam", env: map[string]string{"KAFKA_AUTH": "iam"}},
		{name: "brokers are per request", env: map[string]string{"KAFKA_AUTH": "iam", "KAFKA_BROKERS": ""}},
		{name: "scram without credentials", env: map[string]string{"KAFKA_AUTH": "scram"}, wantErr: "KAFKA_SECRET_ARN"},
		{name: "unknown auth", env: map[string]string{"KAFKA_AUTH": "kerberos"}, wantErr: "KAFKA_AUTH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := provision.Load(func(k string) string { return tt.env[k] })
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Load = %v, want nil", err)
				}
				if !cfg.Kafka.TLS || cfg.Kafka.Brokers != nil {
					t.Errorf("Kafka = %+v, want TLS on and no brokers", cfg.Kafka)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Load = %v, want an error mentioning %s", err, tt.wantErr)
			}
		})
	}
}
