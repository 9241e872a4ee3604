package metrics

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Config says what roost asks Datadog and Bugsnag about each canary, and how
// often. It is read from $XDG_CONFIG_HOME/roost/config.yaml (by default
// ~/.config/roost/config.yaml) or the file given with --config; every field is
// optional. testdata/config.example.yaml shows every field with its default
// and what it means.
type Config struct {
	// File is the file the configuration was read from, "" when none was.
	File    string
	Datadog Datadog
	Bugsnag Bugsnag
	// Overview is the id of the metric whose canary/stable ratio the overview
	// shows for every rollout (yaml: overview); see Headline.
	Overview string
}

// Datadog is the configuration of the metrics side (yaml: datadog).
type Datadog struct {
	// API is "v2" (POST /api/v2/query/timeseries, the default) or "v1"
	// (GET /api/v1/query).
	API string
	// Site is a Datadog site name ("datadoghq.eu"), from the file or DD_SITE.
	Site string
	// Address is the base URL roost talks to: datadog.address, else
	// https://api.<Site>; "" leaves it to the secret's optional address key,
	// else https://api.datadoghq.com.
	Address string
	// Secret names the Kubernetes Secret with the keys api-key and app-key
	// (and optionally address); the zero value means none.
	Secret SecretRef
	// TagKey is the tag whose value tells the canary (CanaryValue) from
	// stable (StableValue): default kube_role, canary, stable.
	TagKey      string
	CanaryValue string
	StableValue string
	// Env is the env tag queries filter on ({{.Env}}); "" takes the pod
	// template's tags.datadoghq.com/env label, else no env filter.
	Env string
	// Operation is the APM operation of the default queries
	// ({{.Operation}}, default http.request).
	Operation string
	// Interval is how often a progressing or paused rollout is polled;
	// healthy rollouts are never polled.
	Interval time.Duration
	// Window is how far back each query looks; never before a minute before
	// the canary started.
	Window time.Duration
	// Timeout bounds one call, to Datadog or to Bugsnag.
	Timeout time.Duration
	// MaxCallsPerMinute caps Datadog calls across every rollout; 0 leaves
	// the limit to Datadog's own X-RateLimit headers.
	MaxCallsPerMinute int
	// Metrics are the metrics of every rollout, in the order shown.
	Metrics []MetricConfig
}

// SecretRef names a Kubernetes Secret.
type SecretRef struct {
	Namespace string `yaml:"namespace"`
	Name      string `yaml:"name"`
}

// IsZero reports whether no secret is named.
func (s SecretRef) IsZero() bool { return s.Namespace == "" && s.Name == "" }

// String is namespace/name, as kubectl names a Secret.
func (s SecretRef) String() string { return s.Namespace + "/" + s.Name }

// Bugsnag is the configuration of the errors side (yaml: bugsnag).
type Bugsnag struct {
	// Address is the Data Access API's base URL (default https://api.bugsnag.com).
	Address string
	// Secret names the Kubernetes Secret with the key auth-token.
	Secret SecretRef
	// Project is the Bugsnag project id of rollouts without the
	// bugsnag.roost.dev/project annotation.
	Project string
	// CanaryStage and StableStage are the release stages of the two sides
	// (default canary and stable).
	CanaryStage string
	StableStage string
}

// MetricConfig is one metric: named query templates, a formula that combines
// them, and the judge's tolerance.
type MetricConfig struct {
	// ID is the metric's key ("error_rate"); Name is how it is shown.
	ID   string
	Name string
	Unit string
	// HigherIsWorse: a High canary counts against it (errors, latency).
	HigherIsWorse bool
	// LowerIsWorse: a Low canary counts against it (a request rate that
	// must not drop, if the configuration says so).
	LowerIsWorse bool
	// Queries are text/template query templates, in file order; Formula
	// combines them by name, "" when there is one.
	Queries []NamedQuery
	Formula string
	// Scale multiplies every value (100 turns a fraction into a percentage).
	Scale float64
	// MaxRatio and MinRatio bound the canary against stable: above
	// MaxRatio × stable it is High, below MinRatio × stable Low.
	MaxRatio float64
	MinRatio float64
}

