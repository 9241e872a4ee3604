package watch

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/roost-dev/roost/api/v1alpha1"
)

var now = time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

func rollout(mutate func(r *v1alpha1.Rollout)) *v1alpha1.Rollout {
	r := &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "checkout", Namespace: "shop", UID: "ro", Generation: 3, CreationTimestamp: metav1.NewTime(now.Add(-2 * time.Hour))},
		Spec: v1alpha1.RolloutSpec{
			Replicas: ptr(int32(10)),
			Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{Steps: []v1alpha1.CanaryStep{
				{SetWeight: ptr(int32(20))},
				{Pause: &v1alpha1.RolloutPause{}},
				{SetWeight: ptr(int32(50))},
				{Pause: &v1alpha1.RolloutPause{Duration: ptr(intstr.FromString("30s"))}},
			}}},
		},
		Status: v1alpha1.RolloutStatus{
			Phase: v1alpha1.PhasePaused, Message: "CanaryPauseStep",
			CurrentStepIndex: ptr(int32(1)), CurrentPodHash: "new", StableRS: "old", ObservedGeneration: "3",
			PauseConditions: []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep, StartTime: metav1.NewTime(now.Add(-time.Minute))}},
		},
	}
	if mutate != nil {
		mutate(r)
	}
	return r
}

func rs(name, hash, rev string, owner types.UID, replicas, ready, available int32) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "shop", UID: types.UID(name),
			Labels:          map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: hash},
			Annotations:     map[string]string{v1alpha1.RevisionAnnotation: rev},
			OwnerReferences: []metav1.OwnerReference{{Kind: "Rollout", Name: "checkout", UID: owner, Controller: ptr(true)}},
		},
		Spec:   appsv1.ReplicaSetSpec{Replicas: ptr(replicas), Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Image: "checkout:" + rev}}}}},
		Status: appsv1.ReplicaSetStatus{Replicas: replicas, ReadyReplicas: ready, AvailableReplicas: available},
	}
}

func pods(owner string, role string, n int) []*Pod {
	var out []*Pod
	for i := 0; i < n; i++ {
		out = append(out, &Pod{ObjectMeta: metav1.ObjectMeta{
			Name: fmt.Sprintf("%s-%d", owner, i), Namespace: "shop", Labels: map[string]string{RoleLabel: role},
			OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", UID: types.UID(owner), Controller: ptr(true)}},
		}})
	}
	return out
}

func event(reason, msg, actor string, ago time.Duration) *corev1.Event {
	e := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: reason, Namespace: "shop"},
		InvolvedObject: corev1.ObjectReference{Kind: "Rollout", Namespace: "shop", Name: "checkout", UID: "ro"},
		Reason:         reason, Message: msg, Type: corev1.EventTypeNormal, Count: 1,
		LastTimestamp: metav1.NewTime(now.Add(-ago)),
	}
	if actor != "" {
		e.Annotations = map[string]string{ActorAnnotation: actor}
	}
	return e
}

