package loader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/finfeed/finfeed/shared/alpaca"
	"github.com/finfeed/finfeed/shared/awsconfig"
	"github.com/finfeed/finfeed/shared/prevclose"
)

// Config is the loader's configuration, read once at start.
type Config struct {
	Alpaca         alpaca.Config
	PrevCloseTable string
	LookbackDays   int
}

// Source is the provenance written with each item.
const Source = "alpaca:1Day:split"

// Load reads alpaca.Load's ALPACA_* and SYMBOLS (an explicit list: the loader cannot enumerate "*"),
// PREV_CLOSE_TABLE (required) and LOOKBACK_DAYS (default 10). Every problem is reported together.
func Load(getenv func(string) string) (Config, error) {
	var errs []error
	ac, err := alpaca.Load(getenv)
	errs = append(errs, err)
	c := Config{Alpaca: ac, PrevCloseTable: strings.TrimSpace(getenv("PREV_CLOSE_TABLE")), LookbackDays: 10}
	if c.PrevCloseTable == "" {
		errs = append(errs, errors.New("PREV_CLOSE_TABLE: required"))
	}
	if ac.AllSymbols() {
		errs = append(errs, errors.New("SYMBOLS: the loader needs an explicit list, not *"))
	}
	if v := strings.TrimSpace(getenv("LOOKBACK_DAYS")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 366 {
			errs = append(errs, fmt.Errorf("LOOKBACK_DAYS: %q is not a number of days in 1..366", v))
		} else {
			c.LookbackDays = n
		}
	}
	return c, errors.Join(errs...)
}

// LogValue shows the configuration without secrets.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("alpaca", c.Alpaca), slog.String("prevCloseTable", c.PrevCloseTable),
		slog.Int("lookbackDays", c.LookbackDays))
}

// New builds the loader on AWS clients from the default configuration (AWS_ENDPOINT_URL_DYNAMODB points it at
// a local DynamoDB) and resolves the Alpaca credentials.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Loader, error) {
	awsCfg, err := awsconfig.Load(ctx)
	if err != nil {
		return nil, err
	}
	return NewWith(ctx, cfg, log, awsCfg)
}

// NewWith is New on a given AWS configuration. With ALPACA_SECRET_ARN the keys are read again at every
// invocation (Loader.Rekey).
func NewWith(ctx context.Context, cfg Config, log *slog.Logger, awsCfg awsconfig.Config) (*Loader, error) {
	ac, err := cfg.Alpaca.WithCredentials(ctx, awsCfg.Secrets)
	if err != nil {
		return nil, err
	}
	store := prevclose.NewDynamoDB(dynamodb.NewFromConfig(awsCfg.AWS), cfg.PrevCloseTable)
	store.Source = Source
	l := &Loader{Bars: alpaca.NewREST(ac, restTimeout), Store: store, Snapshots: store, Symbols: ac.Symbols,
		Lookback: cfg.LookbackDays, Log: log}
	if cfg.Alpaca.SecretARN != "" {
		// keys from Secrets Manager may be rotated while the container is warm: read them again per invocation
		l.Rekey = func(ctx context.Context) (DailyBars, error) {
			now, err := cfg.Alpaca.WithCredentials(ctx, awsCfg.Secrets)
			if err != nil {
				return nil, err
			}
			if now.Key == ac.Key && now.Secret == ac.Secret {
				return nil, nil
			}
			ac = now
			return alpaca.NewREST(now, restTimeout), nil
		}
	}
	return l, nil
}

// restTimeout bounds one Alpaca REST request.
const restTimeout = 30 * time.Second
