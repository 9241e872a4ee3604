package datadogserver

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Point limits: the interval Datadog chooses for a window keeps a series at
// or under defaultMaxPoints; an interval asked for explicitly (.rollup(),
// v2's interval) is honoured up to explicitMaxPoints.
const (
	defaultMaxPoints  = 300
	explicitMaxPoints = 1500
	minIntervalSec    = 10
)

// roundIntervals are the intervals Datadog rolls up to, in seconds; past a
// day it uses whole days.
var roundIntervals = []int64{10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 21600, 43200, 86400}

// chooseInterval returns the interval, in seconds, for a window of the given
// length: the requested one (0 for none) when it gives few enough points,
// else the smallest round interval that gives at most defaultMaxPoints and is
// no finer than the request.
func chooseInterval(windowSec, requestedSec int64) int64 {
	if requestedSec >= minIntervalSec && ceilDiv(windowSec, requestedSec) <= explicitMaxPoints {
		return requestedSec
	}
	for _, iv := range roundIntervals {
		if iv >= requestedSec && ceilDiv(windowSec, iv) <= defaultMaxPoints {
			return iv
		}
	}
	const day = 86400
	days := max(ceilDiv(ceilDiv(windowSec, defaultMaxPoints), day), ceilDiv(requestedSec, day))
	return days * day
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

// window is the time buckets of one evaluation, in Unix milliseconds:
// bucket i covers [start+i*interval, start+(i+1)*interval).
type window struct {
	start, interval int64
	n               int
}

// newWindow aligns buckets of intervalSec to the epoch, as Datadog does, to
// cover [fromMs, toMs).
func newWindow(fromMs, toMs, intervalSec int64) window {
	iv := intervalSec * 1000
	start := fromMs - ((fromMs%iv)+iv)%iv
	return window{start: start, interval: iv, n: int(ceilDiv(toMs-start, iv))}
}

func (w window) end() int64       { return w.start + int64(w.n)*w.interval }
func (w window) at(i int) int64   { return w.start + int64(i)*w.interval }
func (w window) seconds() float64 { return float64(w.interval) / 1000 }

// result is one group of an evaluated query: its group tags and one value
// per bucket, NaN where there is no data (a JSON null).
type result struct {
	tags   []string
	values []float64
}

func (r result) key() string { return strings.Join(r.tags, ",") }

// value is what an expression evaluates to: a number, or a set of groups.
type value struct {
	scalar bool
	num    float64
	set    []result
}

// queryError is a query that parses but cannot be answered (HTTP 400).
type queryError struct{ msg string }

func (e *queryError) Error() string { return e.msg }

// eval evaluates n over w. names holds the evaluated queries a v2 formula
// refers to; it is nil for a query.
func (st *store) eval(n node, w window, names map[string]value) (value, error) {
	switch n := n.(type) {
	case numberNode:
		return value{scalar: true, num: n.value}, nil
	case nameNode:
		v, ok := names[n.name]
		if !ok {
			known := make([]string, 0, len(names))
			for k := range names {
				known = append(known, k)
			}
			slices.Sort(known)
			return value{}, &queryError{fmt.Sprintf("formula refers to %q, which is not one of its queries (%s)", n.name, strings.Join(known, ", "))}
		}
		return v, nil
	case negNode:
		x, err := st.eval(n.x, w, names)
		if err != nil {
			return value{}, err
		}
		return combine('*', value{scalar: true, num: -1}, x), nil
	case binaryNode:
		l, err := st.eval(n.l, w, names)
		if err != nil {
			return value{}, err
		}
		r, err := st.eval(n.r, w, names)
		if err != nil {
			return value{}, err
		}
		return combine(n.op, l, r), nil
	case metricNode:
		set, err := st.evalMetric(n, w)
		return value{set: set}, err
	}
	return value{}, &queryError{"unsupported expression"}
}

// evalMetric reads one metric query: each matching series is rolled up in
// time into the buckets, then the series of each group are aggregated in
// space (distributions: every sample of the group's bucket at once).
func (st *store) evalMetric(m metricNode, w window) ([]result, error) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	if dist, ok := st.distributions[m.metric]; ok {
		return evalDistribution(m, w, dist), nil
	}
	gauges := st.gauges[m.metric]
	if _, ok := percentile(m.space); ok && len(gauges) > 0 {
		return nil, &queryError{fmt.Sprintf("%s:%s: percentiles are only for distribution metrics; %s is a gauge or count (use avg, sum, min, max or count)", m.space, m.metric, m.metric)}
	}
	return evalGauge(m, w, gauges), nil
}

