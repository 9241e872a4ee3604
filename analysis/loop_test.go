package analysis

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// loopT0 is when the runs of these tests start: whole seconds, as the API
// keeps times.
var loopT0 = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

// lm is a web metric named name, shaped by opts.
func lm(name string, opts ...func(*v1alpha1.Metric)) v1alpha1.Metric {
	m := v1alpha1.Metric{Name: name, Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: "https://metrics.example.test/" + name}}}
	for _, o := range opts {
		o(&m)
	}
	return m
}

func interval(d string) func(*v1alpha1.Metric) { return func(m *v1alpha1.Metric) { m.Interval = d } }
func initialDelay(d string) func(*v1alpha1.Metric) {
	return func(m *v1alpha1.Metric) { m.InitialDelay = d }
}
func success(c string) func(*v1alpha1.Metric) {
	return func(m *v1alpha1.Metric) { m.SuccessCondition = c }
}
func failure(c string) func(*v1alpha1.Metric) {
	return func(m *v1alpha1.Metric) { m.FailureCondition = c }
}
func count(n int32) func(*v1alpha1.Metric) {
	return func(m *v1alpha1.Metric) { m.Count = ptr.To(intstr.FromInt32(n)) }
}
func failureLimit(n int32) func(*v1alpha1.Metric) {
	return func(m *v1alpha1.Metric) { m.FailureLimit = ptr.To(intstr.FromInt32(n)) }
}
func inconclusiveLimit(n int32) func(*v1alpha1.Metric) {
	return func(m *v1alpha1.Metric) { m.InconclusiveLimit = ptr.To(intstr.FromInt32(n)) }
}
func consecutiveErrorLimit(n int32) func(*v1alpha1.Metric) {
	return func(m *v1alpha1.Metric) { m.ConsecutiveErrorLimit = ptr.To(intstr.FromInt32(n)) }
}
func consecutiveSuccessLimit(n int32) func(*v1alpha1.Metric) {
	return func(m *v1alpha1.Metric) { m.ConsecutiveSuccessLimit = ptr.To(intstr.FromInt32(n)) }
}

// lrun is a run of metrics.
func lrun(metrics ...v1alpha1.Metric) *v1alpha1.AnalysisRun {
	return &v1alpha1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "checkout-6b9b86fbd5-2-1"},
		Spec:       v1alpha1.AnalysisRunSpec{Metrics: metrics},
	}
}

func mustPlan(t *testing.T, run *v1alpha1.AnalysisRun) *Plan {
	t.Helper()
	p, err := PlanRun(run, nil)
	if err != nil {
		t.Fatalf("PlanRun: %v", err)
	}
	return p
}

// num is a reading of v.
func num(v float64) Reading {
	return Reading{Result: v, Value: strconv.FormatFloat(v, 'f', -1, 64)}
}

// readErr is a failed reading.
func readErr(msg string) Reading { return Reading{Err: errors.New(msg)} }

// lpass is one pass of the loop: at loopT0+at, with these readings (by
// metric index). terminate sets spec.terminate before it.
type lpass struct {
	at        time.Duration
	read      map[int]Reading
	terminate bool
}

// drive runs the passes over st as the controller does (Start, then Apply
// with the readings), each measurement started a second before it ends. It
// returns what the last Apply returned.
func drive(p *Plan, st *v1alpha1.AnalysisRunStatus, passes []lpass) (next time.Time, changed bool) {
	for _, ps := range passes {
		if ps.terminate {
			p.Run.Spec.Terminate = true
		}
		now := loopT0.Add(ps.at)
		p.Start(st, now)
		ms := map[int]Measured{}
		for i, r := range ps.read {
			ms[i] = Measured{Reading: r, Started: now.Add(-time.Second)}
		}
		next, changed = p.Apply(st, ms, now)
	}
	return next, changed
}

