package watch

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// MaxMeasurements is how many of a metric's latest measurements a snapshot
// keeps (Argo Rollouts keeps 10 unless a retention rule says more).
const MaxMeasurements = 10

// MaxAnalysisRuns is how many AnalysisRuns of a rollout a snapshot keeps:
// its current step and background runs first, then the newest others.
const MaxAnalysisRuns = 4

// Labels Argo Rollouts (and roost) put on a Rollout's AnalysisRuns
// (facts/argo-analysis-compat.md §3). The analysis package owns them; the
// read model only reads them.
const (
	runTypeLabel      = "rollout-type"
	runStepIndexLabel = "step-index"
)

// The kinds of a Rollout's AnalysisRuns, as their rollout-type label says.
const (
	AnalysisStep       = "Step"
	AnalysisBackground = "Background"
)

// AnalysisRun is what roost shows of one AnalysisRun of a rollout, whether
// roost or Argo Rollouts runs it.
type AnalysisRun struct {
	Name string
	// Kind is AnalysisStep or AnalysisBackground ("" for a run made by
	// hand); Step is the 1-based step of a step run.
	Kind string `json:",omitempty"`
	Step int    `json:",omitempty"`
	// PodHash is the canary revision the run measures; Revision the
	// Rollout's revision it was made for.
	PodHash  string `json:",omitempty"`
	Revision string `json:",omitempty"`
	Phase    v1alpha1.AnalysisPhase
	Message  string `json:",omitempty"`
	// Current is set when the Rollout's status records the run as its
	// current step or background run.
	Current bool
	// Terminating is spec.terminate: someone asked the run to stop.
	Terminating bool `json:",omitempty"`
	Created     time.Time
	Started     time.Time `json:",omitzero"`
	Ended       time.Time `json:",omitzero"`
	Metrics     []AnalysisMetric
}

// AnalysisMetric is one metric of a run: its phase, its counts against its
// limits, its latest measurements and what it measures.
type AnalysisMetric struct {
	Name    string
	Phase   v1alpha1.AnalysisPhase
	Message string `json:",omitempty"`
	// DryRun metrics are measured and shown but never decide the run.
	DryRun bool `json:",omitempty"`

	Successful, Failed, Inconclusive, Error int32
	ConsecutiveError, ConsecutiveSuccess    int32
	// Measured is the metric's count so far: measurements that did not err.
	Measured int32
	// Count is how many measurements it takes; Bounded is false for a
	// metric that measures at its interval until the run ends.
	Count   int32
	Bounded bool
	// The limits, their defaults applied (FailureLimit -1 is off).
	FailureLimit, InconclusiveLimit, ConsecutiveErrorLimit, ConsecutiveSuccessLimit int32
	// Interval is the gap between measurements; InitialDelay holds the
	// first back from the run's start.
	Interval, InitialDelay time.Duration
	// Measurements are the latest, oldest first, at most MaxMeasurements.
	Measurements []Measurement
	// Next is when the next measurement is due; zero when none will be
	// taken. Measuring is set while one is under way.
	Next      time.Time `json:",omitzero"`
	Measuring bool      `json:",omitempty"`
	// Provider is the provider's name (datadog, web, prometheus...); Query
	// what it asks, the run's arguments put in (secrets as *****).
	Provider         string
	Query            string `json:",omitempty"`
	SuccessCondition string `json:",omitempty"`
	FailureCondition string `json:",omitempty"`
}

// Measurement is one measurement of a metric.
type Measurement struct {
	Phase   v1alpha1.AnalysisPhase
	Value   string `json:",omitempty"`
	Message string `json:",omitempty"`
	// At is when it finished, or started while it runs.
	At time.Time
}

// Done says whether the run has ended.
func (a *AnalysisRun) Done() bool { return a.Phase.Completed() }

// Running says whether the run still measures and can be terminated.
func (a *AnalysisRun) Running() bool { return !a.Phase.Completed() && !a.Terminating }

// Where names the run's place in the canary: "step 3", "background".
func (a *AnalysisRun) Where() string {
	switch {
	case a.Kind == AnalysisStep && a.Step > 0:
		return fmt.Sprintf("step %d", a.Step)
	case a.Kind == AnalysisBackground:
		return "background"
	}
	return "analysis"
}

