package datadog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	dd "github.com/DataDog/datadog-api-client-go/v2/api/datadog"
	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV1"
	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV2"
	"k8s.io/utils/clock"

	"github.com/roost-dev/roost/metrics"
)

// source names Datadog in every metrics.SourceError.
const source = "Datadog"

// DefaultTimeout bounds one call when Options.Timeout is 0.
const DefaultTimeout = 10 * time.Second

// The APIs a Client can query.
const (
	APIv2 = "v2"
	APIv1 = "v1"
)

// Options configure a Client.
type Options struct {
	Credentials Credentials
	// API is APIv2 (POST /api/v2/query/timeseries, the default) or APIv1
	// (GET /api/v1/query).
	API string
	// Timeout bounds one call (DefaultTimeout).
	Timeout time.Duration
	// Clock is the budget's time (default the real clock).
	Clock clock.PassiveClock
	// HTTPClient sends the requests (default a new http.Client); the
	// Client uses a copy whose Timeout is Timeout.
	HTTPClient *http.Client
	// MaxCallsPerMinute caps the calls of every rollout together, to spare
	// the org's shared quota; 0 leaves it to Datadog's X-RateLimit headers.
	MaxCallsPerMinute int
	// Interval is the poll interval: once Datadog fails on several queries
	// every call waits, doubling from 2 s, but never longer than half of
	// Interval (or DefaultFailureCap when that is longer or Interval is 0),
	// so that a recovering Datadog is seen, and every rollout fresh again,
	// within one interval.
	Interval time.Duration

	// jitter replaces the backoff's random part in tests.
	jitter func(time.Duration) time.Duration
}

// Client runs metric queries. It implements metrics.MetricSource and is safe
// for concurrent use; use one for every rollout, so that they share its
// call budget.
type Client struct {
	api     string
	address string
	timeout time.Duration
	keys    map[string]dd.APIKey
	v1      *datadogV1.MetricsApi
	v2      *datadogV2.MetricsApi
	budget  *budget
	// redact hides the keys should any text of a response carry them.
	redact *strings.Replacer
}

var _ metrics.MetricSource = (*Client)(nil)

// New checks opts and returns a client.
func New(opts Options) (*Client, error) {
	creds := opts.Credentials
	if creds.APIKey == "" || creds.AppKey == "" {
		return nil, missingEnv(creds.APIKey, creds.AppKey, nil)
	}
	if creds.Address == "" {
		creds.Address = DefaultAddress
	}
	address, err := normalizeAddress(creds.Address)
	if err != nil {
		return nil, credErrorf(ErrBadAddress, "address %q %v; set a URL such as %s", creds.Address, err, DefaultAddress)
	}
	api := opts.API
	switch api {
	case "":
		api = APIv2
	case APIv1, APIv2:
	default:
		return nil, fmt.Errorf("datadog.api %q: use v2 (the default) or v1", opts.API)
	}
	timeout := opts.Timeout
	switch {
	case timeout == 0:
		timeout = DefaultTimeout
	case timeout < 0:
		return nil, fmt.Errorf("datadog.timeout %s: use a positive duration such as 10s", timeout)
	}
	clk := opts.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	if opts.MaxCallsPerMinute < 0 {
		return nil, fmt.Errorf("datadog.maxCallsPerMinute %d: use 0 (no ceiling) or more", opts.MaxCallsPerMinute)
	}

	httpClient := withTimeout(opts.HTTPClient, timeout)
	cfg := dd.NewConfiguration()
	cfg.HTTPClient = httpClient
	// Any address, not only Datadog's sites (the site variable takes no other).
	cfg.Servers = dd.ServerConfigurations{{URL: address}}
	// The budget decides about retries, across every rollout.
	cfg.RetryConfiguration.EnableRetry = false
	api2 := dd.NewAPIClient(cfg)

	b := newBudget(clk, opts.MaxCallsPerMinute, opts.jitter)
	b.capFailures(opts.Interval / 2)
	return &Client{
		api:     api,
		address: address,
		timeout: timeout,
		keys: map[string]dd.APIKey{
			"apiKeyAuth": {Key: creds.APIKey},
			"appKeyAuth": {Key: creds.AppKey},
		},
		v1:     datadogV1.NewMetricsApi(api2),
		v2:     datadogV2.NewMetricsApi(api2),
		budget: b,
		redact: strings.NewReplacer(creds.APIKey, "<redacted>", creds.AppKey, "<redacted>"),
	}, nil
}

