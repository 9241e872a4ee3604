package controller

import (
	"math"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// BasicCanaryReplicas is the steady-state split of a basic canary (no traffic
// router): for replicas N and weight W it returns the canary and stable pod counts
// whose real weight canary/(canary+stable) is closest to W. The total is N, or N+1
// when maxSurge allows one extra pod and that comes closer. For 0<W<100 neither
// side is left at zero while surge allows it. Ties go to the larger canary
// without surge. nil maxSurge/maxUnavailable mean the defaults ("25%").
//
// Examples (N, W → canary+stable): (10,20)→2+8, (10,5)→1+10, (10,99)→10+1,
// (3,50)→2+2, (1,10)→1+1; with maxSurge 0: (3,50)→2+1, (1,10)→0+1.
func BasicCanaryReplicas(replicas, weight int32, maxSurge, maxUnavailable *intstr.IntOrString) (canary, stable int32) {
	surge, _, err := v1alpha1.ResolveFenceposts(maxSurge, maxUnavailable, replicas)
	if err != nil {
		// Validation rejects such specs before the reconciler gets here; treat a
		// bad value as "no surge" so the split stays within spec.replicas.
		surge = 0
	}
	return splitCanary(replicas, weight, surge)
}

// splitCanary is BasicCanaryReplicas with the surge already resolved to pods.
func splitCanary(replicas, weight, surge int32) (canary, stable int32) {
	if replicas <= 0 {
		return 0, 0
	}
	weight = min(max(weight, 0), 100)
	type option struct{ canary, total int32 }
	exact := float64(replicas) * float64(weight) / 100
	ceil := int32(math.Ceil(exact))
	floor := int32(math.Floor(exact))
	// Zero on one side is only acceptable at the ends, or when there is a single
	// pod and no room to surge a second one.
	zeroAllowed := weight == 0 || weight == 100 || (replicas == 1 && surge == 0)

	var options []option
	if ceil < replicas || zeroAllowed {
		options = append(options, option{ceil, replicas})
	}
	if !halfway(weight, replicas) && (floor != 0 || zeroAllowed) {
		options = append(options, option{floor, replicas})
	}
	if surge > 0 {
		options = append(options, option{ceil, replicas + 1})
		if !halfway(weight, replicas+1) && (floor != 0 || zeroAllowed) {
			options = append(options, option{floor, replicas + 1})
		}
	}
	if len(options) == 0 {
		return 0, replicas
	}
	best := options[0]
	bestDelta := weightDelta(weight, best.canary, best.total)
	for _, o := range options[1:] {
		if d := weightDelta(weight, o.canary, o.total); d < bestDelta {
			best, bestDelta = o, d
		}
	}
	return best.canary, best.total - best.canary
}

// halfway reports whether floor and ceiling of total*weight/100 are equally far
// from the weight; the ceiling (the larger canary) then wins alone.
func halfway(weight, total int32) bool {
	_, frac := math.Modf(float64(total) * float64(weight) / 100)
	return frac == 0.5
}

func weightDelta(weight, canary, total int32) float64 {
	return math.Abs(float64(canary*100)/float64(total) - float64(weight))
}
