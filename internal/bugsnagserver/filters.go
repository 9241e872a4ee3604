package bugsnagserver

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Paging of the list endpoints, as Bugsnag's.
const (
	defaultPerPage = 30
	maxPerPage     = 100
)

// listParams is what a GET /projects/{id}/errors asks for.
type listParams struct {
	sort      string // last_seen, first_seen, events or users
	ascending bool
	perPage   int
	offset    int
	filters   filterSet
}

// filterSet is the filters the server understands. Values of one field
// combine as Bugsnag's do: eq values OR, ne values AND, and ne is dropped
// when eq is given too.
type filterSet struct {
	stageEq, stageNe   []string
	statusEq, statusNe []string
	// since and before bound the events that count (since inclusive, before
	// exclusive); zero means unbounded.
	since, before time.Time
}

// queryPair is one key=value of a raw query, unescaped, in the order sent.
type queryPair struct{ key, value string }

// splitQuery splits a raw query into its pairs, keeping their order: the
// order and adjacency are what pair each filter's type with its value, which
// url.Values would lose.
func splitQuery(raw string) ([]queryPair, error) {
	var pairs []queryPair
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			return nil, fmt.Errorf("malformed query parameter %q: %v", k, err)
		}
		value, err := url.QueryUnescape(v)
		if err != nil {
			return nil, fmt.Errorf("malformed value of query parameter %q: %v", key, err)
		}
		pairs = append(pairs, queryPair{key, value})
	}
	return pairs, nil
}

var filterKeyPattern = regexp.MustCompile(`^filters\[([^\[\]]+)\]\[\]\[([^\[\]]+)\]$`)

var relativeTimePattern = regexp.MustCompile(`^([0-9]+)([mhd])$`)

// maxRelative bounds a relative time, far beyond any retention.
const maxRelative = 100 * 365 * 24 * time.Hour

// parseListParams reads the sort, paging and filter parameters of a raw
// query; relative times count back from now. Its errors are what a 400 says.
func parseListParams(raw string, now time.Time) (listParams, error) {
	p := listParams{sort: "last_seen", perPage: defaultPerPage}
	pairs, err := splitQuery(raw)
	if err != nil {
		return p, err
	}
	var fields []string
	values := map[string][]map[string]string{}
	for _, kv := range pairs {
		switch kv.key {
		case "sort":
			if !slices.Contains([]string{"last_seen", "first_seen", "events", "users"}, kv.value) {
				return p, fmt.Errorf("sort %q is not one of last_seen, first_seen, events, users", kv.value)
			}
			p.sort = kv.value
			continue
		case "direction":
			if kv.value != "asc" && kv.value != "desc" {
				return p, fmt.Errorf("direction %q is neither asc nor desc", kv.value)
			}
			p.ascending = kv.value == "asc"
			continue
		case "per_page":
			n, err := strconv.Atoi(kv.value)
			if err != nil || n < 1 || n > maxPerPage {
				return p, fmt.Errorf("per_page %q must be a whole number from 1 to %d", kv.value, maxPerPage)
			}
			p.perPage = n
			continue
		case "offset":
			n, err := strconv.Atoi(kv.value)
			if err != nil || n < 0 {
				return p, fmt.Errorf("offset %q must be a whole number from 0", kv.value)
			}
			p.offset = n
			continue
		}
		if !strings.HasPrefix(kv.key, "filters") {
			continue // parameters this server does not read are ignored
		}
		m := filterKeyPattern.FindStringSubmatch(kv.key)
		if m == nil {
			return p, fmt.Errorf("malformed filter parameter %q: write filters[<field>][][type]=eq&filters[<field>][][value]=<value>", kv.key)
		}
		field, attr := m[1], m[2]
		if attr != "type" && attr != "value" {
			return p, fmt.Errorf("filter parameter %q: a filter has only a type and a value", kv.key)
		}
		list, seen := values[field]
		if !seen {
			fields = append(fields, field)
		}
		// As Rails reads foo[][a]=1&foo[][b]=2: a key the last hash already
		// holds starts the next hash.
		if _, held := lastHash(list)[attr]; held || len(list) == 0 {
			list = append(list, map[string]string{})
		}
		list[len(list)-1][attr] = kv.value
		values[field] = list
	}
	for _, field := range fields {
		for _, h := range values[field] {
			if err := p.filters.add(field, h["type"], h["value"], now); err != nil {
				return p, err
			}
		}
	}
	return p, nil
}

func lastHash(list []map[string]string) map[string]string {
	if len(list) == 0 {
		return nil
	}
	return list[len(list)-1]
}

// add applies one filter value of field.
func (f *filterSet) add(field, typ, value string, now time.Time) error {
	if typ == "" || value == "" {
		return fmt.Errorf("filters[%s]: each filter needs both a type and a value (got type %q, value %q)", field, typ, value)
	}
	switch field {
	case "app.release_stage", "error.status":
		eq, ne := &f.stageEq, &f.stageNe
		if field == "error.status" {
			eq, ne = &f.statusEq, &f.statusNe
		}
		switch typ {
		case "eq":
			*eq = append(*eq, value)
		case "ne":
			*ne = append(*ne, value)
		default:
			return fmt.Errorf("filters[%s]: type %q is not supported here; use eq or ne", field, typ)
		}
	case "event.since", "event.before":
		if typ != "eq" {
			return fmt.Errorf("filters[%s]: type %q is not supported for a time; use eq", field, typ)
		}
		t, err := parseFilterTime(value, now)
		if err != nil {
			return fmt.Errorf("filters[%s]: %w", field, err)
		}
		// Several values OR: the widest window wins.
		if field == "event.since" && (f.since.IsZero() || t.Before(f.since)) {
			f.since = t
		}
		if field == "event.before" && (f.before.IsZero() || t.After(f.before)) {
			f.before = t
		}
	default:
		return fmt.Errorf("filters[%s]: unsupported filter field; this server filters on app.release_stage, event.since, event.before and error.status", field)
	}
	return nil
}

// parseFilterTime reads an ISO 8601 time or a relative one (30m, 24h, 7d
// before now).
func parseFilterTime(v string, now time.Time) (time.Time, error) {
	if m := relativeTimePattern.FindStringSubmatch(v); m != nil {
		unit := map[string]time.Duration{"m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}[m[2]]
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || n > int64(maxRelative/unit) {
			return time.Time{}, fmt.Errorf("relative time %q reaches back more than 100 years", v)
		}
		return now.Add(-time.Duration(n) * unit), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an ISO 8601 time (2026-12-01T10:00:00Z) nor a relative one (30m, 24h, 7d)", v)
	}
	return t, nil
}

// eventMatches reports whether an event passes the stage and time filters.
func (f filterSet) eventMatches(e event) bool {
	if !valueMatches(e.stage, f.stageEq, f.stageNe) {
		return false
	}
	if !f.since.IsZero() && e.at.Before(f.since) {
		return false
	}
	if !f.before.IsZero() && !e.at.Before(f.before) {
		return false
	}
	return true
}

// statusMatches reports whether an error of status passes the status filter.
func (f filterSet) statusMatches(status string) bool {
	return valueMatches(status, f.statusEq, f.statusNe)
}

func valueMatches(v string, eq, ne []string) bool {
	if len(eq) > 0 {
		return slices.Contains(eq, v)
	}
	return !slices.Contains(ne, v)
}
