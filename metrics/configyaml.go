package metrics

// Decoding the configuration's YAML, each problem placed at its line and field.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// decodeStrict decodes one YAML document into out, refusing unknown fields,
// and returns the document's line index with every problem placed at its
// line and field, in words a person can act on.
func decodeStrict(data []byte, out any) (*lineIndex, []Problem) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return &lineIndex{}, []Problem{syntaxProblem(err)}
	}
	idx := indexLines(&root)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil && !errors.Is(err, io.EOF) {
		return idx, idx.problems(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return idx, []Problem{{Line: extra.Line, Message: "a second YAML document (after ---): keep everything in one document"}}
	}
	return idx, nil
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

func syntaxProblem(err error) Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	return Problem{Line: line, Message: "not valid YAML: " + msg + " (check the indentation and quote values that hold : or #)"}
}

// lineIndex knows where each field of a document is.
type lineIndex struct {
	// lines maps a field's path to the line of its key.
	lines map[string]int
	// nodes are the keys and scalar values in document order.
	nodes []locatedNode
}

type locatedNode struct {
	path  string
	line  int
	key   bool
	value string
}

func indexLines(root *yaml.Node) *lineIndex {
	idx := &lineIndex{lines: map[string]int{}}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				if _, dup := idx.lines[p]; !dup {
					idx.lines[p] = k.Line
				}
				idx.nodes = append(idx.nodes, locatedNode{path: p, line: k.Line, key: true, value: k.Value})
				walk(v, p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				idx.lines[p] = c.Line
				walk(c, p)
			}
		case yaml.ScalarNode:
			idx.nodes = append(idx.nodes, locatedNode{path: path, line: n.Line, value: n.Value})
		}
	}
	walk(root, "")
	return idx
}

// line is the line of path, or of its nearest parent in the document: a
// field that a default filled in is reported where its metric is.
func (x *lineIndex) line(path string) int {
	for path != "" {
		if l, ok := x.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// find returns the path of the first node on line that match accepts.
func (x *lineIndex) find(line int, match func(locatedNode) bool) (locatedNode, bool) {
	for _, n := range x.nodes {
		if n.line == line && match(n) {
			return n, true
		}
	}
	return locatedNode{}, false
}

var (
	yamlUnknownField = regexp.MustCompile(`^field (\S+) not found in type (\S+)$`)
	yamlWrongType    = regexp.MustCompile("^cannot unmarshal (!!\\w+)(?: `(.*)`)? into (.+)$")
	yamlDuplicate    = regexp.MustCompile(`^mapping key "(.*)" already defined at line (\d+)$`)
)

// problems turns a decoding error into problems. yaml.v3 words its errors
// for Go programmers ("cannot unmarshal !!str into time.Duration"); these
// say which field, and what to write instead.
func (x *lineIndex) problems(err error) []Problem {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return []Problem{syntaxProblem(err)}
	}
	out := make([]Problem, 0, len(te.Errors))
	for _, msg := range te.Errors {
		m := yamlLine.FindStringSubmatch(msg)
		if m == nil {
			out = append(out, Problem{Message: msg})
			continue
		}
		line, _ := strconv.Atoi(m[1])
		out = append(out, x.problem(line, m[2]))
	}
	return out
}

func (x *lineIndex) problem(line int, msg string) Problem {
	anyNode := func(locatedNode) bool { return true }
	if m := yamlUnknownField.FindStringSubmatch(msg); m != nil {
		field := m[1]
		n, _ := x.find(line, func(n locatedNode) bool { return n.key && n.value == field })
		parent, where := "", "at the top level"
		if i := strings.LastIndexAny(n.path, ".["); i > 0 {
			parent = n.path[:i]
			where = "in " + parent
		}
		known := yamlFields[m[2]]
		hint := ""
		if s := closest(field, known); s != "" {
			hint = fmt.Sprintf(" (did you mean %s?)", s)
		}
		return Problem{Line: line, Field: n.path, Message: fmt.Sprintf("unknown field %s %s%s; the fields there are %s", field, where, hint, strings.Join(known, ", "))}
	}
	if m := yamlWrongType.FindStringSubmatch(msg); m != nil {
		shown := strings.TrimSuffix(m[2], "...")
		n, ok := x.find(line, func(n locatedNode) bool { return !n.key && strings.HasPrefix(n.value, shown) })
		if !ok {
			n, _ = x.find(line, anyNode)
		}
		what := "this"
		if m[1] == "!!str" || m[1] == "!!int" || m[1] == "!!float" || m[1] == "!!bool" {
			what = strconv.Quote(n.value)
		} else if m[1] == "!!seq" {
			what = "a list"
		} else if m[1] == "!!map" {
			what = "a mapping"
		}
		return Problem{Line: line, Field: n.path, Message: fmt.Sprintf("%s is not %s", what, describeType(m[3]))}
	}
	if m := yamlDuplicate.FindStringSubmatch(msg); m != nil {
		n, _ := x.find(line, func(n locatedNode) bool { return n.key && n.value == m[1] })
		return Problem{Line: line, Field: n.path, Message: fmt.Sprintf("given twice (first at line %s): keep one", m[2])}
	}
	// Of the keys on the line, the innermost: {queries: {Errors: …}}.
	var field string
	for _, n := range x.nodes {
		if n.line == line && n.key {
			field = n.path
		}
	}
	return Problem{Line: line, Field: field, Message: msg}
}

// describeType says in words what a field of Go type t takes.
func describeType(t string) string {
	switch t {
	case "time.Duration":
		return "a duration: write it with its unit, like 30s, 5m or 1h"
	case "int":
		return "a whole number, like 600"
	case "float64", "*float64":
		return "a number, like 1.5"
	case "bool", "*bool":
		return "true or false"
	case "string", "*string":
		return "a string: quote it"
	case "metrics.SecretRef":
		return "a secret: write {namespace: roost, name: datadog}"
	case "[]string":
		return "a list of kube context names, like [prod-tokyo, prod-osaka]"
	case "[]metrics.fileMetric":
		return "a list of metrics, each starting with - id: …"
	}
	if fields, ok := yamlFields[t]; ok {
		return "a mapping with the fields " + strings.Join(fields, ", ")
	}
	return t
}

// yamlFields lists, for each type the decoder reports, the YAML fields it has.
var yamlFields = func() map[string][]string {
	m := map[string][]string{}
	for _, v := range []any{fileConfig{}, fileDatadog{}, fileBugsnag{}, fileMetricFields{}, SecretRef{}} {
		t := reflect.TypeOf(v)
		var names []string
		for i := range t.NumField() {
			if tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]; tag != "" {
				names = append(names, tag)
			}
		}
		m[t.String()] = names
	}
	return m
}()

