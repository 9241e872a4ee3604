package analysis

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// ResolveArgs substitutes {{args.NAME}} (spaces inside the braces allowed)
// throughout a metric, as Argo does at measure time: over the metric's JSON,
// each value JSON-escaped, so that a quote or backslash in a value cannot
// break out of the string it lands in. values are the run's arguments,
// already read from their Secrets or the Rollout. Every {{…}} must resolve:
// the first that does not is named in the error, and the metric must not be
// measured (a query with a hole in it would measure something else).
func ResolveArgs(m v1alpha1.Metric, values map[string]string) (v1alpha1.Metric, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return m, fmt.Errorf("metric %q: %w", m.Name, err)
	}
	src := buf.String()
	var out strings.Builder
	var unresolved error
	for {
		open := strings.Index(src, "{{")
		if open < 0 {
			out.WriteString(src)
			break
		}
		end := strings.Index(src[open+2:], "}}")
		if end < 0 {
			out.WriteString(src)
			break
		}
		out.WriteString(src[:open])
		tag := src[open+2 : open+2+end]
		name, isArg := strings.CutPrefix(strings.TrimSpace(tag), "args.")
		v, ok := values[name]
		if !isArg || !ok {
			if unresolved == nil {
				unresolved = fmt.Errorf("metric %q: failed to resolve {{%s}}: the run has no such argument; pass it in the Rollout's analysis args or give it a value in the template", m.Name, tag)
			}
		} else {
			quoted, _ := json.Marshal(v)
			out.WriteString(strings.TrimSuffix(strings.TrimPrefix(string(quoted), `"`), `"`))
		}
		src = src[open+2+end+2:]
	}
	if unresolved != nil {
		return m, unresolved
	}
	var resolved v1alpha1.Metric
	if err := json.Unmarshal([]byte(out.String()), &resolved); err != nil {
		return m, fmt.Errorf("metric %q: its arguments do not fit where they are used: %w", m.Name, err)
	}
	return resolved, nil
}
