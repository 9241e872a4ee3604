package datadogserver

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseQuery(t *testing.T) {
	tests := []struct {
		query string
		// canonical is the query rendered back, without a group.
		canonical string
	}{
		{"sum:trace.http.request.hits{service:web}", "sum:trace.http.request.hits{service:web}"},
		{"trace.http.request.hits{*}", "avg:trace.http.request.hits{*}"},
		{"avg:system.load.1{*} by {host}", "avg:system.load.1{*}"},
		{"sum:trace.http.request.hits{service:web,env:demo} by {kube_role}.as_count()", "sum:trace.http.request.hits{service:web,env:demo}.as_count()"},
		{"sum:m{*}.as_count() by {kube_role}", "sum:m{*}.as_count()"},
		{"sum:m{ Service:Web , !env:prod } by { kube_role , version }.as_rate()", "sum:m{service:web,!env:prod}.as_rate()"},
		{"max:m{host:web-*}.rollup(max, 60)", "max:m{host:web-*}.rollup(max, 60)"},
		{"sum:m{*}.rollup(sum)", "sum:m{*}.rollup(sum)"},
		{"p95:trace.http.request{service:web} by {kube_role}", "p95:trace.http.request{service:web}"},
		{"p99.9:trace.http.request{*}", "p99.9:trace.http.request{*}"},
		{"count:m{*}", "count:m{*}"},
		{"sum:a{*} / sum:b{*}", "sum:a{*} / sum:b{*}"},
		{"(sum:a{*} by {kube_role}.as_count()) / (sum:b{*} by {kube_role}.as_count()) * 100", "sum:a{*}.as_count() / sum:b{*}.as_count() * 100"},
		{"sum:a{*} - (sum:b{*} + 2)", "sum:a{*} - (sum:b{*} + 2)"},
		{"-sum:a{*} * 1e3", "-sum:a{*} * 1000"},
		{"2 * (1 + sum:a{*})", "2 * (1 + sum:a{*})"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			n, err := parseQuery(tt.query)
			if err != nil {
				t.Fatalf("parseQuery: %v", err)
			}
			if got := render(n, nil); got != tt.canonical {
				t.Errorf("render = %q, want %q", got, tt.canonical)
			}
		})
	}
}

func TestParseQueryFields(t *testing.T) {
	n, err := parseQuery("sum:trace.http.request.errors{service:web,!env:prod,host:web-*} by {kube_role,version}.as_count()")
	if err != nil {
		t.Fatal(err)
	}
	want := metricNode{
		space:   "sum",
		metric:  "trace.http.request.errors",
		filters: []tagFilter{{tag: "service:web"}, {not: true, tag: "env:prod"}, {tag: "host:web-*"}},
		by:      []string{"kube_role", "version"},
		asCount: true,
	}
	if !reflect.DeepEqual(n, want) {
		t.Errorf("parsed\n %+v\nwant\n %+v", n, want)
	}
	n, err = parseQuery("avg:m{*}.rollup(max, 120)")
	if err != nil {
		t.Fatal(err)
	}
	if m := n.(metricNode); m.rollupAgg != "max" || m.rollupSeconds != 120 || m.filters != nil {
		t.Errorf("rollup parsed as %+v", m)
	}
}

