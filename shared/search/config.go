package search

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/finfeed/finfeed/shared/topics"
)

// Auth is how requests to OpenSearch are authenticated.
type Auth string

// The supported modes.
const (
	AuthSigV4 Auth = "sigv4" // Amazon OpenSearch Service, signed with the function's role
	AuthBasic Auth = "basic" // fine-grained access control user (credentials from Secrets Manager in AWS)
	AuthNone  Auth = "none"  // a local test server
)

// DefaultAlias is the alias over every bar index.
const DefaultAlias = "bars"

// DefaultCandlesAlias is the alias over every candle index: named as the topic they come from.
const DefaultCandlesAlias = topics.Candles

// Layout is how bars are spread over indexes.
type Layout string

// The layouts.
const (
	// LayoutMonthly writes a bar to <prefix><alias>-YYYY.MM, the UTC month of its start time: a handful of
	// indexes whatever the number of symbols, and whole months to delete when they age out.
	LayoutMonthly Layout = "monthly"
	// LayoutPerSymbol writes a bar to <prefix><lower-case symbol>, the reference's layout: one index (and
	// shard) per symbol, and no retention.
	LayoutPerSymbol Layout = "per-symbol"
)

// DefaultRetentionMonths is how many months of bars the monthly layout keeps unless told otherwise: a quarter
// of history for charts, and storage that stays bounded at whole-market size (the arithmetic is in
// docs/opensearch.md).
const DefaultRetentionMonths = 3

// maxRetentionMonths bounds OPENSEARCH_RETENTION_MONTHS (a century) so the policy's age stays a sane number.
const maxRetentionMonths = 1200

// Config is how to reach OpenSearch and how indexes are named.
type Config struct {
	// URL is the domain endpoint, e.g. https://vpc-finfeed-xyz.us-east-1.es.amazonaws.com. HTTPS is required
	// unless the host is a loopback address.
	URL  string
	Auth Auth
	// SecretARN (a secret {"username","password"}) or Username and Password, for AuthBasic.
	SecretARN string
	Username  string
	Password  string
	// Service is the SigV4 signing name: es (managed domains, the default) or aoss (serverless).
	Service string
	// DashboardsURL is where OpenSearch Dashboards serves its API (default URL + /_dashboards, as on Amazon
	// OpenSearch Service).
	DashboardsURL string
	// Prefix goes first in index names: before the alias in monthly names (finfeed-bars-2024.07), before the
	// lower-case symbol per symbol (empty: the reference's names, e.g. amzn).
	Prefix string
	// Alias covers every bar index.
	Alias string
	// CandlesAlias covers every candle index (empty: DefaultCandlesAlias): candles always go to monthly indexes
	// <prefix><CandlesAlias>-YYYY.MM (Candles is the configuration that names them).
	CandlesAlias string
	// Layout is how bars are spread over indexes; empty means LayoutMonthly.
	Layout Layout
	// RetentionMonths, in the monthly layout, is how many months every bar is kept at least: an Index State
	// Management policy deletes a month's index (RetentionMonths+1)×31 days after it was created. 0 keeps
	// everything (no policy).
	RetentionMonths int

	// candles marks the configuration Candles returns: it names the candle template and retention policy.
	candles bool
}

// Candles is the configuration of the candle indexes: c's endpoint, prefix and retention with CandlesAlias as the
// alias, in the monthly layout whatever c.Layout says (a candle's index is the UTC month of its start, as a
// bar's; in the per-symbol layout, which has no retention, candles are kept too).
func (c Config) Candles() Config {
	cc := c
	cc.Alias, cc.CandlesAlias, cc.Layout, cc.candles = c.candlesAlias(), c.candlesAlias(), LayoutMonthly, true
	return cc
}

// candlesAlias is c.CandlesAlias with the zero value resolved.
func (c Config) candlesAlias() string {
	if c.CandlesAlias == "" {
		return DefaultCandlesAlias
	}
	return c.CandlesAlias
}

