package analysis

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/metrics"
)

// The judge gate: roost's judge (metrics/judge, canary against stable on
// Datadog) acting on a canary that has no analysis of its own. It is roost's,
// beyond Argo Rollouts; a Rollout with analysis is judged by its
// AnalysisRuns only.
const (
	// JudgeGateAnnotation sets the gate of one Rollout: off, hold or abort.
	JudgeGateAnnotation = "rollouts.roost.dev/judge-gate"
	// JudgeGateRoundsAnnotation sets how many rounds in a row the judge
	// must score the canary Fail before the gate acts.
	JudgeGateRoundsAnnotation = "rollouts.roost.dev/judge-gate-rounds"
	// JudgeHeldAnnotation is set, with spec.paused, on a Rollout the gate
	// held: "<pod-template hash>: <evidence>". Argo Rollouts honours
	// spec.paused too, so a held canary stays held whoever steps it.
	JudgeHeldAnnotation = v1alpha1.JudgeHeldAnnotation
)

// GateMode is what the gate does when the judge fails a canary.
type GateMode string

// The gate's modes.
const (
	// GateOff: the verdict is shown, nothing acts on it.
	GateOff GateMode = "off"
	// GateHold: the canary stops advancing (spec.paused) until a person
	// promotes or aborts it.
	GateHold GateMode = "hold"
	// GateAbort: the canary is aborted, with the evidence.
	GateAbort GateMode = "abort"
)

// Gate defaults: hold after 3 failing rounds in a row. Hold, not off: a
// canary at many times stable's error rate must not step on through timed
// pauses while nobody watches; not abort: an abort on roost's own statistics
// should be a team's explicit choice.
const (
	DefaultGateMode   = GateHold
	DefaultGateRounds = 3
)

// GateSettings are a Rollout's gate.
type GateSettings struct {
	Mode   GateMode `json:"mode" yaml:"mode"`
	Rounds int      `json:"rounds" yaml:"rounds"`
}

// DefaultGate is the gate when nothing sets one.
func DefaultGate() GateSettings {
	return GateSettings{Mode: DefaultGateMode, Rounds: DefaultGateRounds}
}

// ParseGateMode reads a mode as written in an annotation or configuration.
func ParseGateMode(s string) (GateMode, error) {
	switch m := GateMode(strings.ToLower(strings.TrimSpace(s))); m {
	case GateOff, GateHold, GateAbort:
		return m, nil
	}
	return "", fmt.Errorf("judge gate %q: use off, hold or abort", s)
}

// GateSettingsFor is the gate of a Rollout: def, overridden by its
// annotations. A bad annotation is an error naming it, and def stands.
func GateSettingsFor(annotations map[string]string, def GateSettings) (GateSettings, error) {
	s := def
	var errs []string
	if v, ok := annotations[JudgeGateAnnotation]; ok {
		m, err := ParseGateMode(v)
		if err != nil {
			errs = append(errs, fmt.Sprintf("annotation %s: %v", JudgeGateAnnotation, err))
		} else {
			s.Mode = m
		}
	}
	if v, ok := annotations[JudgeGateRoundsAnnotation]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 {
			errs = append(errs, fmt.Sprintf("annotation %s %q: write how many failing rounds in a row, 1 or more", JudgeGateRoundsAnnotation, v))
		} else {
			s.Rounds = n
		}
	}
	if len(errs) > 0 {
		return s, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return s, nil
}

// EvidenceSource is where the gate reads the judge's rounds: the metrics
// poller.
type EvidenceSource interface {
	Evidence(namespace, name string) (metrics.Evidence, bool)
}

// TargetSink is the poller's SetTargets, when the gate owns the poller (a
// headless controller); nil when someone else sets its targets (the
// cockpit does for its own poller).
type TargetSink func([]metrics.Target)

// Gate counts, per canary, the judge's failing rounds in a row and says
// when the gate must act. Only the roost that reconciles has one. Its
// counts are memory: after a restart it counts afresh, which can only
// delay an action, never cause one.
type Gate struct {
	src     EvidenceSource
	sink    TargetSink
	def     GateSettings
	minimum int

	mu      sync.Mutex
	tracks  map[metrics.Key]*track
	targets map[metrics.Key]metrics.Target
}

type track struct {
	podHash  string
	lastSeen time.Time
	fails    int
	evidence string
}

// GateOptions configure a Gate.
type GateOptions struct {
	Evidence EvidenceSource
	// Targets, when set, is given the rollouts the gate watches, whenever
	// that set changes.
	Targets TargetSink
	// Default is the gate of a Rollout without annotations (DefaultGate
	// when zero).
	Default GateSettings
	// MinPoints is how many canary points a failing metric needs for a
	// round to count (3, the judge's minimum for its test, when 0).
	MinPoints int
}

// NewGate builds a gate.
func NewGate(o GateOptions) *Gate {
	def := o.Default
	if def.Mode == "" {
		def.Mode = DefaultGateMode
	}
	if def.Rounds < 1 {
		def.Rounds = DefaultGateRounds
	}
	minimum := o.MinPoints
	if minimum <= 0 {
		minimum = 3
	}
	return &Gate{src: o.Evidence, sink: o.Targets, def: def, minimum: minimum, tracks: map[metrics.Key]*track{}, targets: map[metrics.Key]metrics.Target{}}
}

// GateDecision is the gate's word on one canary now.
type GateDecision struct {
	Settings GateSettings
	// Act: the judge failed the canary Rounds rounds in a row.
	Act bool
	// Fails counts the failing rounds in a row so far.
	Fails int
	// Evidence says what failed: each failing metric with its values, ratio
	// and test, and the rounds.
	Evidence string
	// Problem is a bad annotation, to be shown; the default gate applies.
	Problem string
}

