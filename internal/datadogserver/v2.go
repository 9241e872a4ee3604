package datadogserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
)

// v2Request is the body of both v2 query endpoints.
type v2Request struct {
	Data *struct {
		Type       string `json:"type"`
		Attributes *struct {
			From     *int64      `json:"from"`
			To       *int64      `json:"to"`
			Interval *int64      `json:"interval"`
			Queries  []v2Query   `json:"queries"`
			Formulas []v2Formula `json:"formulas"`
		} `json:"attributes"`
	} `json:"data"`
}

type v2Query struct {
	DataSource string `json:"data_source"`
	Name       string `json:"name"`
	Query      string `json:"query"`
	// Aggregator is the scalar endpoint's reduction over time.
	Aggregator string `json:"aggregator"`
}

type v2Formula struct {
	Formula string          `json:"formula"`
	Limit   json.RawMessage `json:"limit"`
}

// v2Input is a validated v2 request.
type v2Input struct {
	from, to   int64 // ms
	intervalMs int64
	queries    []v2Query
	parsed     []node
	formulas   []node
	formulaSrc []string
}

func badRequest(format string, args ...any) (int, []byte) {
	return http.StatusBadRequest, errorBody(fmt.Sprintf(format, args...))
}

// decodeV2 validates a v2 request of the given type.
func decodeV2(body []byte, wantType string) (*v2Input, int, []byte) {
	var req v2Request
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		st, b := badRequest("Invalid JSON body: %v", err)
		return nil, st, b
	}
	fail := func(format string, args ...any) (*v2Input, int, []byte) {
		st, b := badRequest(format, args...)
		return nil, st, b
	}
	if req.Data == nil || req.Data.Attributes == nil {
		return fail("body: data.attributes is required")
	}
	if req.Data.Type != wantType {
		return fail("data.type: %q is not %q", req.Data.Type, wantType)
	}
	a := req.Data.Attributes
	if a.From == nil || a.To == nil || *a.To <= *a.From {
		return fail("data.attributes: from and to are required, in milliseconds, from before to")
	}
	if len(a.Queries) == 0 {
		return fail("data.attributes.queries: at least one query is required")
	}
	in := &v2Input{from: *a.From, to: *a.To, queries: a.Queries}
	if a.Interval != nil {
		in.intervalMs = *a.Interval
	}
	seen := map[string]bool{}
	for i, q := range a.Queries {
		if q.DataSource != "metrics" {
			return fail("data.attributes.queries[%d].data_source: %q is not supported here; use metrics", i, q.DataSource)
		}
		if len(a.Formulas) > 0 && q.Name == "" {
			return fail("data.attributes.queries[%d].name is required when there are formulas", i)
		}
		if q.Name != "" && seen[q.Name] {
			return fail("data.attributes.queries[%d].name: %q is used twice", i, q.Name)
		}
		seen[q.Name] = true
		n, err := parseQuery(q.Query)
		if err != nil {
			return fail("%s", err.Error())
		}
		in.parsed = append(in.parsed, n)
	}
	for i, f := range a.Formulas {
		if len(f.Limit) > 0 && string(f.Limit) != "null" {
			return fail("data.attributes.formulas[%d].limit is not supported here", i)
		}
		n, err := parseFormula(f.Formula)
		if err != nil {
			return fail("%s", err.Error())
		}
		in.formulas = append(in.formulas, n)
		in.formulaSrc = append(in.formulaSrc, f.Formula)
	}
	return in, 0, nil
}

// window is the request's buckets: its interval, or the coarsest rollup,
// or the one Datadog would choose.
func (in *v2Input) window() window {
	requested := ceilDiv(in.intervalMs, 1000)
	for _, n := range in.parsed {
		requested = max(requested, requestedRollup(n))
	}
	return newWindow(in.from, in.to, chooseInterval(ceilDiv(in.to-in.from, 1000), requested))
}

