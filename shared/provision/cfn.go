package provision

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
)

// Cluster is a connection to the cluster a request is about.
type Cluster struct {
	Admin Admin
	// Data are the attributes handed back to the stack (bootstrap strings, for !GetAtt).
	Data  map[string]any
	Close func()
}

// Dialer connects to a target.
type Dialer func(ctx context.Context, t Target) (Cluster, error)

// Handler answers CloudFormation custom-resource requests (Create, Update, Delete) for the topics and ACLs,
// and for OpenSearch's admin side (SearchSetupType).
type Handler struct {
	Dial Dialer
	// Search does a SearchSetup request's work (nil: such requests fail).
	Search SearchSetter
	// HTTP sends the response to the pre-signed URL (http.DefaultClient when nil).
	HTTP *http.Client
	Log  *slog.Logger
	// Reserve is kept back from the Lambda deadline for sending the response (default 10s): CloudFormation
	// waits for a response, so one must go out even when the cluster hangs.
	Reserve time.Duration
	// RetryWait is the first pause between attempts to send the response (default 500ms, growing linearly).
	RetryWait time.Duration
}

const failedIDPrefix = "finfeed-kafka-failed:"

// maxReason keeps the response well under CloudFormation's 4096-byte limit.
const maxReason = 1500

// Handle is the Lambda entry point. It always sends a response to the pre-signed URL; it returns an error only
// when that fails, so Lambda retries the invocation.
func (h *Handler) Handle(ctx context.Context, ev cfn.Event) error {
	resp := h.Respond(ctx, ev)
	return h.send(ctx, ev.ResponseURL, resp)
}

// Respond does the work for one request and builds the response without sending it.
func (h *Handler) Respond(ctx context.Context, ev cfn.Event) (resp cfn.Response) {
	resp = cfn.Response{
		Status:             cfn.StatusSuccess,
		RequestID:          ev.RequestID,
		LogicalResourceID:  ev.LogicalResourceID,
		StackID:            ev.StackID,
		PhysicalResourceID: ev.PhysicalResourceID,
	}
	log := h.logger().With("requestType", ev.RequestType, "logicalId", ev.LogicalResourceID, "requestId", ev.RequestID)
	defer func() {
		if p := recover(); p != nil {
			log.Error("panic", "panic", p)
			h.fail(&resp, ev, fmt.Errorf("internal error: %v", p))
		}
	}()
	work, cancel := h.workContext(ctx)
	defer cancel()
	if ev.ResourceType == SearchSetupType {
		return h.respondSearch(work, ev, resp)
	}

	spec, target, err := ParseProperties(ev.ResourceProperties)
	switch ev.RequestType {
	case cfn.RequestCreate:
		resp.PhysicalResourceID = target.ID()
		if err != nil {
			resp.PhysicalResourceID = failedIDPrefix + ev.RequestID
			h.fail(&resp, ev, fmt.Errorf("invalid properties: %w", err))
			return resp
		}
		data, err := h.apply(work, target, spec, nil)
		if err != nil {
			h.fail(&resp, ev, err)
			return resp
		}
		resp.Data = data
		log.Info("created", "target", resp.PhysicalResourceID, "topics", len(spec.Topics), "acls", len(spec.ACLs()))
	case cfn.RequestUpdate:
		if err != nil {
			h.fail(&resp, ev, fmt.Errorf("invalid properties: %w", err))
			return resp
		}
		var revoke []ACL
		oldSpec, oldTarget, oldErr := ParseProperties(ev.OldResourceProperties)
		if oldErr == nil && oldTarget.ID() == target.ID() {
			revoke = Without(oldSpec.ACLs(), spec.ACLs())
		}
		// A new cluster gets a new physical id; CloudFormation then deletes the old resource, which
		// tears down the old cluster's ACLs with the old properties.
		resp.PhysicalResourceID = target.ID()
		data, err := h.apply(work, target, spec, revoke)
		if err != nil {
			h.fail(&resp, ev, err)
			return resp
		}
		resp.Data = data
		log.Info("updated", "target", resp.PhysicalResourceID, "revoked", len(revoke), "acls", len(spec.ACLs()))
	case cfn.RequestDelete:
		// Delete always reports success: a failed delete would leave the stack stuck in DELETE_FAILED or a
		// rollback unable to finish. What could not be removed is logged.
		if err != nil || strings.HasPrefix(ev.PhysicalResourceID, failedIDPrefix) || ev.PhysicalResourceID != target.ID() {
			log.Info("delete: nothing was provisioned under this id", "physicalId", ev.PhysicalResourceID)
			return resp
		}
		if err := h.teardown(work, target, spec); err != nil {
			log.Error("delete: left behind on the cluster", "err", err)
			resp.Reason = truncate("left behind: " + err.Error())
			return resp
		}
		log.Info("deleted", "target", ev.PhysicalResourceID, "topicsDeleted", spec.DeleteTopics)
	default:
		h.fail(&resp, ev, fmt.Errorf("unknown request type %q", ev.RequestType))
	}
	return resp
}

