package datadog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	dd "github.com/DataDog/datadog-api-client-go/v2/api/datadog"
	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV1"
	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV2"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"

	"github.com/roost-dev/roost/analysis"
	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/metrics"
)

// MaxGroups bounds the groups a measurement keeps in its "groups"
// metadata; past it the metadata says groups_truncated.
const MaxGroups = 100

// AnalysisOptions configure an AnalysisProvider.
type AnalysisOptions struct {
	// Kube reads the credentials Secrets; nil runs without them (then only
	// the environment and Fallback give keys).
	Kube kubernetes.Interface
	// Namespace is roost's own namespace, Argo's "controller namespace":
	// where the Secret "datadog", and any Secret a metric names without
	// namespaced, are read. Required with Kube.
	Namespace string
	// Fallback are roost's own credentials (its configuration, or its
	// DD_API_KEY and DD_APP_KEY), used when none of Argo's places holds
	// any. FallbackSource names them in messages ("datadog.secret of
	// ~/.config/roost/config.yaml"); "roost's own Datadog credentials" when
	// empty.
	Fallback       *Credentials
	FallbackSource string
	// LookupEnv reads the environment (os.LookupEnv when nil). Argo uses
	// DD_API_KEY, DD_APP_KEY and DD_ADDRESS only when all three are set,
	// DD_ADDRESS possibly empty, so being set is told apart from being
	// empty.
	LookupEnv func(key string) (string, bool)
	// Clock is the time of the call budget and of the Secret cache
	// (default the real clock).
	Clock clock.PassiveClock
	// HTTPClient sends the requests (default a new http.Client); the
	// provider uses a copy whose Timeout is Timeout.
	HTTPClient *http.Client
	// Timeout bounds one call (DefaultTimeout, 10 s as in Argo).
	Timeout time.Duration
	// MaxCallsPerMinute caps the provider's calls; 0 leaves it to
	// Datadog's X-RateLimit headers. Ignored with Share.
	MaxCallsPerMinute int
	// DefaultAddress is the address when the credentials name none
	// (DefaultAddress, https://api.datadoghq.com, when empty).
	DefaultAddress string
	// Share, when set, makes the provider spend the call budget of that
	// Client (the cockpit's), so that both obey one rate limit.
	Share *Client

	// jitter replaces the backoff's random part in tests.
	jitter func(time.Duration) time.Duration
}

// AnalysisProvider measures the Datadog metrics of Argo Rollouts'
// AnalysisRuns: it sends exactly the requests Argo Rollouts' Datadog
// provider sends, with its credentials found in Argo's order, and reads the
// answer where Argo's reading is wrong: no data is nil and never 0, an error
// inside a 200 is an error, a grouped query gives every group's value, and a
// rate limit is waited out rather than counted. It implements
// analysis.Provider and is safe for concurrent use.
type AnalysisProvider struct {
	namespace      string
	defaultAddress string
	timeout        time.Duration
	lookupEnv      func(string) (string, bool)
	// fallback is nil without Fallback; secrets nil without Kube.
	fallback *keySource
	secrets  *secretCache
	// envKeys is the last keySource built from the environment.
	envKeys atomic.Pointer[keySource]
	v1      *datadogV1.MetricsApi
	v2      *datadogV2.MetricsApi
	budget  *budget
}

var _ analysis.Provider = (*AnalysisProvider)(nil)

