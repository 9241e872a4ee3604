package judge

import (
	"math"
	"slices"
	"testing"
)

// The p-values and estimates are scipy.stats.mannwhitneyu's (two-sided,
// continuity-corrected, exact for small samples without ties) and numpy's
// median of the pairwise differences, for the same data.
func TestMannWhitney(t *testing.T) {
	seq := func(n int, f func(i int) float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	tests := []struct {
		name           string
		canary, stable []float64
		u, p, shift    float64
		exact          bool
		// unreachable: 95% is beyond what so few points can give; the
		// interval is then the widest, as R's is.
		unreachable bool
	}{
		{name: "separated", canary: []float64{1, 2, 3, 4, 5}, stable: []float64{6, 7, 8, 9, 10}, u: 0, p: 0.007936507936507936, shift: -5, exact: true},
		{name: "overlapping", canary: []float64{1.1, 2.3, 3.5, 4.2, 5.9, 6.1}, stable: []float64{2.2, 3.3, 4.4, 5.5, 6.6, 7.7, 8.8}, u: 13, p: 0.2948717948717949, shift: -1.7, exact: true},
		{name: "three each, as far apart as can be", canary: []float64{5, 6, 7}, stable: []float64{1, 2, 3}, u: 9, p: 0.1, shift: 4, exact: true, unreachable: true},
		{name: "ties: sparse errors", canary: []float64{0, 0, 0, 1, 2, 0, 0, 3}, stable: []float64{0, 0, 0, 0, 0, 1, 0, 0}, u: 41, p: 0.24030279320476433, shift: 0},
		{
			name:   "large samples",
			canary: seq(60, func(i int) float64 { return float64(i*37%101)/10 + 2 }),
			stable: seq(70, func(i int) float64 { return float64(i*53%103) / 10 }),
			u:      2790.5, p: 0.0012705719911059459, shift: 1.85,
		},
		{
			name:   "49 each, exact",
			canary: seq(49, func(i int) float64 { return float64(i) + 0.5 }),
			stable: seq(49, func(i int) float64 { return float64(i) + 10.25 }),
			u:      780, p: 0.0025887833618387012, shift: -9.75, exact: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MannWhitney(tt.canary, tt.stable, 0.95)
			if got.U != tt.u || got.Exact != tt.exact {
				t.Errorf("U = %g (exact %v), want %g (exact %v)", got.U, got.Exact, tt.u, tt.exact)
			}
			if math.Abs(got.P-tt.p) > 1e-9*math.Max(1, tt.p) && math.Abs(got.P-tt.p)/tt.p > 1e-6 {
				t.Errorf("P = %.12g, want %.12g", got.P, tt.p)
			}
			if math.Abs(got.Shift-tt.shift) > 1e-9 {
				t.Errorf("Shift = %g, want %g", got.Shift, tt.shift)
			}
			if got.Lower > got.Shift || got.Shift > got.Upper {
				t.Errorf("interval [%g, %g] does not hold the estimate %g", got.Lower, got.Upper, got.Shift)
			}
			// The interval excludes 0 exactly when the test is significant
			// here (it need not in general, but does for these data).
			if significant, excludes := got.P < 0.05, got.Lower > 0 || got.Upper < 0; significant != excludes && !tt.unreachable {
				t.Errorf("p = %g but the interval is [%g, %g]", got.P, got.Lower, got.Upper)
			}
		})
	}
}

// The exact interval of 1..5 against 6..10 is R's wilcox.test conf.int: the
// 3rd smallest and 3rd largest of the 25 differences, since P(U ≤ 2) =
// 4/252 < 0.025 ≤ P(U ≤ 3) = 7/252.
func TestMannWhitneyExactInterval(t *testing.T) {
	got := MannWhitney([]float64{1, 2, 3, 4, 5}, []float64{6, 7, 8, 9, 10}, 0.95)
	if got.Lower != -8 || got.Upper != -2 {
		t.Errorf("interval = [%g, %g], want [-8, -2]", got.Lower, got.Upper)
	}
}