func TestPlanRun(t *testing.T) {
	web := func(url string) func(*v1alpha1.Metric) {
		return func(m *v1alpha1.Metric) { m.Provider.Web.URL = url }
	}
	tests := []struct {
		name    string
		run     *v1alpha1.AnalysisRun
		args    map[string]string
		wantErr string // prefix of the RunError's message; "" for a plan
		errHas  string
	}{
		{"a valid run", lrun(lm("error-rate", interval("1m"), count(3))), nil, "", ""},
		{"no metrics", lrun(), nil, "Analysis spec invalid: ", "spec.metrics: Required value"},
		{"an interval that is no duration", lrun(lm("error-rate", interval("5x"))), nil, "Analysis spec invalid: ", `"5x" is not a duration`},
		{"two metrics of one name", lrun(lm("error-rate"), lm("error-rate")), nil, "Analysis spec invalid: ", `"error-rate" is the name of metrics[0] too`},
		{"a dryRun rule that matches no metric", func() *v1alpha1.AnalysisRun {
			r := lrun(lm("error-rate"))
			r.Spec.DryRun = []v1alpha1.DryRun{{MetricName: "latency"}}
			return r
		}(), nil, "Analysis spec invalid: ", `spec.dryRun[0].metricName: Invalid value: "latency": "latency" matches no metric of this run`},
		{"a retention rule that is no regexp", func() *v1alpha1.AnalysisRun {
			r := lrun(lm("error-rate"))
			r.Spec.MeasurementRetention = []v1alpha1.MeasurementRetention{{MetricName: "(", Limit: 3}}
			return r
		}(), nil, "Analysis spec invalid: ", "is not a regular expression"},
		{"count above 1 without an interval", lrun(lm("error-rate", count(3))), nil, "Analysis spec invalid: ", "need an interval"},
		{"an argument nobody gave", lrun(lm("error-rate", web("https://metrics.example.test/q?service={{args.service}}"))), map[string]string{"other": "x"},
			"Unable to resolve metric arguments: ", `metric "error-rate": failed to resolve {{args.service}}`},
		{"an interval from an argument that is no duration", lrun(lm("error-rate", interval("{{args.every}}"))), map[string]string{"every": "5x"},
			`Analysis spec invalid: metric "error-rate": interval: `, `"5x" is not a duration`},
		{"an initialDelay from an argument that is no duration", lrun(lm("error-rate", initialDelay("{{ args.wait }}"))), map[string]string{"wait": "soon"},
			`Analysis spec invalid: metric "error-rate": initialDelay: `, `"soon" is not a duration`},
		{"a limit from an argument that is no number", lrun(lm("error-rate", func(m *v1alpha1.Metric) { m.FailureLimit = ptr.To(intstr.FromString("{{args.limit}}")) })),
			map[string]string{"limit": "a few"}, `Analysis spec invalid: metric "error-rate": failureLimit: `, `"a few" is not a whole number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := PlanRun(tt.run, tt.args)
			if tt.wantErr == "" {
				if err != nil || p == nil {
					t.Fatalf("PlanRun = %v, %v; want a plan", p, err)
				}
				return
			}
			var re *RunError
			if !errors.As(err, &re) {
				t.Fatalf("PlanRun error = %v (%T), want a *RunError", err, err)
			}
			if p != nil {
				t.Errorf("PlanRun gave a plan beside the error")
			}
			if !strings.HasPrefix(re.Message, tt.wantErr) || !strings.Contains(re.Message, tt.errHas) || re.Error() != re.Message {
				t.Errorf("RunError %q, want it to start %q and say %q", re.Message, tt.wantErr, tt.errHas)
			}
		})
	}
}

func TestPlanRunResolves(t *testing.T) {
	run := lrun(
		lm("error-rate", interval("{{args.every}}"), initialDelay("30s"), count(5), failureLimit(2),
			func(m *v1alpha1.Metric) {
				m.Provider.Web.URL = "https://metrics.example.test/q?service={{ args.service }}"
				m.ConsecutiveSuccessLimit = ptr.To(intstr.FromString("{{args.streak}}"))
			}),
		lm("latency"),
	)
	run.Annotations = map[string]string{NoDataAnnotation: " Error "}
	run.Spec.DryRun = []v1alpha1.DryRun{{MetricName: "lat"}}
	run.Spec.MeasurementRetention = []v1alpha1.MeasurementRetention{{MetricName: "error", Limit: 3}}
	p, err := PlanRun(run, map[string]string{"service": `check"out`, "every": "2m", "streak": "2"})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Metrics[0].Provider.Web.URL; got != `https://metrics.example.test/q?service=check"out` {
		t.Errorf("resolved URL %q", got)
	}
	if run.Spec.Metrics[0].Interval != "{{args.every}}" {
		t.Errorf("the run's spec was changed: interval %q", run.Spec.Metrics[0].Interval)
	}
	wantLimits := []Limits{
		{Count: 5, Bounded: true, FailureLimit: 2, ConsecutiveErrorLimit: 4, ConsecutiveSuccessLimit: 2},
		{Count: 1, Bounded: true, ConsecutiveErrorLimit: 4},
	}
	wantTiming := []Timing{{Interval: 2 * time.Minute, InitialDelay: 30 * time.Second}, {}}
	for i := range wantLimits {
		if p.limits[i] != wantLimits[i] || p.timing[i] != wantTiming[i] {
			t.Errorf("metric %d: limits %+v timing %+v, want %+v %+v", i, p.limits[i], p.timing[i], wantLimits[i], wantTiming[i])
		}
	}
	if !p.dryRun["latency"] || p.dryRun["error-rate"] {
		t.Errorf("dryRun %v, want latency only", p.dryRun)
	}
	if p.keep["error-rate"] != 3 || p.keep["latency"] != v1alpha1.DefaultMeasurementRetention {
		t.Errorf("retention %v", p.keep)
	}
	if !p.noDataError {
		t.Errorf("the no-data annotation %q was not read as error", run.Annotations[NoDataAnnotation])
	}
	for _, v := range []string{"", "inconclusive", "errors"} {
		run.Annotations[NoDataAnnotation] = v
		if p, err := PlanRun(run, map[string]string{"service": "x", "every": "1m", "streak": "1"}); err != nil || p.noDataError {
			t.Errorf("annotation %q: noDataError %v, %v; want false", v, p != nil && p.noDataError, err)
		}
	}
}

func TestPlanStart(t *testing.T) {
	run := lrun(lm("error-rate", interval("1m")), lm("latency", interval("1m")), lm("saturation"))
	run.Spec.DryRun = []v1alpha1.DryRun{{MetricName: "^latency$"}}
	p := mustPlan(t, run)
	earlier := metav1.NewTime(loopT0.Add(-time.Hour))

	tests := []struct {
		name        string
		st          v1alpha1.AnalysisRunStatus
		wantStarted time.Time
		wantPhase   v1alpha1.AnalysisPhase
		wantKept    map[string]int32 // metric → the count it kept
	}{
		{"a new run starts now, Pending, every metric Pending", v1alpha1.AnalysisRunStatus{}, loopT0, pending, nil},
		{"a run already started keeps its start and phase", v1alpha1.AnalysisRunStatus{
			Phase: running, StartedAt: &earlier,
			MetricResults: []v1alpha1.MetricResult{
				// out of order, flagged wrongly, and one the spec lost
				{Name: "gone", Phase: running, Count: 9},
				{Name: "latency", Phase: running, Count: 2, Successful: 2},
				{Name: "error-rate", Phase: running, Count: 3, Successful: 3, DryRun: true},
			},
		}, earlier.Time, running, map[string]int32{"error-rate": 3, "latency": 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := tt.st.DeepCopy()
			p.Start(st, loopT0)
			if st.StartedAt == nil || !st.StartedAt.Time.Equal(tt.wantStarted) {
				t.Errorf("startedAt %v, want %v", st.StartedAt, tt.wantStarted)
			}
			if st.Phase != tt.wantPhase {
				t.Errorf("phase %s, want %s", st.Phase, tt.wantPhase)
			}
			var names []string
			for _, r := range st.MetricResults {
				names = append(names, r.Name)
				if r.DryRun != (r.Name == "latency") {
					t.Errorf("%s: dryRun %v", r.Name, r.DryRun)
				}
				if r.Count != tt.wantKept[r.Name] {
					t.Errorf("%s: count %d, want %d kept", r.Name, r.Count, tt.wantKept[r.Name])
				}
				if _, kept := tt.wantKept[r.Name]; !kept && r.Phase != pending {
					t.Errorf("%s: new result %s, want Pending", r.Name, r.Phase)
				}
			}
			if got := strings.Join(names, ","); got != "error-rate,latency,saturation" {
				t.Errorf("results %s, want the spec's order error-rate,latency,saturation", got)
			}
		})
	}
}

func TestPlanDue(t *testing.T) {
	at := func(d time.Duration) *metav1.Time { return &metav1.Time{Time: loopT0.Add(d)} }
	done := func(p v1alpha1.AnalysisPhase, finished time.Duration) []v1alpha1.Measurement {
		return []v1alpha1.Measurement{{Phase: p, StartedAt: at(finished - time.Second), FinishedAt: at(finished)}}
	}
	// a: every minute, after a 1m delay, 3 times; b: once; c: every 5m, unbounded.
	metrics := []v1alpha1.Metric{
		lm("a", interval("1m"), initialDelay("1m"), count(3)),
		lm("b"),
		lm("c", interval("5m")),
	}
	tests := []struct {
		name      string
		results   []v1alpha1.MetricResult
		terminate bool
		now       time.Duration
		want      []int
		later     time.Duration // 0: no later time
	}{
		{"at the start: all but the delayed one", nil, false, 0, []int{1, 2}, time.Minute},
		{"once the initial delay has passed", []v1alpha1.MetricResult{{Name: "a"}, {Name: "b", Phase: successful, Count: 1, Measurements: done(successful, 0)}, {Name: "c", Count: 1, Measurements: done(successful, 0)}},
			false, time.Minute, []int{0}, 5 * time.Minute},
		{"within the interval: nothing due, the soonest is named", []v1alpha1.MetricResult{
			{Name: "a", Count: 1, Measurements: done(successful, time.Minute)},
			{Name: "b", Phase: successful, Count: 1, Measurements: done(successful, 0)},
			{Name: "c", Count: 1, Measurements: done(successful, 0)},
		}, false, time.Minute + 30*time.Second, nil, 2 * time.Minute},
		{"after the interval", []v1alpha1.MetricResult{
			{Name: "a", Count: 1, Measurements: done(successful, time.Minute)},
			{Name: "b", Phase: successful, Count: 1, Measurements: done(successful, 0)},
			{Name: "c", Count: 1, Measurements: done(successful, 0)},
		}, false, 2*time.Minute + time.Second, []int{0}, 5 * time.Minute},
		{"count reached: never again", []v1alpha1.MetricResult{
			{Name: "a", Count: 3, Measurements: done(successful, 3*time.Minute)},
			{Name: "b", Phase: successful, Count: 1, Measurements: done(successful, 0)},
			{Name: "c", Count: 1, Measurements: done(successful, 4*time.Minute)},
		}, false, 4*time.Minute + time.Second, nil, 9 * time.Minute},
		{"an error is retried after 10 s, not the interval", []v1alpha1.MetricResult{
			{Name: "a", Count: 1, Measurements: done(successful, time.Minute)},
			{Name: "b", Phase: successful, Count: 1, Measurements: done(successful, 0)},
			{Name: "c", Error: 1, ConsecutiveError: 1, Measurements: done(errored, time.Minute)},
		}, false, time.Minute + 5*time.Second, nil, time.Minute + 10*time.Second},
		{"an error after its 10 s", []v1alpha1.MetricResult{
			{Name: "a", Count: 1, Measurements: done(successful, time.Minute)},
			{Name: "b", Phase: successful, Count: 1, Measurements: done(successful, 0)},
			{Name: "c", Error: 1, ConsecutiveError: 1, Measurements: done(errored, time.Minute)},
		}, false, time.Minute + 11*time.Second, []int{2}, 2 * time.Minute},
		{"spec.terminate: nothing new, nothing later", nil, true, 10 * time.Minute, nil, 0},
		{"a failed metric terminates the others", []v1alpha1.MetricResult{
			{Name: "a"},
			{Name: "b", Phase: failed, Count: 1, Failed: 1, Measurements: done(failed, 0)},
			{Name: "c", Count: 1, Measurements: done(successful, 0)},
		}, false, 10 * time.Minute, nil, 0},
		{"an Inconclusive metric terminates the others", []v1alpha1.MetricResult{
			{Name: "a"},
			{Name: "b", Phase: inconclusive, Count: 1, Inconclusive: 1, Measurements: done(inconclusive, 0)},
			{Name: "c", Count: 1, Measurements: done(successful, 0)},
		}, false, 10 * time.Minute, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := lrun(metrics...)
			run.Spec.Terminate = tt.terminate
			p := mustPlan(t, run)
			st := &v1alpha1.AnalysisRunStatus{MetricResults: tt.results}
			p.Start(st, loopT0)
			due, later := p.Due(st, loopT0.Add(tt.now))
			if !equalInts(due, tt.want) {
				t.Errorf("due %v, want %v", due, tt.want)
			}
			wantLater := time.Time{}
			if tt.later != 0 {
				wantLater = loopT0.Add(tt.later)
			}
			if !later.Equal(wantLater) {
				t.Errorf("later %v, want %v", later, wantLater)
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// wantMetric is what a metric's result must hold after the passes.
type wantMetric struct {
	phase                                              v1alpha1.AnalysisPhase
	message                                            string
	count, successful, failed, inconclusive, errs      int32
	consecutiveError, consecutiveSuccess, measurements int32
	values                                             []string // the kept measurements' values, when given
}

func checkMetric(t *testing.T, r *v1alpha1.MetricResult, w wantMetric) {
	t.Helper()
	if r.Phase != w.phase || r.Message != w.message {
		t.Errorf("%s: %s %q, want %s %q", r.Name, r.Phase, r.Message, w.phase, w.message)
	}
	got := [...]int32{r.Count, r.Successful, r.Failed, r.Inconclusive, r.Error, r.ConsecutiveError, r.ConsecutiveSuccess, int32(len(r.Measurements))}
	want := [...]int32{w.count, w.successful, w.failed, w.inconclusive, w.errs, w.consecutiveError, w.consecutiveSuccess, w.measurements}
	if got != want {
		t.Errorf("%s: count,successful,failed,inconclusive,error,consecutiveError,consecutiveSuccess,measurements = %v, want %v", r.Name, got, want)
	}
	if w.values != nil {
		var vals []string
		for _, m := range r.Measurements {
			vals = append(vals, m.Value)
		}
		if strings.Join(vals, ",") != strings.Join(w.values, ",") {
			t.Errorf("%s: values %v, want %v", r.Name, vals, w.values)
		}
	}
	for i, m := range r.Measurements {
		if m.FinishedAt == nil || m.StartedAt == nil {
			t.Errorf("%s: measurement %d left open: %+v", r.Name, i, m)
		}
	}
}

func TestApply(t *testing.T) {
	const lowErrors = "result < 0.05"
	withDryRun := func(run *v1alpha1.AnalysisRun, names ...string) *v1alpha1.AnalysisRun {
		for _, n := range names {
			run.Spec.DryRun = append(run.Spec.DryRun, v1alpha1.DryRun{MetricName: n})
		}
		return run
	}
	withRetention := func(run *v1alpha1.AnalysisRun, name string, limit int32) *v1alpha1.AnalysisRun {
		run.Spec.MeasurementRetention = append(run.Spec.MeasurementRetention, v1alpha1.MeasurementRetention{MetricName: name, Limit: limit})
		return run
	}
	every := func(n int, gap time.Duration, r func(i int) Reading) []lpass {
		out := make([]lpass, n)
		for i := range out {
			out[i] = lpass{at: time.Duration(i) * gap, read: map[int]Reading{0: r(i)}}
		}
		return out
	}
	tests := []struct {
		name    string
		run     *v1alpha1.AnalysisRun
		passes  []lpass
		phase   v1alpha1.AnalysisPhase
		message string
		metrics []wantMetric
		summary v1alpha1.RunSummary
		dry     *v1alpha1.RunSummary
		next    time.Duration // for a run still going: when to look again, from loopT0
	}{
		{
			name:   "a reading is recorded and decides a metric measured once",
			run:    lrun(lm("error-rate", success(lowErrors))),
			passes: []lpass{{at: 0, read: map[int]Reading{0: num(0.01)}}},
			phase:  successful,
			metrics: []wantMetric{{phase: successful, count: 1, successful: 1, consecutiveSuccess: 1, measurements: 1,
				values: []string{"0.01"}}},
			summary: v1alpha1.RunSummary{Count: 1, Successful: 1},
		},
		{
			name:    "a failure within failureLimit keeps measuring",
			run:     lrun(lm("error-rate", interval("1m"), count(5), failureLimit(1), success(lowErrors))),
			passes:  []lpass{{at: 0, read: map[int]Reading{0: num(0.1)}}},
			phase:   running,
			metrics: []wantMetric{{phase: running, count: 1, failed: 1, measurements: 1}},
			summary: v1alpha1.RunSummary{Count: 1},
			next:    time.Minute,
		},
		{
			name: "failed > failureLimit fails the metric and the run",
			run:  lrun(lm("error-rate", interval("1m"), count(5), failureLimit(1), success(lowErrors))),
			passes: []lpass{
				{at: 0, read: map[int]Reading{0: num(0.1)}},
				{at: 61 * time.Second, read: map[int]Reading{0: num(0.2)}},
			},
			phase:   failed,
			message: `Metric "error-rate" assessed Failed due to failed (2) > failureLimit (1)`,
			metrics: []wantMetric{{phase: failed, message: "failed (2) > failureLimit (1)", count: 2, failed: 2, measurements: 2, values: []string{"0.1", "0.2"}}},
			summary: v1alpha1.RunSummary{Count: 1, Failed: 1},
		},
		{
			name: "inconclusive > inconclusiveLimit",
			run:  lrun(lm("error-rate", interval("1m"), count(3), inconclusiveLimit(1), success(lowErrors), failure("result > 0.5"))),
			passes: []lpass{
				{at: 0, read: map[int]Reading{0: num(0.1)}},
				{at: 61 * time.Second, read: map[int]Reading{0: num(0.01)}},
				{at: 122 * time.Second, read: map[int]Reading{0: num(0.2)}},
			},
			phase:   inconclusive,
			message: `Metric "error-rate" assessed Inconclusive due to inconclusive (2) > inconclusiveLimit (1)`,
			metrics: []wantMetric{{phase: inconclusive, message: "inconclusive (2) > inconclusiveLimit (1)", count: 3, successful: 1, inconclusive: 2, measurements: 3}},
			summary: v1alpha1.RunSummary{Count: 1, Inconclusive: 1},
		},
		{
			name: "consecutiveErrors > consecutiveErrorLimit, retried 10 s apart, the count untouched",
			run:  lrun(lm("error-rate", interval("1m"), count(3), consecutiveErrorLimit(1), success(lowErrors))),
			passes: []lpass{
				{at: 0, read: map[int]Reading{0: readErr("HTTP 503 from metrics.example.test")}},
				{at: 11 * time.Second, read: map[int]Reading{0: readErr("HTTP 503 from metrics.example.test")}},
			},
			phase:   errored,
			message: `Metric "error-rate" assessed Error due to consecutiveErrors (2) > consecutiveErrorLimit (1): "Error Message: HTTP 503 from metrics.example.test"`,
			metrics: []wantMetric{{phase: errored, message: "consecutiveErrors (2) > consecutiveErrorLimit (1)", errs: 2, consecutiveError: 2, measurements: 2, values: []string{"", ""}}},
			summary: v1alpha1.RunSummary{Count: 1, Error: 1},
		},
		{
			name:    "four errors in a row are within the default limit",
			run:     lrun(lm("error-rate", success(lowErrors))),
			passes:  every(4, 11*time.Second, func(int) Reading { return readErr("timeout") }),
			phase:   running,
			metrics: []wantMetric{{phase: running, errs: 4, consecutiveError: 4, measurements: 4}},
			summary: v1alpha1.RunSummary{Count: 1},
			next:    33*time.Second + v1alpha1.DefaultErrorRetryInterval,
		},
		{
			name:    "the fifth error in a row is the metric's Error",
			run:     lrun(lm("error-rate", success(lowErrors))),
			passes:  every(5, 11*time.Second, func(int) Reading { return readErr("timeout") }),
			phase:   errored,
			message: `Metric "error-rate" assessed Error due to consecutiveErrors (5) > consecutiveErrorLimit (4): "Error Message: timeout"`,
			metrics: []wantMetric{{phase: errored, message: "consecutiveErrors (5) > consecutiveErrorLimit (4)", errs: 5, consecutiveError: 5, measurements: 5}},
			summary: v1alpha1.RunSummary{Count: 1, Error: 1},
		},
		{
			name: "an error then a success: the error spent nothing",
			run:  lrun(lm("error-rate", success(lowErrors))),
			passes: []lpass{
				{at: 0, read: map[int]Reading{0: readErr("timeout")}},
				{at: 11 * time.Second, read: map[int]Reading{0: num(0.01)}},
			},
			phase:   successful,
			metrics: []wantMetric{{phase: successful, count: 1, successful: 1, errs: 1, consecutiveSuccess: 1, measurements: 2, values: []string{"", "0.01"}}},
			summary: v1alpha1.RunSummary{Count: 1, Successful: 1},
		},
		{
			name: "consecutiveSuccessLimit reached passes before the count",
			run:  lrun(lm("error-rate", interval("1m"), count(5), failureLimit(-1), consecutiveSuccessLimit(2), success(lowErrors))),
			passes: []lpass{
				{at: 0, read: map[int]Reading{0: num(0.1)}},
				{at: 61 * time.Second, read: map[int]Reading{0: num(0.01)}},
				{at: 122 * time.Second, read: map[int]Reading{0: num(0.02)}},
			},
			phase:   successful,
			metrics: []wantMetric{{phase: successful, message: "consecutiveSuccess (2) >= consecutiveSuccessLimit (2)", count: 3, successful: 2, failed: 1, consecutiveSuccess: 2, measurements: 3}},
			summary: v1alpha1.RunSummary{Count: 1, Successful: 1},
		},
		{
			name: "the count reached without the successes in a row is Inconclusive",
			run:  lrun(lm("error-rate", interval("1m"), count(3), failureLimit(1), consecutiveSuccessLimit(2), success(lowErrors))),
			passes: []lpass{
				{at: 0, read: map[int]Reading{0: num(0.01)}},
				{at: 61 * time.Second, read: map[int]Reading{0: num(0.1)}},
				{at: 122 * time.Second, read: map[int]Reading{0: num(0.02)}},
			},
			phase:   inconclusive,
			message: `Metric "error-rate" assessed Inconclusive due to count (3) reached without 2 successes in a row`,
			metrics: []wantMetric{{phase: inconclusive, message: "count (3) reached without 2 successes in a row", count: 3, successful: 2, failed: 1, consecutiveSuccess: 1, measurements: 3}},
			summary: v1alpha1.RunSummary{Count: 1, Inconclusive: 1},
		},
		{
			name: "a failing dry-run metric neither fails nor stops the run",
			run:  withDryRun(lrun(lm("error-rate", interval("1m"), count(2), success(lowErrors)), lm("latency", success("result < 0.5"))), "latency"),
			passes: []lpass{
				{at: 0, read: map[int]Reading{0: num(0.01), 1: num(0.9)}},
			},
			phase: running,
			metrics: []wantMetric{
				{phase: running, count: 1, successful: 1, consecutiveSuccess: 1, measurements: 1},
				{phase: failed, message: "Metric assessed Failed due to failed (1) > failureLimit (0)", count: 1, failed: 1, measurements: 1},
			},
			summary: v1alpha1.RunSummary{Count: 1},
			dry:     &v1alpha1.RunSummary{Count: 1, Failed: 1},
			next:    time.Minute,
		},
		{
			name: "a failing dry-run metric beside a passing one: the run passes",
			run:  withDryRun(lrun(lm("error-rate", interval("1m"), count(2), success(lowErrors)), lm("latency", success("result < 0.5"))), "lat.*"),
			passes: []lpass{
				{at: 0, read: map[int]Reading{0: num(0.01), 1: num(0.9)}},
				{at: 61 * time.Second, read: map[int]Reading{0: num(0.02)}},
			},
			phase: successful,
			metrics: []wantMetric{
				{phase: successful, count: 2, successful: 2, consecutiveSuccess: 2, measurements: 2},
				{phase: failed, message: "Metric assessed Failed due to failed (1) > failureLimit (0)", count: 1, failed: 1, measurements: 1},
			},
			summary: v1alpha1.RunSummary{Count: 1, Successful: 1},
			dry:     &v1alpha1.RunSummary{Count: 1, Failed: 1},
		},
		{
			name: "spec.terminate ends the run Successful, Run Terminated",
			run:  lrun(lm("error-rate", interval("1m"), success(lowErrors)), lm("latency", initialDelay("5m"))),
			passes: []lpass{
				{at: 0, read: map[int]Reading{0: num(0.01)}},
				{at: 30 * time.Second, terminate: true},
			},
			phase:   successful,
			message: "Run Terminated",
			metrics: []wantMetric{
				{phase: successful, count: 1, successful: 1, consecutiveSuccess: 1, measurements: 1},
				{phase: successful},
			},
			summary: v1alpha1.RunSummary{Count: 2, Successful: 2},
		},
		{
			name: "a failing metric terminates the others",
			run:  lrun(lm("error-rate", interval("1m"), success(lowErrors)), lm("latency", success("result < 0.5")), lm("saturation", initialDelay("10m"))),
			passes: []lpass{
				{at: 0, read: map[int]Reading{0: num(0.01), 1: num(0.9)}},
			},
			phase:   failed,
			message: `Metric "latency" assessed Failed due to failed (1) > failureLimit (0)`,
			metrics: []wantMetric{
				{phase: successful, count: 1, successful: 1, consecutiveSuccess: 1, measurements: 1},
				{phase: failed, message: "failed (1) > failureLimit (0)", count: 1, failed: 1, measurements: 1},
				{phase: successful},
			},
			summary: v1alpha1.RunSummary{Count: 3, Successful: 2, Failed: 1},
		},
		{
			name: "a failing first metric terminates the ones after it",
			run:  lrun(lm("latency", success("result < 0.5")), lm("error-rate", interval("1m"), success(lowErrors))),
			passes: []lpass{
				{at: 0, read: map[int]Reading{0: num(0.9), 1: num(0.01)}},
			},
			phase:   failed,
			message: `Metric "latency" assessed Failed due to failed (1) > failureLimit (0)`,
			metrics: []wantMetric{
				{phase: failed, message: "failed (1) > failureLimit (0)", count: 1, failed: 1, measurements: 1},
				{phase: successful, count: 1, successful: 1, consecutiveSuccess: 1, measurements: 1},
			},
			summary: v1alpha1.RunSummary{Count: 2, Successful: 1, Failed: 1},
		},
		{
			name:    "a retention rule keeps the newest measurements, the counts keep all",
			run:     withRetention(lrun(lm("error-rate", interval("1m"), success(lowErrors))), "error", 2),
			passes:  every(4, 61*time.Second, func(i int) Reading { return num(float64(i+1) / 100) }),
			phase:   running,
			metrics: []wantMetric{{phase: running, count: 4, successful: 4, consecutiveSuccess: 4, measurements: 2, values: []string{"0.03", "0.04"}}},
			summary: v1alpha1.RunSummary{Count: 1},
			next:    3*61*time.Second + time.Minute,
		},
		{
			name:   "ten measurements are kept by default",
			run:    lrun(lm("error-rate", interval("1m"), success(lowErrors))),
			passes: every(12, 61*time.Second, func(i int) Reading { return num(float64(i+1) / 1000) }),
			phase:  running,
			metrics: []wantMetric{{phase: running, count: 12, successful: 12, consecutiveSuccess: 12, measurements: 10,
				values: []string{"0.003", "0.004", "0.005", "0.006", "0.007", "0.008", "0.009", "0.01", "0.011", "0.012"}}},
			summary: v1alpha1.RunSummary{Count: 1},
			next:    11*61*time.Second + time.Minute,
		},
		{
			name:    "a throttled reading records nothing and asks to be retried then",
			run:     lrun(lm("error-rate", success(lowErrors))),
			passes:  []lpass{{at: 0, read: map[int]Reading{0: {RetryAfter: 30 * time.Second, Reason: "429 Too Many Requests"}}}},
			phase:   running,
			metrics: []wantMetric{{phase: pending, message: "waiting, not measured: 429 Too Many Requests; next try at 2026-12-06T10:00:30Z"}},
			summary: v1alpha1.RunSummary{Count: 1},
			next:    30 * time.Second,
		},
		{
			name: "the wait is said once, and cleared by the measurement that follows it",
			run:  lrun(lm("error-rate", interval("10s"), count(3), success(lowErrors))),
			passes: []lpass{
				{at: 0, read: map[int]Reading{0: {RetryAfter: 5 * time.Second, Reason: "429"}}},
				{at: 5 * time.Second, read: map[int]Reading{0: num(0.01)}},
			},
			phase:   running,
			metrics: []wantMetric{{phase: running, count: 1, successful: 1, consecutiveSuccess: 1, measurements: 1}},
			summary: v1alpha1.RunSummary{Count: 1},
			next:    15 * time.Second,
		},
		{
			name: "a throttled reading later than another metric's next one",
			run:  lrun(lm("error-rate", interval("10s"), count(3), success(lowErrors)), lm("latency")),
			passes: []lpass{{at: 0, read: map[int]Reading{
				0: num(0.01),
				1: {RetryAfter: time.Minute, Reason: "budget spent"},
			}}},
			phase: running,
			metrics: []wantMetric{
				{phase: running, count: 1, successful: 1, consecutiveSuccess: 1, measurements: 1},
				{phase: pending, message: "waiting, not measured: budget spent; next try at 2026-12-06T10:01:00Z"},
			},
			summary: v1alpha1.RunSummary{Count: 2},
			next:    10 * time.Second,
		},
		{
			name: "a throttled reading sooner than another metric's next one",
			run:  lrun(lm("error-rate", interval("5m"), count(3), success(lowErrors)), lm("latency")),
			passes: []lpass{{at: 0, read: map[int]Reading{
				0: num(0.01),
				1: {RetryAfter: 20 * time.Second, Reason: "429"},
			}}},
			phase: running,
			metrics: []wantMetric{
				{phase: running, count: 1, successful: 1, consecutiveSuccess: 1, measurements: 1},
				{phase: pending, message: "waiting, not measured: 429; next try at 2026-12-06T10:00:20Z"},
			},
			summary: v1alpha1.RunSummary{Count: 2},
			next:    20 * time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustPlan(t, tt.run)
			st := &v1alpha1.AnalysisRunStatus{}
			next, changed := drive(p, st, tt.passes)
			last := loopT0.Add(tt.passes[len(tt.passes)-1].at)
			if !changed {
				t.Errorf("the last pass reported no change")
			}
			if st.Phase != tt.phase || st.Message != tt.message {
				t.Errorf("run %s %q, want %s %q", st.Phase, st.Message, tt.phase, tt.message)
			}
			if len(st.MetricResults) != len(tt.metrics) {
				t.Fatalf("%d metric results, want %d", len(st.MetricResults), len(tt.metrics))
			}
			for i, w := range tt.metrics {
				checkMetric(t, &st.MetricResults[i], w)
			}
			if st.RunSummary != tt.summary {
				t.Errorf("runSummary %+v, want %+v", st.RunSummary, tt.summary)
			}
			switch {
			case (st.DryRunSummary == nil) != (tt.dry == nil):
				t.Errorf("dryRunSummary %+v, want %+v", st.DryRunSummary, tt.dry)
			case tt.dry != nil && *st.DryRunSummary != *tt.dry:
				t.Errorf("dryRunSummary %+v, want %+v", *st.DryRunSummary, *tt.dry)
			}
			if !st.StartedAt.Time.Equal(loopT0) {
				t.Errorf("startedAt %v, want %v", st.StartedAt, loopT0)
			}
			if st.Phase.Completed() {
				if st.CompletedAt == nil || !st.CompletedAt.Time.Equal(last) {
					t.Errorf("completedAt %v, want %v", st.CompletedAt, last)
				}
				if !next.IsZero() {
					t.Errorf("a completed run asks to be looked at again at %v", next)
				}
				return
			}
			if st.CompletedAt != nil {
				t.Errorf("completedAt %v on a run still %s", st.CompletedAt, st.Phase)
			}
			if want := loopT0.Add(tt.next); !next.Equal(want) {
				t.Errorf("next %v, want %v", next, want)
			}
		})
	}
}

func TestApplyRecordsTheMeasurement(t *testing.T) {
	p := mustPlan(t, lrun(lm("error-rate", interval("1m"), success("result < 0.05"))))
	st := &v1alpha1.AnalysisRunStatus{}
	p.Start(st, loopT0)
	started := loopT0.Add(2 * time.Second)
	now := loopT0.Add(3 * time.Second)
	meta := map[string]string{"groups": `[{"name":"us-east","value":0.01}]`}
	p.Apply(st, map[int]Measured{0: {Reading: Reading{Result: 0.01, Value: "0.01", Metadata: meta}, Started: started}}, now)
	p.Apply(st, map[int]Measured{0: {Reading: readErr("connection refused"), Started: now.Add(time.Minute)}}, now.Add(time.Minute+time.Second))

	ms := st.MetricResults[0].Measurements
	if len(ms) != 2 {
		t.Fatalf("%d measurements, want 2", len(ms))
	}
	ok := ms[0]
	if ok.Phase != successful || ok.Value != "0.01" || ok.Message != "" || ok.Metadata["groups"] != meta["groups"] ||
		!ok.StartedAt.Time.Equal(started) || !ok.FinishedAt.Time.Equal(now) {
		t.Errorf("measurement %+v", ok)
	}
	bad := ms[1]
	if bad.Phase != errored || bad.Message != "connection refused" || bad.Value != "" ||
		!bad.StartedAt.Time.Equal(now.Add(time.Minute)) || !bad.FinishedAt.Time.Equal(now.Add(time.Minute+time.Second)) {
		t.Errorf("error measurement %+v", bad)
	}
	// An Err drops whatever value came with it.
	p2 := mustPlan(t, lrun(lm("error-rate")))
	st2 := &v1alpha1.AnalysisRunStatus{}
	p2.Start(st2, loopT0)
	p2.Apply(st2, map[int]Measured{0: {Reading: Reading{Result: 0.5, Value: "0.5", Err: errors.New("parse failed")}, Started: loopT0}}, loopT0)
	if m := st2.MetricResults[0].Measurements[0]; m.Phase != errored || m.Value != "" || m.Message != "parse failed" {
		t.Errorf("an Err reading with a value: %+v", m)
	}
}

func TestApplyResumesAnOpenMeasurement(t *testing.T) {
	p := mustPlan(t, lrun(lm("error-rate", interval("1m"), success("result < 0.05"))))
	opened := metav1.NewTime(loopT0.Add(-30 * time.Second))
	st := &v1alpha1.AnalysisRunStatus{
		Phase:     running,
		StartedAt: &metav1.Time{Time: loopT0.Add(-time.Minute)},
		MetricResults: []v1alpha1.MetricResult{{Name: "error-rate", Phase: running,
			Measurements: []v1alpha1.Measurement{{Phase: running, StartedAt: &opened}}}},
	}
	p.Start(st, loopT0)
	due, _ := p.Due(st, loopT0)
	if !equalInts(due, []int{0}) {
		t.Fatalf("the open measurement is not due: %v", due)
	}
	p.Apply(st, map[int]Measured{0: {Reading: num(0.01), Started: loopT0}}, loopT0)
	r := st.MetricResults[0]
	if len(r.Measurements) != 1 || r.Measurements[0].Phase != successful || r.Measurements[0].FinishedAt == nil || r.Count != 1 {
		t.Errorf("the open measurement was not replaced: %+v", r)
	}
}

func TestApplyCompletedAtOnce(t *testing.T) {
	p := mustPlan(t, lrun(lm("error-rate", success("result < 0.05"))))
	st := &v1alpha1.AnalysisRunStatus{}
	next, changed := drive(p, st, []lpass{{at: 0, read: map[int]Reading{0: num(0.9)}}})
	if st.Phase != failed || st.CompletedAt == nil || !st.CompletedAt.Time.Equal(loopT0) || !next.IsZero() || !changed {
		t.Fatalf("first pass: %s completedAt %v next %v changed %v", st.Phase, st.CompletedAt, next, changed)
	}
	before := statusJSON(st)
	next, changed = drive(p, st, []lpass{{at: time.Hour}})
	if changed || !next.IsZero() {
		t.Errorf("a pass over a completed run: next %v changed %v", next, changed)
	}
	if !st.CompletedAt.Time.Equal(loopT0) || statusJSON(st) != before {
		t.Errorf("a pass over a completed run changed it:\n%s\nwas\n%s", statusJSON(st), before)
	}
}

func TestApplyUnchanged(t *testing.T) {
	p := mustPlan(t, lrun(lm("error-rate", interval("1m"), success("result < 0.05"))))
	st := &v1alpha1.AnalysisRunStatus{}
	drive(p, st, []lpass{{at: 0, read: map[int]Reading{0: num(0.01)}}})
	before := statusJSON(st)
	next, changed := drive(p, st, []lpass{{at: 30 * time.Second}})
	if changed || statusJSON(st) != before {
		t.Errorf("a pass that measured nothing changed the status (changed %v):\n%s\nwas\n%s", changed, statusJSON(st), before)
	}
	if !next.Equal(loopT0.Add(time.Minute)) {
		t.Errorf("next %v, want %v", next, loopT0.Add(time.Minute))
	}
}

// A metric that came due between the controller's Due and its Apply (a
// slow measurement of another metric, a throttled one) must not be
// forgotten: Apply asks to be called again at once rather than never.
func TestApplyNextWhileAMetricIsDue(t *testing.T) {
	p := mustPlan(t, lrun(lm("error-rate", initialDelay("30s"), success("result < 0.05"))))
	st := &v1alpha1.AnalysisRunStatus{}
	p.Start(st, loopT0)
	if due, later := p.Due(st, loopT0); len(due) != 0 || !later.Equal(loopT0.Add(30*time.Second)) {
		t.Fatalf("Due = %v, %v", due, later)
	}
	now := loopT0.Add(30 * time.Second)
	next, _ := p.Apply(st, nil, now)
	if st.Phase.Completed() || next.IsZero() || next.After(now) {
		t.Errorf("run %s, next %v: want it looked at again by %v", st.Phase, next, now)
	}
}

// An in-flight measurement (Argo's, with a resumeAt) is closed when the run
// terminates, whichever metric's failure terminated it.
func TestApplyTerminationClosesMeasurementsInFlight(t *testing.T) {
	resumeAt := metav1.NewTime(loopT0.Add(5 * time.Minute))
	opened := metav1.NewTime(loopT0.Add(-time.Minute))
	inFlight := v1alpha1.MetricResult{Name: "job", Phase: running,
		Measurements: []v1alpha1.Measurement{{Phase: running, StartedAt: &opened, ResumeAt: &resumeAt}}}
	for _, order := range [][]string{{"job", "latency"}, {"latency", "job"}} {
		t.Run(strings.Join(order, ","), func(t *testing.T) {
			metrics := map[string]v1alpha1.Metric{"job": lm("job", interval("1m")), "latency": lm("latency", success("result < 0.5"))}
			run := lrun(metrics[order[0]], metrics[order[1]])
			p := mustPlan(t, run)
			st := &v1alpha1.AnalysisRunStatus{Phase: running, StartedAt: &metav1.Time{Time: loopT0.Add(-2 * time.Minute)},
				MetricResults: []v1alpha1.MetricResult{*inFlight.DeepCopy()}}
			p.Start(st, loopT0)
			due, _ := p.Due(st, loopT0)
			lat := 0
			if order[0] == "job" {
				lat = 1
			}
			if !equalInts(due, []int{lat}) {
				t.Fatalf("due %v, want only latency (%d)", due, lat)
			}
			p.Apply(st, map[int]Measured{lat: {Reading: num(0.9), Started: loopT0}}, loopT0)
			if st.Phase != failed {
				t.Errorf("run %s, want Failed", st.Phase)
			}
			job := st.MetricResults[1-lat]
			m := job.Measurements[0]
			if job.Phase != successful || m.FinishedAt == nil || m.Phase != successful || m.Message != "Metric Terminated" {
				t.Errorf("the in-flight metric after termination: %s, measurement %+v", job.Phase, m)
			}
		})
	}
}

func TestApplyNoData(t *testing.T) {
	const noDataMsg = "no data: the provider answered without a value"
	tests := []struct {
		name             string
		result           any
		value            string
		success, failure string
		noDataError      bool
		want             v1alpha1.AnalysisPhase
		message          string // the measurement's message contains it
	}{
		{"nil with default(result, 0) is never a pass", nil, "", "default(result, 0) < 0.05", "", false, inconclusive, noDataMsg + " (empty); roost never counts missing data as a pass"},
		{"nil without conditions is never a pass", nil, "", "", "", false, inconclusive, noDataMsg},
		{"an empty list is no data", []float64{}, "[]", "default(result, 0) < 0.05", "", false, inconclusive, noDataMsg + " ([])"},
		{"an empty JSON list is no data", []any{}, "[]", "", "", false, inconclusive, noDataMsg + " ([])"},
		{"a nil pointer is no data", (*float64)(nil), "[null]", "default(result, 0) < 0.05", "", false, inconclusive, noDataMsg + " ([null])"},
		{"a nil compared is no data, not an Error", nil, "", "result < 0.05", "", false, inconclusive, noDataMsg},
		{"a failure condition that fails no data: Failed", nil, "", "", "isNil(result)", false, failed, ""},
		{"both conditions, the failure one fails no data", nil, "", "default(result, 0) < 0.05", "isNil(result)", false, failed, ""},
		{"a failure condition fails no data even when the success one cannot read it", nil, "[]", "result < 0.05", "isNil(result) || result >= 0.05", false, failed, ""},
		{"Argo's nil guard in a failure condition fails no data", nil, "", "result < 0.05", "result == nil || result >= 0.05", false, failed, ""},
		{"Argo's nil guard in a success condition fails no data", nil, "", "result != nil && result < 0.05", "", false, failed, ""},
		{"Argo's nil guard with data", 0.01, "0.01", "result < 0.05", "result == nil || result >= 0.05", false, successful, ""},
		{"a misspelt condition on no data is still not a pass", nil, "", "", "reslt == nil", false, inconclusive, noDataMsg},
		{"a failure condition that passes no data: still not a pass", nil, "", "", "result > 0.05", false, inconclusive, noDataMsg},
		{"no data is an Error when the run says so", nil, "", "default(result, 0) < 0.05", "", true, errored, noDataMsg},
		{"a Failed verdict stands when no data is an Error", nil, "", "", "isNil(result)", true, failed, ""},
		{"data of 0 is data", 0.0, "0", "default(result, 0) < 0.05", "", false, successful, ""},
		{"a list with values is data", []float64{0.01, 0.02}, "[0.01,0.02]", "all(result, # < 0.05)", "", false, successful, ""},
		{"a condition that cannot run on data is an Error", 0.01, "0.01", "result >", "", false, errored, `could not evaluate successCondition "result >"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := lrun(lm("error-rate", success(tt.success), failure(tt.failure)))
			if tt.noDataError {
				run.Annotations = map[string]string{NoDataAnnotation: "error"}
			}
			p := mustPlan(t, run)
			st := &v1alpha1.AnalysisRunStatus{}
			p.Start(st, loopT0)
			p.Apply(st, map[int]Measured{0: {Reading: Reading{Result: tt.result, Value: tt.value}, Started: loopT0}}, loopT0)
			m := st.MetricResults[0].Measurements[0]
			if m.Phase != tt.want {
				t.Errorf("measurement %s %q, want %s", m.Phase, m.Message, tt.want)
			}
			if (tt.message == "") != (m.Message == "") || !strings.Contains(m.Message, tt.message) {
				t.Errorf("message %q, want %q", m.Message, tt.message)
			}
			if m.Value != tt.value {
				t.Errorf("value %q, want %q kept", m.Value, tt.value)
			}
			// The run follows the measurement (one Error is retried), and
			// is never Successful on no data.
			wantRun := tt.want
			if wantRun == errored {
				wantRun = running
			}
			if st.Phase != wantRun {
				t.Errorf("run %s %q, want %s", st.Phase, st.Message, wantRun)
			}
		})
	}
}

