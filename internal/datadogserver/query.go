package datadogserver

import (
	"fmt"
	"strconv"
	"strings"
)

// The query language is the subset of Datadog's that roost and its users
// write:
//
//	expr   = term { ("+" | "-") term }
//	term   = factor { ("*" | "/") factor }
//	factor = "-" factor | "(" expr ")" | number | metric | name
//	metric = [agg ":"] metric_name "{" filters "}" [" by {" tag {"," tag} "}"] {modifier}
//	modifier = ".as_count()" | ".as_rate()" | ".rollup(" agg ["," seconds] ")"
//
// A name (a v2 formula's reference to one of its queries) is allowed only
// in formulas, a metric only in queries.

// node is one node of a parsed query or formula.
type node interface{ isNode() }

type numberNode struct{ value float64 }

// nameNode is a v2 formula's reference to a named query.
type nameNode struct {
	name string
	pos  int
}

type negNode struct{ x node }

type binaryNode struct {
	op   byte // + - * /
	l, r node
}

// metricNode is one metric query: the leaf that reads stored points.
type metricNode struct {
	// space is the space aggregator: sum, avg, min, max, count, or a
	// percentile p50…p99 (distributions only).
	space   string
	metric  string
	filters []tagFilter
	by      []string
	asCount bool
	asRate  bool
	// rollupAgg and rollupSeconds come from .rollup(agg, seconds); empty and
	// 0 when absent.
	rollupAgg     string
	rollupSeconds int64
}

func (numberNode) isNode() {}
func (nameNode) isNode()   {}
func (negNode) isNode()    {}
func (binaryNode) isNode() {}
func (metricNode) isNode() {}

// tagFilter is one comma-separated term of a scope: "key:value", "!key:value",
// a bare tag "key", or "*". Values may hold * wildcards.
type tagFilter struct {
	not bool
	tag string // "key:value" or "key", lower-case
}

func (f tagFilter) String() string {
	if f.not {
		return "!" + f.tag
	}
	return f.tag
}

// parseError is a query that does not parse. Its message has Datadog's form,
// so a user reads the same words from roost's demo as from Datadog.
type parseError struct {
	Query  string
	Column int // 1-based
	Msg    string
}

func (e *parseError) Error() string {
	rest := ""
	if e.Column-1 < len(e.Query) {
		rest = e.Query[e.Column-1:]
	}
	return fmt.Sprintf("Error parsing query: unable to parse %s: %s at '%s' (line 1, column %d).", e.Query, e.Msg, rest, e.Column)
}

// parseQuery parses a metric query (v1's query, or one of v2's queries).
func parseQuery(s string) (node, error) { return parse(s, false) }

// parseFormula parses a v2 formula over query names.
func parseFormula(s string) (node, error) { return parse(s, true) }

func parse(s string, formula bool) (node, error) {
	p := &parser{src: s, formula: formula}
	p.skipSpace()
	if p.eof() {
		return nil, p.errorf("empty query")
	}
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if !p.eof() {
		return nil, p.errorf("unexpected %q", p.src[p.pos])
	}
	return n, nil
}

type parser struct {
	src     string
	pos     int
	formula bool
}

func (p *parser) eof() bool { return p.pos >= len(p.src) }

func (p *parser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.src[p.pos]
}

func (p *parser) skipSpace() {
	for !p.eof() && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t' || p.src[p.pos] == '\n') {
		p.pos++
	}
}

