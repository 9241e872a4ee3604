package datadogserver

import (
	"errors"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// t0 is a minute boundary, so that a window from t0 has its buckets at
// t0, t0+10s, …
var t0 = time.Unix(1_699_999_980, 0)

var null = math.NaN()

// testStore holds a small known world: requests of a canary (two pods) and
// stable (one pod) of web, one pod of another service, errors, and latency
// samples.
func testStore(t *testing.T) *store {
	t.Helper()
	st := newStore(2 * time.Hour)
	now := t0.Add(time.Minute)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	web := func(role, pod string) []string {
		return []string{"service:web", "env:demo", "kube_role:" + role, "pod:" + pod}
	}
	for _, p := range []struct {
		metric string
		tags   []string
		sec    int
		v      float64
	}{
		{"hits", web("canary", "c1"), 1, 1},
		{"hits", web("canary", "c1"), 5, 2},
		{"hits", web("canary", "c1"), 12, 3},
		{"hits", web("canary", "c2"), 2, 10},
		{"hits", web("stable", "s1"), 3, 4},
		{"hits", web("stable", "s1"), 13, 5},
		{"hits", web("stable", "s1"), 25, 6},
		{"hits", []string{"service:api", "kube_role:stable", "pod:a1"}, 4, 100},
		{"errors", web("canary", "c1"), 1, 1},
		{"errors", web("stable", "s1"), 13, 1},
	} {
		st.add(st.gauges, p.metric, p.tags, at(p.sec), p.v, now)
	}
	for _, p := range []struct {
		tags []string
		sec  int
		v    float64
	}{
		{web("canary", "c1"), 1, 0.1},
		{web("canary", "c1"), 2, 0.4},
		{web("canary", "c2"), 3, 0.2},
		{web("canary", "c2"), 4, 0.3},
		{web("stable", "s1"), 5, 1.0},
		{web("stable", "s1"), 15, 2.0},
	} {
		st.add(st.distributions, "lat", p.tags, at(p.sec), p.v, now)
	}
	return st
}

// evalWindow evaluates a query over [t0, t0+secs) as v1 does, and returns
// each group's values keyed by its tags.
func evalWindow(st *store, q string, secs int64) (map[string][]float64, error) {
	n, err := parseQuery(q)
	if err != nil {
		return nil, err
	}
	from := t0.Unix()
	w := newWindow(from*1000, (from+secs)*1000, chooseInterval(secs, requestedRollup(n)))
	v, err := st.eval(n, w, nil)
	if err != nil {
		return nil, err
	}
	out := map[string][]float64{}
	for _, r := range v.set {
		out[r.key()] = r.values
	}
	return out, nil
}

func TestEval(t *testing.T) {
	tests := []struct {
		query string
		want  map[string][]float64
	}{
		{"sum:hits{service:web} by {kube_role}.as_count()", map[string][]float64{
			"kube_role:canary": {13, 3, null, null, null, null},
			"kube_role:stable": {4, 5, 6, null, null, null},
		}},
		// Time average per series (c1: 1.5, c2: 10), then the space average.
		{"avg:hits{service:web} by {kube_role}", map[string][]float64{
			"kube_role:canary": {5.75, 3, null, null, null, null},
			"kube_role:stable": {4, 5, 6, null, null, null},
		}},
		{"hits{service:web,kube_role:canary}", map[string][]float64{
			"": {5.75, 3, null, null, null, null},
		}},
		{"sum:hits{service:web} by {kube_role}.as_rate()", map[string][]float64{
			"kube_role:canary": {1.3, 0.3, null, null, null, null},
			"kube_role:stable": {0.4, 0.5, 0.6, null, null, null},
		}},
		{"max:hits{*}", map[string][]float64{"": {100, 5, 6, null, null, null}}},
		{"count:hits{service:web} by {kube_role}", map[string][]float64{
			"kube_role:canary": {2, 1, null, null, null, null},
			"kube_role:stable": {1, 1, 1, null, null, null},
		}},
		{"min:hits{!kube_role:canary}", map[string][]float64{"": {4, 5, 6, null, null, null}}},
		{"sum:hits{pod:c*}.as_count()", map[string][]float64{"": {13, 3, null, null, null, null}}},
		{"sum:hits{service:web,env:demo,kube_role:stable}.as_count()", map[string][]float64{"": {4, 5, 6, null, null, null}}},
		{"sum:hits{*}.rollup(sum, 30)", map[string][]float64{"": {131, null}}},
		{"sum:hits{*}.rollup(max)", map[string][]float64{"": {116, 8, 6, null, null, null}}},
		{"sum:hits{service:api} by {version}.as_count()", map[string][]float64{
			"version:N/A": {100, null, null, null, null, null},
		}},
		// Groups matched by their tags; a side with no point gives no point.
		{"sum:errors{*} by {kube_role}.as_count() / sum:hits{*} by {kube_role}.as_count()", map[string][]float64{
			"kube_role:canary": {1.0 / 13, null, null, null, null, null},
			"kube_role:stable": {null, 1.0 / 5, null, null, null, null},
		}},
		// An ungrouped side applies to every group.
		{"sum:hits{*} by {kube_role}.as_count() / sum:hits{*}.as_count()", map[string][]float64{
			"kube_role:canary": {13.0 / 117, 3.0 / 8, null, null, null, null},
			"kube_role:stable": {104.0 / 117, 5.0 / 8, 1, null, null, null},
		}},
		{"sum:hits{*}.as_count() * 2 + 1", map[string][]float64{"": {235, 17, 13, null, null, null}}},
		{"-(sum:hits{pod:c1}.as_count() - 1)", map[string][]float64{"": {-2, -2, null, null, null, null}}},
		{"sum:hits{*}.as_count() / 0", map[string][]float64{"": {null, null, null, null, null, null}}},
		// Groups of different keys never match.
		{"sum:hits{*} by {kube_role} + sum:hits{*} by {pod}", map[string][]float64{}},
		{"sum:nosuch{*} by {kube_role}", map[string][]float64{}},
		// Distributions: every sample of a group's bucket together.
		{"p50:lat{*} by {kube_role}", map[string][]float64{
			"kube_role:canary": {0.25, null, null, null, null, null},
			"kube_role:stable": {1, 2, null, null, null, null},
		}},
		{"p90:lat{kube_role:canary}", map[string][]float64{"": {0.37, null, null, null, null, null}}},
		{"max:lat{*}", map[string][]float64{"": {1, 2, null, null, null, null}}},
		{"avg:lat{kube_role:canary}", map[string][]float64{"": {0.25, null, null, null, null, null}}},
		{"count:lat{*} by {kube_role}.as_count()", map[string][]float64{
			"kube_role:canary": {4, null, null, null, null, null},
			"kube_role:stable": {1, 1, null, null, null, null},
		}},
		{"sum:lat{pod:s1}", map[string][]float64{"": {1, 2, null, null, null, null}}},
	}
	st := testStore(t)
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			got, err := evalWindow(st, tt.query, 60)
			if err != nil {
				t.Fatalf("eval: %v", err)
			}
			if !sameGroups(got, tt.want) {
				t.Errorf("got  %s\nwant %s", describe(got), describe(tt.want))
			}
		})
	}
}