// No data is checked as a result of any type, as Argo's expr checked it:
// a guard compiles, a bare comparison fails when it runs, and a name that
// is no variable is still refused.
func TestEvaluateNoDataTypes(t *testing.T) {
	tests := []struct {
		condition string
		want      v1alpha1.AnalysisPhase
		errHas    string
	}{
		{"result == nil || result >= 0.05", failed, ""},
		{"result != nil && result >= 0.05", successful, ""},
		{"result >= 0.05", errored, "no data returned from the metric provider"},
		{"reslt == nil", errored, "unknown name reslt"},
		{"isNil(result)", failed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.condition, func(t *testing.T) {
			for _, result := range []any{nil, (*float64)(nil)} {
				got, err := Evaluate(result, "", tt.condition)
				if got != tt.want || (tt.errHas == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.errHas)) {
					t.Errorf("Evaluate(%#v) = %s, %v; want %s with %q", result, got, err, tt.want, tt.errHas)
				}
			}
		})
	}
}

func TestApplyNoDataRunMessage(t *testing.T) {
	p := mustPlan(t, lrun(lm("error-rate", success("default(result, 0) < 0.05"))))
	st := &v1alpha1.AnalysisRunStatus{}
	drive(p, st, []lpass{{at: 0, read: map[int]Reading{0: {Value: "[]"}}}})
	want := `Metric "error-rate" assessed Inconclusive due to inconclusive (1) > inconclusiveLimit (0): "Error Message: no data: the provider answered without a value ([]); roost never counts missing data as a pass"`
	if st.Phase != inconclusive || st.Message != want {
		t.Errorf("run %s %q, want Inconclusive %q", st.Phase, st.Message, want)
	}
	if ev := Evidence(st); !strings.HasPrefix(ev, want) || !strings.Contains(ev, "(error-rate: last values [])") {
		t.Errorf("Evidence %q", ev)
	}
}

