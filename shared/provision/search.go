package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/cfn"

	"github.com/finfeed/finfeed/shared/search"
)

// SearchSetupType is the custom resource that does OpenSearch's admin side at deploy time: the index template,
// the retention policy, and the write-only role mapped to the index function's IAM role. The provision
// function's role is the domain's master user (fine-grained access control); the index function is not.
const SearchSetupType = "Custom::SearchSetup"

// searchIDPrefix starts the physical id of a SearchSetup resource (then the domain's URL).
const searchIDPrefix = "finfeed-search:"

// SearchSetter applies the template and retention policy of cfg and maps search.WriterRole to writers.
type SearchSetter func(ctx context.Context, cfg search.Config, writers []string) error

// SearchSetup is the SearchSetter of the Lambda: a SigV4 client with deps (the function's role) per request.
func SearchSetup(deps search.Deps) SearchSetter {
	return func(ctx context.Context, cfg search.Config, writers []string) (err error) {
		c, err := search.NewClient(ctx, cfg, deps)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, c.Close()) }()
		if _, err := c.Setup(ctx); err != nil {
			return err
		}
		return c.GrantWriter(ctx, writers)
	}
}

// ParseSearchProperties reads a SearchSetup resource's properties: OpenSearchUrl, IndexAlias, IndexPrefix,
// IndexLayout and RetentionMonths (as the index function's OPENSEARCH_URL, INDEX_ALIAS, INDEX_PREFIX,
// OPENSEARCH_INDEX_LAYOUT and OPENSEARCH_RETENTION_MONTHS, validated by the same code) and WriterRoleArns (the
// IAM roles to map to the writer role). Requests are signed with SigV4. Every problem is reported together.
func ParseSearchProperties(p map[string]any) (search.Config, []string, error) {
	str := func(k string) string {
		s, _ := p[k].(string)
		return strings.TrimSpace(s)
	}
	env := map[string]string{
		"OPENSEARCH_URL":              str("OpenSearchUrl"),
		"OPENSEARCH_AUTH":             string(search.AuthSigV4),
		"INDEX_ALIAS":                 str("IndexAlias"),
		"INDEX_PREFIX":                str("IndexPrefix"),
		"OPENSEARCH_INDEX_LAYOUT":     str("IndexLayout"),
		"OPENSEARCH_RETENTION_MONTHS": str("RetentionMonths"),
	}
	cfg, err := search.Load(func(k string) string { return env[k] })
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	var writers []string
	list, ok := p["WriterRoleArns"].([]any)
	if !ok || len(list) == 0 {
		errs = append(errs, errors.New("WriterRoleArns: required, a list of IAM role ARNs"))
	}
	for i, v := range list {
		s, _ := v.(string)
		if !strings.HasPrefix(s, "arn:") || !strings.Contains(s, ":role/") {
			errs = append(errs, fmt.Errorf("WriterRoleArns[%d]: %q is not an IAM role ARN", i, s))
			continue
		}
		writers = append(writers, s)
	}
	return cfg, writers, errors.Join(errs...)
}

// respondSearch handles a SearchSetup request. Create and Update apply everything again (it is idempotent);
// Delete leaves the domain alone: the stack deletes the domain it created, roles and all.
func (h *Handler) respondSearch(ctx context.Context, ev cfn.Event, resp cfn.Response) cfn.Response {
	log := h.logger().With("requestType", ev.RequestType, "logicalId", ev.LogicalResourceID, "requestId", ev.RequestID)
	if ev.RequestType == cfn.RequestDelete {
		log.Info("delete: the domain keeps its setup until it is deleted", "physicalId", ev.PhysicalResourceID)
		return resp
	}
	if ev.RequestType != cfn.RequestCreate && ev.RequestType != cfn.RequestUpdate {
		h.fail(&resp, ev, fmt.Errorf("unknown request type %q", ev.RequestType))
		return resp
	}
	cfg, writers, err := ParseSearchProperties(ev.ResourceProperties)
	if err != nil {
		if ev.RequestType == cfn.RequestCreate {
			resp.PhysicalResourceID = failedIDPrefix + ev.RequestID
		}
		h.fail(&resp, ev, fmt.Errorf("invalid properties: %w", err))
		return resp
	}
	resp.PhysicalResourceID = searchIDPrefix + cfg.URL
	if h.Search == nil {
		h.fail(&resp, ev, errors.New("opensearch setup is not configured in this function"))
		return resp
	}
	if err := h.Search(ctx, cfg, writers); err != nil {
		h.fail(&resp, ev, fmt.Errorf("opensearch setup of %s: %w", cfg.URL, err))
		return resp
	}
	resp.Data = map[string]any{"Url": cfg.URL}
	log.Info("opensearch set up", "url", cfg.URL, "writerRole", search.WriterRole, "writers", writers)
	return resp
}