// Tally sums the measurements of the metrics that decide (not dry runs):
// successful, failed, inconclusive and errored, and how many are planned
// (0 when a metric measures until the run ends).
func (a *AnalysisRun) Tally() (ok, failed, inconclusive, errs, planned int32) {
	bounded := true
	for _, m := range a.Metrics {
		if m.DryRun {
			continue
		}
		ok += m.Successful
		failed += m.Failed
		inconclusive += m.Inconclusive
		errs += m.Error
		planned += m.Count
		bounded = bounded && m.Bounded
	}
	if !bounded {
		planned = 0
	}
	return ok, failed, inconclusive, errs, planned
}

// analysisSeverity ranks run phases, worst last, as Argo Rollouts picks a
// run's phase from its metrics'.
var analysisSeverity = map[v1alpha1.AnalysisPhase]int{
	v1alpha1.AnalysisPhaseSuccessful:   0,
	v1alpha1.AnalysisPhaseRunning:      1,
	v1alpha1.AnalysisPhasePending:      2,
	"":                                 2,
	v1alpha1.AnalysisPhaseInconclusive: 3,
	v1alpha1.AnalysisPhaseError:        4,
	v1alpha1.AnalysisPhaseFailed:       5,
}

// AnalysisNow is the run that speaks for the rollout's analysis now: the
// worse of its current step and background runs, else its newest run of
// the revision being rolled out. nil when there is none.
func (r *Rollout) AnalysisNow() *AnalysisRun {
	var best *AnalysisRun
	for i := range r.Analysis {
		a := &r.Analysis[i]
		if a.Current && (best == nil || analysisSeverity[a.Phase] > analysisSeverity[best.Phase]) {
			best = a
		}
	}
	if best != nil {
		return best
	}
	for i := range r.Analysis {
		// Newest first after the current ones.
		if a := &r.Analysis[i]; a.PodHash != "" && a.PodHash == r.PodHash {
			return a
		}
	}
	return nil
}

// AnalysisFailed says whether the rollout's analysis failed (or erred) on
// the canary now rolling out: it is aborted by it, or about to be.
func (r *Rollout) AnalysisFailed() bool {
	a := r.AnalysisNow()
	if a == nil || (a.Phase != v1alpha1.AnalysisPhaseFailed && a.Phase != v1alpha1.AnalysisPhaseError) {
		return false
	}
	return r.Aborted || r.CanaryUnderWay()
}

// AnalysisInconclusive says whether the canary waits for a person because
// its analysis was inconclusive: not once promoted past that pause, while
// the run stays Inconclusive and the rollout pauses at a later step.
func (r *Rollout) AnalysisInconclusive() bool {
	a := r.AnalysisNow()
	return a != nil && a.Phase == v1alpha1.AnalysisPhaseInconclusive && r.InconclusivePause && !r.Aborted
}

// AnalysisDecision says in one sentence why a completed run ended as it did
// and what that did to the canary: `error-rate 0.042 > 0.02 at measurement
// 3 of 5: failed (1) > failureLimit (0) → aborted`. "" for a run still
// measuring.
func (r *Rollout) AnalysisDecision(a *AnalysisRun) string {
	if a == nil || !a.Done() {
		return ""
	}
	var s string
	var decider *AnalysisMetric
	for i := range a.Metrics {
		if m := &a.Metrics[i]; !m.DryRun && m.Phase == a.Phase {
			decider = m
			break
		}
	}
	switch {
	case a.Phase == v1alpha1.AnalysisPhaseSuccessful && a.Message == "Run Terminated":
		s = "terminated before every measurement was taken: it counts as passed"
	case a.Phase == v1alpha1.AnalysisPhaseSuccessful:
		ok, _, _, _, _ := a.Tally()
		s = fmt.Sprintf("every metric passed (%s successful)", plural(int(ok), "measurement", "measurements"))
	case decider == nil:
		s = a.Message
		if s == "" {
			s = "ended " + string(a.Phase)
		}
	case a.Phase == v1alpha1.AnalysisPhaseError:
		s = fmt.Sprintf("%s could not be measured: %s", decider.Name, orText(decider.Message, "too many errors"))
		if last := lastMeasurement(decider, v1alpha1.AnalysisPhaseError); last != nil && last.Message != "" {
			s += fmt.Sprintf(`, last error "%s"`, oneLineText(last.Message))
		}
	default:
		s = decider.Name + " " + measuredText(decider, a.Phase)
		if n := decider.Measured; n > 0 {
			s += fmt.Sprintf(" at measurement %d", n)
			if decider.Bounded {
				s += fmt.Sprintf(" of %d", decider.Count)
			}
		}
		if decider.Message != "" {
			s += ": " + decider.Message
		}
	}
	if out := r.analysisOutcome(a); out != "" {
		s += " → " + out
	}
	return s
}