func TestSnapshot(t *testing.T) {
	replicaSets := []*appsv1.ReplicaSet{
		rs("checkout-old", "old", "1", "ro", 8, 8, 8),
		rs("checkout-new", "new", "2", "ro", 2, 2, 2),
		rs("cart-x", "x", "1", "other", 3, 3, 3),
	}
	allPods := append(append(pods("checkout-old", "stable", 8), pods("checkout-new", "canary", 2)...), pods("cart-x", "", 3)...)
	tests := []struct {
		name  string
		ro    *v1alpha1.Rollout
		rss   []*appsv1.ReplicaSet
		check func(t *testing.T, v Rollout)
	}{{
		name: "at an untimed pause after setWeight 20",
		ro:   rollout(nil),
		rss:  replicaSets,
		check: func(t *testing.T, v Rollout) {
			want := Rollout{
				Namespace: "shop", Name: "checkout", Phase: v1alpha1.PhasePaused, Message: "CanaryPauseStep",
				StepIndex: 1, StepsTotal: 4,
				Steps: []Step{
					{1, "setWeight 20", StepDone, ptr(int32(20))}, {2, "pause (until promoted)", StepCurrent, nil},
					{3, "setWeight 50", StepPending, ptr(int32(50))}, {4, "pause 30s", StepPending, nil},
				},
				DesiredWeight: 20, ActualWeight: 20, Paused: true, PauseUntilPromoted: true, PodHash: "new", Pausing: true,
				Stable:   &ReplicaSet{Name: "checkout-old", Revision: "1", Images: []string{"checkout:1"}, Desired: 8, Total: 8, Ready: 8, Available: 8, PodsByRole: map[string]int{"stable": 8}},
				Canary:   &ReplicaSet{Name: "checkout-new", Revision: "2", Images: []string{"checkout:2"}, Desired: 2, Total: 2, Ready: 2, Available: 2, PodsByRole: map[string]int{"canary": 2}},
				Replicas: 10, Created: now.Add(-2 * time.Hour), Age: 2 * time.Hour,
				StepSince: now.Add(-time.Minute), StepAge: time.Minute,
			}
			// The pods of the rollout's ReplicaSets, canary first; not
			// cart's.
			var names []string
			for _, p := range v.Pods {
				names = append(names, p.Role.String()+" "+p.Name)
			}
			if wantNames := []string{"canary checkout-new-0", "canary checkout-new-1", "stable checkout-old-0", "stable checkout-old-1", "stable checkout-old-2",
				"stable checkout-old-3", "stable checkout-old-4", "stable checkout-old-5", "stable checkout-old-6", "stable checkout-old-7"}; !reflect.DeepEqual(names, wantNames) {
				t.Errorf("pods %q, want %q", names, wantNames)
			}
			v.Pods = nil
			if !reflect.DeepEqual(v, want) {
				t.Errorf("got  %+v\nwant %+v", v, want)
			}
		},
	}, {
		name: "timed pause counts down",
		ro: rollout(func(r *v1alpha1.Rollout) {
			r.Status.CurrentStepIndex = ptr(int32(3))
			r.Status.PauseConditions[0].StartTime = metav1.NewTime(now.Add(-12 * time.Second))
		}),
		check: func(t *testing.T, v Rollout) {
			if v.PauseRemaining != 18*time.Second || v.PauseUntilPromoted || v.DesiredWeight != 50 {
				t.Errorf("remaining %s, untilPromoted %v, desired %d", v.PauseRemaining, v.PauseUntilPromoted, v.DesiredWeight)
			}
		},
	}, {
		name: "an overdue timed pause shows zero, never negative",
		ro: rollout(func(r *v1alpha1.Rollout) {
			r.Status.CurrentStepIndex = ptr(int32(3))
			r.Status.PauseConditions[0].StartTime = metav1.NewTime(now.Add(-time.Hour))
		}),
		check: func(t *testing.T, v Rollout) {
			if v.PauseRemaining != 0 || !v.Paused {
				t.Errorf("remaining %s paused %v", v.PauseRemaining, v.Paused)
			}
		},
	}, {
		name: "aborted with a reason",
		ro: rollout(func(r *v1alpha1.Rollout) {
			r.Annotations = map[string]string{abortReasonAnnotation: "p99 up 3x"}
			r.Status.Abort = true
			r.Status.PauseConditions = nil
			r.Status.CurrentStepIndex = ptr(int32(0))
			r.Status.Phase = v1alpha1.PhaseDegraded
		}),
		rss: []*appsv1.ReplicaSet{rs("checkout-old", "old", "1", "ro", 10, 10, 10), rs("checkout-new", "new", "2", "ro", 0, 0, 0)},
		check: func(t *testing.T, v Rollout) {
			if !v.Aborted || v.AbortReason != "p99 up 3x" || v.DesiredWeight != 0 || v.ActualWeight != 0 || v.Paused || v.Phase != v1alpha1.PhaseDegraded {
				t.Errorf("%+v", v)
			}
			if v.Steps[0].State != StepCurrent {
				t.Errorf("steps = %+v", v.Steps)
			}
		},
	}, {
		name: "healthy: only a stable ReplicaSet, weight 100",
		ro: rollout(func(r *v1alpha1.Rollout) {
			r.Status = v1alpha1.RolloutStatus{Phase: v1alpha1.PhaseHealthy, CurrentStepIndex: ptr(int32(4)), CurrentPodHash: "new", StableRS: "new", ObservedGeneration: "3"}
		}),
		rss: []*appsv1.ReplicaSet{rs("checkout-old", "old", "1", "ro", 0, 0, 0), rs("checkout-new", "new", "2", "ro", 10, 10, 10)},
		check: func(t *testing.T, v Rollout) {
			if v.Canary != nil || v.Stable == nil || v.Stable.Name != "checkout-new" || v.DesiredWeight != 100 || v.ActualWeight != 100 || v.Paused {
				t.Errorf("%+v", v)
			}
			for _, s := range v.Steps {
				if s.State != StepDone {
					t.Errorf("step %+v not done", s)
				}
			}
		},
	}, {
		name: "manual pause, new generation not yet observed",
		ro: rollout(func(r *v1alpha1.Rollout) {
			r.Spec.Paused = true
			r.Generation = 4
			r.Status.PauseConditions = nil
			r.Status.CurrentStepIndex = ptr(int32(2))
		}),
		rss: replicaSets,
		check: func(t *testing.T, v Rollout) {
			if !v.Paused || !v.ManuallyPaused || v.PauseUntilPromoted || v.Phase != v1alpha1.PhaseProgressing || v.DesiredWeight != 50 {
				t.Errorf("%+v", v)
			}
		},
	}, {
		name: "held by roost's judge: the evidence of this canary is shown, an older canary's is not",
		ro: rollout(func(r *v1alpha1.Rollout) {
			r.Spec.Paused = true
			r.Annotations = map[string]string{v1alpha1.JudgeHeldAnnotation: r.Status.CurrentPodHash + ": error rate: canary 8 % vs stable 1 % (8× stable)"}
		}),
		rss: replicaSets,
		check: func(t *testing.T, v Rollout) {
			if !v.ManuallyPaused || v.JudgeHeld != "error rate: canary 8 % vs stable 1 % (8× stable)" {
				t.Errorf("JudgeHeld = %q, ManuallyPaused = %v", v.JudgeHeld, v.ManuallyPaused)
			}
		},
	}, {
		name: "a hold mark of an earlier canary is not this one's",
		ro: rollout(func(r *v1alpha1.Rollout) {
			r.Spec.Paused = true
			r.Annotations = map[string]string{v1alpha1.JudgeHeldAnnotation: "0ldhash: error rate"}
		}),
		rss: replicaSets,
		check: func(t *testing.T, v Rollout) {
			if v.JudgeHeld != "" || !v.ManuallyPaused {
				t.Errorf("JudgeHeld = %q, ManuallyPaused = %v", v.JudgeHeld, v.ManuallyPaused)
			}
		},
	}, {
		name: "no controller has reported",
		ro:   rollout(func(r *v1alpha1.Rollout) { r.Status = v1alpha1.RolloutStatus{} }),
		check: func(t *testing.T, v Rollout) {
			if v.Phase != "Unknown" || v.DesiredWeight != 100 || v.Stable != nil || v.Canary != nil {
				t.Errorf("%+v", v)
			}
		},
	}, {
		name: "invalid spec message is surfaced",
		ro: rollout(func(r *v1alpha1.Rollout) {
			r.Status.Conditions = []v1alpha1.RolloutCondition{{Type: v1alpha1.InvalidSpec, Status: corev1.ConditionTrue, Message: "spec.strategy.canary.trafficRouting: Forbidden"}}
		}),
		check: func(t *testing.T, v Rollout) {
			if v.InvalidSpec != "spec.strategy.canary.trafficRouting: Forbidden" {
				t.Errorf("InvalidSpec = %q", v.InvalidSpec)
			}
		},
	}, {
		name: "an InvalidSpec condition counts whatever its status",
		ro: rollout(func(r *v1alpha1.Rollout) {
			r.Status.Conditions = []v1alpha1.RolloutCondition{{Type: v1alpha1.InvalidSpec, Status: corev1.ConditionFalse, Message: "spec.selector: Required value"}}
		}),
		check: func(t *testing.T, v Rollout) {
			if v.InvalidSpec != "spec.selector: Required value" || v.CanaryUnderWay() {
				t.Errorf("InvalidSpec = %q, canary under way %v", v.InvalidSpec, v.CanaryUnderWay())
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, Snapshot(tt.ro, tt.rss, allPods, nil, now))
		})
	}
}