// evalAll evaluates each query over w, then each formula over them. It
// returns the results that are answered: the formulas', or the queries'
// when there are none.
func (s *Server) evalAll(in *v2Input, w window, each func(i int, v value) (value, error)) ([]value, error) {
	names := map[string]value{}
	var qs []value
	for i, n := range in.parsed {
		v, err := s.store.eval(n, w, nil)
		if err == nil && v.scalar {
			err = &queryError{fmt.Sprintf("data.attributes.queries[%d]: the query is a number: it needs a metric", i)}
		}
		if err == nil {
			v, err = each(i, v)
		}
		if err != nil {
			return nil, err
		}
		qs = append(qs, v)
		names[in.queries[i].Name] = v
	}
	if len(in.formulas) == 0 {
		return qs, nil
	}
	out := make([]value, 0, len(in.formulas))
	for i, f := range in.formulas {
		v, err := s.store.eval(f, w, names)
		if err == nil && v.scalar {
			err = &queryError{fmt.Sprintf("data.attributes.formulas[%d]: %q refers to no query", i, in.formulaSrc[i])}
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

type timeseriesResponse struct {
	Data timeseriesData `json:"data"`
	// Errors is Datadog's top-level error string beside an empty result.
	Errors string `json:"errors,omitempty"`
}

type timeseriesData struct {
	Type       string               `json:"type"`
	Attributes timeseriesAttributes `json:"attributes"`
}

type timeseriesAttributes struct {
	Series []timeseriesSeries `json:"series"`
	Times  []int64            `json:"times"`
	Values [][]number         `json:"values"`
}

type timeseriesSeries struct {
	GroupTags  []string `json:"group_tags"`
	QueryIndex int      `json:"query_index"`
	Unit       []any    `json:"unit"`
}

// timeseriesV2 answers POST /api/v2/query/timeseries.
func (s *Server) timeseriesV2(body []byte, fault *Fault) (int, []byte) {
	in, status, errBody := decodeV2(body, "timeseries_request")
	if in == nil {
		return status, errBody
	}
	if msg := fault.queryError(); msg != "" {
		empty := timeseriesAttributes{Series: []timeseriesSeries{}, Times: []int64{}, Values: [][]number{}}
		b, _ := json.Marshal(timeseriesResponse{Data: timeseriesData{Type: "timeseries_response", Attributes: empty}, Errors: msg})
		return http.StatusOK, b
	}
	w := in.window()
	results, err := s.evalAll(in, w, func(_ int, v value) (value, error) { return v, nil })
	if status, b, failed := evalFailure(value{}, err); failed {
		return status, b
	}
	attrs := timeseriesAttributes{Series: []timeseriesSeries{}, Times: []int64{}, Values: [][]number{}}
	for qi, v := range results {
		for _, r := range fault.spoil(v.set) {
			tags := r.tags
			if tags == nil {
				tags = []string{}
			}
			attrs.Series = append(attrs.Series, timeseriesSeries{GroupTags: tags, QueryIndex: qi})
			attrs.Values = append(attrs.Values, numbers(r.values))
		}
	}
	if len(attrs.Series) > 0 {
		for i := range w.n {
			attrs.Times = append(attrs.Times, w.at(i))
		}
	}
	b, _ := json.Marshal(timeseriesResponse{Data: timeseriesData{Type: "timeseries_response", Attributes: attrs}})
	return http.StatusOK, b
}

type scalarResponse struct {
	Data   scalarData `json:"data"`
	Errors string     `json:"errors,omitempty"`
}

type scalarData struct {
	Type       string `json:"type"`
	Attributes struct {
		Columns []any `json:"columns"`
	} `json:"attributes"`
}

type groupColumn struct {
	Name   string     `json:"name"`
	Type   string     `json:"type"`
	Values [][]string `json:"values"`
}

type numberColumn struct {
	Name   string   `json:"name"`
	Type   string   `json:"type"`
	Values []number `json:"values"`
	Meta   struct {
		Unit []any `json:"unit"`
	} `json:"meta"`
}

// scalarV2 answers POST /api/v2/query/scalar: each query's groups reduced
// over the window by its aggregator, then the formulas over those numbers.
func (s *Server) scalarV2(body []byte, fault *Fault) (int, []byte) {
	in, status, errBody := decodeV2(body, "scalar_request")
	if in == nil {
		return status, errBody
	}
	if msg := fault.queryError(); msg != "" {
		var resp scalarResponse
		resp.Data.Type = "scalar_response"
		resp.Data.Attributes.Columns = []any{}
		resp.Errors = msg
		b, _ := json.Marshal(resp)
		return http.StatusOK, b
	}
	w := in.window()
	results, err := s.evalAll(in, w, func(i int, v value) (value, error) {
		return s.reduce(in, i, v)
	})
	if status, b, failed := evalFailure(value{}, err); failed {
		return status, b
	}
	// Rows are the groups of every answered column; each column has a value,
	// or null, in every row.
	var rows []result
	rowOf := map[string]int{}
	columns := make([][]result, len(results))
	for ci, v := range results {
		columns[ci] = fault.spoil(v.set)
		for _, r := range columns[ci] {
			if _, ok := rowOf[r.key()]; !ok {
				rowOf[r.key()] = len(rows)
				rows = append(rows, r)
			}
		}
	}
	var ms []metricNode
	for _, n := range in.parsed {
		ms = append(ms, metrics(n)...)
	}
	var resp scalarResponse
	resp.Data.Type = "scalar_response"
	resp.Data.Attributes.Columns = []any{}
	for _, key := range groupBy(ms) {
		col := groupColumn{Name: key, Type: "group", Values: make([][]string, len(rows))}
		for i, r := range rows {
			col.Values[i] = tagValues(r.tags, key)
		}
		resp.Data.Attributes.Columns = append(resp.Data.Attributes.Columns, col)
	}
	for ci, col := range columns {
		name := in.queries[ci].Name
		if len(in.formulas) > 0 {
			name = in.formulaSrc[ci]
		}
		nc := numberColumn{Name: name, Type: "number", Values: make([]number, len(rows))}
		for i := range nc.Values {
			nc.Values[i] = number(math.NaN())
		}
		for _, r := range col {
			nc.Values[rowOf[r.key()]] = number(r.values[0])
		}
		resp.Data.Attributes.Columns = append(resp.Data.Attributes.Columns, nc)
	}
	b, _ := json.Marshal(resp)
	return http.StatusOK, b
}

// reduce turns query i's series into one number per group by the query's
// aggregator; percentile reduces every sample of the window at once.
func (s *Server) reduce(in *v2Input, i int, v value) (value, error) {
	agg := in.queries[i].Aggregator
	if agg == "percentile" {
		m, ok := in.parsed[i].(metricNode)
		if _, isPct := percentile(m.space); !ok || !isPct {
			return value{}, &queryError{fmt.Sprintf("data.attributes.queries[%d]: aggregator percentile needs a percentile query of a distribution, e.g. p95:trace.http.request{*}", i)}
		}
		whole := window{start: in.from, interval: in.to - in.from, n: 1}
		set, err := s.store.evalMetric(m, whole)
		return value{set: set}, err
	}
	out := make([]result, 0, len(v.set))
	for _, r := range v.set {
		x, err := reduceOverTime(agg, r.values)
		if err != nil {
			return value{}, &queryError{fmt.Sprintf("data.attributes.queries[%d].aggregator: %v", i, err)}
		}
		out = append(out, result{tags: r.tags, values: []float64{x}})
	}
	return value{set: out}, nil
}

// reduceOverTime reduces one series' points, skipping nulls; NaN when all
// are null.
func reduceOverTime(agg string, vs []float64) (float64, error) {
	var present []float64
	for _, v := range vs {
		if !math.IsNaN(v) {
			present = append(present, v)
		}
	}
	switch agg {
	case "avg", "mean", "sum", "min", "max", "last":
	default:
		return 0, fmt.Errorf("%q is not supported here: use avg, sum, min, max, last or percentile", agg)
	}
	if len(present) == 0 {
		return math.NaN(), nil
	}
	switch agg {
	case "sum":
		var sum float64
		for _, v := range present {
			sum += v
		}
		return sum, nil
	case "min":
		return slices.Min(present), nil
	case "max":
		return slices.Max(present), nil
	case "last":
		return present[len(present)-1], nil
	}
	var sum float64
	for _, v := range present {
		sum += v
	}
	return sum / float64(len(present)), nil
}

// tagValues are the values of key among tags ("kube_role:canary" → "canary").
func tagValues(tags []string, key string) []string {
	out := []string{}
	for _, t := range tags {
		if k, v, ok := strings.Cut(t, ":"); ok && k == key {
			out = append(out, v)
		}
	}
	return out
}