func TestEvidence(t *testing.T) {
	vals := func(vs ...string) []v1alpha1.Measurement {
		out := make([]v1alpha1.Measurement, len(vs))
		for i, v := range vs {
			out[i] = v1alpha1.Measurement{Phase: failed, Value: v}
		}
		return out
	}
	msg := `Metric "error-rate" assessed Failed due to failed (2) > failureLimit (1)`
	tests := []struct {
		name string
		st   v1alpha1.AnalysisRunStatus
		want string
	}{
		{"the message and the deciding metric's values", v1alpha1.AnalysisRunStatus{Phase: failed, Message: msg, MetricResults: []v1alpha1.MetricResult{
			{Name: "latency", Phase: successful, Measurements: vals("120")},
			{Name: "error-rate", Phase: failed, Measurements: vals("0.1", "0.2")},
		}}, msg + " (error-rate: last values 0.1, 0.2)"},
		{"the last five values only", v1alpha1.AnalysisRunStatus{Phase: failed, Message: msg, MetricResults: []v1alpha1.MetricResult{
			{Name: "error-rate", Phase: failed, Measurements: vals("1", "2", "3", "4", "5", "6", "7")},
		}}, msg + " (error-rate: last values 3, 4, 5, 6, 7)"},
		{"errors carry no value", v1alpha1.AnalysisRunStatus{Phase: errored, Message: "m", MetricResults: []v1alpha1.MetricResult{
			{Name: "error-rate", Phase: errored, Measurements: append(vals("0.01"), v1alpha1.Measurement{Phase: errored, Message: "timeout"})},
		}}, "m (error-rate: last values 0.01)"},
		{"a dry-run metric of the same phase is passed over", v1alpha1.AnalysisRunStatus{Phase: failed, Message: msg, MetricResults: []v1alpha1.MetricResult{
			{Name: "latency", Phase: failed, DryRun: true, Measurements: vals("900")},
			{Name: "error-rate", Phase: failed, Measurements: vals("0.2")},
		}}, msg + " (error-rate: last values 0.2)"},
		{"no values: the message alone", v1alpha1.AnalysisRunStatus{Phase: errored, Message: "m", MetricResults: []v1alpha1.MetricResult{
			{Name: "error-rate", Phase: errored, Measurements: []v1alpha1.Measurement{{Phase: errored, Message: "timeout"}}},
		}}, "m"},
		{"no message: the phase", v1alpha1.AnalysisRunStatus{Phase: successful, MetricResults: []v1alpha1.MetricResult{
			{Name: "error-rate", Phase: successful, Measurements: vals("0.01")},
		}}, "analysis Successful (error-rate: last values 0.01)"},
		{"terminated: no metric of the run's phase decided", v1alpha1.AnalysisRunStatus{Phase: successful, Message: "Run Terminated"}, "Run Terminated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Evidence(&tt.st); got != tt.want {
				t.Errorf("Evidence = %q, want %q", got, tt.want)
			}
		})
	}
}