func (p *parser) errorf(format string, args ...any) *parseError {
	return &parseError{Query: p.src, Column: p.pos + 1, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) expect(c byte) error {
	p.skipSpace()
	if p.peek() != c {
		if p.eof() {
			return p.errorf("expected %q, found the end", c)
		}
		return p.errorf("expected %q", c)
	}
	p.pos++
	return nil
}

func (p *parser) expr() (node, error) {
	l, err := p.term()
	if err != nil {
		return nil, err
	}
	for {
		p.skipSpace()
		op := p.peek()
		if op != '+' && op != '-' {
			return l, nil
		}
		p.pos++
		r, err := p.term()
		if err != nil {
			return nil, err
		}
		l = binaryNode{op: op, l: l, r: r}
	}
}

func (p *parser) term() (node, error) {
	l, err := p.factor()
	if err != nil {
		return nil, err
	}
	for {
		p.skipSpace()
		op := p.peek()
		if op != '*' && op != '/' {
			return l, nil
		}
		p.pos++
		r, err := p.factor()
		if err != nil {
			return nil, err
		}
		l = binaryNode{op: op, l: l, r: r}
	}
}

func (p *parser) factor() (node, error) {
	p.skipSpace()
	c := p.peek()
	switch {
	case p.eof():
		return nil, p.errorf("expected a metric, a number or '(', found the end")
	case c == '-':
		p.pos++
		x, err := p.factor()
		if err != nil {
			return nil, err
		}
		return negNode{x: x}, nil
	case c == '(':
		p.pos++
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		if err := p.expect(')'); err != nil {
			return nil, err
		}
		return x, nil
	case isDigit(c):
		return p.number()
	case isIdentStart(c):
		return p.identifier()
	}
	return nil, p.errorf("expected a metric, a number or '('")
}

func (p *parser) number() (node, error) {
	start := p.pos
	for !p.eof() && (isDigit(p.peek()) || p.peek() == '.') {
		p.pos++
	}
	if c := p.peek(); c == 'e' || c == 'E' {
		p.pos++
		if c := p.peek(); c == '+' || c == '-' {
			p.pos++
		}
		for !p.eof() && isDigit(p.peek()) {
			p.pos++
		}
	}
	v, err := strconv.ParseFloat(p.src[start:p.pos], 64)
	if err != nil {
		p.pos = start
		return nil, p.errorf("bad number")
	}
	return numberNode{value: v}, nil
}

// identifier reads a formula's name, or a metric query with or without its
// aggregator.
func (p *parser) identifier() (node, error) {
	start := p.pos
	word := p.word()
	if p.peek() == '(' {
		p.pos = start
		return nil, p.errorf("function %s() is not supported", word)
	}
	if p.formula {
		if strings.Contains(word, ".") || p.peek() == ':' || p.peek() == '{' {
			p.pos = start
			return nil, p.errorf("a formula refers to its queries by name; put the metric query in queries")
		}
		return nameNode{name: word, pos: start}, nil
	}
	m := metricNode{space: "avg"}
	if p.peek() == ':' {
		if !validSpaceAggregator(word) {
			p.pos = start
			return nil, p.errorf("unknown aggregator %q (sum, avg, min, max, count, p50, p75, p90, p95, p99)", word)
		}
		m.space = word
		p.pos++
		if !isIdentStart(p.peek()) {
			return nil, p.errorf("expected a metric name after %q", word+":")
		}
		word = p.word()
	}
	m.metric = word
	if p.peek() != '{' {
		return nil, p.errorf("expected '{' after the metric name %s (use {*} for every source)", m.metric)
	}
	p.pos++
	filters, err := p.scope()
	if err != nil {
		return nil, err
	}
	m.filters = filters
	if err := p.modifiers(&m); err != nil {
		return nil, err
	}
	if p.byClause() {
		by, err := p.groupBy()
		if err != nil {
			return nil, err
		}
		m.by = by
		if err := p.modifiers(&m); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (p *parser) word() string {
	start := p.pos
	for !p.eof() && isIdentChar(p.peek()) {
		p.pos++
	}
	return p.src[start:p.pos]
}

// scope reads the filters up to and including the closing brace.
func (p *parser) scope() ([]tagFilter, error) {
	end := strings.IndexByte(p.src[p.pos:], '}')
	if end < 0 {
		return nil, p.errorf("expected '}' to close the scope")
	}
	var filters []tagFilter
	off := p.pos
	for term := range strings.SplitSeq(p.src[p.pos:p.pos+end], ",") {
		col := off + len(term) - len(strings.TrimLeft(term, " "))
		off += len(term) + 1
		t := strings.TrimSpace(term)
		switch {
		case t == "*":
			continue
		case t == "":
			p.pos = col
			return nil, p.errorf("empty filter in the scope")
		case strings.ContainsAny(t, " \t{("):
			p.pos = col
			return nil, p.errorf("filter %q: only comma-separated key:value filters are supported (no AND, OR, NOT, IN)", t)
		}
		f := tagFilter{}
		if t[0] == '!' {
			f.not = true
			t = t[1:]
		}
		if t == "" || t[0] == ':' {
			p.pos = col
			return nil, p.errorf("filter %q has no tag key", term)
		}
		f.tag = strings.ToLower(t)
		filters = append(filters, f)
	}
	p.pos += end + 1
	return filters, nil
}

// byClause reports whether " by " follows, and consumes it.
func (p *parser) byClause() bool {
	save := p.pos
	p.skipSpace()
	if strings.HasPrefix(p.src[p.pos:], "by") {
		after := p.pos + 2
		if after < len(p.src) && (p.src[after] == ' ' || p.src[after] == '{') {
			p.pos = after
			return true
		}
	}
	p.pos = save
	return false
}

func (p *parser) groupBy() ([]string, error) {
	if err := p.expect('{'); err != nil {
		return nil, err
	}
	end := strings.IndexByte(p.src[p.pos:], '}')
	if end < 0 {
		return nil, p.errorf("expected '}' to close the group by")
	}
	var by []string
	for term := range strings.SplitSeq(p.src[p.pos:p.pos+end], ",") {
		t := strings.ToLower(strings.TrimSpace(term))
		if t == "" || strings.ContainsAny(t, ": *!") {
			return nil, p.errorf("group by %q: list tag keys, e.g. by {kube_role}", strings.TrimSpace(term))
		}
		by = append(by, t)
	}
	p.pos += end + 1
	return by, nil
}

func (p *parser) modifiers(m *metricNode) error {
	for {
		save := p.pos
		p.skipSpace()
		if p.peek() != '.' {
			p.pos = save
			return nil
		}
		p.pos++
		start := p.pos
		name := p.word()
		if err := p.expect('('); err != nil {
			return err
		}
		switch name {
		case "as_count", "as_rate":
			if err := p.expect(')'); err != nil {
				return err
			}
			m.asCount = name == "as_count"
			m.asRate = name == "as_rate"
		case "rollup":
			if err := p.rollup(m); err != nil {
				return err
			}
		default:
			p.pos = start
			return p.errorf("function .%s() is not supported (.as_count(), .as_rate(), .rollup())", name)
		}
	}
}

func (p *parser) rollup(m *metricNode) error {
	p.skipSpace()
	start := p.pos
	agg := p.word()
	switch agg {
	case "avg", "sum", "min", "max", "count":
	default:
		p.pos = start
		return p.errorf(".rollup() aggregator %q: use avg, sum, min, max or count", agg)
	}
	m.rollupAgg = agg
	p.skipSpace()
	if p.peek() == ',' {
		p.pos++
		p.skipSpace()
		start := p.pos
		for !p.eof() && isDigit(p.peek()) {
			p.pos++
		}
		secs, err := strconv.ParseInt(p.src[start:p.pos], 10, 64)
		if err != nil || secs <= 0 {
			p.pos = start
			return p.errorf(".rollup() interval: a whole number of seconds")
		}
		m.rollupSeconds = secs
	}
	return p.expect(')')
}

// validSpaceAggregator accepts Datadog's space aggregators and percentiles
// p0…p100 (p99.9 too).
func validSpaceAggregator(s string) bool {
	switch s {
	case "sum", "avg", "min", "max", "count":
		return true
	}
	_, ok := percentile(s)
	return ok
}

// percentile returns the fraction of a percentile aggregator ("p95" → 0.95).
func percentile(agg string) (float64, bool) {
	if len(agg) < 2 || agg[0] != 'p' {
		return 0, false
	}
	v, err := strconv.ParseFloat(agg[1:], 64)
	if err != nil || v < 0 || v > 100 {
		return 0, false
	}
	return v / 100, true
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }
func isIdentChar(c byte) bool  { return isIdentStart(c) || isDigit(c) || c == '.' }

// render writes n back as a query, with group's tags in place of each
// metric's group by (Datadog's series "expression").
func render(n node, group []string) string {
	var b strings.Builder
	renderTo(&b, n, group, 0)
	return b.String()
}

func precedence(op byte) int {
	if op == '+' || op == '-' {
		return 1
	}
	return 2
}

func renderTo(b *strings.Builder, n node, group []string, outer int) {
	switch n := n.(type) {
	case numberNode:
		b.WriteString(strconv.FormatFloat(n.value, 'g', -1, 64))
	case nameNode:
		b.WriteString(n.name)
	case negNode:
		b.WriteString("-")
		renderTo(b, n.x, group, 3)
	case binaryNode:
		prec := precedence(n.op)
		if prec < outer {
			b.WriteString("(")
		}
		renderTo(b, n.l, group, prec)
		b.WriteString(" " + string(n.op) + " ")
		renderTo(b, n.r, group, prec+1)
		if prec < outer {
			b.WriteString(")")
		}
	case metricNode:
		b.WriteString(n.space + ":" + n.metric + "{" + n.scope(group) + "}")
		if n.asCount {
			b.WriteString(".as_count()")
		}
		if n.asRate {
			b.WriteString(".as_rate()")
		}
		if n.rollupAgg != "" {
			b.WriteString(".rollup(" + n.rollupAgg)
			if n.rollupSeconds > 0 {
				b.WriteString(", " + strconv.FormatInt(n.rollupSeconds, 10))
			}
			b.WriteString(")")
		}
	}
}

// scope is the metric's filters and the group's tags that it groups by,
// comma-separated; "*" when there are none.
func (m metricNode) scope(group []string) string {
	var parts []string
	for _, f := range m.filters {
		parts = append(parts, f.String())
	}
	for _, t := range group {
		key, _, _ := strings.Cut(t, ":")
		for _, by := range m.by {
			if by == key {
				parts = append(parts, t)
				break
			}
		}
	}
	if len(parts) == 0 {
		return "*"
	}
	return strings.Join(parts, ",")
}

// metrics lists the metric queries of n, left to right.
func metrics(n node) []metricNode {
	switch n := n.(type) {
	case metricNode:
		return []metricNode{n}
	case negNode:
		return metrics(n.x)
	case binaryNode:
		return append(metrics(n.l), metrics(n.r)...)
	}
	return nil
}
