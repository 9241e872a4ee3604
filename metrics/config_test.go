package metrics

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadWithoutFileGivesDefaults(t *testing.T) {
	home := t.TempDir()
	c, err := Load("", envOf(map[string]string{"HOME": home}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if want := Defaults(); !reflect.DeepEqual(c, want) {
		t.Fatalf("Load without a file = %+v, want the defaults %+v", c, want)
	}
	if got := c.Headline(); got != "error_rate" {
		t.Errorf("Headline = %q, want error_rate", got)
	}
}

func TestLoadSiteFromEnv(t *testing.T) {
	c, err := Load("", envOf(map[string]string{"HOME": t.TempDir(), "DD_SITE": "datadoghq.eu"}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Datadog.Site != "datadoghq.eu" || c.Datadog.Address != "https://api.datadoghq.eu" {
		t.Errorf("site, address = %q, %q; want datadoghq.eu, https://api.datadoghq.eu", c.Datadog.Site, c.Datadog.Address)
	}
	// Every form Datadog documents, as people copy it.
	for _, site := range []string{"app.datadoghq.eu", "https://app.datadoghq.eu/", "api.datadoghq.eu", "DATADOGHQ.EU"} {
		c, err := Load("", envOf(map[string]string{"HOME": t.TempDir(), "DD_SITE": site}))
		if err != nil || c.Datadog.Site != "datadoghq.eu" || c.Datadog.Address != "https://api.datadoghq.eu" {
			t.Errorf("DD_SITE=%s: site, address = %q, %q (%v); want datadoghq.eu, https://api.datadoghq.eu", site, c.Datadog.Site, c.Datadog.Address, err)
		}
	}
	// One that is not a site is refused, and no address is made of it.
	c, err = Load("", envOf(map[string]string{"HOME": t.TempDir(), "DD_SITE": "datadog.example.com"}))
	if c.Datadog.Address != "" {
		t.Errorf("DD_SITE=datadog.example.com: address %q, want none (err %v)", c.Datadog.Address, err)
	}
	// The file's address wins over DD_SITE.
	dir := t.TempDir()
	p := writeFile(t, dir, "c.yaml", "datadog:\n  address: http://127.0.0.1:9999/\n")
	c, err = Load(p, envOf(map[string]string{"DD_SITE": "datadoghq.eu"}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Datadog.Address != "http://127.0.0.1:9999" || c.Datadog.Site != "" {
		t.Errorf("address, site = %q, %q; want the file's address and no site", c.Datadog.Address, c.Datadog.Site)
	}
}

func TestLoadExample(t *testing.T) {
	c, err := Load(filepath.Join("testdata", "config.example.yaml"), envOf(nil))
	if err != nil {
		t.Fatalf("the example does not load: %v", err)
	}
	if c.Cockpit.Grouping != "none" || c.ArgoCD != (ArgoCDConfig{Context: "argocd-mgmt", Namespace: "argocd", InstanceLabel: "app.kubernetes.io/instance"}) {
		t.Errorf("cockpit.grouping %q, argocd %+v", c.Cockpit.Grouping, c.ArgoCD)
	}
	if c.Datadog.ClusterTag != "kube_cluster_name" || c.Datadog.ClusterNames["arn:aws:eks:ap-northeast-1:123456789012:cluster/prod-tokyo"] != "prod-tokyo" {
		t.Errorf("datadog.clusterTag %q, clusterNames %v", c.Datadog.ClusterTag, c.Datadog.ClusterNames)
	}
	if !reflect.DeepEqual(c.Clusters, []string{"prod-tokyo", "prod-osaka"}) {
		t.Errorf("clusters = %q, want [prod-tokyo prod-osaka]", c.Clusters)
	}
	dd := c.Datadog
	if dd.Address != "https://api.datadoghq.eu" || dd.Secret != (SecretRef{"roost", "datadog"}) || dd.Env != "prod" {
		t.Errorf("datadog = %+v", dd)
	}
	if got := metricIDs(dd.Metrics); got != "requests, error_rate, latency_p95, checkout_failures" {
		t.Fatalf("metrics = %s", got)
	}
	defaults := DefaultMetrics()
	if !reflect.DeepEqual(dd.Metrics[0], defaults[0]) {
		t.Errorf("requests = %+v, want the default %+v", dd.Metrics[0], defaults[0])
	}
	if !reflect.DeepEqual(dd.Metrics[1], defaults[1]) {
		t.Errorf("error_rate as written = %+v, want it equal to the default %+v", dd.Metrics[1], defaults[1])
	}
	want := defaults[2]
	want.MaxRatio = 1.3
	if !reflect.DeepEqual(dd.Metrics[2], want) {
		t.Errorf("latency_p95 = %+v, want the default with maxRatio 1.3", dd.Metrics[2])
	}
	custom := dd.Metrics[3]
	if custom.Scale != 60 || custom.MaxRatio != DefaultMaxRatio || custom.MinRatio != DefaultMinRatio || !custom.HigherIsWorse || len(custom.Queries) != 1 {
		t.Errorf("checkout_failures = %+v, want scale 60 and the default tolerances", custom)
	}
	if c.Bugsnag.Project != "5f3c9a1b2d4e6f7a8b9c0d1e" || c.Bugsnag.Secret.Name != "bugsnag" {
		t.Errorf("bugsnag = %+v", c.Bugsnag)
	}
}

// A context listed twice is one cluster; without the field there is none,
// and the kubeconfig's current context is used.
func TestLoadClusters(t *testing.T) {
	c, err := Load(writeFile(t, t.TempDir(), "c.yaml", "clusters: [b, a, b, \" a \"]\n"), envOf(nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !reflect.DeepEqual(c.Clusters, []string{"b", "a"}) {
		t.Errorf("clusters = %q, want [b a]", c.Clusters)
	}
	if d := Defaults().Clusters; d != nil {
		t.Errorf("default clusters = %q, want none", d)
	}
}

func TestLoadJudgeGate(t *testing.T) {
	c, err := Load(writeFile(t, t.TempDir(), "c.yaml", "judge:\n  gate: Abort\n  rounds: 5\n"), envOf(nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Judge != (GateConfig{Gate: "abort", Rounds: 5, NewErrorWeight: DefaultNewErrorWeight}) {
		t.Errorf("judge = %+v, want abort after 5 rounds", c.Judge)
	}
	if d := Defaults().Judge; d != (GateConfig{Gate: "hold", Rounds: 3, NewErrorWeight: 3}) {
		t.Errorf("default judge = %+v, want hold after 3 rounds", d)
	}
}

func TestLoadCockpitBell(t *testing.T) {
	if d := Defaults().Cockpit.Bell; d != "bell" {
		t.Errorf("default cockpit.bell = %q, want bell", d)
	}
	c, err := Load(filepath.Join("testdata", "config.example.yaml"), envOf(nil))
	if err != nil || c.Cockpit.Bell != "notify" {
		t.Errorf("the example's cockpit.bell = %q (%v), want notify", c.Cockpit.Bell, err)
	}
	c, err = Load(writeFile(t, t.TempDir(), "c.yaml", "cockpit:\n  bell: off\n"), envOf(nil))
	if err != nil || c.Cockpit.Bell != "off" {
		t.Errorf("cockpit.bell off read as %q (%v)", c.Cockpit.Bell, err)
	}
}

func TestLoadOrderOfQueries(t *testing.T) {
	p := writeFile(t, t.TempDir(), "c.yaml", `
datadog:
  metrics:
    - id: saturation
      queries:
        zeta: "avg:a{*} by {kube_role}"
        alpha: "avg:b{*} by {kube_role}"
      formula: zeta - alpha
overview: saturation
`)
	c, err := Load(p, envOf(nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	q := c.Datadog.Metrics[0].Queries
	if len(q) != 2 || q[0].Name != "zeta" || q[1].Name != "alpha" {
		t.Errorf("queries = %+v, want zeta then alpha as written", q)
	}
}

// Every error names the file, the line, the field and the fix, and a bad file
// leaves the defaults in force.
func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		// want are substrings of the error, in order.
		want []string
		line int
	}{
		{
			name: "cluster tag not a tag key",
			file: "datadog:\n  clusterTag: 9cluster\n",
			want: []string{"line 2: datadog.clusterTag: \"9cluster\" is not a Datadog tag key", "such as kube_cluster_name, or none"},
			line: 2,
		},
		{
			name: "cluster name not a tag value",
			file: "datadog:\n  clusterNames:\n    admin@tokyo: \"tokyo cluster\"\n",
			want: []string{"datadog.clusterNames.admin@tokyo: \"tokyo cluster\" is not a Datadog tag value", "the cluster's kube_cluster_name in Datadog"},
		},
		{
			name: "unknown field",
			file: "datadog:\n  intervl: 30s\n",
			want: []string{"line 2: datadog.intervl: unknown field intervl in datadog (did you mean interval?); the fields there are api, site, address"},
			line: 2,
		},
		{
			name: "unknown top-level field",
			file: "datadog: {}\nbugsnak: {}\n",
			want: []string{"line 2: bugsnak: unknown field bugsnak at the top level (did you mean bugsnag?); the fields there are datadog, bugsnag, overview, judge"},
			line: 2,
		},
		{
			name: "clusters as one name, not a list",
			file: "clusters: prod-tokyo\n",
			want: []string{`line 1: clusters: "prod-tokyo" is not a list of kube context names, like [prod-tokyo, prod-osaka]`},
			line: 1,
		},
		{
			name: "an empty cluster name",
			file: "clusters:\n  - prod-tokyo\n  - \"\"\n",
			want: []string{`line 3: clusters[1]: "" is not a kube context's name: write the names ` + "`kubectl config get-contexts`" + ` lists`},
			line: 3,
		},
		{
			name: "unknown field of a metric",
			file: "datadog:\n  metrics:\n    - id: error_rate\n      maxratio: 2\n",
			want: []string{"line 4: datadog.metrics[0].maxratio: unknown field maxratio in datadog.metrics[0] (did you mean maxRatio?)"},
			line: 4,
		},
		{
			name: "bad duration",
			file: "datadog:\n  interval: 30 secs\n",
			want: []string{`line 2: datadog.interval: "30 secs" is not a duration: write it with its unit, like 30s, 5m or 1h`},
			line: 2,
		},
		{
			name: "duration without a unit",
			file: "datadog:\n  window: 30\n",
			want: []string{`line 2: datadog.window: "30" is not a duration`},
			line: 2,
		},
		{
			name: "interval too short",
			file: "datadog:\n  interval: 1s\n",
			want: []string{"line 2: datadog.interval: 1s is too short: poll every 5s or more"},
			line: 2,
		},
		{
			name: "timeout longer than the interval",
			file: "datadog:\n  interval: 10s\n  timeout: 20s\n",
			want: []string{"line 3: datadog.timeout: 20s is out of range: give a call between 1ms and the interval (10s)"},
			line: 3,
		},
		{
			name: "not a number",
			file: "datadog:\n  metrics:\n    - id: error_rate\n      maxRatio: lots\n",
			want: []string{`line 4: datadog.metrics[0].maxRatio: "lots" is not a number, like 1.5`},
			line: 4,
		},
		{
			name: "not a whole number",
			file: "datadog:\n  maxCallsPerMinute: 1.5\n",
			want: []string{`line 2: datadog.maxCallsPerMinute: "1.5" is not a whole number`},
			line: 2,
		},
		{
			name: "not a boolean",
			file: "datadog:\n  metrics:\n    - id: error_rate\n      higherIsWorse: maybe\n",
			want: []string{`line 4: datadog.metrics[0].higherIsWorse: "maybe" is not true or false`},
			line: 4,
		},
		{
			name: "template with an unknown field",
			file: "datadog:\n  metrics:\n    - id: error_rate\n      queries:\n        errors: \"sum:trace.x.errors{service:{{.Servce}}} by {kube_role}\"\n        hits: \"sum:trace.x.hits{*} by {kube_role}\"\n      formula: errors / hits\n",
			want: []string{"line 5: datadog.metrics[0].queries.errors: metric error_rate, query errors: the template does not render: {{.Servce}} is not one of its fields; its fields are {{.Namespace}}"},
			line: 5,
		},
		{
			name: "template that does not parse",
			file: "datadog:\n  metrics:\n    - id: latency_p95\n      queries:\n        p95: \"p95:trace.x{service:{{.Service} by {kube_role}\"\n",
			want: []string{"line 5: datadog.metrics[0].queries.p95: metric latency_p95, query p95: the template does not parse: at 1:", "fix the template (its fields are {{.Namespace}}"},
			line: 5,
		},
		{
			name: "query not grouped by the tag key",
			file: "datadog:\n  tagKey: version\n  metrics:\n    - id: latency_p95\n      queries:\n        p95: \"p95:trace.x{*} by {kube_role}\"\n",
			want: []string{`line 6: datadog.metrics[0].queries.p95: metric latency_p95, query p95: "p95:trace.x{*} by {kube_role}" is not grouped by version, so canary and stable cannot be told apart: end the query with by {{.GroupBy}}`},
			line: 6,
		},
		{
			name: "formula naming a query that does not exist",
			file: "datadog:\n  metrics:\n    - id: error_rate\n      formula: errors / hit\n",
			want: []string{`line 4: datadog.metrics[0].formula: metric error_rate: the formula "errors / hit" uses hit, which is not one of its queries (errors, hits): fix the name`},
			line: 4,
		},
		{
			name: "several queries and no formula",
			file: "datadog:\n  metrics:\n    - id: ratio\n      queries: {a: \"sum:a{*} by {kube_role}\", b: \"sum:b{*} by {kube_role}\"}\noverview: ratio\n",
			want: []string{`line 3: datadog.metrics[0].formula: metric ratio has 2 queries (a, b) and no formula: say how they combine, e.g. formula: "a / b"`},
			line: 3,
		},
		{
			name: "new metric without queries",
			file: "datadog:\n  metrics:\n    - id: saturation\n",
			want: []string{"line 3: datadog.metrics[0].queries: metric saturation is not one of requests, error_rate, latency_p95, so it needs its queries"},
			line: 3,
		},
		{
			name: "metric listed twice",
			file: "datadog:\n  metrics:\n    - id: requests\n    - id: requests\n",
			want: []string{"line 4: datadog.metrics[1].id: metric requests is listed twice: keep one"},
			line: 4,
		},
		{
			name: "empty metric list",
			file: "datadog:\n  metrics: []\n",
			want: []string{"line 2: datadog.metrics: the list is empty: list at least one metric, or leave datadog.metrics out for the defaults"},
			line: 2,
		},
		{
			name: "bad query name",
			file: "datadog:\n  metrics:\n    - id: x\n      queries: {Errors: \"sum:a{*} by {kube_role}\"}\n",
			want: []string{`line 4: datadog.metrics[0].queries.Errors: query name "Errors" is not a lower-case identifier`},
			line: 4,
		},
		{
			name: "tolerance of 1 or less",
			file: "datadog:\n  metrics:\n    - id: error_rate\n      maxRatio: 0.9\n",
			want: []string{"line 4: datadog.metrics[0].maxRatio: metric error_rate: maxRatio 0.9 must be above 1"},
			line: 4,
		},
		{
			name: "unknown API version",
			file: "datadog:\n  api: v3\n",
			want: []string{`line 2: datadog.api: "v3" is not a Datadog API version: use v2`},
			line: 2,
		},
		{
			name: "site and address",
			file: "datadog:\n  site: datadoghq.eu\n  address: https://dd.example.com\n",
			want: []string{"line 3: datadog.address: both datadog.site and datadog.address are set: keep one"},
			line: 3,
		},
		{
			name: "a host that is not a Datadog site",
			file: "datadog:\n  site: https://app.datadoghq.eu.example/\n",
			want: []string{`line 2: datadog.site: "https://app.datadoghq.eu.example/" is not a Datadog site (datadoghq.com, us3.datadoghq.com`},
			line: 2,
		},
		{
			name: "secret without a name",
			file: "datadog:\n  secret: {namespace: roost}\n",
			want: []string{"line 2: datadog.secret: a secret needs both namespace and name"},
			line: 2,
		},
		{
			name: "secret written as a string",
			file: "datadog:\n  secret: roost/datadog\n",
			want: []string{`line 2: datadog.secret: "roost/datadog" is not a secret: write {namespace: roost, name: datadog}`},
			line: 2,
		},
		{
			name: "same tag value for both sides",
			file: "datadog:\n  canaryValue: web\n  stableValue: web\n",
			want: []string{`line 3: datadog.stableValue: canary and stable are both "web"`},
			line: 3,
		},
		{
			name: "judge gate of no kind",
			file: "judge:\n  gate: pause\n",
			want: []string{`line 2: judge.gate: "pause" is not a gate: write off`},
			line: 2,
		},
		{
			name: "bell of no kind",
			file: "cockpit:\n  bell: loud\n",
			want: []string{`line 2: cockpit.bell: "loud" is not a bell: write off, bell`, "or notify"},
			line: 2,
		},
		{
			name: "judge gate after no rounds",
			file: "judge:\n  gate: abort\n  rounds: 0\n",
			want: []string{`line 3: judge.rounds: 0: write how many failing rounds in a row`},
			line: 3,
		},
		{
			name: "overview of a metric that is not configured",
			file: "overview: errors\n",
			want: []string{`line 1: overview: "errors" is not one of the metrics (requests, error_rate, latency_p95)`},
			line: 1,
		},
		{
			name: "YAML syntax",
			file: "datadog:\n  interval: 30s\n window: 5m\n",
			want: []string{"line 2: not valid YAML: did not find expected key (check the indentation"},
			line: 2,
		},
		{
			name: "a field given twice",
			file: "datadog:\n  interval: 30s\n  interval: 1m\n",
			want: []string{"line 3: datadog.interval: given twice (first at line 2): keep one"},
			line: 3,
		},
		{
			name: "a section that is not a mapping",
			file: "datadog: v2\n",
			want: []string{`line 1: datadog: "v2" is not a mapping with the fields api, site, address`},
			line: 1,
		},
		{
			name: "bugsnag address",
			file: "bugsnag:\n  address: api.bugsnag.com\n",
			want: []string{`line 2: bugsnag.address: "api.bugsnag.com" is not an http(s) URL`},
			line: 2,
		},
		{
			name: "two problems at once",
			file: "datadog:\n  interval: 1s\n  api: v9\n",
			want: []string{": 2 problems:\n  line 3: datadog.api:", "\n  line 2: datadog.interval: 1s is too short"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), "config.yaml", tt.file)
			c, err := Load(p, envOf(nil))
			if err == nil {
				t.Fatalf("Load(%q) gave no error", tt.file)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, p+": ") {
				t.Errorf("error %q does not start with the file's path", msg)
			}
			rest := msg
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("error\n%s\ndoes not contain (in order)\n%s", msg, w)
				}
				rest = rest[i+len(w):]
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not a *ConfigError", err)
			}
			if tt.line != 0 && (len(ce.Problems) != 1 || ce.Problems[0].Line != tt.line) {
				t.Errorf("problems = %+v, want one at line %d", ce.Problems, tt.line)
			}
			if want := Defaults(); !reflect.DeepEqual(c, want) {
				t.Errorf("a bad file gave %+v, want the defaults", c)
			}
		})
	}
}

func TestLoadFiles(t *testing.T) {
	home := t.TempDir()
	xdg := t.TempDir()
	writeFile(t, xdg, "roost/config.yaml", "datadog:\n  interval: 45s\n")
	writeFile(t, home, ".config/roost/config.yaml", "datadog:\n  interval: 50s\n")
	tests := []struct {
		name     string
		path     string
		env      map[string]string
		interval time.Duration
		err      string
	}{
		{name: "XDG_CONFIG_HOME", env: map[string]string{"HOME": home, "XDG_CONFIG_HOME": xdg}, interval: 45 * time.Second},
		{name: "HOME", env: map[string]string{"HOME": home}, interval: 50 * time.Second},
		{
			name: "relative XDG_CONFIG_HOME is ignored", env: map[string]string{"HOME": home, "XDG_CONFIG_HOME": "cfg"}, interval: 50 * time.Second,
			err: `XDG_CONFIG_HOME="cfg" is a relative path, which the XDG spec says to ignore; roost reads ~/.config/roost/config.yaml instead: set XDG_CONFIG_HOME to an absolute path or unset it`,
		},
		{name: "no default file", env: map[string]string{"HOME": t.TempDir()}, interval: DefaultInterval},
		{name: "no home at all", env: map[string]string{}, interval: DefaultInterval},
		{
			name: "missing --config file", path: filepath.Join(home, "nope.yaml"), env: map[string]string{"HOME": home}, interval: DefaultInterval,
			err: "config file " + filepath.Join(home, "nope.yaml") + " does not exist: fix the --config path, or leave --config out to use " + filepath.Join(home, ".config/roost/config.yaml"),
		},
		{
			name: "--config is a directory", path: home, env: map[string]string{"HOME": home}, interval: DefaultInterval,
			err: "config file " + home + " cannot be read: ",
		},
		{name: "empty file", path: writeFile(t, home, "empty.yaml", ""), interval: DefaultInterval},
		{name: "comments only", path: writeFile(t, home, "comments.yaml", "# nothing yet\n"), interval: DefaultInterval},
		{
			name: "two documents", path: writeFile(t, home, "two.yaml", "datadog: {}\n---\nbugsnag: {}\n"), interval: DefaultInterval,
			err: "two.yaml: line 2: a second YAML document (after ---): keep everything in one document",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(tt.path, envOf(tt.env))
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("Load: %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("Load error = %v, want %q", err, tt.err)
			}
			if c.Datadog.Interval != tt.interval {
				t.Errorf("interval = %s, want %s", c.Datadog.Interval, tt.interval)
			}
		})
	}
}

func TestHeadline(t *testing.T) {
	c := Defaults()
	c.Overview = "latency_p95"
	if got := c.Headline(); got != "latency_p95" {
		t.Errorf("Headline = %q, want latency_p95", got)
	}
	c.Datadog.Metrics = []MetricConfig{{ID: "saturation"}}
	if got := c.Headline(); got != "saturation" {
		t.Errorf("Headline without the overview's metric = %q, want the first metric", got)
	}
	c.Datadog.Metrics = nil
	if got := c.Headline(); got != "" {
		t.Errorf("Headline without metrics = %q, want none", got)
	}
}