func TestEvalErrors(t *testing.T) {
	st := testStore(t)
	for _, q := range []string{"p95:hits{*}", "p99:hits{*} by {kube_role}"} {
		_, err := evalWindow(st, q, 60)
		var qe *queryError
		if !errors.As(err, &qe) || !strings.Contains(qe.msg, "only for distribution metrics") {
			t.Errorf("eval(%q) = %v, want the percentile-of-a-gauge error", q, err)
		}
	}
}

func TestPercentileOf(t *testing.T) {
	tests := []struct {
		samples []float64
		p, want float64
	}{
		{[]float64{5}, 0.99, 5},
		{[]float64{1, 2, 3, 4}, 0.5, 2.5},
		{[]float64{4, 3, 2, 1}, 0, 1},
		{[]float64{4, 3, 2, 1}, 1, 4},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.95, 9.55},
	}
	for _, tt := range tests {
		if got := percentileOf(append([]float64(nil), tt.samples...), tt.p); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("percentileOf(%v, %v) = %v, want %v", tt.samples, tt.p, got, tt.want)
		}
	}
}

func TestRetention(t *testing.T) {
	st := newStore(time.Hour)
	now := t0
	st.add(st.gauges, "m", nil, now.Add(-2*time.Hour), 1, now) // too old: never stored
	st.add(st.gauges, "m", nil, now.Add(-30*time.Minute), 1, now)
	st.add(st.gauges, "m", []string{"a:b"}, now, 1, now)
	if got := st.count(); got != 2 {
		t.Fatalf("stored %d values, want 2", got)
	}
	// 45 minutes later a sweep drops what is older than the retention.
	later := now.Add(45 * time.Minute)
	st.add(st.gauges, "other", nil, later, 1, later)
	if got := st.count(); got != 2 {
		t.Errorf("after the sweep %d values, want 2 (the newest of m and other)", got)
	}
	if _, ok := st.gauges["m"][""]; ok {
		t.Errorf("the emptied series is still there")
	}
	// Datadog drops values that are not numbers.
	st.add(st.gauges, "m", nil, later, math.NaN(), later)
	st.add(st.gauges, "m", nil, later, math.Inf(1), later)
	if got := st.count(); got != 2 {
		t.Errorf("NaN or Inf was stored: %d values", got)
	}
}

func TestAddOutOfOrder(t *testing.T) {
	st := newStore(time.Hour)
	for _, s := range []int{30, 10, 20, 10, 0} {
		st.add(st.gauges, "m", []string{"B:x", "a:y", "a:y"}, t0.Add(time.Duration(s)*time.Second), float64(s), t0.Add(time.Minute))
	}
	s := st.gauges["m"]["a:y,b:x"]
	if s == nil {
		t.Fatalf("series not stored under its normalized tags: %v", st.gauges["m"])
	}
	for i := 1; i < len(s.samples); i++ {
		if s.samples[i-1].t > s.samples[i].t {
			t.Fatalf("samples out of order: %v", s.samples)
		}
	}
	if len(s.samples) != 5 {
		t.Errorf("%d samples, want 5", len(s.samples))
	}
}

func sameGroups(got, want map[string][]float64) bool {
	if len(got) != len(want) {
		return false
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if math.IsNaN(w[i]) != math.IsNaN(g[i]) || !math.IsNaN(w[i]) && math.Abs(w[i]-g[i]) > 1e-9 {
				return false
			}
		}
	}
	return true
}

func describe(groups map[string][]float64) string {
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString("{" + k + "}=")
		for i, v := range groups[k] {
			if i > 0 {
				b.WriteString(",")
			}
			if math.IsNaN(v) {
				b.WriteString("null")
			} else {
				b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
			}
		}
		b.WriteString(" ")
	}
	return b.String()
}
