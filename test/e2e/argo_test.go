//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/election"
	"github.com/roost-dev/roost/internal/rollouttest"
)

// argoManager is the field manager Argo Rollouts' controller writes with.
const argoManager = "rollouts-controller"

// TestNeverStepsBesideAnotherController: a second controller that holds no
// Lease of roost's and writes as Argo Rollouts does (a roost posing with
// Argo's field manager, as an Argo controller run without leader election
// would) starts in the middle of a canary. The leading `roost controller`
// sees its status writes, stops stepping within seconds and releases its
// Lease; from then on only the other controller writes, and the canary
// still completes.
func TestNeverStepsBesideAnotherController(t *testing.T) {
	ns := env.NewNamespace(t)
	log := recordObjects(t, ns)
	leader := controllerProcs(t, ns, "roost-ctl-beside", 1)[0]
	waitHolder(t, 30*time.Second, ns, "")

	const app = "beside"
	ro := leaderRollout(ns, app, 5, "registry.example/beside:v1",
		rollouttest.SetWeight(20), rollouttest.PauseFor("6s"), rollouttest.SetWeight(40), rollouttest.PauseFor("6s"), rollouttest.SetWeight(60), rollouttest.PauseFor("6s"))
	createRollout(t, ro)
	leadWaitRollout(t, 60*time.Second, ns, app, "revision 1 Healthy", leadHealthyAt(v1alpha1.PodTemplateHash(&ro.Spec.Template, nil)))
	v2 := leadSetImage(t, ro, "registry.example/beside:v2")
	leadWaitRollout(t, 30*time.Second, ns, app, "the canary in its first pause", func(r *v1alpha1.Rollout) bool {
		return leadObserved(r) && r.Status.CurrentPodHash == v2 && ptr.Deref(r.Status.CurrentStepIndex, -1) == 1
	})

	started := time.Now()
	startRoostEnv(t, "poser", []string{"ROOST_FIELD_MANAGER=" + argoManager},
		"controller", "-n", ns, "--lease-namespace", ns, "--lease-name", "not-roosts", "--metrics-addr", "")

	eventually(t, 30*time.Second, "the leading roost to say Argo is live and let go", func(ctx context.Context) (bool, string, error) {
		out := leader.out.String()
		return strings.Contains(out, "Argo Rollouts is live") && strings.Contains(out, "written by "+argoManager), lastLine(out), nil
	})
	eventually(t, 10*time.Second, "roost's Lease released", func(ctx context.Context) (bool, string, error) {
		h, _, err := leaseHolder(ctx, ns, election.DefaultLeaseName)
		return h == "", "holder " + h, err
	})
	yielded := time.Now()
	leadWaitRollout(t, 90*time.Second, ns, app, "revision 2 Healthy under the other controller", leadHealthyAt(v2))

	// Replay the writes, by the API server's clock: roost's last status
	// write is at most a few seconds after the other controller's first.
	rollouts, _, _, _, _ := log.snapshot()
	var firstForeign, lastRoost time.Time
	for _, r := range rollouts {
		if at, ok := r.stamps[argoManager+"/status"]; ok && (firstForeign.IsZero() || at.Before(firstForeign)) {
			firstForeign = at
		}
		if at, ok := r.stamps[leader.name+"/status"]; ok && at.After(lastRoost) {
			lastRoost = at
		}
	}
	if firstForeign.IsZero() {
		t.Fatalf("the other controller never wrote the Rollout's status (managers: %v)", rollouts[len(rollouts)-1].managers)
	}
	if lastRoost.After(firstForeign.Add(5 * time.Second)) {
		t.Errorf("roost wrote the Rollout's status at %s, %s after the other controller's first write: two controllers stepped it",
			lastRoost.Format(time.TimeOnly), lastRoost.Sub(firstForeign))
	}
	t.Logf("roost let go %s after the other controller started", yielded.Sub(started).Round(time.Millisecond))
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "\n"); i >= 0 {
		return s[i+1:]
	}
	return s
}

