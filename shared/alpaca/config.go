// Package alpaca adapts Alpaca's market data to finfeed: the bar stream (MessagePack over a websocket), REST
// minute and daily bars, and the credentials and endpoints both need.
package alpaca

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"

	"github.com/finfeed/finfeed/shared/secrets"
)

// Feeds Alpaca serves bars on.
const (
	FeedIEX  = "iex"
	FeedSIP  = "sip"
	FeedTest = "test" // Alpaca's always-on test stream (symbol FAKEPACA); it has no REST history
)

// Default endpoints. The trading API's default is the paper-trading one: paper keys (free, and enough for the
// IEX feed) work only there; live keys need https://api.alpaca.markets. Both serve the same asset list.
const (
	DefaultStreamURL = "wss://stream.data.alpaca.markets/v2"
	DefaultDataURL   = "https://data.alpaca.markets"
	DefaultAPIURL    = "https://paper-api.alpaca.markets"
)

// AllSymbols is the SYMBOLS value that subscribes to every symbol on the feed.
const AllSymbols = "*"

// Config is where Alpaca is and how to log in.
type Config struct {
	Feed      string
	StreamURL string // base URL; the feed is appended: <StreamURL>/<Feed>
	DataURL   string // REST base URL
	APIURL    string // trading API base URL: the asset list that SYMBOLS=* backfills
	Symbols   []string
	// Key and Secret, or SecretARN (a Secrets Manager secret {"key": "...", "secret": "..."}).
	Key       string
	Secret    string
	SecretARN string
}

// Load reads ALPACA_FEED (default iex), ALPACA_STREAM_URL, ALPACA_DATA_URL, ALPACA_API_URL (default
// DefaultAPIURL; https, or http to a loopback host), SYMBOLS (comma list or *), ALPACA_API_KEY, ALPACA_API_SECRET
// and ALPACA_SECRET_ARN; every problem is reported together.
func Load(getenv func(string) string) (Config, error) {
	c := Config{
		Feed:      strings.ToLower(orDefault(getenv("ALPACA_FEED"), FeedIEX)),
		StreamURL: strings.TrimRight(orDefault(getenv("ALPACA_STREAM_URL"), DefaultStreamURL), "/"),
		DataURL:   strings.TrimRight(orDefault(getenv("ALPACA_DATA_URL"), DefaultDataURL), "/"),
		APIURL:    strings.TrimRight(orDefault(getenv("ALPACA_API_URL"), DefaultAPIURL), "/"),
		Key:       strings.TrimSpace(getenv("ALPACA_API_KEY")),
		Secret:    strings.TrimSpace(getenv("ALPACA_API_SECRET")),
		SecretARN: strings.TrimSpace(getenv("ALPACA_SECRET_ARN")),
	}
	for _, s := range strings.Split(getenv("SYMBOLS"), ",") {
		if s = strings.ToUpper(strings.TrimSpace(s)); s != "" {
			c.Symbols = append(c.Symbols, s)
		}
	}
	return c, c.Validate()
}

// Validate reports every problem with c.
func (c Config) Validate() error {
	var errs []error
	switch c.Feed {
	case FeedIEX, FeedSIP, FeedTest:
	default:
		errs = append(errs, fmt.Errorf("ALPACA_FEED: %q is not one of iex, sip, test", c.Feed))
	}
	errs = append(errs,
		validURL("ALPACA_STREAM_URL", c.StreamURL, "wss", "ws", DefaultStreamURL),
		validURL("ALPACA_DATA_URL", c.DataURL, "https", "http", DefaultDataURL),
		validURL("ALPACA_API_URL", c.APIURL, "https", "http", DefaultAPIURL))
	if len(c.Symbols) == 0 {
		errs = append(errs, errors.New("SYMBOLS: required (comma-separated symbols, or *)"))
	}
	if c.AllSymbols() && len(c.Symbols) > 1 {
		errs = append(errs, errors.New("SYMBOLS: * cannot be combined with other symbols"))
	}
	hasKey := c.Key != "" || c.Secret != ""
	switch {
	case c.SecretARN != "" && hasKey:
		errs = append(errs, errors.New("ALPACA_SECRET_ARN and ALPACA_API_KEY/ALPACA_API_SECRET: set one, not both"))
	case c.SecretARN == "" && (c.Key == "" || c.Secret == ""):
		errs = append(errs, errors.New("ALPACA_API_KEY and ALPACA_API_SECRET, or ALPACA_SECRET_ARN: required"))
	}
	return errors.Join(errs...)
}

// AllSymbols reports whether c subscribes to every symbol.
func (c Config) AllSymbols() bool { return len(c.Symbols) == 1 && c.Symbols[0] == AllSymbols }

// WithCredentials returns c with Key and Secret filled from SecretARN when one is set.
func (c Config) WithCredentials(ctx context.Context, sm secrets.Manager) (Config, error) {
	if c.SecretARN == "" {
		return c, nil
	}
	var kv struct {
		Key    string `json:"key"`
		Secret string `json:"secret"`
	}
	if err := sm.JSON(ctx, c.SecretARN, &kv); err != nil {
		return c, fmt.Errorf("alpaca credentials: %w", err)
	}
	if kv.Key == "" || kv.Secret == "" {
		return c, fmt.Errorf("alpaca credentials: secret %s: %w: want keys key and secret", c.SecretARN, secrets.ErrMalformed)
	}
	c.Key, c.Secret = kv.Key, kv.Secret
	return c, nil
}

// LogValue shows the configuration without the key or secret.
func (c Config) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("feed", c.Feed),
		slog.String("streamUrl", c.StreamURL),
		slog.String("dataUrl", c.DataURL),
		slog.String("apiUrl", c.APIURL),
		slog.Int("symbols", len(c.Symbols)),
		slog.Bool("allSymbols", c.AllSymbols()),
	}
	if c.SecretARN != "" {
		attrs = append(attrs, slog.String("secretArn", c.SecretARN))
	}
	return slog.GroupValue(attrs...)
}

// String is LogValue's text, so fmt never prints the secret either.
func (c Config) String() string { return c.LogValue().String() }

// validURL accepts an absolute URL with the secure scheme, or the plain one to a loopback host (a local fake):
// the API keys travel over every Alpaca connection, so they never cross a network in the clear. The URL is not
// quoted back: it may carry user information.
func validURL(name, v, secure, plain, example string) error {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" {
		return fmt.Errorf("%s: want an absolute URL with no credentials or query, e.g. %s", name, example)
	}
	switch {
	case u.Scheme == secure:
		return nil
	case u.Scheme == plain && loopback(u.Hostname()):
		return nil
	case u.Scheme == plain:
		return fmt.Errorf("%s: %s is only for a loopback host (the API keys travel over it), got host %q; use %s", name, plain, u.Hostname(), secure)
	default:
		return fmt.Errorf("%s: scheme %q is not supported (%s)", name, u.Scheme, secure)
	}
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func orDefault(v, def string) string {
	if v = strings.TrimSpace(v); v != "" {
		return v
	}
	return def
}