// groupAcc accumulates a group's space aggregation, bucket by bucket.
type groupAcc struct {
	tags     []string
	sum      []float64
	count    []int
	min, max []float64
}

func newGroupAcc(tags []string, n int) *groupAcc {
	g := &groupAcc{tags: tags, sum: make([]float64, n), count: make([]int, n), min: make([]float64, n), max: make([]float64, n)}
	for i := range n {
		g.min[i], g.max[i] = math.Inf(1), math.Inf(-1)
	}
	return g
}

func (g *groupAcc) add(i int, v float64) {
	g.sum[i] += v
	g.count[i]++
	g.min[i] = math.Min(g.min[i], v)
	g.max[i] = math.Max(g.max[i], v)
}

func evalGauge(m metricNode, w window, bySeries map[string]*series) []result {
	timeAgg := m.rollupAgg
	if timeAgg == "" {
		timeAgg = "avg"
		if m.asCount || m.asRate {
			timeAgg = "sum"
		}
	}
	groups := map[string]*groupAcc{}
	perBucket := newGroupAcc(nil, w.n)
	for _, s := range bySeries {
		if !s.matches(m.filters) {
			continue
		}
		samples := s.between(w.start, w.end())
		if len(samples) == 0 {
			continue
		}
		// Roll the series up in time.
		clear(perBucket.sum)
		clear(perBucket.count)
		for i := range w.n {
			perBucket.min[i], perBucket.max[i] = math.Inf(1), math.Inf(-1)
		}
		for _, p := range samples {
			perBucket.add(int((p.t-w.start)/w.interval), p.v)
		}
		for _, tags := range s.groupsOf(m.by) {
			key := strings.Join(tags, ",")
			g := groups[key]
			if g == nil {
				g = newGroupAcc(tags, w.n)
				groups[key] = g
			}
			for i := range w.n {
				if perBucket.count[i] == 0 {
					continue
				}
				v := aggregate(timeAgg, perBucket, i)
				if m.asRate {
					v /= w.seconds()
				}
				g.add(i, v)
			}
		}
	}
	out := make([]result, 0, len(groups))
	for _, g := range groups {
		r := result{tags: g.tags, values: make([]float64, w.n)}
		for i := range w.n {
			r.values[i] = math.NaN()
			if g.count[i] > 0 {
				r.values[i] = aggregate(m.space, g, i)
			}
		}
		out = append(out, r)
	}
	sortResults(out)
	return out
}

// aggregate is one of avg, sum, min, max, count over a bucket that has values.
func aggregate(agg string, g *groupAcc, i int) float64 {
	switch agg {
	case "sum":
		return g.sum[i]
	case "min":
		return g.min[i]
	case "max":
		return g.max[i]
	case "count":
		return float64(g.count[i])
	}
	return g.sum[i] / float64(g.count[i])
}

// evalDistribution aggregates every sample of a group's bucket together, as
// Datadog does for distributions (percentiles cannot be averaged); a
// .rollup() only sets the interval.
func evalDistribution(m metricNode, w window, bySeries map[string]*series) []result {
	type group struct {
		tags    []string
		buckets [][]float64
	}
	groups := map[string]*group{}
	for _, s := range bySeries {
		if !s.matches(m.filters) {
			continue
		}
		samples := s.between(w.start, w.end())
		if len(samples) == 0 {
			continue
		}
		for _, tags := range s.groupsOf(m.by) {
			key := strings.Join(tags, ",")
			g := groups[key]
			if g == nil {
				g = &group{tags: tags, buckets: make([][]float64, w.n)}
				groups[key] = g
			}
			for _, p := range samples {
				i := (p.t - w.start) / w.interval
				g.buckets[i] = append(g.buckets[i], p.v)
			}
		}
	}
	out := make([]result, 0, len(groups))
	for _, g := range groups {
		r := result{tags: g.tags, values: make([]float64, w.n)}
		for i, b := range g.buckets {
			v := distributionAggregate(m.space, b)
			if m.asRate && !math.IsNaN(v) {
				v /= w.seconds()
			}
			r.values[i] = v
		}
		out = append(out, r)
	}
	sortResults(out)
	return out
}