// Load reads OPENSEARCH_URL, OPENSEARCH_AUTH (sigv4, basic or none; default sigv4), OPENSEARCH_SECRET_ARN,
// OPENSEARCH_USERNAME, OPENSEARCH_PASSWORD, OPENSEARCH_SERVICE (default es), OPENSEARCH_DASHBOARDS_URL,
// INDEX_PREFIX, INDEX_ALIAS (default bars), CANDLES_ALIAS (default candles), OPENSEARCH_INDEX_LAYOUT (monthly or per-symbol, default monthly)
// and OPENSEARCH_RETENTION_MONTHS (default DefaultRetentionMonths in the monthly layout on a managed domain, 0
// otherwise). Every problem is reported together.
func Load(getenv func(string) string) (Config, error) {
	c := Config{
		URL:           strings.TrimRight(strings.TrimSpace(getenv("OPENSEARCH_URL")), "/"),
		Auth:          Auth(strings.ToLower(strings.TrimSpace(getenv("OPENSEARCH_AUTH")))),
		SecretARN:     strings.TrimSpace(getenv("OPENSEARCH_SECRET_ARN")),
		Username:      getenv("OPENSEARCH_USERNAME"),
		Password:      getenv("OPENSEARCH_PASSWORD"),
		Service:       strings.TrimSpace(getenv("OPENSEARCH_SERVICE")),
		DashboardsURL: strings.TrimRight(strings.TrimSpace(getenv("OPENSEARCH_DASHBOARDS_URL")), "/"),
		Prefix:        strings.TrimSpace(getenv("INDEX_PREFIX")),
		Alias:         strings.TrimSpace(getenv("INDEX_ALIAS")),
		CandlesAlias:  strings.TrimSpace(getenv("CANDLES_ALIAS")),
		Layout:        Layout(strings.ToLower(strings.TrimSpace(getenv("OPENSEARCH_INDEX_LAYOUT")))),
	}
	if c.Layout == "" {
		c.Layout = LayoutMonthly
	}
	if c.Auth == "" {
		c.Auth = AuthSigV4
	}
	if c.Service == "" {
		c.Service = "es"
	}
	if c.Alias == "" {
		c.Alias = DefaultAlias
	}
	if c.DashboardsURL == "" && c.URL != "" {
		c.DashboardsURL = c.URL + "/_dashboards"
	}
	var perr error
	switch v := strings.TrimSpace(getenv("OPENSEARCH_RETENTION_MONTHS")); {
	case v != "":
		n, err := strconv.Atoi(v)
		if err != nil {
			perr = fmt.Errorf("OPENSEARCH_RETENTION_MONTHS: %q is not a whole number of months", v)
		}
		c.RetentionMonths = n
	case c.Layout == LayoutMonthly && !c.serverless():
		c.RetentionMonths = DefaultRetentionMonths
	}
	return c, errors.Join(perr, c.Validate())
}

// serverless reports an OpenSearch Serverless collection, which has no Index State Management.
func (c Config) serverless() bool { return c.Auth == AuthSigV4 && c.Service == "aoss" }

