package metrics

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

func TestDatadogApp(t *testing.T) {
	for _, c := range []struct {
		address, app string
		why          string // a part of the reason, when there is no app
	}{
		{"https://api.datadoghq.com", "https://app.datadoghq.com", ""},
		{"https://api.datadoghq.com/", "https://app.datadoghq.com", ""},
		{"https://API.DATADOGHQ.EU", "https://app.datadoghq.eu", ""},
		{"https://api.us3.datadoghq.com", "https://us3.datadoghq.com", ""},
		{"https://api.us5.datadoghq.com", "https://us5.datadoghq.com", ""},
		{"https://api.ap1.datadoghq.com", "https://ap1.datadoghq.com", ""},
		{"https://api.ap2.datadoghq.com", "https://ap2.datadoghq.com", ""},
		{"https://api.uk1.datadoghq.com", "https://uk1.datadoghq.com", ""},
		{"https://api.ddog-gov.com", "https://app.ddog-gov.com", ""},
		{"https://api.us2.ddog-gov.com", "https://us2.ddog-gov.com", ""},
		// A test server, a proxy, a look-alike: no link rather than a wrong one.
		{"http://127.0.0.1:41234", "", "roost reads Datadog through http://127.0.0.1:41234, which is not one of Datadog's sites"},
		{"https://datadog-proxy.internal", "", "https://datadog-proxy.internal"},
		{"http://api.datadoghq.com", "", "not one of Datadog's sites"},
		{"https://api.datadoghq.com:8443", "", "not one of Datadog's sites"},
		{"https://api.datadoghq.com/proxy", "", "not one of Datadog's sites"},
		{"https://api.datadoghq.com.evil.example", "", "not one of Datadog's sites"},
		{"", "", "is not a URL"},
	} {
		app, why := DatadogApp(c.address)
		if app != c.app {
			t.Errorf("DatadogApp(%q) = %q, want %q", c.address, app, c.app)
		}
		switch {
		case c.app != "" && why != "":
			t.Errorf("DatadogApp(%q) says %q beside an app", c.address, why)
		case c.app == "" && !strings.Contains(why, c.why):
			t.Errorf("DatadogApp(%q) says %q, want it to say %q", c.address, why, c.why)
		case c.app == "" && c.address != "" && !strings.Contains(why, "datadog.site"):
			t.Errorf("DatadogApp(%q) says %q: it does not say how to get links", c.address, why)
		}
	}
}

// TestExplorerURLMatchesDatadog: the fragment of a metrics explorer link the
// web app wrote (EU site, shared in a public repository) is what
// ExplorerURL writes for the same query, to the byte.
func TestExplorerURLMatchesDatadog(t *testing.T) {
	const fromApp = "N4Ig7glgJg5gpgFxALlAGwIYE8D2BXJVEADxQEYAaELcqyKBAC1pEbghkcLIF8qo4AMwgA7CAgg4RKUAiwAHOChASAtnADOcAE4RNIKtrgBHPJoQaUAbVBGN8qVoD6gnNtUZCKiOq279VKY6epbINiAiGOrKQdpYZAYgUJ4YThr42gDGSsgg6gi6mZaBZnHKGABuMMgA1ngARjoiiJoAdOqqbliteBoY8E7ymQjAcCIVyAIVFAAEmWi9CDrI84s6ALQA7LN1jU6RvvIY2StF62A4qoLrAAw3AMw8IDwAulSu7niYoeEfql8YGKleLPN4gDRyNA5UBHKEIJbKKA4GBOeYYDQaCCZRJoURwJxyRTKdK4qA4vFOehMZQiNweNDPfgQeyYLAEhQ5EC45qgnh8cHyXEIADCUmEMBQIi+aB4QA"
	q := MetricQuery{
		Queries: []NamedQuery{{Name: "query1", Query: "avg:kubernetes.memory.usage_pct{env:dev, cluster:cluster-7, kube_namespace:ccs-womf-003}"}},
		Scale:   1,
		From:    time.UnixMilli(1768828839641), To: time.UnixMilli(1768832439641),
	}
	got := ExplorerURL("https://app.datadoghq.eu", q)
	want := "https://app.datadoghq.eu/metric/explorer?fromUser=false&start=1768828839641&end=1768832439641&paused=true#" + fromApp
	if got != want {
		t.Errorf("ExplorerURL =\n%s\nwant\n%s", got, want)
	}
}

