// Package kafka builds franz-go clients for finfeed's topics from one validated configuration: brokers,
// authentication (none, SASL/SCRAM-SHA-512, MSK IAM) and TLS.
package kafka

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
)

// Auth is a client authentication mode.
type Auth string

// The supported modes.
const (
	AuthNone  Auth = "none"  // local brokers
	AuthSCRAM Auth = "scram" // SASL/SCRAM-SHA-512, as MSK offers it (credentials from Secrets Manager in AWS)
	AuthIAM   Auth = "iam"   // MSK IAM (AWS_MSK_IAM) with the function's role
)

// Config is how to reach and log in to the brokers.
type Config struct {
	Brokers []string
	Auth    Auth
	// Username and Password, or SecretARN (an MSK SCRAM secret {"username","password"}), for AuthSCRAM.
	Username  string
	Password  string
	SecretARN string
	TLS       bool
	ClientID  string
}

// Load reads KAFKA_BROKERS, KAFKA_AUTH (default none), KAFKA_USERNAME, KAFKA_PASSWORD, KAFKA_SECRET_ARN,
// KAFKA_TLS (default on for scram and iam, off for none) and KAFKA_CLIENT_ID, and validates them; every problem
// is reported in one joined error.
func Load(getenv func(string) string) (Config, error) {
	c := Config{
		Auth:      Auth(strings.ToLower(strings.TrimSpace(getenv("KAFKA_AUTH")))),
		Username:  getenv("KAFKA_USERNAME"),
		Password:  getenv("KAFKA_PASSWORD"),
		SecretARN: strings.TrimSpace(getenv("KAFKA_SECRET_ARN")),
		ClientID:  getenv("KAFKA_CLIENT_ID"),
	}
	var errs []error
	c.Brokers = SplitList(getenv("KAFKA_BROKERS"))
	if c.Auth == "" {
		c.Auth = AuthNone
	}
	c.TLS = c.Auth != AuthNone
	if v := strings.TrimSpace(getenv("KAFKA_TLS")); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("KAFKA_TLS: %q is not a boolean", v))
		}
		c.TLS = b
	}
	errs = append(errs, c.Validate())
	return c, errors.Join(errs...)
}

// Validate reports every problem with c.
func (c Config) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("KAFKA_BROKERS: required (comma-separated host:port list)"))
	}
	for _, b := range c.Brokers {
		if i := strings.LastIndexByte(b, ':'); i <= 0 || i == len(b)-1 {
			errs = append(errs, fmt.Errorf("KAFKA_BROKERS: %q is not host:port", b))
		}
	}
	switch c.Auth {
	case AuthNone, AuthIAM:
	case AuthSCRAM:
		hasUser := c.Username != "" || c.Password != ""
		switch {
		case c.SecretARN != "" && hasUser:
			errs = append(errs, errors.New("KAFKA_SECRET_ARN and KAFKA_USERNAME/KAFKA_PASSWORD: set one, not both"))
		case c.SecretARN == "" && (c.Username == "" || c.Password == ""):
			errs = append(errs, errors.New("KAFKA_AUTH=scram needs KAFKA_SECRET_ARN, or KAFKA_USERNAME and KAFKA_PASSWORD"))
		}
	default:
		errs = append(errs, fmt.Errorf("KAFKA_AUTH: %q is not one of none, scram, iam", c.Auth))
	}
	return errors.Join(errs...)
}

// LogValue shows the configuration without its password.
func (c Config) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("brokers", strings.Join(c.Brokers, ",")),
		slog.String("auth", string(c.Auth)),
		slog.Bool("tls", c.TLS),
	}
	if c.Username != "" {
		attrs = append(attrs, slog.String("username", c.Username))
	}
	if c.SecretARN != "" {
		attrs = append(attrs, slog.String("secretArn", c.SecretARN))
	}
	return slog.GroupValue(attrs...)
}

// String is LogValue's text, so fmt never prints the password either.
func (c Config) String() string { return c.LogValue().String() }

// SplitList splits a comma-separated list, trimming spaces and dropping empty items.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
