package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/finfeed/finfeed/shared/awsconfig"
	"github.com/finfeed/finfeed/shared/search"
)

func init() {
	register("opensearch", "set up OpenSearch (index template, alias, retention policy) and import the Dashboards saved objects", runOpenSearch)
}

// runOpenSearch is `feed opensearch setup|import-dashboards|saved-objects [flags]`. Connection settings come
// from the index function's environment (OPENSEARCH_URL, OPENSEARCH_AUTH, ...) and flags override them; a
// password is only ever read from OPENSEARCH_PASSWORD or a Secrets Manager secret, never from a flag.
func runOpenSearch(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	usage := func() {
		fmt.Fprintln(stderr, `usage: feed opensearch <action> [flags]

actions:
  setup              apply the index template (mapping, alias) and the retention policy (ISM) — idempotent;
                     with --writer-role-arn also the index function's write-only role and its mapping
  import-dashboards  import the index pattern, visualizations and dashboard into OpenSearch Dashboards
  saved-objects      print the saved objects (NDJSON) to import by hand`)
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		usage()
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	action := args[0]
	switch action {
	case "setup", "import-dashboards", "saved-objects":
	default:
		fmt.Fprintf(stderr, "feed opensearch: unknown action %q\n", action)
		usage()
		return exitUsage
	}
	fs := flag.NewFlagSet("feed opensearch "+action, flag.ContinueOnError)
	fs.SetOutput(stderr)
	over := map[string]*string{
		"OPENSEARCH_URL":            fs.String("url", "", "OpenSearch endpoint (env OPENSEARCH_URL)"),
		"OPENSEARCH_AUTH":           fs.String("auth", "", "sigv4, basic or none (env OPENSEARCH_AUTH, default sigv4)"),
		"OPENSEARCH_SECRET_ARN":     fs.String("secret-arn", "", "Secrets Manager secret {username,password} for basic auth (env OPENSEARCH_SECRET_ARN)"),
		"OPENSEARCH_USERNAME":       fs.String("username", "", "basic auth user; the password comes from env OPENSEARCH_PASSWORD"),
		"OPENSEARCH_DASHBOARDS_URL": fs.String("dashboards-url", "", "OpenSearch Dashboards base URL (default URL/_dashboards)"),
		"INDEX_PREFIX":              fs.String("prefix", "", "index name prefix (env INDEX_PREFIX)"),
		"INDEX_ALIAS":               fs.String("alias", "", "alias over all bar indexes (env INDEX_ALIAS, default bars)"),
		"OPENSEARCH_INDEX_LAYOUT":   fs.String("layout", "", "monthly or per-symbol (env OPENSEARCH_INDEX_LAYOUT, default monthly)"),
		"OPENSEARCH_RETENTION_MONTHS": fs.String("retention-months", "",
			"months every bar is kept in the monthly layout, 0 for ever (env OPENSEARCH_RETENTION_MONTHS, default 3)"),
	}
	var writers string
	if action == "setup" {
		fs.StringVar(&writers, "writer-role-arn", "", "IAM role ARN(s), comma-separated, of the index function: map them to the write-only role "+
			search.WriterRole+" (fine-grained access control; run as the domain's admin)")
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: feed opensearch %s [flags]\n", action)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "feed opensearch: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	getenv := func(k string) string {
		if v, ok := over[k]; ok && *v != "" {
			return *v
		}
		return os.Getenv(k)
	}
	if action == "saved-objects" {
		alias := strings.TrimSpace(getenv("INDEX_ALIAS"))
		if alias == "" {
			alias = search.DefaultAlias
		}
		candlesAlias := search.Config{CandlesAlias: strings.TrimSpace(getenv("CANDLES_ALIAS"))}.Candles().Alias
		data, err := search.SavedObjects(alias, candlesAlias)
		if err == nil {
			err = search.ValidateSavedObjects(data, alias, candlesAlias)
		}
		if err == nil {
			_, err = stdout.Write(data)
		}
		if err != nil {
			fmt.Fprintf(stderr, "feed opensearch: %v\n", err)
			return exitFailure
		}
		return exitOK
	}
	cfg, err := search.Load(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "feed opensearch: invalid configuration:\n%v\n", err)
		return exitUsage
	}
	client, err := openSearchClient(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "feed opensearch: %v\n", err)
		return exitFailure
	}
	defer func() {
		if err := client.Close(); err != nil {
			fmt.Fprintf(stderr, "feed opensearch: %v\n", err)
		}
	}()
	switch action {
	case "setup":
		applied, err := client.Setup(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "feed opensearch: %v\n", err)
			return exitFailure
		}
		fmt.Fprintf(stdout, "index template %s applied: indexes %s, alias %s\n", applied.Template,
			strings.Join(applied.Patterns, ","), cfg.Alias)
		if len(applied.Extended) > 0 {
			fmt.Fprintf(stdout, "existing indexes given the mapping's newer fields: %s\n", strings.Join(applied.Extended, ","))
		}
		switch {
		case applied.Policy == "":
			fmt.Fprintf(stdout, "retention: none (layout %s, retention %d months): indexes are kept until deleted by hand\n", cfg.Layout, cfg.RetentionMonths)
		default:
			fmt.Fprintf(stdout, "ism policy %s %s: indexes %s are deleted %d days after creation (every bar kept at least %d months)\n",
				applied.Policy, applied.PolicyChange, strings.Join(applied.Patterns, ","), cfg.RetentionDays(), cfg.RetentionMonths)
			if applied.PolicyChange == search.PolicyUpdated {
				fmt.Fprintf(stdout, "indexes created before this update keep the policy version they started with; to move them:\n"+
					"  POST _plugins/_ism/change_policy/%s {\"policy_id\": %q}\n", strings.Join(applied.Patterns, ","), applied.Policy)
			}
		}
		if ca := applied.Candles; ca != nil {
			fmt.Fprintf(stdout, "index template %s applied: indexes %s, alias %s\n", ca.Template, strings.Join(ca.Patterns, ","), cfg.Candles().Alias)
			if len(ca.Extended) > 0 {
				fmt.Fprintf(stdout, "existing candle indexes given the mapping's newer fields: %s\n", strings.Join(ca.Extended, ","))
			}
			if ca.Policy != "" {
				fmt.Fprintf(stdout, "ism policy %s %s: indexes %s are deleted %d days after creation\n",
					ca.Policy, ca.PolicyChange, strings.Join(ca.Patterns, ","), cfg.RetentionDays())
			}
		}
		if writers != "" {
			var arns []string
			for _, a := range strings.Split(writers, ",") {
				if a = strings.TrimSpace(a); a != "" {
					arns = append(arns, a)
				}
			}
			if err := client.GrantWriter(ctx, arns); err != nil {
				fmt.Fprintf(stderr, "feed opensearch: %v\n", err)
				return exitFailure
			}
			fmt.Fprintf(stdout, "role %s (write bars into %s, alias %s, and candles into %s, alias %s; nothing else) mapped to %s\n", search.WriterRole,
				strings.Join(applied.Patterns, ","), cfg.Alias, strings.Join(cfg.Candles().IndexPatterns(), ","), cfg.Candles().Alias, strings.Join(arns, ","))
		}
	case "import-dashboards":
		res, err := client.ImportDashboards(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "feed opensearch: %v\n", err)
			return exitFailure
		}
		fmt.Fprintf(stdout, "imported %d saved objects into %s\n", res.SuccessCount, cfg.DashboardsURL)
	}
	return exitOK
}

// openSearchClient loads AWS configuration only when the auth mode needs it.
func openSearchClient(ctx context.Context, cfg search.Config) (*search.Client, error) {
	var deps search.Deps
	if cfg.Auth == search.AuthSigV4 || cfg.SecretARN != "" {
		awsCfg, err := awsconfig.Load(ctx)
		if err != nil {
			return nil, err
		}
		deps.AWS, deps.Secrets = awsCfg.AWS, awsCfg.Secrets
	}
	return search.NewClient(ctx, cfg, deps)
}