// Canary is the canary the gate is asked about.
type Canary struct {
	Namespace, Name string
	// Annotations are the Rollout's (its gate, and its metrics' settings).
	Annotations map[string]string
	// TemplateLabels are the pod template's (unified service tags).
	TemplateLabels map[string]string
	// PodHash is the canary's pod-template hash; Since when its
	// ReplicaSet was created.
	PodHash string
	Since   time.Time
}

// Decide looks at the newest evidence of canary c and says whether the gate
// acts. A round is one poll of its
// metrics; a stale poll is no round. A round fails when the judge scores
// the canary Fail and a metric it failed on has enough canary points.
func (g *Gate) Decide(c Canary) GateDecision {
	t := metrics.Target{
		Namespace: c.Namespace, Name: c.Name, Annotations: c.Annotations, TemplateLabels: c.TemplateLabels,
		Since: c.Since, Poll: true,
	}
	podHash := c.PodHash
	settings, err := GateSettingsFor(t.Annotations, g.def)
	d := GateDecision{Settings: settings}
	if err != nil {
		d.Problem = err.Error()
	}
	key := t.Key()
	g.mu.Lock()
	defer g.mu.Unlock()
	if settings.Mode == GateOff {
		g.forgetLocked(key)
		return d
	}
	g.trackLocked(t)
	tr := g.tracks[key]
	if tr == nil || tr.podHash != podHash {
		tr = &track{podHash: podHash}
		g.tracks[key] = tr
	}
	if g.src != nil {
		if ev, ok := g.src.Evidence(t.Namespace, t.Name); ok {
			at := ev.MetricsState.FetchedAt
			if !ev.MetricsState.Stale && !at.IsZero() && at.After(tr.lastSeen) && !at.Before(t.Since) {
				tr.lastSeen = at
				if why, failed := g.failing(ev); failed {
					tr.fails++
					tr.evidence = why
				} else {
					tr.fails, tr.evidence = 0, ""
				}
			}
		}
	}
	d.Fails = tr.fails
	if tr.fails >= settings.Rounds {
		d.Act = true
		rounds := fmt.Sprintf("%d rounds in a row", tr.fails)
		if tr.fails == 1 {
			rounds = "in the last round"
		}
		d.Evidence = fmt.Sprintf("%s (judge scored the canary Fail %s)", tr.evidence, rounds)
	}
	return d
}

// failing says whether one round fails the canary, and on what.
func (g *Gate) failing(ev metrics.Evidence) (string, bool) {
	if ev.Score != metrics.ScoreFail {
		return "", false
	}
	var parts []string
	for _, m := range ev.Metrics {
		bad := m.HigherIsWorse && m.Verdict == metrics.VerdictHigh
		if !bad {
			continue
		}
		n := 0
		for _, p := range m.Canary.Points {
			if !p.Null {
				n++
			}
		}
		if n < g.minimum {
			continue
		}
		text := m.Name
		if r, ok := m.Ratio(); ok {
			c, _ := m.Canary.Latest()
			s, _ := m.Stable.Latest()
			text += fmt.Sprintf(": canary %s vs stable %s (%.3g× stable)", number(c.Value, m.Unit), number(s.Value, m.Unit), r)
		}
		if m.Reason != "" {
			text += ", " + m.Reason
		}
		parts = append(parts, text)
	}
	if len(parts) == 0 {
		return "", false
	}
	sort.Strings(parts)
	return strings.Join(parts, "; "), true
}

func number(v float64, unit string) string {
	s := strconv.FormatFloat(v, 'g', 4, 64)
	if unit != "" {
		s += " " + unit
	}
	return s
}

// Fails is how many failing rounds in a row the gate counted for a canary
// so far; tracked is false when it does not watch it (no canary, or its
// analysis decides).
func (g *Gate) Fails(namespace, name string) (fails int, tracked bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	tr := g.tracks[metrics.Key{Namespace: namespace, Name: name}]
	if tr == nil {
		return 0, false
	}
	return tr.fails, true
}

// Reset starts the count of a canary afresh: a person promoted it past a
// hold, so only new failing rounds count.
func (g *Gate) Reset(namespace, name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if tr := g.tracks[metrics.Key{Namespace: namespace, Name: name}]; tr != nil {
		tr.fails, tr.evidence = 0, ""
	}
}

// Forget drops a rollout whose canary is over (or that has analysis of its
// own): the gate no longer watches it.
func (g *Gate) Forget(namespace, name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.forgetLocked(metrics.Key{Namespace: namespace, Name: name})
}

func (g *Gate) forgetLocked(k metrics.Key) {
	delete(g.tracks, k)
	if _, ok := g.targets[k]; ok {
		delete(g.targets, k)
		g.publishLocked()
	}
}

func (g *Gate) trackLocked(t metrics.Target) {
	t.Poll = true
	if old, ok := g.targets[t.Key()]; ok && old.Since.Equal(t.Since) && sameAnnotations(old.Annotations, t.Annotations) {
		return
	}
	g.targets[t.Key()] = t
	g.publishLocked()
}

func (g *Gate) publishLocked() {
	if g.sink == nil {
		return
	}
	out := make([]metrics.Target, 0, len(g.targets))
	for _, t := range g.targets {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Key(), out[j].Key()
		return a.Namespace < b.Namespace || a.Namespace == b.Namespace && a.Name < b.Name
	})
	g.sink(out)
}

func sameAnnotations(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
