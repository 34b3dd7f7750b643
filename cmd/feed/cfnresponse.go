package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

func init() {
	register("cfnresponse", "stand in for CloudFormation: take one custom-resource response (sam local invoke of the provision function), check and print it", runCFNResponse)
}

// maxCFNResponse is the largest response body CloudFormation accepts from a custom resource.
const maxCFNResponse = 4096

// cfnResponse is what a custom resource PUTs to its ResponseURL.
type cfnResponse struct {
	Status             string         `json:"Status"`
	Reason             string         `json:"Reason,omitempty"`
	PhysicalResourceID string         `json:"PhysicalResourceId"`
	StackID            string         `json:"StackId"`
	RequestID          string         `json:"RequestId"`
	LogicalResourceID  string         `json:"LogicalResourceId"`
	NoEcho             bool           `json:"NoEcho,omitempty"`
	Data               map[string]any `json:"Data,omitempty"`
}

// runCFNResponse is `feed cfnresponse --listen HOST:PORT [--event FILE] [--timeout D]`: it serves the custom
// resource's ResponseURL locally, takes one PUT, checks it as CloudFormation would (and against the request in
// --event), prints it, and exits 0 for a valid SUCCESS, 1 for FAILED, an invalid response or none in time.
func runCFNResponse(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("feed cfnresponse", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8089", "HOST:PORT to listen on (the ResponseURL's port; 0.0.0.0 so a container reaches it)")
	eventFile := fs.String("event", "", "the custom-resource request sent (e.g. events/provision-create.json): the response must answer it")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up when no response came in this time")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 || *timeout <= 0 {
		fmt.Fprintln(stderr, "feed cfnresponse: want --listen HOST:PORT [--event FILE] [--timeout D>0], nothing else")
		return exitUsage
	}
	var request *cfnResponse
	if *eventFile != "" {
		data, err := os.ReadFile(*eventFile)
		if err == nil {
			request = &cfnResponse{}
			err = json.Unmarshal(data, request)
		}
		if err != nil {
			fmt.Fprintf(stderr, "feed cfnresponse: --event: %v\n", err)
			return exitUsage
		}
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "feed cfnresponse: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "cfnresponse: waiting for one custom-resource response on http://%s\n", ln.Addr())
	body, err := takeOnePut(ctx, ln, *timeout)
	if err != nil {
		fmt.Fprintf(stderr, "feed cfnresponse: %v\n", err)
		return exitFailure
	}
	resp, err := checkCFNResponse(body, request)
	if err != nil {
		fmt.Fprintf(stderr, "feed cfnresponse: invalid response: %v\n%s\n", err, body)
		return exitFailure
	}
	if resp.NoEcho {
		for k := range resp.Data {
			resp.Data[k] = "*****"
		}
	}
	out, err := json.MarshalIndent(resp, "", "  ")
	if err != nil {
		fmt.Fprintf(stderr, "feed cfnresponse: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "%s\n", out)
	if resp.Status != "SUCCESS" {
		fmt.Fprintf(stdout, "cfnresponse: FAILED for %s: %s\n", resp.LogicalResourceID, resp.Reason)
		return exitFailure
	}
	fmt.Fprintf(stdout, "cfnresponse: SUCCESS for %s (physical id %s)\n", resp.LogicalResourceID, resp.PhysicalResourceID)
	return exitOK
}

// takeOnePut serves ln until one PUT arrives (answered 200, as S3's presigned URL does) and returns its body.
func takeOnePut(ctx context.Context, ln net.Listener, timeout time.Duration) ([]byte, error) {
	got := make(chan []byte, 1)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut {
			http.Error(w, "a custom-resource response is a PUT", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		select {
		case got <- body:
		default: // a second response: CloudFormation keeps the first
		}
	})}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(os.Stderr, "feed cfnresponse: serve: %v\n", err)
		}
	}()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			srv.Close()
		}
	}()
	select {
	case b := <-got:
		return b, nil
	case <-time.After(timeout):
		return nil, fmt.Errorf("no response within %v", timeout)
	case <-ctx.Done():
		return nil, fmt.Errorf("stopped before a response came: %w", ctx.Err())
	}
}

// checkCFNResponse checks a response body as CloudFormation does: at most 4096 bytes of JSON, Status SUCCESS or
// FAILED (with a Reason), the identifying fields set, and, given the request, the same stack, request and
// logical resource.
func checkCFNResponse(body []byte, request *cfnResponse) (cfnResponse, error) {
	var r cfnResponse
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, fmt.Errorf("not a custom-resource response: %w", err)
	}
	var errs []error
	if len(body) > maxCFNResponse {
		errs = append(errs, fmt.Errorf("%d bytes, CloudFormation accepts at most %d", len(body), maxCFNResponse))
	}
	switch r.Status {
	case "SUCCESS":
	case "FAILED":
		if r.Reason == "" {
			errs = append(errs, errors.New("FAILED without a Reason"))
		}
	default:
		errs = append(errs, fmt.Errorf("Status %q is not SUCCESS or FAILED", r.Status))
	}
	for _, f := range [][2]string{{"PhysicalResourceId", r.PhysicalResourceID}, {"StackId", r.StackID}, {"RequestId", r.RequestID}, {"LogicalResourceId", r.LogicalResourceID}} {
		if f[1] == "" {
			errs = append(errs, fmt.Errorf("%s is empty", f[0]))
		}
	}
	if len(r.PhysicalResourceID) > 1024 {
		errs = append(errs, fmt.Errorf("PhysicalResourceId is %d bytes, at most 1024", len(r.PhysicalResourceID)))
	}
	if request != nil && (r.StackID != request.StackID || r.RequestID != request.RequestID || r.LogicalResourceID != request.LogicalResourceID) {
		errs = append(errs, fmt.Errorf("answers %s/%s/%s, the request was %s/%s/%s", r.StackID, r.RequestID, r.LogicalResourceID,
			request.StackID, request.RequestID, request.LogicalResourceID))
	}
	return r, errors.Join(errs...)
}