// analysisOutcome is what run a did to the rollout, as far as its status
// tells.
func (r *Rollout) analysisOutcome(a *AnalysisRun) string {
	ofCanary := a.PodHash != "" && a.PodHash == r.PodHash
	switch a.Phase {
	case v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseError:
		switch {
		case ofCanary && r.Aborted:
			return "aborted"
		case a.Current && r.CanaryUnderWay():
			return "the canary is being aborted"
		}
	case v1alpha1.AnalysisPhaseInconclusive:
		switch {
		case !ofCanary || r.Aborted:
		case r.InconclusivePause:
			return "paused for a person: promote to accept it, or abort"
		case a.Kind == AnalysisStep && a.Step > 0 && int(r.StepIndex) >= a.Step:
			return fmt.Sprintf("accepted: promoted past step %d", a.Step)
		}
	case v1alpha1.AnalysisPhaseSuccessful:
		if a.Kind == AnalysisStep && a.Step > 0 && ofCanary {
			return fmt.Sprintf("step %d passed", a.Step)
		}
	}
	return ""
}

// simpleCondition matches the conditions most templates write: result (or
// result[0], asFloat(result)) compared with a number.
var simpleCondition = regexp.MustCompile(`^\s*(?:result|result\[0\]|asFloat\(result\)|asInt\(result\))\s*(<=|>=|<|>|==|!=)\s*(-?[0-9.]+(?:[eE][-+]?[0-9]+)?)\s*$`)

// measuredText is the value that decided a metric against the condition it
// was tested with: "0.042 > 0.02", "0.2, not < 0.05".
func measuredText(m *AnalysisMetric, phase v1alpha1.AnalysisPhase) string {
	last := lastMeasurement(m, phase)
	value := "(no value)"
	if last != nil && last.Value != "" {
		value = last.Value
	}
	switch {
	case phase == v1alpha1.AnalysisPhaseFailed && m.FailureCondition != "":
		if op, limit, ok := conditionParts(m.FailureCondition); ok {
			return value + " " + op + " " + limit
		}
		return fmt.Sprintf("%s (failureCondition %s)", value, m.FailureCondition)
	case phase == v1alpha1.AnalysisPhaseFailed && m.SuccessCondition != "":
		if op, limit, ok := conditionParts(m.SuccessCondition); ok {
			return value + ", not " + op + " " + limit
		}
		return fmt.Sprintf("%s (successCondition %s not met)", value, m.SuccessCondition)
	case phase == v1alpha1.AnalysisPhaseInconclusive:
		return fmt.Sprintf("%s, neither %s nor %s", value, conditionOrNone("success", m.SuccessCondition), conditionOrNone("failure", m.FailureCondition))
	}
	return value
}

func conditionOrNone(kind, cond string) string {
	if cond == "" {
		return "no " + kind + " condition"
	}
	if op, limit, ok := conditionParts(cond); ok {
		return op + " " + limit
	}
	return cond
}