func TestSnapshotActualWeightRounds(t *testing.T) {
	ro := rollout(nil)
	v := Snapshot(ro, []*appsv1.ReplicaSet{rs("checkout-old", "old", "1", "ro", 2, 2, 2), rs("checkout-new", "new", "2", "ro", 1, 1, 1)}, nil, nil, now)
	if v.ActualWeight != 33 {
		t.Errorf("1 of 3 available pods = %d%%, want 33%%", v.ActualWeight)
	}
}

func TestSnapshotEvents(t *testing.T) {
	var evs []*corev1.Event
	for i := 0; i < 12; i++ {
		evs = append(evs, event(fmt.Sprintf("Step%d", i), "step reached", "", time.Duration(20-i)*time.Minute))
	}
	evs = append(evs,
		event("RolloutPromoted", "promoted by alice@example.com: pause at step 2/4 released", "alice@example.com", 0),
		&corev1.Event{InvolvedObject: corev1.ObjectReference{Kind: "Rollout", Namespace: "shop", Name: "cart"}, Reason: "Other"},
		&corev1.Event{InvolvedObject: corev1.ObjectReference{Kind: "ReplicaSet", Namespace: "shop", Name: "checkout"}, Reason: "Other"},
	)
	v := Snapshot(rollout(nil), nil, nil, evs, now)
	if len(v.Events) != MaxEvents {
		t.Fatalf("%d events, want %d", len(v.Events), MaxEvents)
	}
	first := v.Events[0]
	if first.Reason != "RolloutPromoted" || first.Actor != "alice@example.com" || !first.Time.Equal(now) {
		t.Errorf("newest event = %+v", first)
	}
	if last := v.Events[MaxEvents-1]; last.Reason != "Step3" {
		t.Errorf("oldest kept event = %+v, want Step3", last)
	}
}

