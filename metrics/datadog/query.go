package datadog

import (
	"fmt"
	"slices"
	"strings"

	"github.com/roost-dev/roost/metrics"
)

// v1Query checks q and returns it as v1 takes it: the formula with each
// name replaced by its query in parentheses ("errors / hits" →
// "(sum:…errors…) / (sum:…hits…)"), or the one query when there is no
// formula.
func v1Query(q metrics.MetricQuery) (string, error) {
	if len(q.Queries) == 0 {
		return "", fmt.Errorf("metric %s: no query; give it one in the metric's queries", q.ID)
	}
	if !q.From.Before(q.To) {
		return "", fmt.Errorf("metric %s: window from %s to %s is empty; from must be before to", q.ID, q.From.Format("15:04:05"), q.To.Format("15:04:05"))
	}
	byName := map[string]string{}
	for i, nq := range q.Queries {
		if strings.TrimSpace(nq.Query) == "" {
			return "", fmt.Errorf("metric %s: query %d (%s) is empty", q.ID, i+1, nq.Name)
		}
		if q.Formula == "" {
			continue
		}
		if !isName(nq.Name) {
			return "", fmt.Errorf("metric %s: query name %q: use a lower-case name such as errors or hits, which the formula refers to", q.ID, nq.Name)
		}
		if _, dup := byName[nq.Name]; dup {
			return "", fmt.Errorf("metric %s: two queries are named %s; name each once", q.ID, nq.Name)
		}
		byName[nq.Name] = nq.Query
	}
	if q.Formula == "" {
		if len(q.Queries) > 1 {
			return "", fmt.Errorf("metric %s: %d queries and no formula; say how they combine, e.g. formula: errors / hits", q.ID, len(q.Queries))
		}
		return q.Queries[0].Query, nil
	}
	var b strings.Builder
	f := q.Formula
	for i := 0; i < len(f); {
		c := f[i]
		switch {
		case c >= '0' && c <= '9' || c == '.':
			// A number, exponent included: 1e3 is not a name.
			j := i + 1
			for j < len(f) && (isWordChar(f[j]) || f[j] == '.' || (f[j] == '+' || f[j] == '-') && (f[j-1] == 'e' || f[j-1] == 'E')) {
				j++
			}
			b.WriteString(f[i:j])
			i = j
		case isWordChar(c):
			j := i + 1
			for j < len(f) && isWordChar(f[j]) {
				j++
			}
			name := f[i:j]
			query, ok := byName[name]
			if !ok {
				names := make([]string, 0, len(byName))
				for n := range byName {
					names = append(names, n)
				}
				slices.Sort(names)
				return "", fmt.Errorf("metric %s: formula %q names %s, which is not one of its queries (%s)", q.ID, q.Formula, name, strings.Join(names, ", "))
			}
			b.WriteString("(" + query + ")")
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), nil
}

func isNameStart(c byte) bool { return c >= 'a' && c <= 'z' || c == '_' }
func isNameChar(c byte) bool  { return isNameStart(c) || c >= '0' && c <= '9' }

// isWordChar reads a whole word of a formula, so that a name in the wrong
// case is reported whole.
func isWordChar(c byte) bool { return isNameChar(c) || c >= 'A' && c <= 'Z' }

// isName reports whether s is a formula's name of a query: a lower-case
// identifier.
func isName(s string) bool {
	if s == "" || !isNameStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isNameChar(s[i]) {
			return false
		}
	}
	return true
}