// TestExplorerURL: the graph is the queries as sent, grouped by the role
// tag, with the formula scaled as the cockpit shows it, over the window;
// nothing secret goes in.
func TestExplorerURL(t *testing.T) {
	from := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	errorRate := MetricQuery{
		ID: "error_rate", Name: "error rate", Unit: "%", TagKey: "kube_role",
		Queries: []NamedQuery{
			{Name: "errors", Query: "sum:trace.http.request.errors{service:cart,env:prod} by {kube_role}.as_count()"},
			{Name: "hits", Query: "sum:trace.http.request.hits{service:cart,env:prod} by {kube_role}.as_count()"},
		},
		Formula: "errors / hits", Scale: 100,
		From: from, To: from.Add(30 * time.Minute),
	}
	requests := MetricQuery{
		Name:    "requests",
		Queries: []NamedQuery{{Name: "hits", Query: "sum:trace.http.request.hits{service:cart} by {kube_role}.as_rate()"}},
		Scale:   1, From: from, To: from.Add(time.Hour),
	}
	for _, c := range []struct {
		name    string
		app     string
		q       MetricQuery
		queries []string
		formula string
		alias   string
		start   string
		end     string
	}{
		{"formula, scaled", "https://app.datadoghq.com", errorRate,
			[]string{errorRate.Queries[0].Query, errorRate.Queries[1].Query}, "(errors / hits) * 100", "error rate", "1740823200000", "1740825000000"},
		{"one query, unscaled", "https://us5.datadoghq.com", requests,
			[]string{requests.Queries[0].Query}, "hits", "requests", "1740823200000", "1740826800000"},
	} {
		t.Run(c.name, func(t *testing.T) {
			raw := ExplorerURL(c.app, c.q)
			u, err := url.Parse(raw)
			if err != nil {
				t.Fatalf("%q is not a URL: %v", raw, err)
			}
			if got := u.Scheme + "://" + u.Host + u.Path; got != c.app+"/metric/explorer" {
				t.Errorf("page %s, want %s/metric/explorer", got, c.app)
			}
			v := u.Query()
			if v.Get("start") != c.start || v.Get("end") != c.end || v.Get("paused") != "true" {
				t.Errorf("time frame start=%s end=%s paused=%s, want %s to %s, paused", v.Get("start"), v.Get("end"), v.Get("paused"), c.start, c.end)
			}
			var st struct {
				Widget struct {
					Definition struct {
						Type     string `json:"type"`
						Requests []struct {
							Queries []struct {
								Name, DataSource, Query string
							} `json:"queries"`
							Formulas []struct {
								Alias, Formula string
							} `json:"formulas"`
						} `json:"requests"`
					} `json:"definition"`
				} `json:"widget"`
			}
			state := lzDecompressURI(t, u.Fragment)
			if err := json.Unmarshal([]byte(state), &st); err != nil {
				t.Fatalf("the fragment holds %q, not JSON: %v", state, err)
			}
			d := st.Widget.Definition
			if d.Type != "timeseries" || len(d.Requests) != 1 {
				t.Fatalf("graph %+v: want one timeseries request", d)
			}
			r := d.Requests[0]
			if len(r.Queries) != len(c.queries) {
				t.Fatalf("queries %+v, want %q", r.Queries, c.queries)
			}
			for i, q := range r.Queries {
				if q.Query != c.queries[i] || q.Name != c.q.Queries[i].Name {
					t.Errorf("query %d is %s %q, want %s %q", i, q.Name, q.Query, c.q.Queries[i].Name, c.queries[i])
				}
				if !strings.Contains(q.Query, "by {kube_role}") {
					t.Errorf("query %q is not grouped by the role tag", q.Query)
				}
			}
			if len(r.Formulas) != 1 || r.Formulas[0].Formula != c.formula || r.Formulas[0].Alias != c.alias {
				t.Errorf("formulas %+v, want %q as %q", r.Formulas, c.formula, c.alias)
			}
		})
	}
	if got := ExplorerURL("", errorRate); got != "" {
		t.Errorf("without an app: %q, want no link", got)
	}
}