// QueryMetric sends exactly one request for q, unless the budget refuses
// it: then it returns at once a *metrics.SourceError with RetryAfter. On
// any error the returned Metric has Error set and Verdict NoData.
func (c *Client) QueryMetric(ctx context.Context, q metrics.MetricQuery) (metrics.Metric, error) {
	q = withDefaults(q)
	m := metrics.Metric{ID: q.ID, Name: q.Name, Unit: q.Unit, HigherIsWorse: q.HigherIsWorse}
	query, err := v1Query(q)
	if err != nil {
		return failed(m, err)
	}
	m.Query = query
	tk, wait, why := c.budget.reserve(query)
	if wait > 0 {
		return failed(m, &metrics.SourceError{
			Source:     source,
			Reason:     why,
			RetryAfter: wait,
			Global:     true,
		})
	}

	callCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	callCtx = context.WithValue(callCtx, dd.ContextAPIKeys, c.keys)
	var groups []group
	var resp *http.Response
	if c.api == APIv1 {
		var r datadogV1.MetricsQueryResponse
		r, resp, err = c.v1.QueryMetrics(callCtx, q.From.Unix(), q.To.Unix(), query)
		if err == nil {
			groups, err = v1Groups(r)
		}
	} else {
		var r datadogV2.TimeseriesFormulaQueryResponse
		r, resp, err = c.v2.QueryTimeseriesData(callCtx, v2Request(q))
		if err == nil {
			groups, err = v2Groups(r)
		}
	}
	if ctx.Err() != nil {
		// The caller gave up: that says nothing of Datadog.
		return failed(m, ctx.Err())
	}
	if err != nil {
		se, o := callFailure(err, resp, query, c.address, c.timeout)
		if wait := c.budget.record(tk, o); wait > 0 {
			se.RetryAfter, se.Global = wait, true
		}
		se.Reason = c.redact.Replace(se.Reason)
		return failed(m, se)
	}
	c.budget.record(tk, outcome{status: resp.StatusCode, limit: parseRateLimit(resp.Header)})
	canary, stable, err := split(groups, q)
	if err != nil {
		return failed(m, err)
	}
	m.Canary, m.Stable = canary, stable
	return m, nil
}

// withTimeout is a copy of c (a new client when nil) that gives up after
// timeout: the library's default client has no timeout at all.
func withTimeout(c *http.Client, timeout time.Duration) *http.Client {
	out := &http.Client{}
	if c != nil {
		copied := *c
		out = &copied
	}
	out.Timeout = timeout
	return out
}

func failed(m metrics.Metric, err error) (metrics.Metric, error) {
	m.Error = err.Error()
	m.Verdict = metrics.VerdictNoData
	return m, err
}

// withDefaults fills in what the contract says a zero value means.
func withDefaults(q metrics.MetricQuery) metrics.MetricQuery {
	if q.TagKey == "" {
		q.TagKey = metrics.DefaultTagKey
	}
	if q.CanaryValue == "" {
		q.CanaryValue = "canary"
	}
	if q.StableValue == "" {
		q.StableValue = "stable"
	}
	// A zero scale would turn every value into a healthy-looking 0.
	if q.Scale == 0 {
		q.Scale = 1
	}
	return q
}

func v2Request(q metrics.MetricQuery) datadogV2.TimeseriesFormulaQueryRequest {
	queries := make([]datadogV2.TimeseriesQuery, len(q.Queries))
	for i, nq := range q.Queries {
		mq := datadogV2.NewMetricsTimeseriesQuery(datadogV2.METRICSDATASOURCE_METRICS, nq.Query)
		if nq.Name != "" {
			mq.Name = dd.PtrString(nq.Name)
		}
		queries[i] = datadogV2.MetricsTimeseriesQueryAsTimeseriesQuery(mq)
	}
	attrs := datadogV2.NewTimeseriesFormulaRequestAttributes(q.From.UnixMilli(), queries, q.To.UnixMilli())
	if q.Formula != "" {
		attrs.Formulas = []datadogV2.QueryFormula{*datadogV2.NewQueryFormula(q.Formula)}
	}
	return *datadogV2.NewTimeseriesFormulaQueryRequest(
		*datadogV2.NewTimeseriesFormulaRequest(*attrs, datadogV2.TIMESERIESFORMULAREQUESTTYPE_TIMESERIES_REQUEST))
}