func TestParseQueryErrors(t *testing.T) {
	tests := []struct {
		query  string
		column int
		msg    string
	}{
		{"", 1, "empty query"},
		{"sum:", 5, "expected a metric name"},
		{"sum:m", 6, "expected '{' after the metric name m"},
		{"sum:m{service:web", 7, "expected '}'"},
		{"median:m{*}", 1, `unknown aggregator "median"`},
		{"p101:m{*}", 1, `unknown aggregator "p101"`},
		{"sum:m{service:web AND env:prod}", 7, "only comma-separated key:value filters"},
		{"sum:m{a,,b}", 9, "empty filter"},
		{"sum:m{!}", 7, "has no tag key"},
		{"sum:m{*} by {}", 14, "group by"},
		{"sum:m{*} by {host:a}", 14, "group by"},
		{"sum:m{*}.as_counts()", 10, "function .as_counts() is not supported"},
		{"sum:m{*}.rollup(median, 60)", 17, `.rollup() aggregator "median"`},
		{"sum:m{*}.rollup(sum, 0)", 22, ".rollup() interval"},
		{"sum:m{*}.rollup(sum, 60", 24, "expected ')'"},
		{"abs(sum:m{*})", 1, "function abs() is not supported"},
		{"sum:a{*} /", 11, "found the end"},
		{"(sum:a{*}", 10, "expected ')'"},
		{"sum:a{*} sum:b{*}", 10, "unexpected 's'"},
		{"sum:a{*} % 2", 10, "unexpected '%'"},
		{"1..2", 1, "bad number"},
		{"errors / hits", 7, "expected '{' after the metric name errors"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			_, err := parseQuery(tt.query)
			var pe *parseError
			if !errors.As(err, &pe) {
				t.Fatalf("parseQuery(%q) = %v, want a *parseError", tt.query, err)
			}
			if pe.Column != tt.column || !strings.Contains(pe.Msg, tt.msg) {
				t.Errorf("error at column %d %q, want column %d containing %q", pe.Column, pe.Msg, tt.column, tt.msg)
			}
			if !strings.HasPrefix(err.Error(), "Error parsing query: unable to parse "+tt.query+": ") {
				t.Errorf("message %q lacks Datadog's prefix", err.Error())
			}
		})
	}
}

func TestParseFormula(t *testing.T) {
	for _, f := range []string{"errors / hits", "100 * errors / (hits + 1)", "-a", "a"} {
		if _, err := parseFormula(f); err != nil {
			t.Errorf("parseFormula(%q): %v", f, err)
		}
	}
	for _, f := range []string{"sum:m{*}", "m{*}", "trace.hits", "abs(a)", "a +"} {
		if _, err := parseFormula(f); err == nil {
			t.Errorf("parseFormula(%q) succeeded, want an error", f)
		}
	}
}

func TestChooseInterval(t *testing.T) {
	tests := []struct {
		window, requested, want int64
	}{
		{60, 0, 10},       // never finer than 10s
		{300, 0, 10},      // 30 points
		{3000, 0, 10},     // 300 points
		{3600, 0, 20},     // Datadog's 20s for an hour
		{4 * 3600, 0, 60}, // and a minute for four
		{86400, 0, 300},
		{7 * 86400, 0, 3600},
		{30 * 86400, 0, 14400},
		{365 * 86400, 0, 2 * 86400},
		{3600, 60, 60},          // a coarser rollup is honoured
		{3600, 45, 45},          // even when not round
		{3600, 5, 20},           // finer than 10s is not
		{86400 * 7, 60, 3600},   // nor one that gives too many points
		{86400, 100000, 100000}, // a rollup longer than the window is honoured
	}
	for _, tt := range tests {
		if got := chooseInterval(tt.window, tt.requested); got != tt.want {
			t.Errorf("chooseInterval(%d, %d) = %d, want %d", tt.window, tt.requested, got, tt.want)
		}
	}
}

func TestNewWindowAligns(t *testing.T) {
	w := newWindow(1_000_005_000, 1_000_065_000, 20)
	if w.start != 1_000_000_000 || w.interval != 20_000 || w.n != 4 {
		t.Errorf("window = %+v, want start 1000000000, interval 20000, 4 buckets", w)
	}
	if w.end() < 1_000_065_000 {
		t.Errorf("window ends at %d, before the request's end", w.end())
	}
}

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, tag string
		want         bool
	}{
		{"host:web-*", "host:web-1", true},
		{"host:web-*", "host:db-1", false},
		{"host:*-1", "host:web-1", true},
		{"host:*eb*", "host:web-1", true},
		{"host:w*b*1", "host:web-1", true},
		{"host:w*x*1", "host:web-1", false},
		{"env", "env", true},
		{"env", "env:prod", false},
		{"env:prod", "env:prod", true},
	}
	for _, tt := range tests {
		if got := globMatch(tt.pattern, tt.tag); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tt.pattern, tt.tag, got, tt.want)
		}
	}
}
