package analysis

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/api/v1alpha1"
)

const (
	pending      = v1alpha1.AnalysisPhasePending
	running      = v1alpha1.AnalysisPhaseRunning
	successful   = v1alpha1.AnalysisPhaseSuccessful
	failed       = v1alpha1.AnalysisPhaseFailed
	errored      = v1alpha1.AnalysisPhaseError
	inconclusive = v1alpha1.AnalysisPhaseInconclusive
)

func TestRecord(t *testing.T) {
	tests := []struct {
		name   string
		before v1alpha1.MetricResult
		phase  v1alpha1.AnalysisPhase
		want   v1alpha1.MetricResult
	}{
		{"a success counts and extends the run of successes", v1alpha1.MetricResult{Count: 2, Successful: 2, ConsecutiveSuccess: 2, ConsecutiveError: 1, Error: 1},
			successful, v1alpha1.MetricResult{Count: 3, Successful: 3, ConsecutiveSuccess: 3, Error: 1}},
		{"a failure counts and resets both runs", v1alpha1.MetricResult{Count: 2, Successful: 2, ConsecutiveSuccess: 2},
			failed, v1alpha1.MetricResult{Count: 3, Successful: 2, Failed: 1}},
		{"inconclusive counts and resets both runs", v1alpha1.MetricResult{Count: 1, Successful: 1, ConsecutiveSuccess: 1, ConsecutiveError: 2, Error: 2},
			inconclusive, v1alpha1.MetricResult{Count: 2, Successful: 1, Inconclusive: 1, Error: 2}},
		{"an error never uses up the count", v1alpha1.MetricResult{Count: 1, Successful: 1, ConsecutiveSuccess: 1},
			errored, v1alpha1.MetricResult{Count: 1, Successful: 1, Error: 1, ConsecutiveError: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.before
			Record(&got, tt.phase)
			if got.Count != tt.want.Count || got.Successful != tt.want.Successful || got.Failed != tt.want.Failed ||
				got.Inconclusive != tt.want.Inconclusive || got.Error != tt.want.Error ||
				got.ConsecutiveSuccess != tt.want.ConsecutiveSuccess || got.ConsecutiveError != tt.want.ConsecutiveError {
				t.Errorf("after %s: %+v, want %+v", tt.phase, got, tt.want)
			}
		})
	}
}

// finished is n finished measurements.
func finished(n int) []v1alpha1.Measurement {
	out := make([]v1alpha1.Measurement, n)
	for i := range out {
		out[i] = v1alpha1.Measurement{Phase: successful, FinishedAt: &metav1.Time{Time: time.Unix(int64(i), 0)}}
	}
	return out
}