// Tolerance is what the judge needs of a metric beyond its data.
func (m MetricConfig) Tolerance() Tolerance {
	return Tolerance{MaxRatio: m.MaxRatio, MinRatio: m.MinRatio, LowerIsWorse: m.LowerIsWorse}
}

// Tolerance says how far the canary may stray from stable on one metric
// before the judge calls it High or Low, and whether Low counts against it
// (whether High does is Metric.HigherIsWorse).
type Tolerance struct {
	// MaxRatio: the canary is High when it is significantly above stable and
	// its mean is beyond MaxRatio × stable's, or when its latest value is
	// beyond MaxRatio × stable's latest. 1.5 lets it have half again as
	// many errors. A value of 1 or less allows no slack.
	MaxRatio float64
	// MinRatio: the canary is Low when it is significantly below stable and
	// its mean is under MinRatio × stable's. 0, or 1 and more, allows no slack.
	MinRatio float64
	// LowerIsWorse: a Low verdict counts against the canary.
	LowerIsWorse bool
}

// Defaults of the configuration.
const (
	DefaultAPI         = "v2"
	DefaultTagKey      = "kube_role"
	DefaultCanaryValue = "canary"
	DefaultStableValue = "stable"
	DefaultOperation   = "http.request"
	DefaultInterval    = 30 * time.Second
	DefaultWindow      = 30 * time.Minute
	DefaultTimeout     = 10 * time.Second
	DefaultBugsnag     = "https://api.bugsnag.com"
	DefaultCanaryStage = "canary"
	DefaultStableStage = "stable"
	DefaultOverview    = "error_rate"
	// Tolerances of a metric that gives none: Kayenta's 25% either way.
	DefaultMaxRatio = 1.25
	DefaultMinRatio = 0.8
)

// Limits of the durations, so that a typo cannot flood an API or poll never.
const (
	minInterval = 5 * time.Second
	minWindow   = time.Minute
	maxWindow   = 24 * time.Hour
)

// The default queries use APM's trace.<operation> metrics, which every traced
// service has. {{.Filter}} is {service:…,env:…} and {{.GroupBy}} {kube_role}.
const (
	defaultHitsRate   = "sum:trace.{{.Operation}}.hits{{.Filter}} by {{.GroupBy}}.as_rate()"
	defaultHitsCount  = "sum:trace.{{.Operation}}.hits{{.Filter}} by {{.GroupBy}}.as_count()"
	defaultErrorCount = "sum:trace.{{.Operation}}.errors{{.Filter}} by {{.GroupBy}}.as_count()"
	defaultP95        = "p95:trace.{{.Operation}}{{.Filter}} by {{.GroupBy}}"
)

// DefaultMetrics are the metrics of a configuration that lists none: request
// rate, error rate and p95 latency.
func DefaultMetrics() []MetricConfig {
	return []MetricConfig{
		{
			ID: "requests", Name: "requests", Unit: "req/s",
			Queries:  []NamedQuery{{Name: "hits", Query: defaultHitsRate}},
			Scale:    1,
			MaxRatio: 1.5, MinRatio: 0.5,
		},
		{
			ID: "error_rate", Name: "error rate", Unit: "%", HigherIsWorse: true,
			Queries: []NamedQuery{
				{Name: "errors", Query: defaultErrorCount},
				{Name: "hits", Query: defaultHitsCount},
			},
			Formula:  "errors / hits",
			Scale:    100,
			MaxRatio: 1.5, MinRatio: 0.5,
		},
		{
			// Datadog reports trace durations in seconds.
			ID: "latency_p95", Name: "p95 latency", Unit: "ms", HigherIsWorse: true,
			Queries:  []NamedQuery{{Name: "p95", Query: defaultP95}},
			Scale:    1000,
			MaxRatio: 1.2, MinRatio: 0.8,
		},
	}
}