// NewAnalysisProvider checks opts and returns a provider.
func NewAnalysisProvider(opts AnalysisOptions) (*AnalysisProvider, error) {
	defaultAddress := DefaultAddress
	if opts.DefaultAddress != "" {
		addr, err := normalizeAddress(opts.DefaultAddress)
		if err != nil {
			return nil, fmt.Errorf("datadog default address %q %v; set a URL such as %s", opts.DefaultAddress, err, DefaultAddress)
		}
		defaultAddress = addr
	}
	if opts.Kube != nil && opts.Namespace == "" {
		return nil, errors.New("the Datadog analysis provider needs the namespace roost runs in, where the Secret datadog is read; pass it as Namespace")
	}
	timeout := opts.Timeout
	switch {
	case timeout == 0:
		timeout = DefaultTimeout
	case timeout < 0:
		return nil, fmt.Errorf("datadog timeout %s: use a positive duration such as 10s", timeout)
	}
	if opts.MaxCallsPerMinute < 0 {
		return nil, fmt.Errorf("datadog maxCallsPerMinute %d: use 0 (no ceiling) or more", opts.MaxCallsPerMinute)
	}
	clk := opts.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	lookupEnv := opts.LookupEnv
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	p := &AnalysisProvider{
		namespace:      opts.Namespace,
		defaultAddress: defaultAddress,
		timeout:        timeout,
		lookupEnv:      lookupEnv,
	}
	if opts.Fallback != nil {
		creds := *opts.Fallback
		from := opts.FallbackSource
		if from == "" {
			from = "roost's own Datadog credentials"
		}
		if creds.APIKey == "" || creds.AppKey == "" {
			return nil, fmt.Errorf("%s lack the API key or the application key; give both, or no Fallback", from)
		}
		addressFrom := "the address of " + from
		if creds.Address == "" {
			creds.Address, addressFrom = defaultAddress, "the default address"
		}
		addr, err := normalizeAddress(creds.Address)
		if err != nil {
			return nil, fmt.Errorf("the address %q of %s %v; set a URL such as %s", creds.Address, from, err, DefaultAddress)
		}
		creds.Address = addr
		p.fallback = newKeySource(creds, "the keys of "+from, addressFrom)
	}
	if opts.Kube != nil {
		p.secrets = &secretCache{kube: opts.Kube, clock: clk, defaultAddress: defaultAddress, entries: map[metrics.SecretRef]*secretEntry{}}
	}
	if opts.Share != nil {
		p.budget = opts.Share.budget
	} else {
		p.budget = newBudget(clk, opts.MaxCallsPerMinute, opts.jitter)
	}

	httpClient := withTimeout(opts.HTTPClient, timeout)
	cfg := dd.NewConfiguration()
	cfg.HTTPClient = httpClient
	// Each call's address is a server variable: one client serves every
	// set of credentials, and any address is taken (the site variable
	// takes only Datadog's own sites).
	cfg.Servers = dd.ServerConfigurations{{
		URL:       "{" + addressVariable + "}",
		Variables: map[string]dd.ServerVariable{addressVariable: {DefaultValue: defaultAddress}},
	}}
	// The budget decides about retries, with the cockpit's calls.
	cfg.RetryConfiguration.EnableRetry = false
	api := dd.NewAPIClient(cfg)
	p.v1 = datadogV1.NewMetricsApi(api)
	p.v2 = datadogV2.NewMetricsApi(api)
	return p, nil
}

// Measure takes one measurement of m, whose provider.datadog has its
// arguments substituted, over the window [now-interval, now].
func (p *AnalysisProvider) Measure(ctx context.Context, run *v1alpha1.AnalysisRun, m v1alpha1.Metric, now time.Time) analysis.Reading {
	q, err := newAnalysisQuery(&m, now)
	if err != nil {
		return analysis.Reading{Err: err}
	}
	src, err := p.credentialsFor(ctx, run, m.Provider.Datadog.SecretRef)
	if err != nil {
		return analysis.Reading{Err: err}
	}
	tk, wait, why := p.budget.reserve(q.what)
	if wait > 0 {
		return analysis.Reading{RetryAfter: wait, Reason: fmt.Sprintf("%s; measuring again in %s", why, roundUp(wait))}
	}

	callCtx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	callCtx = context.WithValue(callCtx, dd.ContextAPIKeys, src.keys)
	callCtx = context.WithValue(callCtx, dd.ContextServerVariables, src.vars)
	var ans answer
	var resp *http.Response
	if q.v2 {
		var r datadogV2.ScalarFormulaQueryResponse
		r, resp, err = p.v2.QueryScalarData(callCtx, q.scalarRequest())
		if err == nil {
			ans, err = scalarAnswer(r)
		}
	} else {
		var r datadogV1.MetricsQueryResponse
		r, resp, err = p.v1.QueryMetrics(callCtx, q.from.Unix(), q.to.Unix(), q.query)
		if err == nil {
			ans, err = v1Answer(r)
		}
	}
	if ctx.Err() != nil {
		// The caller gave up: that says nothing of Datadog.
		return analysis.Reading{Err: fmt.Errorf("the measurement was cancelled before Datadog answered %s: %w", q.what, ctx.Err())}
	}
	return src.clean(p.reading(q, tk, src, ans, resp, err))
}

