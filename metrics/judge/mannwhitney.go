package judge

import (
	"math"
	"slices"
)

// Test is a two-sided Mann-Whitney U test of the canary's values against
// stable's, with the Hodges-Lehmann estimate of how far the canary is
// shifted and a confidence interval of that shift.
type Test struct {
	// U counts the (canary, stable) pairs in which the canary is higher,
	// ties counting half; with no difference it is about n·m/2.
	U float64
	// P is the two-sided p-value: how likely a difference this large is
	// between two sides that do not differ.
	P float64
	// Shift is the median of every canary − stable difference; Lower and
	// Upper bound it at the test's confidence.
	Shift, Lower, Upper float64
	// Exact is set when P and the interval come from U's exact distribution
	// (small samples without ties), not its normal approximation.
	Exact bool
}

// exactLimit bounds the sample sizes for which U's exact distribution is
// computed, as R's wilcox.test does; beyond it the normal approximation is
// as good.
const exactLimit = 50

// MannWhitney tests canary against stable at the given confidence (0.95).
// Neither may be empty, and every value must be finite. It never builds the
// n·m differences: with both samples sorted, how many differences are at
// most t is a single merge-like pass, and each order statistic of the
// differences (the median, the interval's ends) is found by bisecting over
// the float64 values in that count, 64 passes at most. Its one allocation
// is the two sorted copies (and U's exact distribution, for small samples).
func MannWhitney(canary, stable []float64, confidence float64) Test {
	n, m := len(canary), len(stable)
	nm := n * m
	buf := make([]float64, n+m)
	x, y := buf[:n], buf[n:]
	copy(x, canary)
	copy(y, stable)
	slices.Sort(x)
	slices.Sort(y)
	u := uStatistic(x, y)
	ties := tieSum(x, y)
	t := Test{U: u}
	if nm%2 == 1 {
		t.Shift = kthDifference(x, y, nm/2+1)
	} else {
		t.Shift = (kthDifference(x, y, nm/2) + kthDifference(x, y, nm/2+1)) / 2
	}
	alpha := 1 - confidence
	if n < exactLimit && m < exactLimit && ties == 0 {
		t.Exact = true
		cdf := exactCDF(n, m)
		// U is a whole number without ties, and its distribution symmetric:
		// P(U ≥ u) = P(U ≤ nm − u), which keeps the upper tail as precise
		// as the lower.
		ui := int(u)
		t.P = math.Min(1, 2*cdf[min(ui, nm-ui)])
		// The interval's ends are the q-th smallest and largest differences,
		// q the smallest count with P(U ≤ q) ≥ alpha/2.
		q := 0
		for q < nm && cdf[q] < alpha/2 {
			q++
		}
		t.Lower, t.Upper = interval(x, y, max(q, 1))
		return t
	}
	N := float64(n + m)
	mean := float64(nm) / 2
	sd := math.Sqrt(float64(nm) / 12 * ((N + 1) - ties/(N*(N-1))))
	if sd == 0 {
		// Every value is the same: no evidence of a difference.
		t.P = 1
		t.Lower, t.Upper = t.Shift, t.Shift
		return t
	}
	// The continuity correction moves U half a step towards the mean.
	dev := u - mean
	dev -= math.Copysign(math.Min(0.5, math.Abs(dev)), dev)
	t.P = math.Erfc(math.Abs(dev/sd) / math.Sqrt2)
	z := math.Sqrt2 * math.Erfinv(confidence)
	q := int(math.Ceil(mean - z*sd - 0.5))
	t.Lower, t.Upper = interval(x, y, max(q, 1))
	return t
}

// interval returns the q-th smallest and the q-th largest difference (q
// counted from 1).
func interval(x, y []float64, q int) (lo, hi float64) {
	nm := len(x) * len(y)
	q = min(q, nm)
	return kthDifference(x, y, q), kthDifference(x, y, nm-q+1)
}

// uStatistic counts the pairs in which x is above y, ties counting half;
// x and y sorted.
func uStatistic(x, y []float64) float64 {
	var u float64
	below, notAbove := 0, 0 // y values < x[i], and <= x[i]
	for _, v := range x {
		for below < len(y) && y[below] < v {
			below++
		}
		for notAbove < len(y) && y[notAbove] <= v {
			notAbove++
		}
		u += float64(below) + float64(notAbove-below)/2
	}
	return u
}

// kthDifference is the k-th smallest (from 1) of the differences x[i] − y[j]
// of sorted x and y: the smallest float64 t with at least k differences at
// most t, found by bisecting the float64 values in order.
func kthDifference(x, y []float64, k int) float64 {
	lo, hi := orderedBits(x[0]-y[len(y)-1]), orderedBits(x[len(x)-1]-y[0])
	for lo < hi {
		mid := lo + (hi-lo)/2
		if countAtMost(x, y, fromOrderedBits(mid)) >= k {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return fromOrderedBits(lo)
}

// countAtMost counts the differences x[i] − y[j] ≤ t. As x[i] grows, fewer
// y[j] are far enough below it, so one pointer walks y down once.
func countAtMost(x, y []float64, t float64) int {
	count, j := 0, 0 // y[j:] are the y with x[i] − y ≤ t
	for _, v := range x {
		for j < len(y) && v-y[j] > t {
			j++
		}
		count += len(y) - j
	}
	return count
}

// orderedBits maps float64 values to uint64 in the same order (finite
// values and infinities; -0 just below +0).
func orderedBits(f float64) uint64 {
	b := math.Float64bits(f)
	if b>>63 == 1 {
		return ^b
	}
	return b | 1<<63
}

func fromOrderedBits(b uint64) float64 {
	if b>>63 == 1 {
		return math.Float64frombits(b &^ (1 << 63))
	}
	return math.Float64frombits(^b)
}

// tieSum is Σ(t³ − t) over the groups of t equal values of the pooled
// sample of sorted x and y: the tie correction of U's variance.
func tieSum(x, y []float64) float64 {
	var sum float64
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		var v float64
		if j == len(y) || i < len(x) && x[i] <= y[j] {
			v = x[i]
		} else {
			v = y[j]
		}
		t := 0
		for ; i < len(x) && x[i] == v; i++ {
			t++
		}
		for ; j < len(y) && y[j] == v; j++ {
			t++
		}
		if t > 1 {
			ft := float64(t)
			sum += ft*ft*ft - ft
		}
	}
	return sum
}

// exactCDF is P(U ≤ u) for u = 0 … n·m, for samples of n and m values
// without ties. The number of orderings with each U is a coefficient of the
// Gaussian binomial [n+m choose n] = Π (1 − q^(m+i)) / (1 − q^i), i = 1 … n,
// computed one factor at a time in place; float64 holds the counts (at most
// C(98, 49) ≈ 2.5e28) to far better than the precision a p-value needs.
func exactCDF(n, m int) []float64 {
	nm := n * m
	c := make([]float64, nm+n+1)
	c[0] = 1
	deg := 0
	for i := 1; i <= n; i++ {
		step := m + i
		for d := deg + step; d >= step; d-- {
			c[d] -= c[d-step]
		}
		deg += step
		for d := i; d <= deg; d++ {
			c[d] += c[d-i]
		}
		deg -= i
	}
	c = c[:nm+1]
	var total float64
	for _, x := range c {
		total += x
	}
	var run float64
	for i, x := range c {
		run += x
		c[i] = run / total
	}
	return c
}
