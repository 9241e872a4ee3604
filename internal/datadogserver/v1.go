package datadogserver

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// number is a JSON number that is null when NaN: a bucket without data.
type number float64

func (n number) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) {
		return []byte("null"), nil
	}
	// encoding/json's choice of format: millisecond timestamps stay whole.
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(nil, f, format, -1, 64), nil
}

func numbers(vs []float64) []number {
	out := make([]number, len(vs))
	for i, v := range vs {
		out[i] = number(v)
	}
	return out
}

func nullValues(n int) []float64 {
	vs := make([]float64, n)
	for i := range vs {
		vs[i] = math.NaN()
	}
	return vs
}

// v1Response is the body of GET /api/v1/query.
type v1Response struct {
	Status      string     `json:"status"`
	ResType     string     `json:"res_type"`
	RespVersion int        `json:"resp_version"`
	Query       string     `json:"query"`
	FromDate    int64      `json:"from_date"`
	ToDate      int64      `json:"to_date"`
	GroupBy     []string   `json:"group_by"`
	Message     string     `json:"message"`
	Series      []v1Series `json:"series"`
	// Error is set with status "error": the query was accepted, not run.
	Error string `json:"error,omitempty"`
}

type v1Series struct {
	Metric      string      `json:"metric"`
	DisplayName string      `json:"display_name"`
	QueryIndex  int         `json:"query_index"`
	Aggr        *string     `json:"aggr"`
	Scope       string      `json:"scope"`
	TagSet      []string    `json:"tag_set"`
	Expression  string      `json:"expression"`
	Unit        []any       `json:"unit"`
	Pointlist   [][2]number `json:"pointlist"`
	Start       int64       `json:"start"`
	End         int64       `json:"end"`
	Interval    int64       `json:"interval"`
	Length      int         `json:"length"`
}

// badParameter is Datadog's 400 for a missing or malformed parameter.
func badParameter(name string) (int, []byte) {
	return http.StatusBadRequest, errorBody("The value provided for parameter '" + name + "' is invalid")
}

// queryV1 answers GET /api/v1/query?from=<s>&to=<s>&query=<q>.
func (s *Server) queryV1(params url.Values, fault *Fault) (int, []byte) {
	from, err := strconv.ParseInt(params.Get("from"), 10, 64)
	if err != nil {
		return badParameter("from")
	}
	to, err := strconv.ParseInt(params.Get("to"), 10, 64)
	if err != nil || to <= from {
		return badParameter("to")
	}
	q := params.Get("query")
	if strings.TrimSpace(q) == "" {
		return badParameter("query")
	}
	n, err := parseQuery(q)
	if err != nil {
		return http.StatusBadRequest, errorBody(err.Error())
	}
	if msg := fault.queryError(); msg != "" {
		b, _ := json.Marshal(v1Response{
			Status: "error", ResType: "time_series", RespVersion: 1, Query: q,
			FromDate: from * 1000, ToDate: to * 1000,
			GroupBy: groupBy(metrics(n)), Series: []v1Series{}, Error: msg,
		})
		return http.StatusOK, b
	}
	w := newWindow(from*1000, to*1000, chooseInterval(to-from, requestedRollup(n)))
	v, err := s.store.eval(n, w, nil)
	if status, body, failed := evalFailure(v, err); failed {
		return status, body
	}
	resp := v1Response{
		Status: "ok", ResType: "time_series", RespVersion: 1, Query: q,
		FromDate: from * 1000, ToDate: to * 1000,
		GroupBy: groupBy(metrics(n)), Series: []v1Series{},
	}
	single, isMetric := n.(metricNode)
	for _, r := range fault.spoil(v.set) {
		expr := render(n, r.tags)
		ser := v1Series{
			Metric: expr, DisplayName: expr, Scope: scopeOf(n, r.tags), TagSet: r.tags,
			Expression: expr, Pointlist: make([][2]number, w.n),
			Start: w.start, End: w.end() - 1000, Interval: w.interval / 1000, Length: w.n,
		}
		if ser.TagSet == nil {
			ser.TagSet = []string{}
		}
		if isMetric {
			ser.Metric, ser.DisplayName = single.metric, single.metric
			ser.Aggr = &single.space
		}
		for i, v := range r.values {
			ser.Pointlist[i] = [2]number{number(w.at(i)), number(v)}
		}
		resp.Series = append(resp.Series, ser)
	}
	b, _ := json.Marshal(resp)
	return http.StatusOK, b
}

// evalFailure turns an evaluation's error, or a result without any metric,
// into Datadog's 400.
func evalFailure(v value, err error) (int, []byte, bool) {
	var qe *queryError
	switch {
	case errors.As(err, &qe):
		return http.StatusBadRequest, errorBody(qe.msg), true
	case err != nil:
		return http.StatusInternalServerError, errorBody("Internal Server Error"), true
	case v.scalar:
		return http.StatusBadRequest, errorBody("the query is a number: it needs a metric, e.g. sum:trace.http.request.hits{*}"), true
	}
	return 0, nil, false
}

// requestedRollup is the coarsest .rollup() interval of n's metrics.
func requestedRollup(n node) int64 {
	var secs int64
	for _, m := range metrics(n) {
		secs = max(secs, m.rollupSeconds)
	}
	return secs
}

// groupBy is every tag key the metrics group by, in order.
func groupBy(ms []metricNode) []string {
	out := []string{}
	for _, m := range ms {
		for _, k := range m.by {
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	return out
}

// scopeOf is a series' scope: the filters of its metrics and its group's
// tags, comma-separated.
func scopeOf(n node, group []string) string {
	var parts []string
	for _, m := range metrics(n) {
		for _, f := range m.filters {
			if t := f.String(); !slices.Contains(parts, t) {
				parts = append(parts, t)
			}
		}
	}
	parts = append(parts, group...)
	if len(parts) == 0 {
		return "*"
	}
	return strings.Join(parts, ",")
}