func conditionParts(cond string) (op, limit string, ok bool) {
	m := simpleCondition.FindStringSubmatch(cond)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// Threshold is the number a metric's condition compares its result with,
// when the condition is that simple (result > 0.02): the failure
// condition's, else the success condition's.
func (m *AnalysisMetric) Threshold() (float64, bool) {
	for _, c := range []string{m.FailureCondition, m.SuccessCondition} {
		if _, limit, ok := conditionParts(c); ok {
			if v, err := strconv.ParseFloat(limit, 64); err == nil {
				return v, true
			}
		}
	}
	return 0, false
}

// lastMeasurement is the newest measurement of phase p, else the newest.
func lastMeasurement(m *AnalysisMetric, p v1alpha1.AnalysisPhase) *Measurement {
	for i := len(m.Measurements) - 1; i >= 0; i-- {
		if m.Measurements[i].Phase == p {
			return &m.Measurements[i]
		}
	}
	if n := len(m.Measurements); n > 0 {
		return &m.Measurements[n-1]
	}
	return nil
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func oneLineText(s string) string { return strings.Join(strings.Fields(s), " ") }

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// AnalysisOf derives what to show of ro's AnalysisRuns at now: its current
// step and background runs, then the newest others, at most
// MaxAnalysisRuns. Runs of other rollouts in runs are ignored. The objects
// are read as they are, whoever wrote them (roost or Argo Rollouts, any
// provider), and never modified.
func AnalysisOf(ro *v1alpha1.Rollout, runs []*unstructured.Unstructured, now time.Time) []AnalysisRun {
	current := map[string]bool{}
	if s := ro.Status.Canary.CurrentStepAnalysisRunStatus; s != nil {
		current[s.Name] = true
	}
	if s := ro.Status.Canary.CurrentBackgroundAnalysisRunStatus; s != nil {
		current[s.Name] = true
	}
	mine := make([]*unstructured.Unstructured, 0, len(runs))
	for _, u := range runs {
		if u.GetNamespace() == ro.Namespace && ownedByRollout(u, ro) {
			mine = append(mine, u)
		}
	}
	sort.SliceStable(mine, func(i, j int) bool {
		ci, cj := current[mine[i].GetName()], current[mine[j].GetName()]
		if ci != cj {
			return ci
		}
		ti, tj := mine[i].GetCreationTimestamp(), mine[j].GetCreationTimestamp()
		if !ti.Equal(&tj) {
			return tj.Before(&ti)
		}
		return mine[i].GetName() > mine[j].GetName()
	})
	unread := unreadRuns(ro, mine)
	if len(mine) > MaxAnalysisRuns-len(unread) {
		mine = mine[:MaxAnalysisRuns-len(unread)]
	}
	if len(mine)+len(unread) == 0 {
		return nil
	}
	out := make([]AnalysisRun, 0, len(unread)+len(mine))
	out = append(out, unread...)
	for _, u := range mine {
		a := analysisRunView(u, current[u.GetName()], now)
		recordedPhase(&a, ro)
		out = append(out, a)
	}
	return out
}

// unreadRuns are the current runs the Rollout records that are not among
// read: a dashboard follows the runs of the rollouts on screen only (see
// lightRuns), and a rollout off screen may have started a run since its
// runs were last read. What the record says of each (its name, phase and
// message) is what the rollout's urgency needs.
func unreadRuns(ro *v1alpha1.Rollout, read []*unstructured.Unstructured) []AnalysisRun {
	var out []AnalysisRun
	for _, rec := range []struct {
		s    *v1alpha1.RolloutAnalysisRunStatus
		kind string
	}{{ro.Status.Canary.CurrentStepAnalysisRunStatus, AnalysisStep}, {ro.Status.Canary.CurrentBackgroundAnalysisRunStatus, AnalysisBackground}} {
		if rec.s == nil || rec.s.Name == "" || slices.ContainsFunc(read, func(u *unstructured.Unstructured) bool { return u.GetName() == rec.s.Name }) {
			continue
		}
		a := AnalysisRun{Name: rec.s.Name, Kind: rec.kind, PodHash: ro.Status.CurrentPodHash, Phase: rec.s.Status, Message: rec.s.Message, Current: true}
		if rec.kind == AnalysisStep && ro.Status.CurrentStepIndex != nil {
			a.Step = int(*ro.Status.CurrentStepIndex) + 1
		}
		out = append(out, a)
	}
	return out
}

// recordedPhase takes the phase and message the Rollout records of its run
// a, when they are further on than the run as read: the run was read before
// it ended (roost follows runs off screen by their metadata, see
// lightRuns). A run only moves on, and its Rollout records it after it, so
// a run read at its latest is never overruled.
func recordedPhase(a *AnalysisRun, ro *v1alpha1.Rollout) {
	for _, rec := range []*v1alpha1.RolloutAnalysisRunStatus{ro.Status.Canary.CurrentStepAnalysisRunStatus, ro.Status.Canary.CurrentBackgroundAnalysisRunStatus} {
		if rec == nil || rec.Name != a.Name || phaseRank(rec.Status) <= phaseRank(a.Phase) {
			continue
		}
		a.Phase, a.Message = rec.Status, rec.Message
	}
}

// phaseRank orders a run's phases as a run moves through them.
func phaseRank(p v1alpha1.AnalysisPhase) int {
	switch p {
	case "", v1alpha1.AnalysisPhasePending:
		return 0
	case v1alpha1.AnalysisPhaseRunning:
		return 1
	}
	return 2
}

// ownedByRollout says whether ro owns u: any owner reference to it, as
// `kubectl argo rollouts get` counts them.
func ownedByRollout(u *unstructured.Unstructured, ro *v1alpha1.Rollout) bool {
	for _, ref := range u.GetOwnerReferences() {
		if ref.Kind != v1alpha1.Kind || ref.Name != ro.Name {
			continue
		}
		if ref.UID == "" || ro.UID == "" || ref.UID == ro.UID {
			return true
		}
	}
	return false
}

// analysisRunView reads one run from its unstructured object, by direct map
// access: no JSON round trip, no deep copy.
func analysisRunView(u *unstructured.Unstructured, current bool, now time.Time) AnalysisRun {
	labels := u.GetLabels()
	a := AnalysisRun{
		Name:     u.GetName(),
		Kind:     labels[runTypeLabel],
		PodHash:  labels[v1alpha1.DefaultRolloutUniqueLabelKey],
		Revision: u.GetAnnotations()[v1alpha1.RevisionAnnotation],
		Current:  current,
		Created:  u.GetCreationTimestamp().Time,
	}
	if i, err := strconv.Atoi(labels[runStepIndexLabel]); err == nil && a.Kind == AnalysisStep {
		a.Step = i + 1
	}
	spec := mapOf(u.Object["spec"])
	status := mapOf(u.Object["status"])
	a.Terminating, _ = spec["terminate"].(bool)
	a.Phase = v1alpha1.AnalysisPhase(stringOf(status["phase"]))
	if a.Phase == "" {
		a.Phase = v1alpha1.AnalysisPhasePending
	}
	a.Message = stringOf(status["message"])
	a.Started = timeOf(status["startedAt"])
	a.Ended = timeOf(status["completedAt"])

	args := runArgs(spec["args"])
	dryRun := patterns(spec["dryRun"])
	results := map[string]map[string]any{}
	for _, r := range sliceOf(status["metricResults"]) {
		if m := mapOf(r); m != nil {
			results[stringOf(m["name"])] = m
		}
	}
	specMetrics := sliceOf(spec["metrics"])
	a.Metrics = make([]AnalysisMetric, 0, len(specMetrics))
	for _, x := range specMetrics {
		sm := mapOf(x)
		if sm == nil {
			continue
		}
		m := metricView(sm, results[stringOf(sm["name"])], args)
		if !m.DryRun {
			m.DryRun = matchesAny(dryRun, m.Name)
		}
		m.Next, m.Measuring = nextMeasurement(&m, &a, now)
		a.Metrics = append(a.Metrics, m)
	}
	return a
}

func metricView(sm, res map[string]any, args map[string]string) AnalysisMetric {
	resolve := func(s string) string { return resolveArgs(s, args) }
	m := AnalysisMetric{
		Name:             stringOf(sm["name"]),
		Phase:            v1alpha1.AnalysisPhasePending,
		SuccessCondition: resolve(stringOf(sm["successCondition"])),
		FailureCondition: resolve(stringOf(sm["failureCondition"])),
	}
	interval := resolve(stringOf(sm["interval"]))
	m.Interval, _ = time.ParseDuration(interval)
	m.InitialDelay, _ = time.ParseDuration(resolve(stringOf(sm["initialDelay"])))
	m.Count = intOf(sm["count"], 0, args)
	m.Bounded = true
	if m.Count <= 0 {
		m.Count = 1
		if interval != "" {
			m.Count, m.Bounded = 0, false
		}
	}
	m.FailureLimit = intOf(sm["failureLimit"], v1alpha1.DefaultFailureLimit, args)
	m.InconclusiveLimit = intOf(sm["inconclusiveLimit"], v1alpha1.DefaultInconclusiveLimit, args)
	m.ConsecutiveErrorLimit = intOf(sm["consecutiveErrorLimit"], v1alpha1.DefaultConsecutiveErrorLimit, args)
	m.ConsecutiveSuccessLimit = intOf(sm["consecutiveSuccessLimit"], v1alpha1.DefaultConsecutiveSuccessLimit, args)
	m.Provider, m.Query = providerQuery(mapOf(sm["provider"]), resolve)
	if res == nil {
		return m
	}
	if p := stringOf(res["phase"]); p != "" {
		m.Phase = v1alpha1.AnalysisPhase(p)
	}
	m.Message = stringOf(res["message"])
	m.DryRun, _ = res["dryRun"].(bool)
	m.Measured = intOf(res["count"], 0, nil)
	m.Successful = intOf(res["successful"], 0, nil)
	m.Failed = intOf(res["failed"], 0, nil)
	m.Inconclusive = intOf(res["inconclusive"], 0, nil)
	m.Error = intOf(res["error"], 0, nil)
	m.ConsecutiveError = intOf(res["consecutiveError"], 0, nil)
	m.ConsecutiveSuccess = intOf(res["consecutiveSuccess"], 0, nil)
	ms := sliceOf(res["measurements"])
	if len(ms) > MaxMeasurements {
		ms = ms[len(ms)-MaxMeasurements:]
	}
	m.Measurements = make([]Measurement, 0, len(ms))
	for _, x := range ms {
		mm := mapOf(x)
		if mm == nil {
			continue
		}
		at := timeOf(mm["finishedAt"])
		if at.IsZero() {
			at = timeOf(mm["startedAt"])
		}
		meas := Measurement{
			Phase: v1alpha1.AnalysisPhase(stringOf(mm["phase"])), Value: stringOf(mm["value"]),
			Message: stringOf(mm["message"]), At: at,
		}
		if _, done := mm["finishedAt"]; !done {
			// In flight: its resumeAt, if any, is when it is next looked at.
			if r := timeOf(mm["resumeAt"]); !r.IsZero() {
				meas.At = r
			}
			meas.Phase = v1alpha1.AnalysisPhaseRunning
		}
		m.Measurements = append(m.Measurements, meas)
	}
	return m
}

// nextMeasurement is when m is next measured, by Argo Rollouts' rules in
// their order (the analysis package's NextMeasurement, which this package
// cannot import): none once the metric or the run has ended or the run is
// terminating; the one in flight; after initialDelay for the first; none
// once the count is taken; else interval after the last (10 s after an
// error).
func nextMeasurement(m *AnalysisMetric, a *AnalysisRun, now time.Time) (time.Time, bool) {
	if m.Phase.Completed() || a.Phase.Completed() {
		return time.Time{}, false
	}
	if n := len(m.Measurements); n > 0 && m.Measurements[n-1].Phase == v1alpha1.AnalysisPhaseRunning {
		if at := m.Measurements[n-1].At; at.After(now) {
			return at, true
		}
		return time.Time{}, true
	}
	if a.Terminating {
		return time.Time{}, false
	}
	if len(m.Measurements) == 0 {
		if a.Started.IsZero() {
			return time.Time{}, false
		}
		return a.Started.Add(m.InitialDelay), false
	}
	if m.Bounded && m.Measured >= m.Count {
		return time.Time{}, false
	}
	last := m.Measurements[len(m.Measurements)-1]
	gap := m.Interval
	if last.Phase == v1alpha1.AnalysisPhaseError {
		gap = v1alpha1.DefaultErrorRetryInterval
	}
	return last.At.Add(gap), false
}

// providerQuery names a metric's provider and what it asks: a Datadog
// query (or queries and their formula), a web metric's method, URL and
// JSON path, or any other provider's query field.
func providerQuery(p map[string]any, resolve func(string) string) (string, string) {
	names := make([]string, 0, len(p))
	for k := range p {
		names = append(names, k)
	}
	if len(names) == 0 {
		return "", ""
	}
	sort.Strings(names)
	name := names[0]
	body := mapOf(p[name])
	switch name {
	case "datadog":
		if q := stringOf(body["query"]); q != "" {
			return name, resolve(q)
		}
		queries := mapOf(body["queries"])
		keys := make([]string, 0, len(queries))
		for k := range queries {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys)+1)
		if f := stringOf(body["formula"]); f != "" {
			parts = append(parts, f+" where")
		}
		for _, k := range keys {
			parts = append(parts, k+" = "+resolve(stringOf(queries[k])))
		}
		return name, strings.Join(parts, " ")
	case "web":
		method := stringOf(body["method"])
		if method == "" {
			method = string(v1alpha1.DefaultWebMethod)
		}
		q := method + " " + resolve(stringOf(body["url"]))
		if jp := stringOf(body["jsonPath"]); jp != "" {
			q += " " + resolve(jp)
		}
		return name, q
	}
	return name, resolve(stringOf(body["query"]))
}

// secretShown stands for an argument read from a Secret: never shown.
const secretShown = "*****"

// runArgs are a run's arguments by name: literal values, and ***** for
// those read from a Secret.
func runArgs(v any) map[string]string {
	list := sliceOf(v)
	if len(list) == 0 {
		return nil
	}
	out := make(map[string]string, len(list))
	for _, x := range list {
		a := mapOf(x)
		if a == nil {
			continue
		}
		name := stringOf(a["name"])
		switch {
		case a["value"] != nil:
			out[name] = stringOf(a["value"])
		case mapOf(mapOf(a["valueFrom"])["secretKeyRef"]) != nil:
			out[name] = secretShown
		}
	}
	return out
}

// resolveArgs puts the run's arguments into s where it says {{args.NAME}}
// (spaces inside the braces allowed), as the analysis does at measure time;
// an argument it does not know stays as written.
func resolveArgs(s string, args map[string]string) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	var b strings.Builder
	for {
		open := strings.Index(s, "{{")
		if open < 0 {
			break
		}
		end := strings.Index(s[open+2:], "}}")
		if end < 0 {
			break
		}
		tag := s[open+2 : open+2+end]
		b.WriteString(s[:open])
		if name, ok := strings.CutPrefix(strings.TrimSpace(tag), "args."); ok {
			if v, ok := args[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString("{{" + tag + "}}")
			}
		} else {
			b.WriteString("{{" + tag + "}}")
		}
		s = s[open+2+end+2:]
	}
	b.WriteString(s)
	return b.String()
}

// patterns are the metricName expressions of a dryRun list.
func patterns(v any) []*regexp.Regexp {
	var out []*regexp.Regexp
	for _, x := range sliceOf(v) {
		if re, err := regexp.Compile(stringOf(mapOf(x)["metricName"])); err == nil {
			out = append(out, re)
		}
	}
	return out
}

func matchesAny(res []*regexp.Regexp, name string) bool {
	for _, re := range res {
		if re.MatchString(name) {
			return true
		}
	}
	return false
}

func mapOf(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func sliceOf(v any) []any {
	s, _ := v.([]any)
	return s
}

func stringOf(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

// intOf reads an int-or-string count or limit, its arguments put in; def
// when unset or unreadable.
func intOf(v any, def int32, args map[string]string) int32 {
	switch x := v.(type) {
	case int64:
		return int32(x)
	case float64:
		return int32(x)
	case string:
		if n, err := strconv.ParseInt(strings.TrimSpace(resolveArgs(x, args)), 10, 32); err == nil {
			return int32(n)
		}
	}
	return def
}

func timeOf(v any) time.Time {
	s, ok := v.(string)
	if !ok {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