func TestMetricPhase(t *testing.T) {
	five := Limits{Count: 5, Bounded: true, ConsecutiveErrorLimit: 4}
	inFlight := append(finished(1), v1alpha1.Measurement{Phase: running})
	tests := []struct {
		name        string
		r           v1alpha1.MetricResult
		l           Limits
		terminating bool
		want        v1alpha1.AnalysisPhase
		why         string
	}{
		{"a completed metric keeps its phase", v1alpha1.MetricResult{Phase: failed, Message: "failed (1) > failureLimit (0)", Measurements: finished(1)}, five, false, failed, "failed (1) > failureLimit (0)"},
		{"no measurement yet", v1alpha1.MetricResult{}, five, false, pending, ""},
		{"no measurement, terminating", v1alpha1.MetricResult{}, five, true, successful, ""},
		{"the last measurement is in flight", v1alpha1.MetricResult{Measurements: inFlight, Failed: 9}, five, false, running, ""},
		{"one failure over failureLimit 0", v1alpha1.MetricResult{Measurements: finished(1), Count: 1, Failed: 1}, five, false, failed, "failed (1) > failureLimit (0)"},
		{"failures up to failureLimit keep it running", v1alpha1.MetricResult{Measurements: finished(2), Count: 2, Failed: 2}, Limits{Count: 5, Bounded: true, FailureLimit: 2, ConsecutiveErrorLimit: 4}, false, running, ""},
		{"failureLimit -1 ignores failures", v1alpha1.MetricResult{Measurements: finished(3), Count: 3, Failed: 3}, Limits{Count: 5, Bounded: true, FailureLimit: -1, ConsecutiveErrorLimit: 4}, false, running, ""},
		{"inconclusive over its limit", v1alpha1.MetricResult{Measurements: finished(1), Count: 1, Inconclusive: 1}, five, false, inconclusive, "inconclusive (1) > inconclusiveLimit (0)"},
		{"five errors in a row over the default 4", v1alpha1.MetricResult{Measurements: finished(5), Error: 5, ConsecutiveError: 5}, five, false, errored, "consecutiveErrors (5) > consecutiveErrorLimit (4)"},
		{"four errors in a row are still retried", v1alpha1.MetricResult{Measurements: finished(4), Error: 4, ConsecutiveError: 4}, five, false, running, ""},
		{"a later limit overrides: inconclusive over failed", v1alpha1.MetricResult{Measurements: finished(2), Count: 2, Failed: 1, Inconclusive: 1}, five, false, inconclusive, "inconclusive (1) > inconclusiveLimit (0)"},
		{"a later limit overrides: error over failed", v1alpha1.MetricResult{Measurements: finished(7), Count: 2, Failed: 2, Error: 5, ConsecutiveError: 5}, Limits{Count: 5, Bounded: true, FailureLimit: 1, ConsecutiveErrorLimit: 4}, false, errored, "consecutiveErrors (5) > consecutiveErrorLimit (4)"},
		{"successes in a row reach consecutiveSuccessLimit", v1alpha1.MetricResult{Measurements: finished(3), Count: 3, Successful: 3, ConsecutiveSuccess: 3}, Limits{Count: 10, Bounded: true, ConsecutiveErrorLimit: 4, ConsecutiveSuccessLimit: 3}, false, successful, "consecutiveSuccess (3) >= consecutiveSuccessLimit (3)"},
		{"count reached", v1alpha1.MetricResult{Measurements: finished(5), Count: 5, Successful: 5}, five, false, successful, ""},
		{"count reached without the successes in a row", v1alpha1.MetricResult{Measurements: finished(5), Count: 5, Successful: 4, Inconclusive: 0, ConsecutiveSuccess: 1}, Limits{Count: 5, Bounded: true, FailureLimit: 1, ConsecutiveErrorLimit: 4, ConsecutiveSuccessLimit: 3}, false, inconclusive, "count (5) reached without 3 successes in a row"},
		{"count reached without the successes in a row, failureLimit -1", v1alpha1.MetricResult{Measurements: finished(5), Count: 5, Failed: 4, ConsecutiveSuccess: 1}, Limits{Count: 5, Bounded: true, FailureLimit: -1, ConsecutiveErrorLimit: 4, ConsecutiveSuccessLimit: 3}, false, failed, "count (5) reached without 3 successes in a row"},
		{"errors do not reach the count", v1alpha1.MetricResult{Measurements: finished(3), Count: 1, Successful: 1, Error: 2, ConsecutiveError: 2}, Limits{Count: 2, Bounded: true, ConsecutiveErrorLimit: 4}, false, running, ""},
		{"no count with an interval: runs until the run ends", v1alpha1.MetricResult{Measurements: finished(50), Count: 50, Successful: 50}, Limits{ConsecutiveErrorLimit: 4}, false, running, ""},
		{"no count, terminating", v1alpha1.MetricResult{Measurements: finished(50), Count: 50, Successful: 50}, Limits{ConsecutiveErrorLimit: 4}, true, successful, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := MetricPhase(&tt.r, tt.l, tt.terminating)
			if got != tt.want || why != tt.why {
				t.Errorf("MetricPhase = %s %q, want %s %q", got, why, tt.want, tt.why)
			}
		})
	}
}