// TestHandOverWithAntiAffinity: two `roost controller`s, a canary whose
// pods carry the injected anti-affinity, and a kill -9 of the leader in the
// middle of it. The next leader takes the canary over as it is: no
// ReplicaSet created twice, the canary ReplicaSet's injected term left as
// the first wrote it (no rewrite, no fight), and the term gone once the
// canary is stable.
func TestHandOverWithAntiAffinity(t *testing.T) {
	ns := env.NewNamespace(t)
	log := recordObjects(t, ns)
	procs := controllerProcs(t, ns, "roost-ctl-affinity", 2)
	oldHolder := waitHolder(t, 30*time.Second, ns, "")
	first := procOf(t, procs, oldHolder)

	const app = "affinity"
	ro := kwokRollout(ns, app).Replicas(4).Image("registry.example/affinity:v1").NoRoleLabels().Steps(
		rollouttest.SetWeight(25), rollouttest.PauseFor("15s"), rollouttest.SetWeight(50), rollouttest.PauseFor("3s"),
	).Canary(func(c *v1alpha1.CanaryStrategy) {
		c.AntiAffinity = &v1alpha1.AntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: &v1alpha1.PreferredDuringSchedulingIgnoredDuringExecution{Weight: 40}}
	}).Rollout()
	createRollout(t, ro)
	v1 := v1alpha1.PodTemplateHash(&ro.Spec.Template, nil)
	leadWaitRollout(t, 60*time.Second, ns, app, "revision 1 Healthy", leadHealthyAt(v1))
	v2 := leadSetImage(t, ro, "registry.example/affinity:v2")
	leadWaitRollout(t, 30*time.Second, ns, app, "the canary in its pause", func(r *v1alpha1.Rollout) bool {
		return leadObserved(r) && r.Status.CurrentPodHash == v2 && ptr.Deref(r.Status.CurrentStepIndex, -1) == 1
	})
	canaryRS := func() *appsv1.ReplicaSet {
		t.Helper()
		sets, err := replicaSetsByHash(context.Background(), ns, app)
		if err != nil {
			t.Fatal(err)
		}
		rs, ok := sets[v2]
		if !ok {
			t.Fatalf("no canary ReplicaSet for %s", v2)
		}
		return rs.DeepCopy()
	}
	before := canaryRS()
	if !injected(before.Spec.Template.Spec.Affinity, v1) {
		t.Fatalf("the canary ReplicaSet lacks the anti-affinity term against stable %s: %+v", v1, before.Spec.Template.Spec.Affinity)
	}

	if err := syscall.Kill(first.pid(), syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %s: %v", first.name, err)
	}
	procOf(t, procs, waitHolder(t, 40*time.Second, ns, oldHolder))
	// While the new leader holds the canary at its pause, the ReplicaSet's
	// template is left as it was.
	leadWaitRollout(t, 60*time.Second, ns, app, "the canary at 50% under the new leader", func(r *v1alpha1.Rollout) bool {
		return ptr.Deref(r.Status.CurrentStepIndex, -1) >= 2
	})
	if after := canaryRS(); !sameAffinity(after.Spec.Template.Spec.Affinity, before.Spec.Template.Spec.Affinity) {
		t.Errorf("the new leader rewrote the canary's anti-affinity:\nbefore %+v\nafter  %+v", before.Spec.Template.Spec.Affinity, after.Spec.Template.Spec.Affinity)
	}
	leadWaitRollout(t, 90*time.Second, ns, app, "revision 2 Healthy", leadHealthyAt(v2))
	eventually(t, 20*time.Second, "the term gone from the now stable ReplicaSet", func(ctx context.Context) (bool, string, error) {
		rs := canaryRS()
		return !injected(rs.Spec.Template.Spec.Affinity, v1), fmt.Sprintf("%+v", rs.Spec.Template.Spec.Affinity), nil
	})
	checkReplicaSetsCreatedOnce(t, log, ns, app)
}

// injected says whether a has the anti-affinity term against pods of hash.
func injected(a *corev1.Affinity, hash string) bool {
	if a == nil || a.PodAntiAffinity == nil {
		return false
	}
	has := func(term corev1.PodAffinityTerm) bool {
		if term.LabelSelector == nil {
			return false
		}
		for _, e := range term.LabelSelector.MatchExpressions {
			if e.Key == v1alpha1.DefaultRolloutUniqueLabelKey && slices.Contains(e.Values, hash) {
				return true
			}
		}
		return false
	}
	for _, w := range a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
		if has(w.PodAffinityTerm) {
			return true
		}
	}
	for _, term := range a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
		if has(term) {
			return true
		}
	}
	return false
}
