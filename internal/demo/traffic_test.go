package demo

import (
	"math"
	"slices"
	"testing"
	"time"
)

var testBaseline = Baseline{RequestsPerPod: 50, ErrorRate: 0.01, LatencyMedian: 40 * time.Millisecond, LatencySpread: 0.4}

// The rates of a pod by its role and its version's quality, over the life
// of the version: a bad version turns bad after its onset, climbs over the
// ramp, and stays bad; the role changes only the tags.
func TestProfileByRoleAndVersion(t *testing.T) {
	r := Regression{Onset: 20 * time.Second, Ramp: 40 * time.Second, ErrorRate: 0.09, LatencyFactor: 3}
	tests := []struct {
		name    string
		role    string
		quality Quality
		serving time.Duration
		// want
		errorRate, medianMs, failing float64
	}{
		{"good stable", "stable", Good, time.Hour, 0.01, 40, 0},
		{"good canary, new", "canary", Good, 0, 0.01, 40, 0},
		{"good canary, long after the onset", "canary", Good, 5 * time.Minute, 0.01, 40, 0},
		{"bad canary before its onset", "canary", Bad, 10 * time.Second, 0.01, 40, 0},
		{"bad canary at its onset", "canary", Bad, 20 * time.Second, 0.01, 40, 0},
		{"bad canary half way up", "canary", Bad, 40 * time.Second, 0.05, 80, 0.5},
		{"bad canary fully bad", "canary", Bad, time.Minute, 0.09, 120, 1},
		{"bad canary stays bad", "canary", Bad, time.Hour, 0.09, 120, 1},
		{"bad version promoted to stable", "stable", Bad, time.Hour, 0.09, 120, 1},
		{"bad version on an unlabelled pod", "", Bad, 40 * time.Second, 0.05, 80, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := profileOf(testBaseline, tt.quality, r, tt.serving)
			if !near(p.ErrorRate, tt.errorRate) || !near(p.LatencyMedian*1000, tt.medianMs) || !near(p.Failing, tt.failing) {
				t.Errorf("profileOf = error rate %.4f, median %.1fms, failing %.2f; want %.4f, %.1fms, %.2f",
					p.ErrorRate, p.LatencyMedian*1000, p.Failing, tt.errorRate, tt.medianMs, tt.failing)
			}
			if p.RequestsPerPod != 50 || p.LatencySpread != 0.4 {
				t.Errorf("requests %.0f/s, spread %.2f; want the baseline's 50/s, 0.40", p.RequestsPerPod, p.LatencySpread)
			}
			tags := seriesTags("payments", "ledger", tt.role, "2.4.0", "")
			want := []string{"service:ledger", "env:demo", "kube_namespace:payments", "version:2.4.0"}
			if tt.role != "" {
				want = append(want, "kube_role:"+tt.role)
			}
			if !slices.Equal(tags, want) {
				t.Errorf("tags %v, want %v", tags, want)
			}
		})
	}
}

// A regression that asks for less than the baseline, or no ramp at all,
// never makes a version better than good.
func TestProfileOddRegressions(t *testing.T) {
	tests := []struct {
		name      string
		r         Regression
		serving   time.Duration
		errorRate float64
		medianMs  float64
	}{
		{"no ramp: bad at once after the onset", Regression{Onset: time.Second, ErrorRate: 0.2, LatencyFactor: 2}, 2 * time.Second, 0.2, 80},
		{"lower error rate than the baseline", Regression{Ramp: time.Second, ErrorRate: 0.001, LatencyFactor: 0.5}, time.Minute, 0.01, 40},
	}
	for _, tt := range tests {
		p := profileOf(testBaseline, Bad, tt.r, tt.serving)
		if !near(p.ErrorRate, tt.errorRate) || !near(p.LatencyMedian*1000, tt.medianMs) {
			t.Errorf("%s: error rate %.4f, median %.1fms; want %.4f, %.1fms", tt.name, p.ErrorRate, p.LatencyMedian*1000, tt.errorRate, tt.medianMs)
		}
	}
}

func TestLatenciesAreTheDistributionsQuantiles(t *testing.T) {
	median, spread := 0.04, 0.5
	got := latencies(median, spread, 8, 1)
	if len(got) != 8 || !slices.IsSorted(got) {
		t.Fatalf("latencies = %v; want 8 rising durations", got)
	}
	// The middle pair straddles the median symmetrically in log space, and
	// the top one is the 15/16 quantile: z = 1.534.
	if g := math.Sqrt(got[3] * got[4]); !near(g, median) {
		t.Errorf("geometric mean of the middle pair %.5f, want the median %.5f", g, median)
	}
	if want := median * math.Exp(spread*1.5341); math.Abs(got[7]-want) > 1e-4 {
		t.Errorf("top sample %.5f, want %.5f", got[7], want)
	}
	if j := latencies(median, spread, 8, 1.03); !near(j[5]/got[5], 1.03) {
		t.Errorf("jitter 1.03 scales by %.4f", j[5]/got[5])
	}
}

func TestSwell(t *testing.T) {
	tests := []struct {
		t, period time.Duration
		want      float64
	}{
		{0, time.Minute, 1},
		{15 * time.Second, time.Minute, 1.2},
		{45 * time.Second, time.Minute, 0.8},
		{time.Minute, time.Minute, 1},
		{time.Second, 0, 1},
	}
	for _, tt := range tests {
		if got := swell(tt.t, tt.period, 0.2); !near(got, tt.want) {
			t.Errorf("swell(%s, %s) = %.4f, want %.4f", tt.t, tt.period, got, tt.want)
		}
	}
}

// A pod's whole counts add up to what was expected over time.
func TestCarryKeepsTheFractions(t *testing.T) {
	c := carry{}
	sum := 0
	for range 10 {
		sum += c.take("pod", 2.4)
	}
	if sum != 24 {
		t.Errorf("10 × 2.4 counted %d, want 24", sum)
	}
	c.take("gone", 0.5)
	c.keep(map[string]bool{"pod": true})
	if _, ok := c["gone"]; ok || len(c) != 1 {
		t.Errorf("keep left %v, want only pod", c)
	}
	if n := c.take("pod", -3); n != 0 {
		t.Errorf("a negative expectation counted %d", n)
	}
}

func TestImageTag(t *testing.T) {
	for image, want := range map[string]string{
		"shop/cart:1.8.3":               "1.8.3",
		"registry:5000/shop/cart:2.0.0": "2.0.0",
		"registry:5000/shop/cart":       "latest",
		"cart":                          "latest",
	} {
		if got := imageTag(image); got != want {
			t.Errorf("imageTag(%q) = %q, want %q", image, got, want)
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-6*math.Max(1, math.Abs(b)) }