// callFailure says what a failed call to address means for a person, and
// what it means for the budget.
func callFailure(err error, resp *http.Response, query, address string, timeout time.Duration) (*metrics.SourceError, outcome) {
	se := &metrics.SourceError{Source: source, Err: err}
	if resp == nil {
		reason, cause := transportFailure(err, address, timeout)
		se.Reason = reason
		return se, outcome{failed: true, cause: cause}
	}
	status := resp.StatusCode
	se.Status = status
	o := outcome{status: status, limit: parseRateLimit(resp.Header)}
	var body []byte
	var apiErr dd.GenericOpenAPIError
	if errors.As(err, &apiErr) {
		body = apiErr.Body()
	}
	switch {
	case errors.Is(err, errShape):
		se.Reason = err.Error()
		o.failed, o.cause = true, "an unexpected response"
	case status < 300:
		se.Reason = "unexpected response from Datadog: " + describeBody(resp.Header.Get("Content-Type"), body)
		o.failed, o.cause = true, "an unexpected response"
	case status == http.StatusBadRequest:
		se.Reason = fmt.Sprintf("Datadog rejected the query (400): %s; the query: %s", describeBody(resp.Header.Get("Content-Type"), body), query)
		se.Permanent = true
	case status == http.StatusUnauthorized:
		se.Reason = "unauthorized (401): Datadog refused the keys; check DD_API_KEY and DD_APP_KEY (or api-key and app-key of the Secret), and that the address is your Datadog site's"
		se.Permanent = true
	case status == http.StatusForbidden:
		se.Reason = "forbidden (403): the API key or the application key is wrong, or the application key lacks the timeseries_query scope; check DD_API_KEY and DD_APP_KEY (or api-key and app-key of the Secret), and the key's scopes"
		se.Permanent = true
	case status == http.StatusNotFound:
		se.Reason = fmt.Sprintf("not found (404): is %s Datadog's API address? Set DD_SITE or datadog.address", address)
		se.Permanent = true
	case status == http.StatusTooManyRequests:
		se.Reason = "rate limited (429)"
	case status >= 500:
		se.Reason = fmt.Sprintf("Datadog server error (%d): %s", status, describeBody(resp.Header.Get("Content-Type"), body))
		o.failed, o.cause = true, fmt.Sprintf("HTTP %d", status)
	default:
		se.Reason = fmt.Sprintf("unexpected HTTP %d: %s", status, describeBody(resp.Header.Get("Content-Type"), body))
		se.Permanent = true
	}
	return se, o
}

// transportFailure says why no response came from address.
func transportFailure(err error, address string, timeout time.Duration) (reason, cause string) {
	var netErr net.Error
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Sprintf("timed out after %s", timeout), "a timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("cannot reach %s: connection refused", address), "an unreachable address"
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("cannot reach %s: no such host %s", address, dnsErr.Name), "an unreachable address"
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	return fmt.Sprintf("cannot reach %s: %v", address, err), "an unreachable address"
}

// describeBody is Datadog's own message from an error body
// ({"errors":[…]}), or what came instead, briefly.
func describeBody(contentType string, body []byte) string {
	body = bytes.TrimSpace(body)
	var apiErr struct {
		Errors []string `json:"errors"`
	}
	switch {
	case len(body) == 0:
		return "an empty body"
	case json.Unmarshal(body, &apiErr) == nil && len(apiErr.Errors) > 0:
		return strings.Join(apiErr.Errors, "; ")
	case !json.Valid(body):
		if contentType == "" {
			contentType = "no Content-Type"
		}
		return fmt.Sprintf("a body that is not JSON (%s, %d bytes)", contentType, len(body))
	}
	const most = 120
	if len(body) > most {
		return "JSON without errors: " + string(body[:most]) + "…"
	}
	return "JSON without errors: " + string(body)
}

// roundUp shows a wait in whole seconds, never as 0s.
func roundUp(d time.Duration) time.Duration {
	return max((d + time.Second - 1).Truncate(time.Second), time.Second)
}