// reading turns how a call ended into a Reading, and tells the budget.
func (p *AnalysisProvider) reading(q *analysisQuery, tk ticket, src *keySource, ans answer, resp *http.Response, err error) analysis.Reading {
	var qe *queryError
	switch {
	case err == nil:
		p.budget.record(tk, outcome{status: resp.StatusCode, limit: parseRateLimit(resp.Header)})
		return ans.reading()
	case errors.As(err, &qe):
		// The service is fine; the query is not.
		p.budget.record(tk, outcome{status: resp.StatusCode, limit: parseRateLimit(resp.Header)})
		return analysis.Reading{Err: fmt.Errorf("%s could not run %s: %s; fix the query in the analysis template", source, q.what, qe.msg)}
	case errors.Is(err, errShape):
		p.budget.record(tk, outcome{status: resp.StatusCode, failed: true, cause: "an unexpected response", limit: parseRateLimit(resp.Header)})
		return analysis.Reading{Err: fmt.Errorf("%s's answer to %s is not a query result: %v; is %s Datadog's API address? Check %s", source, q.what, err, src.creds.Address, src.addressFrom)}
	}

	se, o := callFailure(err, resp, q.what, src.creds.Address, p.timeout)
	wait := p.budget.record(tk, o)
	switch se.Status {
	case http.StatusTooManyRequests:
		return analysis.Reading{RetryAfter: wait, Reason: fmt.Sprintf("Datadog rate-limited the call (HTTP 429%s); measuring again in %s", limitOf(resp.Header), roundUp(wait))}
	case http.StatusUnauthorized, http.StatusForbidden:
		return analysis.Reading{Err: fmt.Errorf("%s refused the keys (HTTP %d %s) for %s: check %s (the application key needs the timeseries_query scope)",
			source, se.Status, http.StatusText(se.Status), q.what, src.keysFrom)}
	case http.StatusBadRequest:
		return analysis.Reading{Err: fmt.Errorf("%s rejected %s (HTTP 400): %s; fix the query in the analysis template",
			source, q.what, describeBody(resp.Header.Get("Content-Type"), errorBody(err)))}
	case http.StatusNotFound:
		return analysis.Reading{Err: fmt.Errorf("%s answered 404 Not Found at %s for %s: is it Datadog's API address? Check %s", source, src.creds.Address, q.what, src.addressFrom)}
	}
	return analysis.Reading{Err: fmt.Errorf("%s %s failed: %s", source, q.what, se.Reason)}
}

// errorBody is the body of the library's error for a status ≥ 300.
func errorBody(err error) []byte {
	var apiErr dd.GenericOpenAPIError
	if errors.As(err, &apiErr) {
		return apiErr.Body()
	}
	return nil
}

// limitOf describes a 429's X-RateLimit headers: ", limit "query" of 1600
// calls per 3600 s".
func limitOf(h http.Header) string {
	name, limit, period := h.Get("X-RateLimit-Name"), h.Get("X-RateLimit-Limit"), h.Get("X-RateLimit-Period")
	switch {
	case limit == "" || period == "":
		return ""
	case name == "":
		return fmt.Sprintf(", limit of %s calls per %s s", limit, period)
	}
	return fmt.Sprintf(", limit %q of %s calls per %s s", name, limit, period)
}

// clean hides the keys in everything a Reading shows.
func (src *keySource) clean(r analysis.Reading) analysis.Reading {
	if r.Err != nil {
		if msg := src.redact.Replace(r.Err.Error()); msg != r.Err.Error() {
			r.Err = errors.New(msg)
		}
	}
	r.Reason = src.redact.Replace(r.Reason)
	r.Value = src.redact.Replace(r.Value)
	for k, v := range r.Metadata {
		r.Metadata[k] = src.redact.Replace(v)
	}
	return r
}

// analysisQuery is a metric's Datadog query, checked and ready to send.
type analysisQuery struct {
	v2       bool
	from, to time.Time
	// query is v1's.
	query string
	// names, queries, formula and aggregator are v2's; names in order.
	names      []string
	queries    map[string]string
	formula    string
	aggregator datadogV2.MetricsAggregator
	// what names the query in messages: `query "sum:…"`.
	what string
}

var aggregators = []v1alpha1.DatadogAggregator{
	v1alpha1.DatadogAggregatorAvg, v1alpha1.DatadogAggregatorMin, v1alpha1.DatadogAggregatorMax,
	v1alpha1.DatadogAggregatorSum, v1alpha1.DatadogAggregatorLast, v1alpha1.DatadogAggregatorPercentile,
	v1alpha1.DatadogAggregatorMean, v1alpha1.DatadogAggregatorL2Norm, v1alpha1.DatadogAggregatorArea,
}

