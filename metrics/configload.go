package metrics

// Reading the configuration: the file's path, its YAML form, the environment,
// and the merge onto the defaults.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

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
	// A site in any form Datadog documents becomes the site alone; one
	// that is not a Datadog site stays as given, with no address, for the
	// validation and the credentials to refuse: never a host that does not
	// exist.
	if site, ok := ParseSite(c.Datadog.Site); ok {
		c.Datadog.Site = site
		if c.Datadog.Address == "" {
			c.Datadog.Address = SiteAddress(site)
		}
	}
}

// The YAML form of the file. Metrics are decoded apart, with pointers, so an
// entry that names a default metric changes only the fields it gives.
type fileConfig struct {
	Datadog  fileDatadog `yaml:"datadog"`
	Bugsnag  fileBugsnag `yaml:"bugsnag"`
	Overview string      `yaml:"overview"`
	Judge    fileJudge   `yaml:"judge"`
	Cockpit  fileCockpit `yaml:"cockpit"`
	ArgoCD   fileArgoCD  `yaml:"argocd"`
	Clusters []string    `yaml:"clusters"`
}

type fileCockpit struct {
	Bell     string `yaml:"bell"`
	Grouping string `yaml:"grouping"`
}

type fileArgoCD struct {
	Context       string `yaml:"context"`
	Namespace     string `yaml:"namespace"`
	InstanceLabel string `yaml:"instanceLabel"`
}

type fileJudge struct {
	Gate           string      `yaml:"gate"`
	Rounds         wholeNumber `yaml:"rounds"`
	NewErrorWeight wholeNumber `yaml:"newErrorWeight"`
}

type fileDatadog struct {
	API               string            `yaml:"api"`
	Site              string            `yaml:"site"`
	Address           string            `yaml:"address"`
	Secret            SecretRef         `yaml:"secret"`
	TagKey            string            `yaml:"tagKey"`
	CanaryValue       string            `yaml:"canaryValue"`
	StableValue       string            `yaml:"stableValue"`
	Env               string            `yaml:"env"`
	Operation         string            `yaml:"operation"`
	ClusterTag        string            `yaml:"clusterTag"`
	ClusterNames      map[string]string `yaml:"clusterNames"`
	Interval          time.Duration     `yaml:"interval"`
	Window            time.Duration     `yaml:"window"`
	Timeout           time.Duration     `yaml:"timeout"`
	MaxCallsPerMinute wholeNumber       `yaml:"maxCallsPerMinute"`
	Metrics           []fileMetric      `yaml:"metrics"`
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
	PerPod        *bool           `yaml:"perPod"`
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
			Operation: d.Datadog.Operation, Interval: d.Datadog.Interval, ClusterTag: d.Datadog.ClusterTag,
			Window: d.Datadog.Window, Timeout: d.Datadog.Timeout,
		},
		Bugsnag: fileBugsnag{
			Address:     d.Bugsnag.Address,
			CanaryStage: d.Bugsnag.CanaryStage, StableStage: d.Bugsnag.StableStage,
		},
		Overview: d.Overview,
		Judge:    fileJudge{Gate: d.Judge.Gate, Rounds: wholeNumber(d.Judge.Rounds), NewErrorWeight: wholeNumber(d.Judge.NewErrorWeight)},
		Cockpit:  fileCockpit{Bell: d.Cockpit.Bell, Grouping: d.Cockpit.Grouping},
		ArgoCD:   fileArgoCD{Namespace: d.ArgoCD.Namespace, InstanceLabel: d.ArgoCD.InstanceLabel},
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
			ClusterTag: strings.TrimSpace(f.Datadog.ClusterTag), ClusterNames: f.Datadog.ClusterNames,
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
		Judge:    GateConfig{Gate: strings.ToLower(strings.TrimSpace(f.Judge.Gate)), Rounds: int(f.Judge.Rounds), NewErrorWeight: int(f.Judge.NewErrorWeight)},
		Cockpit:  CockpitConfig{Bell: strings.TrimSpace(f.Cockpit.Bell), Grouping: strings.ToLower(strings.TrimSpace(f.Cockpit.Grouping))},
		ArgoCD: ArgoCDConfig{
			Context:       strings.TrimSpace(f.ArgoCD.Context),
			Namespace:     strings.TrimSpace(f.ArgoCD.Namespace),
			InstanceLabel: strings.TrimSpace(f.ArgoCD.InstanceLabel),
		},
	}
	for _, name := range f.Clusters {
		c.Clusters = append(c.Clusters, strings.TrimSpace(name))
	}
	if l := strings.ToLower(c.Datadog.ClusterTag); l == "none" || l == "off" {
		c.Datadog.ClusterTag = ""
	}
	if l := strings.ToLower(c.ArgoCD.InstanceLabel); l == "none" || l == "off" {
		c.ArgoCD.InstanceLabel = ""
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
	c.Clusters = uniqueNames(c.Clusters)
	return c, nil
}

// uniqueNames is names without repeats, in their first places: a context
// listed twice is one cluster.
func uniqueNames(names []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}
