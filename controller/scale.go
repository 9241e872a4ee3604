package controller

// The replica math of one reconcile: given what each ReplicaSet asks for and has
// available, and the split the current weight wants, decide how far each one
// moves now without breaking maxSurge or maxUnavailable. Pure, so that table and
// property tests can drive it with plain numbers.

import "github.com/roost-dev/roost/api/v1alpha1"

// rsState is what the planner needs to know of one ReplicaSet.
type rsState struct {
	// Spec is spec.replicas.
	Spec int32
	// Available is status.availableReplicas.
	Available int32
}

// available counts the available pods that the ReplicaSet still wants; a
// ReplicaSet just scaled down may report more until its status catches up.
func (s rsState) available() int32 { return min(max(s.Available, 0), s.Spec) }

// scaleInput is everything planScale reads.
type scaleInput struct {
	// Replicas is the Rollout's spec.replicas (N).
	Replicas int32
	// Surge and Unavailable are maxSurge and maxUnavailable resolved to pods.
	Surge, Unavailable int32
	// CanaryTarget and StableTarget are the split the weight asks for.
	CanaryTarget, StableTarget int32
	// Canary is the new ReplicaSet (spec 0 when it does not exist yet).
	Canary rsState
	// Stable is the stable ReplicaSet; HasStable is false when there is none or
	// when it is the new one, and then its target is 0 whatever StableTarget says.
	Stable    rsState
	HasStable bool
	// Older are all other ReplicaSets of the Rollout, oldest first; they drain to 0.
	Older []rsState
	// CanaryShortfall is how many of the canary's target pods may still be
	// unavailable when a setWeight step completes (replicaProgressThreshold).
	CanaryShortfall int32
}

// scaleOutput is the spec.replicas each ReplicaSet gets now.
type scaleOutput struct {
	Canary, Stable int32
	Older          []int32
}

// planScale moves every ReplicaSet toward its target in one step while keeping
// the sum of spec.replicas at or below max(N+surge, canary+stable targets) and
// the available pods at or above N-unavailable. Pods that are not available yet
// are free to remove: taking them away loses no capacity. Scale-downs come first
// (older ReplicaSets, then whichever of canary and stable is above target) so
// that the room they free can be used by the scale-ups in the same pass (stable
// first, so that an abort restores capacity before anything else).
//
// It cannot deadlock: when some ReplicaSet is above target, either the total is
// below the ceiling (a scale-up fits), or pods are still becoming available
// (waiting helps), or all pods are available and the total is N+surge, which
// leaves surge+unavailable > 0 pods that may go.
func planScale(in scaleInput) scaleOutput {
	stableTarget := in.StableTarget
	if !in.HasStable {
		stableTarget = 0
		in.Stable = rsState{}
	}
	ceiling := max(in.Replicas+in.Surge, in.CanaryTarget+stableTarget)
	minAvailable := in.Replicas - in.Unavailable

	out := scaleOutput{Canary: in.Canary.Spec, Stable: in.Stable.Spec, Older: make([]int32, len(in.Older))}
	totalAvailable := in.Canary.available() + in.Stable.available()
	for i, o := range in.Older {
		out.Older[i] = o.Spec
		totalAvailable += o.available()
	}
	// spare is how many available pods may still be removed in this pass.
	spare := totalAvailable - minAvailable

	down := func(s rsState, target int32) int32 {
		if s.Spec <= target {
			return s.Spec
		}
		want := s.Spec - target
		notAvailable := s.Spec - s.available()
		free := min(want, notAvailable)
		extra := min(want-free, max(spare, 0))
		spare -= extra
		return s.Spec - free - extra
	}
	for i, o := range in.Older {
		out.Older[i] = down(o, 0)
	}
	out.Stable = down(in.Stable, stableTarget)
	out.Canary = down(in.Canary, in.CanaryTarget)

	total := out.Canary + out.Stable
	for _, o := range out.Older {
		total += o
	}
	up := func(spec, target int32) int32 {
		if spec >= target || total >= ceiling {
			return spec
		}
		n := min(target-spec, ceiling-total)
		total += n
		return spec + n
	}
	out.Stable = up(out.Stable, stableTarget)
	out.Canary = up(out.Canary, in.CanaryTarget)
	return out
}

// weightReached reports whether a setWeight step is done: canary and stable hold
// exactly their targets with that many pods available (the canary less its
// allowed shortfall), and older ReplicaSets are gone. It reads observed state,
// not the plan.
func weightReached(in scaleInput) bool {
	if in.Canary.Spec != in.CanaryTarget || in.Canary.Available < in.CanaryTarget-max(in.CanaryShortfall, 0) {
		return false
	}
	if in.HasStable && (in.Stable.Spec != in.StableTarget || in.Stable.Available < in.StableTarget) {
		return false
	}
	for _, o := range in.Older {
		if o.Spec != 0 || o.Available != 0 {
			return false
		}
	}
	return true
}

// progressShortfall is how many of target canary pods replicaProgressThreshold
// lets be unavailable: none without one; with a percentage, the step needs
// available/target >= value%; with a number of pods, it needs that many (at
// most target).
func progressShortfall(t *v1alpha1.ReplicaProgressThreshold, target int32) int32 {
	if t == nil || target <= 0 {
		return 0
	}
	var need int32
	switch t.Type {
	case v1alpha1.ProgressTypePercentage:
		need = int32((int64(target)*int64(t.Value) + 99) / 100)
	case v1alpha1.ProgressTypePod:
		need = t.Value
	default:
		return 0
	}
	return target - min(max(need, 0), target)
}
