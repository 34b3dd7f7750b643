package search

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/opensearch-project/opensearch-go/v4/signer/awsv2"

	"github.com/finfeed/finfeed/shared/secrets"
)

// Deps are the pieces some configurations need; zero values are fine for AuthNone.
type Deps struct {
	// AWS signs requests for AuthSigV4 (the function's role and region).
	AWS aws.Config
	// Secrets resolves Config.SecretARN for AuthBasic.
	Secrets secrets.Manager
	// Transport replaces the default HTTP transport (tests, custom CAs).
	Transport http.RoundTripper
}

// Client talks to one OpenSearch endpoint. It is safe for concurrent use and meant to be built once per
// execution environment.
type Client struct {
	os  *opensearch.Client
	cfg Config
	// httpClient and username/password reach Dashboards, which is not behind the OpenSearch client.
	httpClient *http.Client
	username   string
	password   string
	signDash   func(*http.Request) error
}

// NewClient builds a client for cfg. It does not contact the server.
func NewClient(ctx context.Context, cfg Config, deps Deps) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	oc := opensearch.Config{
		Addresses:             []string{cfg.URL},
		Transport:             deps.Transport,
		DisableRetry:          true, // Bulk retries with its own backoff and item-level checks
		HealthCheckMaxRetries: -1,
		DiscoverNodesOnStart:  opensearch.ToPointer(false),
		Context:               context.WithoutCancel(ctx),
	}
	c := &Client{cfg: cfg, httpClient: &http.Client{Transport: deps.Transport}}
	switch cfg.Auth {
	case AuthSigV4:
		if deps.AWS.Credentials == nil {
			return nil, errors.New("opensearch sigv4 auth: no AWS credentials provider")
		}
		if deps.AWS.Region == "" {
			return nil, errors.New("opensearch sigv4 auth: no AWS region (set AWS_REGION)")
		}
		s, err := awsv2.NewSignerWithService(deps.AWS, cfg.Service)
		if err != nil {
			return nil, fmt.Errorf("opensearch sigv4 signer: %w", err)
		}
		oc.Signer = s
		c.signDash = s.SignRequest
	case AuthBasic:
		user, pass := cfg.Username, cfg.Password
		if cfg.SecretARN != "" {
			up, err := deps.Secrets.UserPassword(ctx, cfg.SecretARN)
			if err != nil {
				return nil, fmt.Errorf("opensearch basic auth credentials: %w", err)
			}
			user, pass = up.Username, up.Password
		}
		oc.Username, oc.Password = user, pass
		c.username, c.password = user, pass
	}
	osc, err := opensearch.NewClient(oc)
	if err != nil {
		return nil, fmt.Errorf("new opensearch client: %w", err)
	}
	c.os = osc
	return c, nil
}

// Config is the configuration the client was built with.
func (c *Client) Config() Config { return c.cfg }

// Close stops the client's background work.
func (c *Client) Close() error {
	if err := c.os.Close(); err != nil {
		return fmt.Errorf("close opensearch client: %w", err)
	}
	return nil
}

// StatusError is a response with an unexpected HTTP status. The body is kept short and never includes
// request data.
type StatusError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("opensearch %s %s: status %d: %s", e.Method, e.Path, e.Status, e.Body)
}

// Retryable reports whether the request may succeed if sent again: throttling or a server-side fault.
func (e *StatusError) Retryable() bool { return retryableStatus(e.Status) }

func retryableStatus(s int) bool { return s == http.StatusTooManyRequests || s >= 500 }

// ErrUnavailable wraps transport failures (connection refused, timeouts): transient.
var ErrUnavailable = errors.New("opensearch unavailable")

// do sends one request and returns the status and body. A transport failure wraps ErrUnavailable; any status
// is returned to the caller to judge.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body []byte, contentType string) (int, []byte, error) {
	u := path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("opensearch %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
		req.ContentLength = int64(len(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	resp, err := c.os.Perform(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %s %s: %w", ErrUnavailable, method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("%w: %s %s: read response: %w", ErrUnavailable, method, path, err)
	}
	return resp.StatusCode, data, nil
}

// expectOK sends a request and turns any non-2xx status into a *StatusError.
func (c *Client) expectOK(ctx context.Context, method, path string, body []byte) ([]byte, error) {
	status, data, err := c.do(ctx, method, path, nil, body, "application/json")
	if err != nil {
		return nil, err
	}
	if status < 200 || status > 299 {
		return data, &StatusError{Method: method, Path: path, Status: status, Body: short(data)}
	}
	return data, nil
}

// short keeps error bodies readable in logs.
func short(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// IsRetryable reports whether err is a transient OpenSearch fault: the batch should be retried, not dead-lettered.
func IsRetryable(err error) bool {
	if errors.Is(err, ErrUnavailable) || errors.Is(err, ErrRetriesExhausted) {
		return true
	}
	var se *StatusError
	return errors.As(err, &se) && se.Retryable()
}