// Defaults is the configuration without a file.
func Defaults() Config {
	return Config{
		Datadog: Datadog{
			API:         DefaultAPI,
			TagKey:      DefaultTagKey,
			CanaryValue: DefaultCanaryValue,
			StableValue: DefaultStableValue,
			Operation:   DefaultOperation,
			Interval:    DefaultInterval,
			Window:      DefaultWindow,
			Timeout:     DefaultTimeout,
			Metrics:     DefaultMetrics(),
		},
		Bugsnag: Bugsnag{
			Address:     DefaultBugsnag,
			CanaryStage: DefaultCanaryStage,
			StableStage: DefaultStableStage,
		},
		Overview: DefaultOverview,
	}
}

// Headline is the id of the metric the overview shows: Overview when the
// configuration has that metric, else the first metric.
func (c Config) Headline() string {
	for _, m := range c.Datadog.Metrics {
		if m.ID == c.Overview {
			return m.ID
		}
	}
	if len(c.Datadog.Metrics) > 0 {
		return c.Datadog.Metrics[0].ID
	}
	return ""
}

// ConfigError is everything wrong with one configuration source (a file or
// an annotation), one problem a line.
type ConfigError struct {
	// Source is the file's path, or "annotation NAME on rollout NS/NAME".
	Source   string
	Problems []Problem
}

