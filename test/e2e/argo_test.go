//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

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