// Validate reports every problem with c.
func (c Config) Validate() error {
	var errs []error
	if c.URL == "" {
		errs = append(errs, errors.New("OPENSEARCH_URL: required"))
	} else if err := checkURL(c.URL); err != nil {
		errs = append(errs, fmt.Errorf("OPENSEARCH_URL: %w", err))
	}
	if c.DashboardsURL != "" && c.DashboardsURL != c.URL+"/_dashboards" {
		if err := checkURL(c.DashboardsURL); err != nil {
			errs = append(errs, fmt.Errorf("OPENSEARCH_DASHBOARDS_URL: %w", err))
		}
	}
	switch c.Auth {
	case AuthSigV4:
		if c.Service != "es" && c.Service != "aoss" {
			errs = append(errs, fmt.Errorf("OPENSEARCH_SERVICE: %q is not es or aoss", c.Service))
		}
	case AuthBasic:
		hasUser := c.Username != "" || c.Password != ""
		switch {
		case c.SecretARN != "" && hasUser:
			errs = append(errs, errors.New("OPENSEARCH_SECRET_ARN and OPENSEARCH_USERNAME/OPENSEARCH_PASSWORD: set one, not both"))
		case c.SecretARN == "" && (c.Username == "" || c.Password == ""):
			errs = append(errs, errors.New("OPENSEARCH_AUTH=basic needs OPENSEARCH_SECRET_ARN, or OPENSEARCH_USERNAME and OPENSEARCH_PASSWORD"))
		}
	case AuthNone:
	default:
		errs = append(errs, fmt.Errorf("OPENSEARCH_AUTH: %q is not one of sigv4, basic, none", c.Auth))
	}
	if err := checkIndexName(c.Prefix + "a"); c.Prefix != "" && err != nil {
		errs = append(errs, fmt.Errorf("INDEX_PREFIX: %w", err))
	}
	aliasErr := checkIndexName(c.Alias)
	if aliasErr != nil {
		errs = append(errs, fmt.Errorf("INDEX_ALIAS: %w", aliasErr))
	}
	if ca := c.candlesAlias(); !c.candles {
		switch err := checkIndexName(ca); {
		case err != nil:
			errs = append(errs, fmt.Errorf("CANDLES_ALIAS: %w", err))
		case ca == c.Alias:
			errs = append(errs, fmt.Errorf("CANDLES_ALIAS: %q is INDEX_ALIAS too: candles need their own alias", ca))
		case c.layout() == LayoutMonthly && (strings.HasPrefix(ca+"-", c.Alias+"-") || strings.HasPrefix(c.Alias+"-", ca+"-")):
			errs = append(errs, fmt.Errorf("CANDLES_ALIAS: %q and INDEX_ALIAS %q: one's monthly indexes would match the other's pattern", ca, c.Alias))
		case c.layout() == LayoutPerSymbol && c.Prefix != "" && strings.HasPrefix(ca, c.Prefix):
			errs = append(errs, fmt.Errorf("CANDLES_ALIAS: %q starts with INDEX_PREFIX %q, so it could clash with a symbol's index", ca, c.Prefix))
		case checkIndexName(c.Prefix+ca+"-2006.01") != nil:
			errs = append(errs, fmt.Errorf("INDEX_PREFIX and CANDLES_ALIAS: monthly index name: %w", checkIndexName(c.Prefix+ca+"-2006.01")))
		}
	}
	switch c.Layout {
	case "", LayoutMonthly:
		if aliasErr == nil {
			if err := checkIndexName(c.monthlyBase() + "2006.01"); err != nil {
				errs = append(errs, fmt.Errorf("INDEX_PREFIX and INDEX_ALIAS: monthly index name: %w", err))
			}
		}
		switch {
		case c.RetentionMonths < 0 || c.RetentionMonths > maxRetentionMonths:
			errs = append(errs, fmt.Errorf("OPENSEARCH_RETENTION_MONTHS: %d is not between 0 (keep everything) and %d", c.RetentionMonths, maxRetentionMonths))
		case c.RetentionMonths > 0 && c.serverless():
			errs = append(errs, errors.New("OPENSEARCH_RETENTION_MONTHS: OpenSearch Serverless (OPENSEARCH_SERVICE=aoss) has no Index State Management: set 0 and use the collection's data lifecycle policy"))
		}
	case LayoutPerSymbol:
		if aliasErr == nil && c.Prefix != "" && strings.HasPrefix(c.Alias, c.Prefix) {
			errs = append(errs, fmt.Errorf("INDEX_ALIAS: %q starts with INDEX_PREFIX %q, so it could clash with a symbol's index", c.Alias, c.Prefix))
		}
		if c.RetentionMonths != 0 {
			errs = append(errs, fmt.Errorf("OPENSEARCH_RETENTION_MONTHS: %d with OPENSEARCH_INDEX_LAYOUT=per-symbol: retention deletes whole indexes and a symbol's index holds its whole history; use the monthly layout or 0", c.RetentionMonths))
		}
	default:
		errs = append(errs, fmt.Errorf("OPENSEARCH_INDEX_LAYOUT: %q is not monthly or per-symbol", c.Layout))
	}
	return errors.Join(errs...)
}

// dockerHost is the name Docker gives the host machine inside a container: an OpenSearch on the developer's
// machine as `sam local invoke` reaches it (events/index.env.json).
const dockerHost = "host.docker.internal"

// checkURL accepts https, and http only for a server on this machine: a loopback host, or the Docker host seen
// from a container.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a valid URL") // the text is not quoted: it may hold a password
	}
	if u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", u.Redacted())
	}
	if u.User != nil {
		return errors.New("credentials in the URL are not allowed: use OPENSEARCH_AUTH")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) && !strings.EqualFold(u.Hostname(), dockerHost) {
			return fmt.Errorf("%s: https is required for anything but a loopback host or %s", u.Host, dockerHost)
		}
	default:
		return fmt.Errorf("%q: scheme must be https", raw)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkIndexName applies OpenSearch's index naming rules.
func checkIndexName(name string) error {
	switch {
	case name == "":
		return errors.New("empty")
	case len(name) > 255:
		return fmt.Errorf("%q is longer than 255 bytes", name)
	case name != strings.ToLower(name):
		return fmt.Errorf("%q must be lower-case", name)
	case strings.ContainsAny(name, ` "*\<|,>/?#:`):
		return fmt.Errorf("%q contains a character OpenSearch does not allow in index names", name)
	case strings.HasPrefix(name, "_") || strings.HasPrefix(name, "-") || strings.HasPrefix(name, "+") || strings.HasPrefix(name, "."):
		return fmt.Errorf("%q must not start with _, -, + or .", name)
	}
	return nil
}

// LogValue shows the configuration without its password.
func (c Config) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("url", c.URL),
		slog.String("auth", string(c.Auth)),
		slog.String("prefix", c.Prefix),
		slog.String("alias", c.Alias),
		slog.String("candlesAlias", c.candlesAlias()),
		slog.String("layout", string(c.layout())),
		slog.Int("retentionMonths", c.RetentionMonths),
	}
	if c.Auth == AuthSigV4 {
		attrs = append(attrs, slog.String("service", c.Service))
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
