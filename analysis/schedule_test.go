package analysis

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/roost-dev/roost/api/v1alpha1"
)

func TestNextMeasurement(t *testing.T) {
	start := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *metav1.Time { return &metav1.Time{Time: start.Add(d)} }
	done := func(p v1alpha1.AnalysisPhase, finished time.Duration) v1alpha1.Measurement {
		return v1alpha1.Measurement{Phase: p, StartedAt: at(finished - time.Second), FinishedAt: at(finished)}
	}
	five := Limits{Count: 5, Bounded: true, ConsecutiveErrorLimit: 4}
	every30s := Timing{Interval: 30 * time.Second, InitialDelay: time.Minute}
	tests := []struct {
		name        string
		r           v1alpha1.MetricResult
		l           Limits
		terminating bool
		now         time.Duration
		want        Next
	}{
		{"completed: no more", v1alpha1.MetricResult{Phase: successful}, five, false, time.Hour, Next{}},
		{"unfinished: resumed", v1alpha1.MetricResult{Measurements: []v1alpha1.Measurement{{Phase: running, StartedAt: at(time.Minute)}}}, five, false, 2 * time.Minute, Next{Now: true, Resume: true}},
		{"unfinished, resumeAt later: wait for it", v1alpha1.MetricResult{Measurements: []v1alpha1.Measurement{{Phase: running, ResumeAt: at(3 * time.Minute)}}}, five, false, 2 * time.Minute, Next{At: start.Add(3 * time.Minute)}},
		{"unfinished is resumed even when terminating", v1alpha1.MetricResult{Measurements: []v1alpha1.Measurement{{Phase: running}}}, five, true, 0, Next{Now: true, Resume: true}},
		{"terminating: nothing new", v1alpha1.MetricResult{Measurements: []v1alpha1.Measurement{done(successful, time.Minute)}, Count: 1}, five, true, time.Hour, Next{}},
		{"first one waits for initialDelay", v1alpha1.MetricResult{}, five, false, 30 * time.Second, Next{At: start.Add(time.Minute)}},
		{"first one at initialDelay", v1alpha1.MetricResult{}, five, false, time.Minute, Next{Now: true}},
		{"count reached: no more", v1alpha1.MetricResult{Measurements: []v1alpha1.Measurement{done(successful, 3*time.Minute)}, Count: 5}, five, false, time.Hour, Next{}},
		{"errors do not use up the count", v1alpha1.MetricResult{Measurements: []v1alpha1.Measurement{done(errored, 3*time.Minute)}, Count: 4, Error: 3}, five, false, 3*time.Minute + 11*time.Second, Next{Now: true}},
		{"after an error, retried 10 s later", v1alpha1.MetricResult{Measurements: []v1alpha1.Measurement{done(errored, 3*time.Minute)}, Count: 1}, five, false, 3*time.Minute + 5*time.Second, Next{At: start.Add(3*time.Minute + 10*time.Second)}},
		{"the interval after a success", v1alpha1.MetricResult{Measurements: []v1alpha1.Measurement{done(successful, 2*time.Minute)}, Count: 1}, five, false, 2*time.Minute + 10*time.Second, Next{At: start.Add(2*time.Minute + 30*time.Second)}},
		{"due only once the interval has passed", v1alpha1.MetricResult{Measurements: []v1alpha1.Measurement{done(successful, 2*time.Minute)}, Count: 1}, five, false, 2*time.Minute + 30*time.Second, Next{At: start.Add(2*time.Minute + 30*time.Second)}},
		{"due after the interval", v1alpha1.MetricResult{Measurements: []v1alpha1.Measurement{done(failed, 2*time.Minute)}, Count: 1, Failed: 1}, Limits{Count: 5, Bounded: true, FailureLimit: 3}, false, 2*time.Minute + 31*time.Second, Next{Now: true}},
		{"no count with an interval: measured until the run ends", v1alpha1.MetricResult{Measurements: []v1alpha1.Measurement{done(successful, time.Hour)}, Count: 120}, Limits{ConsecutiveErrorLimit: 4}, false, time.Hour + 31*time.Second, Next{Now: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NextMeasurement(&tt.r, tt.l, every30s, start, tt.terminating, start.Add(tt.now))
			if got != tt.want {
				t.Errorf("NextMeasurement = %+v, want %+v", got, tt.want)
			}
		})
	}
}