// Events of the same second (the API's timestamps have no finer grain) are
// ordered by the creation time in their names; who aborted is found among
// all the Events, not only those kept.
func TestSnapshotSameSecondEventsAndAbortedBy(t *testing.T) {
	named := func(e *corev1.Event, nanos int64) *corev1.Event {
		e.Name = fmt.Sprintf("checkout.%x", nanos)
		return e
	}
	base := now.UnixNano()
	evs := []*corev1.Event{
		named(event("RolloutAborted", "Rollout aborted update to revision 2", "", 0), base+3),
		named(event("RolloutAbortRequested", "aborted by bob: too slow", "bob", 0), base+1),
		named(event("ScalingReplicaSet", "Scaled down ReplicaSet checkout-new", "", 0), base+2),
	}
	for i := range MaxEvents {
		// Newer than the abort request, and as many as are kept.
		evs = append(evs, named(event(fmt.Sprintf("Later%d", i), "after", "", -time.Duration(i+1)*time.Second), base+int64(10+i)))
	}
	aborted := rollout(func(r *v1alpha1.Rollout) { r.Status.Abort = true })
	// Whatever order the cache lists them in.
	for _, order := range [][]int{{0, 1, 2}, {2, 1, 0}, {1, 0, 2}} {
		in := append([]*corev1.Event{evs[order[0]], evs[order[1]], evs[order[2]]}, evs[3:]...)
		v := Snapshot(aborted, nil, nil, in, now)
		if v.AbortedBy != "bob" {
			t.Errorf("order %v: AbortedBy = %q, want bob (kept: %d events)", order, v.AbortedBy, len(v.Events))
		}
		v = Snapshot(aborted, nil, nil, in[:3], now)
		var got []string
		for _, e := range v.Events {
			got = append(got, e.Reason)
		}
		if want := "RolloutAborted ScalingReplicaSet RolloutAbortRequested"; strings.Join(got, " ") != want {
			t.Errorf("order %v: events %v, want %s", order, got, want)
		}
	}
	if v := Snapshot(rollout(nil), nil, nil, evs, now); v.AbortedBy != "" {
		t.Errorf("a rollout that is not aborted has AbortedBy %q", v.AbortedBy)
	}
}