func (h *Handler) apply(ctx context.Context, t Target, s Spec, revoke []ACL) (map[string]any, error) {
	c, err := h.Dial(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", t.ID(), err)
	}
	defer c.Close()
	if err := Apply(ctx, c.Admin, s); err != nil {
		return nil, err
	}
	if err := Revoke(ctx, c.Admin, revoke); err != nil {
		return nil, err
	}
	return c.Data, nil
}

func (h *Handler) teardown(ctx context.Context, t Target, s Spec) error {
	c, err := h.Dial(ctx, t)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", t.ID(), err)
	}
	defer c.Close()
	return Teardown(ctx, c.Admin, s)
}

func (h *Handler) fail(resp *cfn.Response, ev cfn.Event, err error) {
	h.logger().Error("request failed", "requestType", ev.RequestType, "logicalId", ev.LogicalResourceID, "err", err)
	resp.Status = cfn.StatusFailed
	resp.Reason = truncate(err.Error())
	resp.Data = nil
}

func truncate(s string) string {
	if len(s) > maxReason {
		return s[:maxReason] + " ..."
	}
	return s
}

func (h *Handler) workContext(ctx context.Context) (context.Context, context.CancelFunc) {
	reserve := h.Reserve
	if reserve == 0 {
		reserve = 10 * time.Second
	}
	if d, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, d.Add(-reserve))
	}
	return context.WithCancel(ctx)
}

func (h *Handler) logger() *slog.Logger {
	if h.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Log
}

// ErrResponse means the response could not be delivered to CloudFormation.
var ErrResponse = errors.New("send custom resource response")

// send PUTs the response to the pre-signed S3 URL: no Content-Type (the signature does not cover one), a few
// attempts on network errors and 5xx.
func (h *Handler) send(ctx context.Context, dest string, resp cfn.Response) error {
	body, err := json.Marshal(resp)
	if err != nil {
		return fmt.Errorf("%w: encode: %w", ErrResponse, err)
	}
	client := h.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	wait := h.RetryWait
	if wait == 0 {
		wait = 500 * time.Millisecond
	}
	var last error
	for attempt := range 4 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("%w: %w (last: %w)", ErrResponse, ctx.Err(), last)
			case <-time.After(time.Duration(attempt) * wait):
			}
		}
		last = put(ctx, client, dest, body)
		if last == nil {
			h.logger().Info("response sent", "status", resp.Status, "physicalId", resp.PhysicalResourceID)
			return nil
		}
		var perm permanentError
		if errors.As(last, &perm) {
			break
		}
	}
	return fmt.Errorf("%w: %w", ErrResponse, last)
}

type permanentError struct{ error }

func put(ctx context.Context, client *http.Client, dest string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, dest, bytes.NewReader(body))
	if err != nil {
		// the URL carries a signature: never print it
		return permanentError{errors.New("bad response url")}
	}
	res, err := client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = fmt.Errorf("%s: %w", uerr.Op, uerr.Err) // drop the url (and its signature) from the message
		}
		return err
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16)); err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	switch {
	case res.StatusCode >= 500:
		return fmt.Errorf("status %s", res.Status)
	case res.StatusCode >= 300:
		return permanentError{fmt.Errorf("status %s", res.Status)}
	}
	return nil
}