// Problem is one thing wrong with a configuration source.
type Problem struct {
	// Line is the line in the source, 0 when unknown.
	Line int
	// Field is the field's path: "datadog.metrics[1].queries.errors".
	Field string
	// Message says what is wrong and how to fix it.
	Message string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Field != "" {
		b.WriteString(p.Field + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

func (e *ConfigError) Error() string {
	if len(e.Problems) == 1 {
		return e.Source + ": " + e.Problems[0].String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problems:", e.Source, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.String())
	}
	return b.String()
}

// DefaultPath is the configuration file roost reads without --config:
// $XDG_CONFIG_HOME/roost/config.yaml, else ~/.config/roost/config.yaml. A
// relative XDG_CONFIG_HOME is ignored, as the XDG spec asks, and the error
// says so; the path is still usable. "" means there is no home to look in.
func DefaultPath(getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var warn error
	if x := getenv("XDG_CONFIG_HOME"); x != "" {
		if filepath.IsAbs(x) {
			return filepath.Join(x, "roost", "config.yaml"), nil
		}
		warn = fmt.Errorf("XDG_CONFIG_HOME=%q is a relative path, which the XDG spec says to ignore; roost reads ~/.config/roost/config.yaml instead: set XDG_CONFIG_HOME to an absolute path or unset it", x)
	}
	home := getenv("HOME")
	if home == "" {
		return "", warn
	}
	return filepath.Join(home, ".config", "roost", "config.yaml"), warn
}

// Load reads the configuration: the file at path (--config) when given, else
// the default file when there is one. It always returns a configuration roost
// can run with: when the file is bad it returns the defaults and an error
// that names the file, the line, the field and the fix, for the dashboard to
// show while it carries on. A missing default file is no error; a missing
// --config file is. getenv (nil: os.Getenv) supplies XDG_CONFIG_HOME, HOME and
// DD_SITE.
func Load(path string, getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	defaults := Defaults()
	applyEnv(&defaults, getenv)
	var warn error
	explicit := path != ""
	if !explicit {
		path, warn = DefaultPath(getenv)
		if path == "" {
			return defaults, warn
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist) && !explicit:
			return defaults, warn
		case errors.Is(err, fs.ErrNotExist):
			return defaults, errors.Join(warn, fmt.Errorf("config file %s does not exist: fix the --config path, or leave --config out to use %s", path, describeDefaultPath(getenv)))
		default:
			return defaults, errors.Join(warn, fmt.Errorf("config file %s cannot be read: %w", path, err))
		}
	}
	c, err := parseConfig(path, data, getenv)
	if err != nil {
		return defaults, errors.Join(warn, err)
	}
	return c, warn
}

func describeDefaultPath(getenv func(string) string) string {
	if p, _ := DefaultPath(getenv); p != "" {
		return p
	}
	return "the defaults"
}

// applyEnv fills in what the environment says where the file says nothing.
func applyEnv(c *Config, getenv func(string) string) {
	if c.Datadog.Site == "" && c.Datadog.Address == "" {
		c.Datadog.Site = strings.TrimSpace(getenv("DD_SITE"))
	}
	if c.Datadog.Address == "" && c.Datadog.Site != "" {
		c.Datadog.Address = "https://api." + c.Datadog.Site
	}
}

// The YAML form of the file. Metrics are decoded apart, with pointers, so an
// entry that names a default metric changes only the fields it gives.
type fileConfig struct {
	Datadog  fileDatadog `yaml:"datadog"`
	Bugsnag  fileBugsnag `yaml:"bugsnag"`
	Overview string      `yaml:"overview"`
}

type fileDatadog struct {
	API               string        `yaml:"api"`
	Site              string        `yaml:"site"`
	Address           string        `yaml:"address"`
	Secret            SecretRef     `yaml:"secret"`
	TagKey            string        `yaml:"tagKey"`
	CanaryValue       string        `yaml:"canaryValue"`
	StableValue       string        `yaml:"stableValue"`
	Env               string        `yaml:"env"`
	Operation         string        `yaml:"operation"`
	Interval          time.Duration `yaml:"interval"`
	Window            time.Duration `yaml:"window"`
	Timeout           time.Duration `yaml:"timeout"`
	MaxCallsPerMinute wholeNumber   `yaml:"maxCallsPerMinute"`
	Metrics           []fileMetric  `yaml:"metrics"`
}

type fileBugsnag struct {
	Address     string    `yaml:"address"`
	Secret      SecretRef `yaml:"secret"`
	Project     string    `yaml:"project"`
	CanaryStage string    `yaml:"canaryStage"`
	StableStage string    `yaml:"stableStage"`
}

type fileMetric struct {
	ID            string          `yaml:"id"`
	Name          *string         `yaml:"name"`
	Unit          *string         `yaml:"unit"`
	HigherIsWorse *bool           `yaml:"higherIsWorse"`
	LowerIsWorse  *bool           `yaml:"lowerIsWorse"`
	Queries       *queryTemplates `yaml:"queries"`
	Formula       *string         `yaml:"formula"`
	Scale         *float64        `yaml:"scale"`
	MaxRatio      *float64        `yaml:"maxRatio"`
	MinRatio      *float64        `yaml:"minRatio"`
}

// UnmarshalYAML takes a metric written as its id alone (metrics: [requests,
// error_rate]) or as a mapping. It uses the decoder's own unmarshal, which
// keeps refusing unknown fields.
func (m *fileMetric) UnmarshalYAML(unmarshal func(any) error) error {
	var id string
	if err := unmarshal(&id); err == nil {
		*m = fileMetric{ID: id}
		return nil
	}
	return unmarshal((*fileMetricFields)(m))
}

// fileMetricFields is fileMetric without its UnmarshalYAML.
type fileMetricFields fileMetric

func parseConfig(path string, data []byte, getenv func(string) string) (Config, error) {
	d := Defaults()
	f := fileConfig{
		Datadog: fileDatadog{
			API: d.Datadog.API, TagKey: d.Datadog.TagKey,
			CanaryValue: d.Datadog.CanaryValue, StableValue: d.Datadog.StableValue,
			Operation: d.Datadog.Operation, Interval: d.Datadog.Interval,
			Window: d.Datadog.Window, Timeout: d.Datadog.Timeout,
		},
		Bugsnag: fileBugsnag{
			Address:     d.Bugsnag.Address,
			CanaryStage: d.Bugsnag.CanaryStage, StableStage: d.Bugsnag.StableStage,
		},
		Overview: d.Overview,
	}
	doc, problems := decodeStrict(data, &f)
	if len(problems) > 0 {
		return Config{}, &ConfigError{Source: path, Problems: problems}
	}
	c := Config{
		File: path,
		Datadog: Datadog{
			API: f.Datadog.API, Site: strings.TrimSpace(f.Datadog.Site),
			Address: strings.TrimRight(strings.TrimSpace(f.Datadog.Address), "/"),
			Secret:  f.Datadog.Secret, TagKey: f.Datadog.TagKey,
			CanaryValue: f.Datadog.CanaryValue, StableValue: f.Datadog.StableValue,
			Env: f.Datadog.Env, Operation: f.Datadog.Operation,
			Interval: f.Datadog.Interval, Window: f.Datadog.Window, Timeout: f.Datadog.Timeout,
			MaxCallsPerMinute: int(f.Datadog.MaxCallsPerMinute),
			Metrics:           d.Datadog.Metrics,
		},
		Bugsnag: Bugsnag{
			Address: strings.TrimRight(strings.TrimSpace(f.Bugsnag.Address), "/"),
			Secret:  f.Bugsnag.Secret, Project: strings.TrimSpace(f.Bugsnag.Project),
			CanaryStage: f.Bugsnag.CanaryStage, StableStage: f.Bugsnag.StableStage,
		},
		Overview: f.Overview,
	}
	// Templates are tried on a sample rollout with the file's tags.
	dd := c.Datadog
	v := &validator{lines: doc, sample: newTemplateData("shop", "checkout", "checkout", dd.Env, dd.TagKey, dd.Operation, dd.CanaryValue, dd.StableValue)}
	siteGiven := c.Datadog.Site != ""
	if c.Datadog.Site != "" && c.Datadog.Address != "" {
		v.add("datadog.address", "both datadog.site and datadog.address are set: keep one (site for a Datadog site such as datadoghq.eu, address for any other URL)")
	}
	applyEnv(&c, getenv)
	if f.Datadog.Metrics != nil {
		c.Datadog.Metrics = v.metrics("datadog.metrics", f.Datadog.Metrics, DefaultMetrics())
	}
	// The overview is only checked against a metric list without problems.
	metricsOK := len(v.problems) == 0
	v.config(c, siteGiven, metricsOK)
	if len(v.problems) > 0 {
		return Config{}, &ConfigError{Source: path, Problems: v.problems}
	}
	return c, nil
}

// validator gathers the problems of one source, each at its field's line.
type validator struct {
	lines    *lineIndex
	problems []Problem
	// sample is the rollout templates are tried on.
	sample templateData
}

func (v *validator) add(path, format string, args ...any) {
	v.problems = append(v.problems, Problem{
		Line: v.lines.line(path), Field: path, Message: fmt.Sprintf(format, args...),
	})
}

var (
	// Datadog tags: letters, digits and _ - . / : (no space, comma or brace,
	// which would break the query); a key starts with a letter.
	tagKeyPattern   = regexp.MustCompile(`^[\p{L}][\p{L}\p{N}_\-./:]*$`)
	tagValuePattern = regexp.MustCompile(`^[\p{L}\p{N}][\p{L}\p{N}_\-./:]*$`)
	// An APM operation: "http.request", "rack.request", "grpc.server".
	operationPattern = regexp.MustCompile(`^[a-z][a-z0-9_.\-]*$`)
	// A metric id or a query name: a lower-case identifier.
	identPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	// Datadog site names: datadoghq.com, us3.datadoghq.com, datadoghq.eu, ddog-gov.com.
	sitePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.\-]*\.[a-z]{2,}$`)
	// Bugsnag project ids are hex, but any plain id is passed through.
	projectPattern = regexp.MustCompile(`^[A-Za-z0-9_\-]+$`)
)

func (v *validator) config(c Config, siteGiven, metricsOK bool) {
	dd := c.Datadog
	if dd.API != "v1" && dd.API != "v2" {
		v.add("datadog.api", "%q is not a Datadog API version: use v2 (timeseries queries with formulas) or v1", dd.API)
	}
	if dd.Site != "" && !sitePattern.MatchString(dd.Site) {
		if siteGiven {
			v.add("datadog.site", "%q is not a Datadog site name: write the site alone (datadoghq.eu, us5.datadoghq.com); put a full URL in datadog.address", dd.Site)
		} else {
			v.add("datadog.site", "DD_SITE=%q is not a Datadog site name: set it to the site alone (datadoghq.eu, us5.datadoghq.com)", dd.Site)
		}
	}
	if dd.Address != "" && dd.Site == "" {
		v.url("datadog.address", dd.Address)
	}
	v.secret("datadog.secret", dd.Secret)
	if !tagKeyPattern.MatchString(dd.TagKey) {
		v.add("datadog.tagKey", "%q is not a Datadog tag key (a letter, then letters, digits, _ - . / :): write one such as kube_role or version", dd.TagKey)
	}
	v.tag("datadog.canaryValue", dd.CanaryValue, "the canary pods' tag value, such as canary")
	v.tag("datadog.stableValue", dd.StableValue, "the stable pods' tag value, such as stable")
	if dd.CanaryValue == dd.StableValue && dd.CanaryValue != "" {
		v.add("datadog.stableValue", "canary and stable are both %q, so their series cannot be told apart: give them different values", dd.StableValue)
	}
	if dd.Env != "" {
		v.tag("datadog.env", dd.Env, "a Datadog env tag value such as prod, or leave it out")
	}
	if !operationPattern.MatchString(dd.Operation) {
		v.add("datadog.operation", "%q is not an APM operation name: write it like http.request or rack.request", dd.Operation)
	}
	if dd.Interval < minInterval {
		v.add("datadog.interval", "%s is too short: poll every %s or more (default %s)", dd.Interval, minInterval, DefaultInterval)
	}
	if dd.Window < minWindow || dd.Window > maxWindow {
		v.add("datadog.window", "%s is out of range: look back between %s and %s (default %s)", dd.Window, minWindow, maxWindow, DefaultWindow)
	}
	if dd.Timeout <= 0 || dd.Timeout > dd.Interval && dd.Interval >= minInterval {
		v.add("datadog.timeout", "%s is out of range: give a call between 1ms and the interval (%s); default %s", dd.Timeout, dd.Interval, DefaultTimeout)
	}
	if dd.MaxCallsPerMinute < 0 {
		v.add("datadog.maxCallsPerMinute", "%d is negative: give a budget of calls per minute, or 0 for no budget beyond Datadog's own rate limit", dd.MaxCallsPerMinute)
	}
	ids := map[string]bool{}
	for _, m := range dd.Metrics {
		ids[m.ID] = true
	}
	if metricsOK && !ids[c.Overview] {
		v.add("overview", "%q is not one of the metrics (%s): name the metric the overview shows", c.Overview, metricIDs(dd.Metrics))
	}
	bs := c.Bugsnag
	v.url("bugsnag.address", bs.Address)
	v.secret("bugsnag.secret", bs.Secret)
	if bs.Project != "" && !projectPattern.MatchString(bs.Project) {
		v.add("bugsnag.project", "%q is not a Bugsnag project id: copy the id from the project's settings (24 hex digits)", bs.Project)
	}
	if strings.TrimSpace(bs.CanaryStage) == "" || strings.TrimSpace(bs.StableStage) == "" {
		v.add("bugsnag.canaryStage", "the release stages must not be empty: the canary's is the BUGSNAG_RELEASE_STAGE its pods report (default canary, stable)")
	} else if bs.CanaryStage == bs.StableStage {
		v.add("bugsnag.stableStage", "canary and stable are both release stage %q: give them different stages", bs.StableStage)
	}
}

func (v *validator) tag(path, value, want string) {
	if !tagValuePattern.MatchString(value) {
		v.add(path, "%q is not a Datadog tag value (letters, digits, _ - . / :): write %s", value, want)
	}
}

func (v *validator) url(path, address string) {
	u, err := url.Parse(address)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		v.add(path, "%q is not an http(s) URL: write it like https://api.example.com", address)
	}
}

func (v *validator) secret(path string, s SecretRef) {
	if s.IsZero() {
		return
	}
	if s.Name == "" || s.Namespace == "" {
		v.add(path, "a secret needs both namespace and name: write {namespace: roost, name: datadog}")
		return
	}
	if errs := validation.IsDNS1123Label(s.Namespace); len(errs) > 0 {
		v.add(path+".namespace", "%q is not a namespace name: %s", s.Namespace, errs[0])
	}
	if errs := validation.IsDNS1123Subdomain(s.Name); len(errs) > 0 {
		v.add(path+".name", "%q is not a Secret name: %s", s.Name, errs[0])
	}
}

// metrics merges the listed metrics onto base: an entry whose id is a base
// metric changes only the fields it gives; a new id must give its queries.
func (v *validator) metrics(path string, entries []fileMetric, base []MetricConfig) []MetricConfig {
	if len(entries) == 0 {
		v.add(path, "the list is empty: list at least one metric, or leave %s out for the defaults (%s)", path, metricIDs(base))
		return nil
	}
	seen := map[string]bool{}
	out := make([]MetricConfig, 0, len(entries))
	for i, e := range entries {
		at := fmt.Sprintf("%s[%d]", path, i)
		if !identPattern.MatchString(e.ID) {
			v.add(at+".id", "%q is not a metric id: give a lower-case identifier such as error_rate", e.ID)
			continue
		}
		if seen[e.ID] {
			v.add(at+".id", "metric %s is listed twice: keep one", e.ID)
			continue
		}
		seen[e.ID] = true
		m, known := MetricConfig{ID: e.ID, Name: e.ID, Scale: 1, MaxRatio: DefaultMaxRatio, MinRatio: DefaultMinRatio}, false
		for _, b := range base {
			if b.ID == e.ID {
				m, known = b, true
				m.Queries = append([]NamedQuery(nil), b.Queries...)
			}
		}
		if !known && e.Queries == nil {
			v.add(at+".queries", "metric %s is not one of %s, so it needs its queries: give queries (and a formula when there are several)", e.ID, metricIDs(base))
			continue
		}
		if e.Queries != nil {
			// New queries come with their own formula, or none.
			m.Queries, m.Formula = e.Queries.list, ""
		}
		setIf(&m.Name, e.Name)
		setIf(&m.Unit, e.Unit)
		setIf(&m.HigherIsWorse, e.HigherIsWorse)
		setIf(&m.LowerIsWorse, e.LowerIsWorse)
		setIf(&m.Formula, e.Formula)
		setIf(&m.Scale, e.Scale)
		setIf(&m.MaxRatio, e.MaxRatio)
		setIf(&m.MinRatio, e.MinRatio)
		m.Formula = strings.TrimSpace(m.Formula)
		if v.metric(at, m) {
			out = append(out, m)
		}
	}
	return out
}

func setIf[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

// metric checks one merged metric, its templates included.
func (v *validator) metric(at string, m MetricConfig) bool {
	before := len(v.problems)
	if strings.TrimSpace(m.Name) == "" {
		v.add(at+".name", "metric %s has an empty name: give the name the dashboard shows", m.ID)
	}
	if m.Scale <= 0 {
		v.add(at+".scale", "metric %s: scale %g must be above 0 (1 keeps values as they are, 100 turns a fraction into a percentage)", m.ID, m.Scale)
	}
	if m.MaxRatio <= 1 {
		v.add(at+".maxRatio", "metric %s: maxRatio %g must be above 1 (1.5 lets the canary be half again as high as stable)", m.ID, m.MaxRatio)
	}
	if m.MinRatio <= 0 || m.MinRatio >= 1 {
		v.add(at+".minRatio", "metric %s: minRatio %g must be between 0 and 1 (0.8 lets the canary be a fifth lower than stable)", m.ID, m.MinRatio)
	}
	if len(m.Queries) == 0 {
		v.add(at+".queries", "metric %s has no queries: give at least one", m.ID)
	}
	names := make([]string, 0, len(m.Queries))
	for _, q := range m.Queries {
		names = append(names, q.Name)
		if _, err := renderQuery(m.ID, q, v.sample); err != nil {
			v.add(at+".queries."+q.Name, "%v", err)
		}
	}
	if err := checkFormula(m.ID, m.Formula, names); err != nil {
		v.add(at+".formula", "%v", err)
	}
	return len(v.problems) == before
}

func metricIDs(ms []MetricConfig) string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return strings.Join(ids, ", ")
}