func TestSnapshotStepAgeAndSteppedBy(t *testing.T) {
	stepEvent := func(reason, source string, ago time.Duration) *corev1.Event {
		e := event(reason, reason, "", ago)
		e.Source.Component = source
		return e
	}
	promoted := event("RolloutPromoted", "promoted by alice", "alice@bastion", time.Second)
	promoted.Source.Component = "roost"
	unpaused := func(r *v1alpha1.Rollout) {
		r.Status.PauseConditions = nil
		r.Status.Phase = v1alpha1.PhaseProgressing
	}
	tests := []struct {
		name          string
		ro            *v1alpha1.Rollout
		events        []*corev1.Event
		wantAge       time.Duration
		wantSteppedBy string
	}{{
		name:    "a pause counts from its start",
		ro:      rollout(nil),
		events:  []*corev1.Event{stepEvent("RolloutStepCompleted", "roost", 5*time.Minute)},
		wantAge: time.Minute, wantSteppedBy: "roost",
	}, {
		name: "else from the newest step Event",
		ro:   rollout(unpaused),
		events: []*corev1.Event{
			stepEvent("RolloutStepCompleted", "rollouts-controller", 5*time.Minute),
			stepEvent("RolloutStepReached", "rollouts-controller", 3*time.Minute),
			stepEvent("ScalingReplicaSet", "rollouts-controller", 30*time.Second),
		},
		wantAge: 3 * time.Minute, wantSteppedBy: "rollouts-controller",
	}, {
		name: "a person's action names no controller",
		ro:   rollout(unpaused),
		events: []*corev1.Event{
			stepEvent("RolloutStepReached", "roost", 3*time.Minute),
			promoted,
		},
		wantAge: 3 * time.Minute, wantSteppedBy: "roost",
	}, {
		name: "else from the Progressing condition",
		ro: rollout(func(r *v1alpha1.Rollout) {
			unpaused(r)
			r.Status.Conditions = []v1alpha1.RolloutCondition{{Type: v1alpha1.RolloutProgressing, LastTransitionTime: metav1.NewTime(now.Add(-10 * time.Minute))}}
		}),
		wantAge: 10 * time.Minute,
	}, {
		name: "nothing tells",
		ro:   rollout(unpaused),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Snapshot(tt.ro, nil, nil, tt.events, now)
			if v.StepAge != tt.wantAge || v.SteppedBy != tt.wantSteppedBy {
				t.Errorf("step age %s, stepped by %q; want %s, %q", v.StepAge, v.SteppedBy, tt.wantAge, tt.wantSteppedBy)
			}
			if tt.wantAge == 0 && !v.StepSince.IsZero() {
				t.Errorf("StepSince = %s, want zero", v.StepSince)
			}
		})
	}
}

// TestCurrentStep: steps count from 1, as the Events say them; past the last
// step the rollout is done at its last step.
func TestCurrentStep(t *testing.T) {
	for _, c := range []struct {
		index, total int
		step         int
		done         bool
	}{
		{0, 4, 1, false},
		{1, 4, 2, false},
		{3, 4, 4, false},
		{4, 4, 4, true},
		{0, 0, 0, true},
	} {
		r := Rollout{StepIndex: int32(c.index), StepsTotal: c.total}
		step, done := r.CurrentStep()
		if step != c.step || done != c.done {
			t.Errorf("currentStepIndex %d of %d steps: CurrentStep() = %d, %v; want %d, %v", c.index, c.total, step, done, c.step, c.done)
		}
	}
}