// newAnalysisQuery checks m's provider.datadog as Argo's provider does, and
// a little more (an aggregator Datadog does not know, an empty window or
// query), naming the field and the fix.
func newAnalysisQuery(m *v1alpha1.Metric, now time.Time) (*analysisQuery, error) {
	d := m.Provider.Datadog
	if d == nil {
		return nil, fmt.Errorf("metric %q has no provider.datadog; the Datadog provider measures only Datadog metrics", m.Name)
	}
	fail := func(field, format string, args ...any) error {
		return fmt.Errorf("metric %q: provider.datadog.%s: %s", m.Name, field, fmt.Sprintf(format, args...))
	}
	window, err := d.WindowDuration()
	switch {
	case err != nil:
		return nil, fail("interval", "%v", err)
	case window <= 0:
		return nil, fail("interval", "%q is an empty window; write it as 30s, 5m or 1h", d.Interval)
	}
	q := &analysisQuery{from: now.Add(-window), to: now}
	switch d.GetAPIVersion() {
	case v1alpha1.DatadogAPIv1:
	case v1alpha1.DatadogAPIv2:
		q.v2 = true
	default:
		return nil, fail("apiVersion", "%q is not a Datadog API version; write v1 or v2", d.APIVersion)
	}
	hasQueries := len(d.Queries) > 0
	switch {
	case d.Query != "" && hasQueries:
		return nil, fail("query", "query and queries are both set; set query (one query) or queries (named queries with a formula), not both")
	case d.Query == "" && !hasQueries:
		return nil, fail("query", "no query; write one, or queries with a formula under apiVersion: v2")
	case !q.v2 && d.Query == "":
		return nil, fail("queries", "queries need apiVersion: v2; set it, or write a single query for v1")
	case d.Formula != "" && !hasQueries:
		return nil, fail("formula", "a formula combines named queries; put them in queries (e.g. a: …, b: …)")
	case len(d.Queries) > 1 && d.Formula == "":
		return nil, fail("formula", "%d queries need a formula that combines them into one number (e.g. \"a / b\")", len(d.Queries))
	case !q.v2 && d.Aggregator != "":
		return nil, fail("aggregator", "an aggregator needs apiVersion: v2; set it, or remove the aggregator")
	}
	if !q.v2 {
		if strings.TrimSpace(d.Query) == "" {
			return nil, fail("query", "the query is empty; write a Datadog metric query")
		}
		q.query = d.Query
		q.what = fmt.Sprintf("query %q", d.Query)
		return q, nil
	}
	if agg := d.GetAggregator(); slices.Contains(aggregators, agg) {
		q.aggregator = datadogV2.MetricsAggregator(agg)
	} else {
		names := make([]string, len(aggregators))
		for i, a := range aggregators {
			names[i] = string(a)
		}
		return nil, fail("aggregator", "%q is not a Datadog aggregator; write one of %s", d.Aggregator, strings.Join(names, ", "))
	}
	q.queries, q.formula = d.Queries, d.Formula
	if d.Query != "" {
		// A lone query goes by the name "query", as Argo sends it.
		q.queries = map[string]string{"query": d.Query}
	}
	for name, query := range q.queries {
		switch {
		case strings.TrimSpace(name) == "":
			return nil, fail("queries", "a query has no name; name each, as the formula refers to them")
		case strings.TrimSpace(query) == "":
			return nil, fail("queries["+name+"]", "the query is empty; write a Datadog metric query")
		}
		q.names = append(q.names, name)
	}
	slices.Sort(q.names)
	if d.Query != "" {
		q.what = fmt.Sprintf("query %q", d.Query)
	} else {
		parts := make([]string, len(q.names))
		for i, name := range q.names {
			parts[i] = fmt.Sprintf("%s %q", name, q.queries[name])
		}
		q.what = "queries " + strings.Join(parts, ", ")
		if q.formula != "" {
			q.what += fmt.Sprintf(" with formula %q", q.formula)
		}
	}
	return q, nil
}