// closest is the known name within two edits of s, for "did you mean".
func closest(s string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(strings.ToLower(s), strings.ToLower(k)); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// wholeNumber is an int that refuses 1.5, which yaml.v3 would cut to 1.
type wholeNumber int

func (w *wholeNumber) UnmarshalYAML(n *yaml.Node) error {
	i, err := strconv.Atoi(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: cannot unmarshal %s `%s` into int", n.Line, n.ShortTag(), n.Value)}}
	}
	*w = wholeNumber(i)
	return nil
}

// queryTemplates are a metric's named queries in the order written: the
// order of the v2 request's queries, and of the dashboard's explanation.
type queryTemplates struct {
	list []NamedQuery
}

func (q *queryTemplates) UnmarshalYAML(n *yaml.Node) error {
	fail := func(line int, format string, args ...any) error {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: "+format, append([]any{line}, args...)...)}}
	}
	if n.Kind != yaml.MappingNode {
		return fail(n.Line, `queries must be a mapping from query names to Datadog queries, like {errors: "sum:…", hits: "sum:…"}`)
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !identPattern.MatchString(k.Value) {
			return fail(k.Line, "query name %q is not a lower-case identifier such as errors (the formula refers to queries by name)", k.Value)
		}
		if first, dup := seen[k.Value]; dup {
			return fail(k.Line, "query %s is given twice (first at line %d): keep one", k.Value, first)
		}
		seen[k.Value] = k.Line
		if v.Kind != yaml.ScalarNode || strings.TrimSpace(v.Value) == "" {
			return fail(v.Line, "query %s must be a Datadog query string: quote it", k.Value)
		}
		q.list = append(q.list, NamedQuery{Name: k.Value, Query: strings.TrimSpace(v.Value)})
	}
	if len(q.list) == 0 {
		return fail(n.Line, "queries is empty: give at least one named query")
	}
	return nil
}

// sortedKeys returns m's keys in order, for messages that read the same
// every time.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
