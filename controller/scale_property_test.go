package controller

import (
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/util/intstr"
	"pgregory.net/rapid"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// simRS is one ReplicaSet in the property model: spec.replicas and how many of
// its pods are available. The ReplicaSet controller removes pods that are not
// available first, so scaling down to s leaves min(available, s) available.
type simRS struct{ spec, avail int32 }

func fencepost(t *rapid.T, label string) *intstr.IntOrString {
	switch rapid.IntRange(0, 3).Draw(t, label+"Kind") {
	case 0:
		return nil
	case 1:
		v := intstr.FromInt32(int32(rapid.IntRange(0, 4).Draw(t, label+"Int")))
		return &v
	case 2:
		v := intstr.FromString(fmt.Sprintf("%d%%", rapid.IntRange(0, 100).Draw(t, label+"Pct")))
		return &v
	default:
		v := intstr.FromString(fmt.Sprint(rapid.IntRange(0, 60).Draw(t, label+"Bare")))
		return &v
	}
}

// TestScalePlanProperty drives random canaries (random replicas, surge and
// unavailable, weights, aborts and new templates mid-rollout) through planScale
// with random pod readiness between reconciles, and checks after every reconcile
// that the pods asked for never exceed N+maxSurge, that available pods never
// drop below N-maxUnavailable (unless they already were below, and then never
// drop further), and that every weight is reached in bounded time.
func TestScalePlanProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := int32(rapid.IntRange(0, 40).Draw(t, "replicas"))
		maxSurge, maxUnavailable := fencepost(t, "surge"), fencepost(t, "unavailable")
		if maxSurge != nil && maxUnavailable != nil {
			s, _, _ := v1alpha1.ParsePercentOrInt(*maxSurge)
			u, _, _ := v1alpha1.ParsePercentOrInt(*maxUnavailable)
			if s == 0 && u == 0 {
				// Validation rejects both at 0 and tells the user to raise one;
				// model the user who raised maxUnavailable.
				one := intstr.FromInt32(1)
				maxUnavailable = &one
			}
		}
		surge, unavailable, err := v1alpha1.ResolveFenceposts(maxSurge, maxUnavailable, n)
		if err != nil {
			t.Fatalf("fenceposts %v/%v: %v", maxSurge, maxUnavailable, err)
		}
		minAvailable := n - unavailable
		// A healthy rollout: the stable ReplicaSet has all its pods available.
		stable := simRS{n, n}
		canary := simRS{}
		var older []simRS
		readyChance := rapid.Float64Range(0.05, 1).Draw(t, "readyChance")

		events := rapid.IntRange(1, 6).Draw(t, "events")
		for e := 0; e < events; e++ {
			weight := int32(rapid.IntRange(0, 100).Draw(t, "weight"))
			switch rapid.IntRange(0, 5).Draw(t, "event") {
			case 0: // abort: back to all stable
				weight = 0
			case 1: // a new template mid-rollout: the canary becomes an older ReplicaSet
				if canary.spec > 0 {
					older = append(older, canary)
				}
				canary = simRS{}
			}
			canaryTarget, stableTarget := splitCanary(n, weight, surge)
			reached := false
			for round := 0; round < 400 && !reached; round++ {
				in := scaleInput{Replicas: n, Surge: surge, Unavailable: unavailable,
					CanaryTarget: canaryTarget, StableTarget: stableTarget,
					Canary: rsState{canary.spec, canary.avail}, Stable: rsState{stable.spec, stable.avail}, HasStable: true}
				for _, o := range older {
					in.Older = append(in.Older, rsState{o.spec, o.avail})
				}
				if weightReached(in) {
					reached = true
					break
				}
				availBefore := canary.avail + stable.avail
				for _, o := range older {
					availBefore += o.avail
				}
				out := planScale(in)

				apply := func(rs *simRS, spec int32) {
					if spec < 0 {
						t.Fatalf("negative spec.replicas %d", spec)
					}
					rs.spec = spec
					rs.avail = min(rs.avail, spec)
				}
				apply(&canary, out.Canary)
				apply(&stable, out.Stable)
				total, availAfter := canary.spec+stable.spec, canary.avail+stable.avail
				for i := range older {
					apply(&older[i], out.Older[i])
					total += older[i].spec
					availAfter += older[i].avail
				}
				if ceiling := max(n+surge, canaryTarget+stableTarget); total > ceiling {
					t.Fatalf("round %d: %d pods asked for, more than N+maxSurge = %d (N=%d surge=%d weight=%d)", round, total, ceiling, n, surge, weight)
				}
				if availAfter < min(availBefore, minAvailable) {
					t.Fatalf("round %d: available pods dropped from %d to %d, below N-maxUnavailable = %d", round, availBefore, availAfter, minAvailable)
				}
				// Pods come up at random; after 200 rounds every pod is ready, so a
				// plan that never converges shows up as a failure below.
				ready := func(rs *simRS) {
					for rs.avail < rs.spec && (round > 200 || rapid.Float64Range(0, 1).Draw(t, "ready") < readyChance) {
						rs.avail++
					}
				}
				ready(&canary)
				ready(&stable)
				for i := range older {
					ready(&older[i])
				}
			}
			if !reached {
				t.Fatalf("weight %d never reached: canary %+v stable %+v older %+v (N=%d surge=%d unavailable=%d)", weight, canary, stable, older, n, surge, unavailable)
			}
			older = nil // drained to 0, and garbage collected by revision history
		}
	})
}