// scalarRequest is the body Argo sends to /api/v2/query/scalar: the
// queries in name order (Argo's follow its map's), "formulas":[] without a
// formula.
func (q *analysisQuery) scalarRequest() datadogV2.ScalarFormulaQueryRequest {
	queries := make([]datadogV2.ScalarQuery, len(q.names))
	for i, name := range q.names {
		mq := datadogV2.NewMetricsScalarQuery(q.aggregator, datadogV2.METRICSDATASOURCE_METRICS, q.queries[name])
		mq.SetName(name)
		queries[i] = datadogV2.MetricsScalarQueryAsScalarQuery(mq)
	}
	attrs := datadogV2.NewScalarFormulaRequestAttributes(q.from.UnixMilli(), queries, q.to.UnixMilli())
	attrs.Formulas = []datadogV2.QueryFormula{}
	if q.formula != "" {
		attrs.Formulas = append(attrs.Formulas, *datadogV2.NewQueryFormula(q.formula))
	}
	return *datadogV2.NewScalarFormulaQueryRequest(
		*datadogV2.NewScalarFormulaRequest(*attrs, datadogV2.SCALARFORMULAREQUESTTYPE_SCALAR_REQUEST))
}

// queryError is an error Datadog put inside a 200's body: it accepted the
// query but did not run it.
type queryError struct{ msg string }

func (e *queryError) Error() string { return e.msg }

// sample is one value of an answer, a group's or the whole query's; nil
// when Datadog has no data for it.
type sample struct {
	group string
	value *float64
}

// answer is what a query returned: one sample at most when not grouped.
type answer struct {
	grouped bool
	samples []sample
}

// reading is the answer as the metric's conditions see it: a float64, or a
// []float64 of the groups with data in group order, or nil without data;
// never 0 for a missing value.
func (a answer) reading() analysis.Reading {
	if !a.grouped {
		switch {
		case len(a.samples) == 0:
			return analysis.Reading{Value: "[]"}
		case a.samples[0].value == nil:
			return analysis.Reading{Value: "[null]"}
		}
		v := *a.samples[0].value
		return analysis.Reading{Result: v, Value: strconv.FormatFloat(v, 'f', -1, 64)}
	}
	samples := slices.Clone(a.samples)
	slices.SortStableFunc(samples, func(x, y sample) int { return strings.Compare(x.group, y.group) })
	var values []*float64
	var present []float64
	for _, s := range samples {
		values = append(values, s.value)
		if s.value != nil {
			present = append(present, *s.value)
		}
	}
	r := analysis.Reading{Value: nullableList(values)}
	if len(present) > 0 {
		r.Result = present
		r.Value = numberList(present)
	}
	if len(samples) == 0 {
		return r
	}
	type group struct {
		Name  string   `json:"name"`
		Value *float64 `json:"value"`
	}
	groups := make([]group, 0, min(len(samples), MaxGroups))
	for _, s := range samples[:min(len(samples), MaxGroups)] {
		groups = append(groups, group{Name: s.group, Value: s.value})
	}
	b, _ := json.Marshal(groups)
	r.Metadata = map[string]string{"groups": string(b)}
	if len(samples) > MaxGroups {
		r.Metadata["groups_truncated"] = "true"
	}
	return r
}

// nullableList writes values as a JSON list: [0.01,null,3].
func nullableList(values []*float64) string {
	b := []byte{'['}
	for i, v := range values {
		if i > 0 {
			b = append(b, ',')
		}
		if v == nil {
			b = append(b, "null"...)
		} else {
			b = strconv.AppendFloat(b, *v, 'f', -1, 64)
		}
	}
	return string(append(b, ']'))
}

// numberList writes values as a JSON list: [0.01,3].
func numberList(values []float64) string {
	b := []byte{'['}
	for i, v := range values {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, v, 'f', -1, 64)
	}
	return string(append(b, ']'))
}

// v1Answer reads a /api/v1/query answer: each series' last non-null point.
// Not grouped, the first series is the answer, as in Argo.
func v1Answer(r datadogV1.MetricsQueryResponse) (answer, error) {
	if r.UnparsedObject != nil {
		if msg := errorsIn(r.UnparsedObject, "error", "errors"); msg != "" {
			return answer{}, &queryError{msg}
		}
		return answer{}, shapeErrorf("/api/v1/query answered JSON that is not a query response (%s)", fieldsOf(r.UnparsedObject))
	}
	if msg := r.GetError(); msg != "" || r.GetStatus() == "error" {
		if msg == "" {
			msg = "status error, without a message"
		}
		return answer{}, &queryError{msg}
	}
	a := answer{grouped: len(r.GroupBy) > 0}
	for _, s := range r.Series {
		a.grouped = a.grouped || len(s.TagSet) > 0
	}
	for i, s := range r.Series {
		if s.UnparsedObject != nil {
			return answer{}, shapeErrorf("series %d is not a series (%s)", i, fieldsOf(s.UnparsedObject))
		}
		v, err := lastValue(i, s.Pointlist)
		if err != nil {
			return answer{}, err
		}
		if !a.grouped {
			if len(s.Pointlist) > 0 {
				a.samples = []sample{{value: v}}
			}
			break
		}
		name := strings.Join(s.TagSet, ",")
		if name == "" {
			name = s.GetScope()
		}
		a.samples = append(a.samples, sample{group: name, value: v})
	}
	return a, nil
}

