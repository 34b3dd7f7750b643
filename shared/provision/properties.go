package provision

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Target says which cluster a request is about: an MSK cluster ARN (brokers looked up through the MSK API) or
// a bootstrap list (any Kafka, e.g. in tests).
type Target struct {
	ClusterArn string
	Brokers    []string
}

// ID is the stable physical resource id for the target. It only changes when the cluster does, so an update
// on the same cluster never makes CloudFormation delete the old resource (and its ACLs) afterwards.
func (t Target) ID() string {
	if t.ClusterArn != "" {
		return "finfeed-kafka:" + t.ClusterArn
	}
	return "finfeed-kafka:" + strings.Join(t.Brokers, ",")
}

// Property defaults, used when the template leaves one out.
const (
	DefaultPartitions        = 6
	DefaultReplication       = 3
	DefaultRetentionHours    = 7 * 24
	DefaultDLQRetentionHours = 14 * 24
)

// userName is what MSK accepts as a SCRAM user name, and what keeps a principal from smuggling ACL syntax.
var userName = regexp.MustCompile(`^[A-Za-z0-9_.@-]{1,128}$`)

var topicName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,249}$`)

// ParseProperties reads the custom resource's properties. CloudFormation sends every scalar as a string, so
// numbers and booleans are parsed from strings (plain JSON numbers are accepted too). Every problem is
// reported together.
//
//	ClusterArn | BootstrapServers      which cluster
//	RawTopic, EnhancedTopic, RawDlqTopic, EnhancedDlqTopic, CandlesTopic   names (defaults raw, enhanced,
//	                                   raw.dlq, enhanced.dlq, candles)
//	Partitions, ReplicationFactor, RetentionHours, DlqRetentionHours
//	Customers                          SCRAM user names (list or comma-separated)
//	IngesterUser, EnrichUser, IndexUser   SCRAM users of our services, when they do not use IAM
//	EnrichGroup, IndexGroup, IndexCandlesGroup   the consumer groups of the event sources (defaults
//	                                   finfeed-enrich, finfeed-index, finfeed-index-candles)
//	DeleteTopicsOnDelete               "true" to delete the topics with the stack
func ParseProperties(p map[string]any) (Spec, Target, error) {
	r := reader{p: p}
	for k := range p {
		if !knownProperties[k] {
			r.fail("unknown property %q", k)
		}
	}
	var t Target
	t.ClusterArn = r.str("ClusterArn", "")
	t.Brokers = r.list("BootstrapServers")
	switch {
	case t.ClusterArn == "" && len(t.Brokers) == 0:
		r.fail("ClusterArn or BootstrapServers: one is required")
	case t.ClusterArn != "" && len(t.Brokers) > 0:
		r.fail("ClusterArn and BootstrapServers: set one, not both")
	case t.ClusterArn != "" && !strings.HasPrefix(t.ClusterArn, "arn:"):
		r.fail("ClusterArn: %q is not an ARN", t.ClusterArn)
	}

	d := DefaultSettings()
	set := Settings{
		RawTopic:          r.str("RawTopic", d.RawTopic),
		EnhancedTopic:     r.str("EnhancedTopic", d.EnhancedTopic),
		RawDLQTopic:       r.str("RawDlqTopic", d.RawDLQTopic),
		EnhancedDLQTopic:  r.str("EnhancedDlqTopic", d.EnhancedDLQTopic),
		CandlesTopic:      r.str("CandlesTopic", d.CandlesTopic),
		EnrichGroup:       r.str("EnrichGroup", d.EnrichGroup),
		IndexGroup:        r.str("IndexGroup", d.IndexGroup),
		IndexCandlesGroup: r.str("IndexCandlesGroup", d.IndexCandlesGroup),
		IngesterUser:      r.user("IngesterUser"),
		EnrichUser:        r.user("EnrichUser"),
		IndexUser:         r.user("IndexUser"),
		DeleteTopics:      r.boolean("DeleteTopicsOnDelete"),
	}
	names := []string{set.RawTopic, set.EnhancedTopic, set.RawDLQTopic, set.EnhancedDLQTopic, set.CandlesTopic}
	for _, n := range names {
		if !topicName.MatchString(n) {
			r.fail("topic name %q: want 1-249 of A-Z a-z 0-9 . _ -", n)
		}
	}
	if len(slices.Compact(slices.Sorted(slices.Values(names)))) != len(names) {
		r.fail("topic names must differ, got %s", strings.Join(names, ", "))
	}
	set.Partitions = int32(r.integer("Partitions", int64(d.Partitions), 1, 10000))
	set.Replication = int16(r.integer("ReplicationFactor", int64(d.Replication), 1, 32))
	set.RetentionHours = r.integer("RetentionHours", d.RetentionHours, 1, 100*365*24)
	set.DLQRetentionHours = r.integer("DlqRetentionHours", d.DLQRetentionHours, 1, 100*365*24)
	for _, c := range r.list("Customers") {
		if !userName.MatchString(c) {
			r.fail("Customers: %q is not a valid SCRAM user name", c)
			continue
		}
		set.Customers = append(set.Customers, c)
	}
	if err := set.Validate(); err != nil {
		r.fail("Customers: %v", err)
	}
	return set.Spec(), t, errors.Join(r.errs...)
}

// knownProperties are the property names ParseProperties reads, plus those CloudFormation adds (ServiceToken,
// ServiceTimeout), NetworkRoute, which the template sets only to order resources, and CustomerConnectivity,
// which it sets only so that switching the cluster's multi-VPC connectivity sends an Update (and the bootstrap
// strings are read again). Anything else is a typo that would otherwise fall back to a default silently.
var knownProperties = map[string]bool{
	"ServiceToken": true, "ServiceTimeout": true, "NetworkRoute": true, "CustomerConnectivity": true,
	"ClusterArn": true, "BootstrapServers": true, "RawTopic": true, "EnhancedTopic": true, "RawDlqTopic": true,
	"EnhancedDlqTopic": true, "CandlesTopic": true, "Partitions": true, "ReplicationFactor": true, "RetentionHours": true,
	"DlqRetentionHours": true, "Customers": true, "IngesterUser": true, "EnrichUser": true, "IndexUser": true,
	"EnrichGroup": true, "IndexGroup": true, "IndexCandlesGroup": true, "DeleteTopicsOnDelete": true,
}

type reader struct {
	p    map[string]any
	errs []error
}

func (r *reader) fail(format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf(format, args...))
}

func (r *reader) str(key, def string) string {
	switch v := r.p[key].(type) {
	case nil:
		return def
	case string:
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
		return def
	default:
		r.fail("%s: want a string, got %T", key, v)
		return def
	}
}

func (r *reader) user(key string) string {
	u := r.str(key, "")
	if u != "" && !userName.MatchString(u) {
		r.fail("%s: %q is not a valid SCRAM user name", key, u)
		return ""
	}
	return u
}

func (r *reader) list(key string) []string {
	var items []string
	switch v := r.p[key].(type) {
	case nil:
	case string:
		items = strings.Split(v, ",")
	case []any:
		for _, x := range v {
			s, ok := x.(string)
			if !ok {
				r.fail("%s: want strings, got %T", key, x)
				continue
			}
			items = append(items, s)
		}
	default:
		r.fail("%s: want a list of strings, got %T", key, v)
	}
	var out []string
	for _, s := range items {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (r *reader) integer(key string, def, lo, hi int64) int64 {
	var n int64
	switch v := r.p[key].(type) {
	case nil:
		return def
	case string:
		if strings.TrimSpace(v) == "" {
			return def
		}
		var err error
		if n, err = strconv.ParseInt(strings.TrimSpace(v), 10, 64); err != nil {
			r.fail("%s: %q is not a whole number", key, v)
			return def
		}
	case float64:
		if v != math.Trunc(v) {
			r.fail("%s: %v is not a whole number", key, v)
			return def
		}
		n = int64(v)
	default:
		r.fail("%s: want a number, got %T", key, v)
		return def
	}
	if n < lo || n > hi {
		r.fail("%s: %d is outside %d..%d", key, n, lo, hi)
		return def
	}
	return n
}

func (r *reader) boolean(key string) bool {
	switch v := r.p[key].(type) {
	case nil:
		return false
	case bool:
		return v
	case string:
		if strings.TrimSpace(v) == "" {
			return false
		}
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			r.fail("%s: %q is not true or false", key, v)
		}
		return b
	default:
		r.fail("%s: want true or false, got %T", key, v)
		return false
	}
}