// distributionAggregate aggregates the samples of one bucket; NaN when
// there are none.
func distributionAggregate(agg string, samples []float64) float64 {
	if len(samples) == 0 {
		return math.NaN()
	}
	if p, ok := percentile(agg); ok {
		return percentileOf(samples, p)
	}
	g := newGroupAcc(nil, 1)
	for _, v := range samples {
		g.add(0, v)
	}
	return aggregate(agg, g, 0)
}

// percentileOf interpolates linearly between the closest ranks; it sorts
// samples in place.
func percentileOf(samples []float64, p float64) float64 {
	slices.Sort(samples)
	h := p * float64(len(samples)-1)
	lo := int(math.Floor(h))
	if lo >= len(samples)-1 {
		return samples[len(samples)-1]
	}
	return samples[lo] + (h-float64(lo))*(samples[lo+1]-samples[lo])
}

func sortResults(rs []result) {
	slices.SortFunc(rs, func(a, b result) int { return strings.Compare(a.key(), b.key()) })
}

// combine applies op point by point. Between two sets, groups are matched
// by their tag sets (unmatched ones drop out); a set of one ungrouped series,
// like a number, applies to every group of the other side.
func combine(op byte, l, r value) value {
	switch {
	case l.scalar && r.scalar:
		return value{scalar: true, num: apply(op, l.num, r.num)}
	case l.scalar:
		return value{set: mapSet(r.set, func(v float64) float64 { return apply(op, l.num, v) })}
	case r.scalar:
		return value{set: mapSet(l.set, func(v float64) float64 { return apply(op, v, r.num) })}
	}
	if ungrouped(l.set) {
		return value{set: zipEach(op, l.set[0], r.set, true)}
	}
	if ungrouped(r.set) {
		return value{set: zipEach(op, r.set[0], l.set, false)}
	}
	byKey := make(map[string]result, len(r.set))
	for _, s := range r.set {
		byKey[s.key()] = s
	}
	var out []result
	for _, a := range l.set {
		b, ok := byKey[a.key()]
		if !ok {
			continue
		}
		out = append(out, zip(op, a, b, a.tags))
	}
	return value{set: out}
}

func ungrouped(set []result) bool { return len(set) == 1 && len(set[0].tags) == 0 }

func mapSet(set []result, f func(float64) float64) []result {
	out := make([]result, len(set))
	for i, s := range set {
		vs := make([]float64, len(s.values))
		for j, v := range s.values {
			vs[j] = f(v)
		}
		out[i] = result{tags: s.tags, values: vs}
	}
	return out
}

// zipEach applies op between one series and each of a set's, the one on the
// left when first is set.
func zipEach(op byte, one result, set []result, first bool) []result {
	out := make([]result, len(set))
	for i, s := range set {
		if first {
			out[i] = zip(op, one, s, s.tags)
		} else {
			out[i] = zip(op, s, one, s.tags)
		}
	}
	return out
}

func zip(op byte, a, b result, tags []string) result {
	vs := make([]float64, len(a.values))
	for i := range vs {
		vs[i] = apply(op, a.values[i], b.values[i])
	}
	return result{tags: tags, values: vs}
}

// apply is one arithmetic step; a missing operand, or a division by zero,
// gives no point rather than a number.
func apply(op byte, a, b float64) float64 {
	var v float64
	switch op {
	case '+':
		v = a + b
	case '-':
		v = a - b
	case '*':
		v = a * b
	case '/':
		v = a / b
	}
	if math.IsInf(v, 0) {
		return math.NaN()
	}
	return v
}