// A shifted copy of a sample is found shifted, with an interval around the
// shift, by the normal approximation too.
func TestMannWhitneyShift(t *testing.T) {
	var stable, canary []float64
	for i := range 120 {
		v := 100 + 10*math.Sin(float64(i)*1.7) + float64(i%7)
		stable = append(stable, v)
		canary = append(canary, v+8)
	}
	got := MannWhitney(canary, stable, 0.95)
	if got.Exact || math.Abs(got.Shift-8) > 1e-9 || got.Lower > 8 || got.Upper < 8 || got.Lower <= 0 || got.P > 1e-6 {
		t.Errorf("MannWhitney of a copy shifted by 8 = %+v", got)
	}
	same := MannWhitney(stable, stable, 0.95)
	if same.P < 0.99 || same.Shift != 0 || same.Lower > 0 || same.Upper < 0 {
		t.Errorf("MannWhitney of a sample against itself = %+v", same)
	}
	flat := MannWhitney([]float64{2, 2, 2, 2}, []float64{2, 2, 2}, 0.95)
	if flat.P != 1 || flat.Shift != 0 || flat.Lower != 0 || flat.Upper != 0 {
		t.Errorf("MannWhitney of equal values = %+v, want P 1 and no shift", flat)
	}
}

// exactCDF against counting every ordering of n canary and m stable values.
func TestExactCDF(t *testing.T) {
	for n := 1; n <= 6; n++ {
		for m := 1; m <= 6; m++ {
			counts := make([]float64, n*m+1)
			var total float64
			// Each subset of n positions of n+m holds the canary values; U
			// counts the stable values below each canary value.
			for mask := 0; mask < 1<<(n+m); mask++ {
				if popcount(mask) != n {
					continue
				}
				u, below := 0, 0
				for pos := 0; pos < n+m; pos++ {
					if mask&(1<<pos) != 0 {
						u += below
					} else {
						below++
					}
				}
				counts[u]++
				total++
			}
			cdf := exactCDF(n, m)
			var run float64
			for u := range counts {
				run += counts[u]
				if want := run / total; math.Abs(cdf[u]-want) > 1e-12 {
					t.Fatalf("n=%d m=%d: P(U ≤ %d) = %g, want %g", n, m, u, cdf[u], want)
				}
			}
		}
	}
}

func popcount(x int) int {
	c := 0
	for ; x != 0; x &= x - 1 {
		c++
	}
	return c
}

func TestTieSum(t *testing.T) {
	tests := []struct {
		x, y []float64
		want float64
	}{
		{[]float64{1, 3}, []float64{2}, 0},
		{[]float64{0}, []float64{0, 1}, 6},
		{[]float64{0, 0, 1}, []float64{0, 1}, 24 + 6},
		{[]float64{1, 1}, nil, 6},
	}
	for _, tt := range tests {
		if got := tieSum(tt.x, tt.y); got != tt.want {
			t.Errorf("tieSum(%v, %v) = %g, want %g", tt.x, tt.y, got, tt.want)
		}
	}
}

// kthDifference and uStatistic against the n·m differences, sorted.
func TestKthDifference(t *testing.T) {
	negZero := math.Copysign(0, -1)
	samples := [][2][]float64{
		{{1, 2, 3, 4, 5}, {6, 7, 8, 9, 10}},
		{{-3.5, -1, 0, 0, 2.25, 7}, {-2, 0, 0.5, 0.5, 9}},
		{{1e-300, 2e-300}, {-1e300, 1e300}},
		{{negZero, 0}, {0, negZero, 1}},
		{{4}, {4}},
	}
	for _, s := range samples {
		x, y := append([]float64(nil), s[0]...), append([]float64(nil), s[1]...)
		slices.Sort(x)
		slices.Sort(y)
		var diffs []float64
		var u float64
		for _, a := range x {
			for _, b := range y {
				diffs = append(diffs, a-b)
				switch {
				case a > b:
					u++
				case a == b:
					u += 0.5
				}
			}
		}
		slices.Sort(diffs)
		for k := 1; k <= len(diffs); k++ {
			if got := kthDifference(x, y, k); got != diffs[k-1] {
				t.Errorf("kthDifference(%v, %v, %d) = %g, want %g", x, y, k, got, diffs[k-1])
			}
		}
		if got := uStatistic(x, y); got != u {
			t.Errorf("uStatistic(%v, %v) = %g, want %g", x, y, got, u)
		}
	}
}

func TestOrderedBits(t *testing.T) {
	values := []float64{math.Inf(-1), -math.MaxFloat64, -1, -math.SmallestNonzeroFloat64, 0, math.SmallestNonzeroFloat64, 1, math.MaxFloat64, math.Inf(1)}
	for i, v := range values {
		if back := fromOrderedBits(orderedBits(v)); back != v {
			t.Errorf("fromOrderedBits(orderedBits(%g)) = %g", v, back)
		}
		if i > 0 && orderedBits(values[i-1]) >= orderedBits(v) {
			t.Errorf("orderedBits(%g) is not below orderedBits(%g)", values[i-1], v)
		}
	}
}
