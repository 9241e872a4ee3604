package datadog

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV1"
	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV2"

	"github.com/roost-dev/roost/metrics"
)

// errShape marks a body that decoded but is not of the API's schema: the
// library puts such JSON in UnparsedObject and returns no error.
var errShape = errors.New("unexpected response from Datadog")

func shapeErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errShape}, args...)...)
}

// group is one series of a response: its tags and points.
type group struct {
	tags   []string
	points []metrics.Point
}

// v1Groups checks a v1 response's shape and returns its series.
func v1Groups(resp datadogV1.MetricsQueryResponse) ([]group, error) {
	if resp.UnparsedObject != nil {
		return nil, shapeErrorf("/api/v1/query answered JSON that is not a query response (%s)", fieldsOf(resp.UnparsedObject))
	}
	if resp.Status == nil {
		return nil, shapeErrorf("/api/v1/query answered without a status (%s)", fieldsOf(resp.AdditionalProperties))
	}
	if *resp.Status != "ok" {
		return nil, fmt.Errorf("%w: status %q: %s", errShape, *resp.Status, resp.GetError())
	}
	out := make([]group, 0, len(resp.Series))
	for i, s := range resp.Series {
		if s.UnparsedObject != nil {
			return nil, shapeErrorf("series %d is not a series (%s)", i, fieldsOf(s.UnparsedObject))
		}
		g := group{tags: s.TagSet, points: make([]metrics.Point, 0, len(s.Pointlist))}
		for j, p := range s.Pointlist {
			if len(p) != 2 || p[0] == nil {
				return nil, shapeErrorf("series %d point %d is not [time, value]", i, j)
			}
			g.points = append(g.points, point(int64(*p[0]), p[1]))
		}
		out = append(out, g)
	}
	return out, nil
}

// v2Groups checks a v2 timeseries response's shape and returns its series.
func v2Groups(resp datadogV2.TimeseriesFormulaQueryResponse) ([]group, error) {
	switch {
	case resp.UnparsedObject != nil:
		return nil, shapeErrorf("/api/v2/query/timeseries answered JSON that is not a timeseries response (%s)", fieldsOf(resp.UnparsedObject))
	case resp.Errors != nil && *resp.Errors != "":
		return nil, fmt.Errorf("%w: %s", errShape, *resp.Errors)
	case resp.Data == nil:
		return nil, shapeErrorf("no data (%s)", fieldsOf(resp.AdditionalProperties))
	case resp.Data.UnparsedObject != nil:
		return nil, shapeErrorf("data is not a timeseries response (%s)", fieldsOf(resp.Data.UnparsedObject))
	case resp.Data.Type == nil || *resp.Data.Type != datadogV2.TIMESERIESFORMULARESPONSETYPE_TIMESERIES_RESPONSE:
		return nil, shapeErrorf("data.type is not timeseries_response")
	case resp.Data.Attributes == nil:
		return nil, shapeErrorf("no data.attributes")
	case resp.Data.Attributes.UnparsedObject != nil:
		return nil, shapeErrorf("data.attributes are not a timeseries response's (%s)", fieldsOf(resp.Data.Attributes.UnparsedObject))
	}
	a := resp.Data.Attributes
	if len(a.Values) != len(a.Series) {
		return nil, shapeErrorf("%d series but %d lists of values", len(a.Series), len(a.Values))
	}
	out := make([]group, 0, len(a.Series))
	for i, s := range a.Series {
		if s.UnparsedObject != nil {
			return nil, shapeErrorf("series %d is not a series (%s)", i, fieldsOf(s.UnparsedObject))
		}
		if len(a.Values[i]) != len(a.Times) {
			return nil, shapeErrorf("series %d has %d values for %d times", i, len(a.Values[i]), len(a.Times))
		}
		g := group{tags: s.GroupTags, points: make([]metrics.Point, len(a.Times))}
		for j, t := range a.Times {
			g.points[j] = point(t, a.Values[i][j])
		}
		out = append(out, g)
	}
	return out, nil
}

func point(ms int64, v *float64) metrics.Point {
	p := metrics.Point{Time: time.UnixMilli(ms).UTC()}
	if v == nil {
		p.Null = true
	} else {
		p.Value = *v
	}
	return p
}

// fieldsOf names the top-level fields of a body, to tell a person what came
// instead: "fields data, meta".
func fieldsOf(m map[string]any) string {
	if len(m) == 0 {
		return "no fields"
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return "fields " + strings.Join(names, ", ")
}

// MaxPoints is the most points roost keeps of one side of one metric.
const MaxPoints = 500

// split finds the canary's and stable's group among a response's groups by
// their TagKey tag, and scales their values. A side without a group is not
// Found; a side with two groups means the query groups by more than TagKey.
func split(groups []group, q metrics.MetricQuery) (canary, stable metrics.Series, err error) {
	canaryTag := q.TagKey + ":" + q.CanaryValue
	stableTag := q.TagKey + ":" + q.StableValue
	for _, g := range groups {
		var side *metrics.Series
		var tag string
		switch {
		case hasTag(g.tags, canaryTag):
			side, tag = &canary, canaryTag
		case hasTag(g.tags, stableTag):
			side, tag = &stable, stableTag
		default:
			continue
		}
		if side.Found {
			return metrics.Series{}, metrics.Series{}, fmt.Errorf("metric %s: more than one group has %s (the second: %s); group its queries by {%s} alone",
				q.ID, tag, strings.Join(g.tags, ","), q.TagKey)
		}
		side.Found = true
		points := g.points
		if additive(q) {
			points = completeBuckets(points, q.To)
		}
		// A series of thousands of points (a fine rollup over a long
		// window) keeps its newest MaxPoints: enough for the judge and the
		// sparkline, and the memory of 200 rollouts stays bounded.
		if len(points) > MaxPoints {
			points = slices.Clone(points[len(points)-MaxPoints:])
		}
		side.Points = scaled(points, q.Scale)
	}
	return canary, stable, nil
}

// additive reports whether q's values add up over a bucket, so that a
// bucket still filling reads low: sums and counts (and rates of them),
// alone or summed in a formula. A ratio of them (errors / hits), an average
// or a percentile reads the same over part of a bucket as over all of it.
func additive(q metrics.MetricQuery) bool {
	if strings.ContainsAny(q.Formula, "/*") {
		return false
	}
	for _, nq := range q.Queries {
		agg, _, _ := strings.Cut(strings.TrimSpace(nq.Query), ":")
		switch strings.ToLower(strings.TrimSpace(agg)) {
		case "sum", "count":
		default:
			return false
		}
	}
	return len(q.Queries) > 0
}

// completeBuckets drops a last point whose bucket is still filling at to:
// a rate or a count over part of an interval reads low, and the latest
// value is what the cockpit shows and the judge compares. The interval is
// the spacing of the points; one point alone is kept.
func completeBuckets(points []metrics.Point, to time.Time) []metrics.Point {
	n := len(points)
	if n < 2 || to.IsZero() {
		return points
	}
	interval := points[n-1].Time.Sub(points[n-2].Time)
	if interval > 0 && points[n-1].Time.Add(interval).After(to) {
		return points[:n-1]
	}
	return points
}

// hasTag compares as Datadog does: tags are lower-cased on intake.
func hasTag(tags []string, tag string) bool {
	for _, t := range tags {
		if strings.EqualFold(t, tag) {
			return true
		}
	}
	return false
}

func scaled(points []metrics.Point, scale float64) []metrics.Point {
	for i := range points {
		if !points[i].Null {
			points[i].Value *= scale
		}
	}
	return points
}
