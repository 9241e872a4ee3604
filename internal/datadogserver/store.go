package datadogserver

import (
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

// sample is one submitted value; t is in Unix milliseconds.
type sample struct {
	t int64
	v float64
}

// series is what Datadog calls a context: one metric with one set of tags.
type series struct {
	metric  string
	tags    []string // sorted, lower-case, without duplicates
	samples []sample // sorted by t
}

// store keeps the submitted points of gauges and counts, and the samples of
// distributions, for the retention window.
type store struct {
	retention time.Duration

	mu sync.RWMutex
	// gauges and distributions: metric name → series key → series.
	gauges        map[string]map[string]*series
	distributions map[string]map[string]*series
	// prunedAt is when every series was last swept of old points.
	prunedAt time.Time
}

func newStore(retention time.Duration) *store {
	return &store{
		retention:     retention,
		gauges:        map[string]map[string]*series{},
		distributions: map[string]map[string]*series{},
	}
}

// normalizeTags lower-cases, trims, sorts and de-duplicates tags, as Datadog
// does on intake.
func normalizeTags(tags []string) []string {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		if t = strings.ToLower(strings.TrimSpace(t)); t != "" {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// add stores one value; now is the server's clock, which decides what is
// too old to keep.
func (st *store) add(kind map[string]map[string]*series, metric string, tags []string, t time.Time, v float64, now time.Time) {
	// Datadog drops values that are not finite.
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	cutoff := now.Add(-st.retention)
	if t.Before(cutoff) {
		return
	}
	tags = normalizeTags(tags)
	key := strings.Join(tags, ",")
	st.mu.Lock()
	defer st.mu.Unlock()
	bySeries := kind[metric]
	if bySeries == nil {
		bySeries = map[string]*series{}
		kind[metric] = bySeries
	}
	s := bySeries[key]
	if s == nil {
		s = &series{metric: metric, tags: tags}
		bySeries[key] = s
	}
	ms := t.UnixMilli()
	// Points usually arrive in time order: append, else insert in place.
	if n := len(s.samples); n == 0 || s.samples[n-1].t <= ms {
		s.samples = append(s.samples, sample{t: ms, v: v})
	} else {
		i, _ := slices.BinarySearchFunc(s.samples, ms, func(a sample, t int64) int { return cmpInt(a.t, t+1) })
		s.samples = slices.Insert(s.samples, i, sample{t: ms, v: v})
	}
	// Sweep everything at most once a minute of server time, so memory stays
	// bounded by the retention window whatever is submitted.
	if now.Sub(st.prunedAt) >= time.Minute {
		st.pruneLocked(cutoff)
		st.prunedAt = now
	}
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (st *store) pruneLocked(cutoff time.Time) {
	ms := cutoff.UnixMilli()
	for _, kind := range []map[string]map[string]*series{st.gauges, st.distributions} {
		for metric, bySeries := range kind {
			for key, s := range bySeries {
				i, _ := slices.BinarySearchFunc(s.samples, ms, func(a sample, t int64) int { return cmpInt(a.t, t) })
				if i > 0 {
					s.samples = slices.Delete(s.samples, 0, i)
				}
				if len(s.samples) == 0 {
					delete(bySeries, key)
				}
			}
			if len(bySeries) == 0 {
				delete(kind, metric)
			}
		}
	}
}

// count is the number of stored values, for tests of the retention.
func (st *store) count() int {
	st.mu.RLock()
	defer st.mu.RUnlock()
	n := 0
	for _, kind := range []map[string]map[string]*series{st.gauges, st.distributions} {
		for _, bySeries := range kind {
			for _, s := range bySeries {
				n += len(s.samples)
			}
		}
	}
	return n
}

// between returns the samples of s with from <= t < to (milliseconds).
func (s *series) between(from, to int64) []sample {
	lo, _ := slices.BinarySearchFunc(s.samples, from, func(a sample, t int64) int { return cmpInt(a.t, t) })
	hi, _ := slices.BinarySearchFunc(s.samples, to, func(a sample, t int64) int { return cmpInt(a.t, t) })
	return s.samples[lo:hi]
}

// matches reports whether the series' tags pass every filter (comma = AND).
func (s *series) matches(filters []tagFilter) bool {
	for _, f := range filters {
		has := false
		for _, t := range s.tags {
			if globMatch(f.tag, t) {
				has = true
				break
			}
		}
		if has == f.not {
			return false
		}
	}
	return true
}

// globMatch matches a tag against a filter in which * stands for any run of
// characters; a filter without a value ("env") matches the bare tag only.
func globMatch(pattern, tag string) bool {
	if !strings.Contains(pattern, "*") {
		return pattern == tag
	}
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(tag, parts[0]) {
		return false
	}
	tag = tag[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(tag, mid)
		if i < 0 {
			return false
		}
		tag = tag[i+len(mid):]
	}
	return strings.HasSuffix(tag, last)
}

// groupsOf returns the group tags the series falls in for a group by: one
// group per combination of its values of the keys ("key:N/A" when it has
// none, as Datadog shows it).
func (s *series) groupsOf(by []string) [][]string {
	groups := [][]string{nil}
	for _, key := range by {
		var values []string
		for _, t := range s.tags {
			if k, _, ok := strings.Cut(t, ":"); ok && k == key {
				values = append(values, t)
			}
		}
		if len(values) == 0 {
			values = []string{key + ":N/A"}
		}
		next := make([][]string, 0, len(groups)*len(values))
		for _, g := range groups {
			for _, v := range values {
				next = append(next, append(slices.Clone(g), v))
			}
		}
		groups = next
	}
	return groups
}
