package v1alpha1

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// Defaults of the Rollout API.
const (
	DefaultReplicas                = int32(1)
	DefaultRevisionHistoryLimit    = int32(10)
	DefaultProgressDeadlineSeconds = int32(600)
	DefaultMaxSurge                = "25%"
	DefaultMaxUnavailable          = "25%"
)

// GetReplicas is spec.replicas, defaulting to 1.
func (r *Rollout) GetReplicas() int32 {
	if r.Spec.Replicas == nil {
		return DefaultReplicas
	}
	return *r.Spec.Replicas
}

// GetRevisionHistoryLimit is spec.revisionHistoryLimit, defaulting to 10.
func (r *Rollout) GetRevisionHistoryLimit() int32 {
	if r.Spec.RevisionHistoryLimit == nil {
		return DefaultRevisionHistoryLimit
	}
	return *r.Spec.RevisionHistoryLimit
}

// GetProgressDeadlineSeconds is spec.progressDeadlineSeconds, defaulting to 600.
func (r *Rollout) GetProgressDeadlineSeconds() int32 {
	if r.Spec.ProgressDeadlineSeconds == nil {
		return DefaultProgressDeadlineSeconds
	}
	return *r.Spec.ProgressDeadlineSeconds
}

// Steps is the canary step list, nil when there is no canary strategy.
func (r *Rollout) Steps() []CanaryStep {
	if r.Spec.Strategy.Canary == nil {
		return nil
	}
	return r.Spec.Strategy.Canary.Steps
}

// HasAnalysis says whether the canary asks for analysis: an analysis step
// or a background analysis. Its AnalysisRuns decide then, not roost's judge.
func (r *Rollout) HasAnalysis() bool {
	c := r.Spec.Strategy.Canary
	if c == nil {
		return false
	}
	if c.Analysis != nil {
		return true
	}
	for _, st := range c.Steps {
		if st.Analysis != nil {
			return true
		}
	}
	return false
}

// ResolveFenceposts turns maxSurge and maxUnavailable (nil = "25%") into pod
// counts against replicas: surge rounds up, unavailable rounds down, and when
// both come to 0 unavailable becomes 1 so that the rollout can move at all.
func ResolveFenceposts(maxSurge, maxUnavailable *intstr.IntOrString, replicas int32) (surge, unavailable int32, err error) {
	s := intstr.FromString(DefaultMaxSurge)
	if maxSurge != nil {
		s = *maxSurge
	}
	u := intstr.FromString(DefaultMaxUnavailable)
	if maxUnavailable != nil {
		u = *maxUnavailable
	}
	surge, err = scaledValue(s, replicas, true)
	if err != nil {
		return 0, 0, fmt.Errorf("maxSurge: %w", err)
	}
	unavailable, err = scaledValue(u, replicas, false)
	if err != nil {
		return 0, 0, fmt.Errorf("maxUnavailable: %w", err)
	}
	if surge == 0 && unavailable == 0 {
		unavailable = 1
	}
	return surge, unavailable, nil
}

// ParsePercentOrInt reads an int, or a percent string with or without "%".
// isPercent tells which it was.
func ParsePercentOrInt(v intstr.IntOrString) (value int, isPercent bool, err error) {
	if v.Type == intstr.Int {
		return int(v.IntVal), false, nil
	}
	str := strings.TrimSpace(v.StrVal)
	str = strings.TrimSuffix(str, "%")
	n, err := strconv.Atoi(str)
	if err != nil {
		return 0, false, fmt.Errorf("%q is neither a number of pods nor a percentage like \"25%%\"", v.StrVal)
	}
	return n, true, nil
}

func scaledValue(v intstr.IntOrString, replicas int32, roundUp bool) (int32, error) {
	n, pct, err := ParsePercentOrInt(v)
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, fmt.Errorf("%s is negative", v.String())
	}
	if !pct {
		return int32(n), nil
	}
	x := float64(n) * float64(replicas) / 100
	if roundUp {
		return int32(math.Ceil(x)), nil
	}
	return int32(math.Floor(x)), nil
}

// PauseDuration reads a pause step's duration. ok is false for an indefinite pause
// (no duration). An int is seconds; a string is seconds ("90") or a Go duration
// ("30s", "10m", "1h").
func (p *RolloutPause) PauseDuration() (d time.Duration, ok bool, err error) {
	if p == nil || p.Duration == nil {
		return 0, false, nil
	}
	return ParseDuration(*p.Duration)
}

// ParseDuration reads a duration given as seconds (int or numeric string) or a Go
// duration string.
func ParseDuration(v intstr.IntOrString) (d time.Duration, ok bool, err error) {
	if v.Type == intstr.Int {
		if v.IntVal < 0 {
			return 0, true, fmt.Errorf("%d seconds is negative", v.IntVal)
		}
		return time.Duration(v.IntVal) * time.Second, true, nil
	}
	s := strings.TrimSpace(v.StrVal)
	if n, err := strconv.ParseInt(s, 10, 32); err == nil {
		if n < 0 {
			return 0, true, fmt.Errorf("%q is negative", v.StrVal)
		}
		return time.Duration(n) * time.Second, true, nil
	}
	d, err = time.ParseDuration(s)
	if err != nil {
		return 0, true, fmt.Errorf("%q is not a duration; use seconds (30) or a unit (\"30s\", \"10m\", \"1h\")", v.StrVal)
	}
	if d < 0 {
		return 0, true, fmt.Errorf("%q is negative", v.StrVal)
	}
	return d, true, nil
}

// durationSeconds is a pause's duration as Argo Rollouts reads it for its
// validation: 0 when unset, -1 when the string is no duration.
func (p *RolloutPause) durationSeconds() int32 {
	if p == nil || p.Duration == nil {
		return 0
	}
	if p.Duration.Type == intstr.Int {
		return p.Duration.IntVal
	}
	if n, err := strconv.ParseInt(p.Duration.StrVal, 10, 32); err == nil {
		return int32(n)
	}
	d, err := time.ParseDuration(p.Duration.StrVal)
	if err != nil {
		return -1
	}
	return int32(d.Seconds())
}