func TestLZCompressRoundTrip(t *testing.T) {
	for _, s := range []string{
		"", "a", "aaaaaaaaaaaaaaaaaaaa", "abababababab", `{"q":"sum:x{a:b} by {kube_role}"}`,
		"ünïcödé and 日本語 and 🐦 (a surrogate pair)",
		strings.Repeat("the canary's errors, the stable's errors; ", 50),
	} {
		if got := lzDecompressURI(t, lzCompressURI(s)); got != s {
			t.Errorf("round trip of %q gave %q", s, got)
		}
	}
}

// lzDecompressURI is lz-string's decompressFromEncodedURIComponent: what the
// web app does with the fragment.
func lzDecompressURI(t *testing.T, s string) string {
	t.Helper()
	if s == "" {
		return ""
	}
	vals := make([]int, len(s))
	for i := range s {
		vals[i] = strings.IndexByte(lzAlphabet, s[i])
		if vals[i] < 0 {
			t.Fatalf("%q is outside lz-string's alphabet", s[i])
		}
	}
	const reset = 32
	val, pos, idx := vals[0], reset, 1
	bits := func(n int) int {
		out := 0
		for p := 0; p < n; p++ {
			b := val & pos
			pos >>= 1
			if pos == 0 {
				pos = reset
				val = 0
				if idx < len(vals) {
					val = vals[idx]
				}
				idx++
			}
			if b > 0 {
				out |= 1 << p
			}
		}
		return out
	}
	dict := map[int][]uint16{}
	enlargeIn, dictSize, numBits := 4, 4, 3
	var w []uint16
	switch bits(2) {
	case 0:
		w = []uint16{uint16(bits(8))}
	case 1:
		w = []uint16{uint16(bits(16))}
	default:
		return ""
	}
	dict[3] = w
	out := append([]uint16(nil), w...)
	for {
		if idx > len(vals) {
			t.Fatalf("%q ends without lz-string's end mark", s)
		}
		c := bits(numBits)
		switch c {
		case 0, 1:
			n := 8
			if c == 1 {
				n = 16
			}
			dict[dictSize] = []uint16{uint16(bits(n))}
			c = dictSize
			dictSize++
			enlargeIn--
		case 2:
			return string(utf16.Decode(out))
		}
		if enlargeIn == 0 {
			enlargeIn = 1 << numBits
			numBits++
		}
		var entry []uint16
		if e, ok := dict[c]; ok {
			entry = e
		} else if c == dictSize {
			entry = append(append([]uint16(nil), w...), w[0])
		} else {
			t.Fatalf("%q refers to phrase %d, which is not in the dictionary", s, c)
		}
		out = append(out, entry...)
		dict[dictSize] = append(append([]uint16(nil), w...), entry[0])
		dictSize++
		enlargeIn--
		w = entry
		if enlargeIn == 0 {
			enlargeIn = 1 << numBits
			numBits++
		}
	}
}

// BenchmarkExplorerURL is the cost of one metric's link, paid once per
// metric per poll: the error rate's two queries and formula.
func BenchmarkExplorerURL(b *testing.B) {
	from := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	q := MetricQuery{
		Name: "error rate",
		Queries: []NamedQuery{
			{Name: "errors", Query: "sum:trace.http.request.errors{service:cart,env:prod} by {kube_role}.as_count()"},
			{Name: "hits", Query: "sum:trace.http.request.hits{service:cart,env:prod} by {kube_role}.as_count()"},
		},
		Formula: "errors / hits", Scale: 100, From: from, To: from.Add(30 * time.Minute),
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = ExplorerURL("https://app.datadoghq.com", q)
	}
}