func TestLimitsOf(t *testing.T) {
	m := &v1alpha1.Metric{Name: "error-rate", Interval: "1m", Count: ptr.To(intstr.FromInt32(5)), FailureLimit: ptr.To(intstr.FromInt32(-1)), ConsecutiveSuccessLimit: ptr.To(intstr.FromString("3"))}
	got, err := LimitsOf(m)
	want := Limits{Count: 5, Bounded: true, FailureLimit: -1, ConsecutiveErrorLimit: v1alpha1.DefaultConsecutiveErrorLimit, ConsecutiveSuccessLimit: 3}
	if err != nil || got != want {
		t.Errorf("LimitsOf = %+v, %v; want %+v", got, err, want)
	}
	if _, err := LimitsOf(&v1alpha1.Metric{Name: "x", FailureLimit: ptr.To(intstr.FromString("{{args.limit}}"))}); err == nil {
		t.Errorf("LimitsOf took an unresolved argument as a limit")
	}
}

func TestRunPhase(t *testing.T) {
	m := func(name string, p v1alpha1.AnalysisPhase, why string) v1alpha1.MetricResult {
		return v1alpha1.MetricResult{Name: name, Phase: p, Message: why, Measurements: finished(1)}
	}
	dry := func(r v1alpha1.MetricResult) v1alpha1.MetricResult { r.DryRun = true; return r }
	withError := m("latency", errored, "consecutiveErrors (5) > consecutiveErrorLimit (4)")
	withError.Measurements[0].Message = "429 Too Many Requests"
	tests := []struct {
		name      string
		results   []v1alpha1.MetricResult
		terminate bool
		want      v1alpha1.AnalysisPhase
		message   string
	}{
		{"every metric passed", []v1alpha1.MetricResult{m("a", successful, ""), m("b", successful, "")}, false, successful, ""},
		{"one still running", []v1alpha1.MetricResult{m("a", successful, ""), m("b", running, "")}, false, running, ""},
		{"a failure ends the run at once", []v1alpha1.MetricResult{m("error-rate", failed, "failed (1) > failureLimit (0)"), m("b", running, "")}, false, failed,
			`Metric "error-rate" assessed Failed due to failed (1) > failureLimit (0)`},
		{"the worst metric decides", []v1alpha1.MetricResult{m("a", inconclusive, "inconclusive (1) > inconclusiveLimit (0)"), m("b", failed, "failed (2) > failureLimit (1)"), m("c", errored, "x")}, false, failed,
			`Metric "b" assessed Failed due to failed (2) > failureLimit (1)`},
		{"the last measurement's message is quoted", []v1alpha1.MetricResult{withError}, false, errored,
			`Metric "latency" assessed Error due to consecutiveErrors (5) > consecutiveErrorLimit (4): "Error Message: 429 Too Many Requests"`},
		{"a dry-run failure never counts", []v1alpha1.MetricResult{dry(m("a", failed, "failed (1) > failureLimit (0)")), m("b", running, "")}, false, running, ""},
		{"a dry-run failure beside passes", []v1alpha1.MetricResult{dry(m("a", failed, "failed (1) > failureLimit (0)")), m("b", successful, "")}, false, successful, ""},
		{"terminated by a person", []v1alpha1.MetricResult{m("a", running, "")}, true, successful, "Run Terminated"},
		{"terminated with a failure", []v1alpha1.MetricResult{m("a", failed, "failed (1) > failureLimit (0)")}, true, failed, `Metric "a" assessed Failed due to failed (1) > failureLimit (0)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, msg := RunPhase(tt.results, tt.terminate)
			if got != tt.want || msg != tt.message {
				t.Errorf("RunPhase = %s %q, want %s %q", got, msg, tt.want, tt.message)
			}
		})
	}
}