// lastValue is the value of a series' last non-null point; nil when every
// point is null or there is none.
func lastValue(series int, points [][]*float64) (*float64, error) {
	for j := len(points) - 1; j >= 0; j-- {
		p := points[j]
		if len(p) != 2 || p[0] == nil {
			return nil, shapeErrorf("series %d point %d is not [time, value]", series, j)
		}
		if p[1] != nil {
			return p[1], nil
		}
	}
	return nil, nil
}

// scalarAnswer reads a /api/v2/query/scalar answer: the first number
// column, one value per row of the group columns when there are any.
func scalarAnswer(r datadogV2.ScalarFormulaQueryResponse) (answer, error) {
	if r.UnparsedObject != nil {
		msg := errorsIn(r.UnparsedObject, "errors")
		if data, ok := r.UnparsedObject["data"].(map[string]any); ok && msg == "" {
			msg = errorsIn(data, "errors")
		}
		if msg != "" {
			return answer{}, &queryError{msg}
		}
		return answer{}, shapeErrorf("/api/v2/query/scalar answered JSON that is not a scalar response (%s)", fieldsOf(r.UnparsedObject))
	}
	if msg := r.GetErrors(); msg != "" {
		return answer{}, &queryError{msg}
	}
	data := r.Data
	switch {
	case data == nil:
		return answer{}, shapeErrorf("/api/v2/query/scalar answered without data (%s)", fieldsOf(r.AdditionalProperties))
	case data.UnparsedObject != nil:
		if msg := errorsIn(data.UnparsedObject, "errors"); msg != "" {
			return answer{}, &queryError{msg}
		}
		return answer{}, shapeErrorf("data is not a scalar response (%s)", fieldsOf(data.UnparsedObject))
	}
	if msg := errorsIn(data.AdditionalProperties, "errors"); msg != "" {
		return answer{}, &queryError{msg}
	}
	if data.Attributes == nil {
		return answer{}, nil
	}
	if data.Attributes.UnparsedObject != nil {
		return answer{}, shapeErrorf("data.attributes are not a scalar response's (%s)", fieldsOf(data.Attributes.UnparsedObject))
	}
	var groups []*datadogV2.GroupScalarColumn
	var number *datadogV2.DataScalarColumn
	for i, c := range data.Attributes.Columns {
		switch {
		case c.GroupScalarColumn != nil:
			groups = append(groups, c.GroupScalarColumn)
		case c.DataScalarColumn != nil:
			if number == nil {
				number = c.DataScalarColumn
			}
		default:
			return answer{}, shapeErrorf("column %d is neither a group nor a number column", i)
		}
	}
	if len(groups) == 0 {
		if number == nil || len(number.Values) == 0 {
			return answer{}, nil
		}
		return answer{samples: []sample{{value: number.Values[0]}}}, nil
	}
	rows := len(groups[0].Values)
	for _, g := range groups[1:] {
		if len(g.Values) != rows {
			return answer{}, shapeErrorf("group columns of %d and %d rows", rows, len(g.Values))
		}
	}
	a := answer{grouped: true}
	if rows == 0 {
		return a, nil
	}
	if number == nil || len(number.Values) != rows {
		n := 0
		if number != nil {
			n = len(number.Values)
		}
		return answer{}, shapeErrorf("%d groups but %d values", rows, n)
	}
	for i := range rows {
		var tags []string
		for _, g := range groups {
			for _, v := range g.Values[i] {
				tags = append(tags, g.GetName()+":"+v)
			}
		}
		a.samples = append(a.samples, sample{group: strings.Join(tags, ","), value: number.Values[i]})
	}
	return a, nil
}

// errorsIn is the first non-empty error among m's keys: a string, or a
// list of them joined.
func errorsIn(m map[string]any, keys ...string) string {
	for _, k := range keys {
		switch v := m[k].(type) {
		case string:
			if v != "" {
				return v
			}
		case []any:
			var msgs []string
			for _, e := range v {
				msgs = append(msgs, fmt.Sprint(e))
			}
			if len(msgs) > 0 {
				return strings.Join(msgs, "; ")
			}
		}
	}
	return ""
}
