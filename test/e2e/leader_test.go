//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/election"
	"github.com/roost-dev/roost/internal/rollouttest"
)

// leaderRollout is a canary Rollout of replicas kwok pods running image, with
// no role labels.
func leaderRollout(ns, app string, replicas int32, image string, steps ...v1alpha1.CanaryStep) *v1alpha1.Rollout {
	return kwokRollout(ns, app).Replicas(replicas).Image(image).NoRoleLabels().Steps(steps...).Rollout()
}

// setImage patches the Rollout's pod template to a new image and returns the
// pod-template hash the new revision's ReplicaSet will carry.
func leadSetImage(t *testing.T, ro *v1alpha1.Rollout, image string) string {
	t.Helper()
	patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":%q}]}}}}`, image)
	if _, err := dynamicClient(t).Resource(v1alpha1.RolloutGVR).Namespace(ro.Namespace).Patch(context.Background(), ro.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatalf("rollout %s/%s: set image %s: %v", ro.Namespace, ro.Name, image, err)
	}
	tmpl := ro.Spec.Template.DeepCopy()
	tmpl.Spec.Containers[0].Image = image
	return v1alpha1.PodTemplateHash(tmpl, nil)
}

// waitRollout waits until the Rollout, as stored, satisfies ok.
func leadWaitRollout(t *testing.T, timeout time.Duration, ns, app, what string, ok func(r *v1alpha1.Rollout) bool) *v1alpha1.Rollout {
	t.Helper()
	var last *v1alpha1.Rollout
	eventually(t, timeout, what, func(ctx context.Context) (bool, string, error) {
		r, err := getRollout(ctx, t, ns, app)
		if err != nil {
			return false, "", err
		}
		last = r
		st := r.Status
		return ok(r), fmt.Sprintf("phase=%s step=%d currentPodHash=%s stableRS=%s pauses=%v message=%q",
			st.Phase, ptr.Deref(st.CurrentStepIndex, -1), st.CurrentPodHash, st.StableRS, st.PauseConditions, st.Message), nil
	})
	return last
}

func leadObserved(r *v1alpha1.Rollout) bool {
	return r.Status.ObservedGeneration == fmt.Sprint(r.Generation)
}

// healthyAt is true once the rollout completed revision hash.
func leadHealthyAt(hash string) func(r *v1alpha1.Rollout) bool {
	return func(r *v1alpha1.Rollout) bool {
		return leadObserved(r) && r.Status.Phase == v1alpha1.PhaseHealthy && r.Status.StableRS == hash && r.Status.CurrentPodHash == hash
	}
}

// controllerProcs starts n `roost controller` processes for ns, named
// prefix-0..n-1, each with its /metrics on a free loopback port.
func controllerProcs(t *testing.T, ns, prefix string, n int, leaseFlags ...string) []*roostProc {
	t.Helper()
	var procs []*roostProc
	for i := 0; i < n; i++ {
		args := append([]string{"controller", "-n", ns, "--lease-namespace", ns, "--metrics-addr", "127.0.0.1:0"}, leaseFlags...)
		procs = append(procs, startRoost(t, fmt.Sprintf("%s-%d", prefix, i), args...))
	}
	return procs
}

// procOf finds the process whose pid ends the Lease identity user@host/pid.
func procOf(t *testing.T, procs []*roostProc, identity string) *roostProc {
	t.Helper()
	i := strings.LastIndex(identity, "/")
	pid, err := strconv.Atoi(identity[i+1:])
	if i < 0 || err != nil {
		t.Fatalf("lease holder %q is not user@host/pid", identity)
	}
	for _, p := range procs {
		if p.pid() == pid {
			return p
		}
	}
	t.Fatalf("lease holder %q is none of the roost controllers started here", identity)
	return nil
}

// waitHolder waits for the Lease to name a holder other than not.
func waitHolder(t *testing.T, timeout time.Duration, ns, not string) string {
	t.Helper()
	var holder string
	eventually(t, timeout, "a holder of lease "+ns+"/"+election.DefaultLeaseName+" other than "+strconv.Quote(not), func(ctx context.Context) (bool, string, error) {
		h, _, err := leaseHolder(ctx, ns, election.DefaultLeaseName)
		holder = h
		return h != "" && h != not, "holder " + strconv.Quote(h), err
	})
	return holder
}

var metricsAddrLine = regexp.MustCompile(`serving /healthz and /metrics on (http://\S+)`)

// syncCount reads roost_controller_syncs_total (all labels summed) from the
// process's /metrics: the reconciler's own count of Rollouts it synced.
func syncCount(t *testing.T, p *roostProc) float64 {
	t.Helper()
	var base string
	eventually(t, 10*time.Second, p.name+" to print its /metrics address", func(context.Context) (bool, string, error) {
		m := metricsAddrLine.FindStringSubmatch(p.out.String())
		if m != nil {
			base = m[1]
		}
		return m != nil, p.out.String(), nil
	})
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatalf("%s /metrics: %v", p.name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "roost_controller_syncs_total") {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("%s /metrics line %q: %v", p.name, line, err)
		}
		sum += v
	}
	return sum
}

// eventManagers lists the field managers of the namespace's Events that
// start with prefix: which processes recorded events.
func eventManagers(t *testing.T, ns, prefix string) []string {
	t.Helper()
	evs, err := env.Client().CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	all := map[string]bool{}
	for _, e := range evs.Items {
		for _, m := range managers(e.ManagedFields) {
			all[m] = true
		}
	}
	return roostManagers(all, prefix)
}

// TestThreeReconcilersOneWriter runs three `roost controller` processes (the
// default lease timings) against one namespace through a whole canary with a
// CLI promote: exactly one holds the Lease, and the API server's own records
// (managedFields of the Rollout, the ReplicaSets and the Events, which it
// fills from each client's User-Agent, i.e. each process's argv[0]) name only
// that process as a writer. Its /metrics counts syncs; the followers' none.
func TestThreeReconcilersOneWriter(t *testing.T) {
	ns := env.NewNamespace(t)
	log := recordObjects(t, ns)
	const app, prefix = "trio", "roost-ctl-trio"
	procs := controllerProcs(t, ns, prefix, 3)
	holder := waitHolder(t, 30*time.Second, ns, "")
	leader := procOf(t, procs, holder)
	t.Logf("lease %s/%s held by %s (%s)", ns, election.DefaultLeaseName, holder, leader.name)

	ro := leaderRollout(ns, app, 4, "registry.example/trio:v1", rollouttest.SetWeight(25), rollouttest.Pause(), rollouttest.SetWeight(50), rollouttest.PauseFor("1s"))
	createRollout(t, ro)
	v1 := v1alpha1.PodTemplateHash(&ro.Spec.Template, nil)
	leadWaitRollout(t, 60*time.Second, ns, app, "revision 1 Healthy", leadHealthyAt(v1))
	v2 := leadSetImage(t, ro, "registry.example/trio:v2")
	leadWaitRollout(t, 60*time.Second, ns, app, "25% and paused at step 1", func(r *v1alpha1.Rollout) bool {
		return leadObserved(r) && r.Status.CurrentPodHash == v2 && r.Status.Phase == v1alpha1.PhasePaused && ptr.Deref(r.Status.CurrentStepIndex, -1) == 1
	})
	assertReplicas(t, ns, app, map[string]int32{v1: 3, v2: 1})
	if code, out := runRoost(t, 30*time.Second, "promote", "-n", ns, app); code != 0 {
		t.Fatalf("roost promote exited %d:\n%s", code, out)
	}
	leadWaitRollout(t, 60*time.Second, ns, app, "revision 2 Healthy after the promote", leadHealthyAt(v2))
	assertReplicas(t, ns, app, map[string]int32{v1: 0, v2: 4})

	h, transitions, err := leaseHolder(context.Background(), ns, election.DefaultLeaseName)
	if err != nil {
		t.Fatal(err)
	}
	if h != holder || transitions != 0 {
		t.Errorf("lease holder %q after %d transitions; want %q throughout", h, transitions, holder)
	}
	for _, p := range procs {
		if done, err := p.exited(); done {
			t.Errorf("%s exited during the canary: %v", p.name, err)
		}
	}

	rollouts, _, _, rsManagers, _ := log.snapshot()
	roMgr := map[string]bool{}
	for _, r := range rollouts {
		for _, m := range r.managers {
			roMgr[m] = true
		}
	}
	want := fmt.Sprint([]string{leader.name})
	for what, got := range map[string][]string{
		"the Rollout":     roostManagers(roMgr, prefix),
		"the ReplicaSets": roostManagers(rsManagers, prefix),
		"the Events":      eventManagers(t, ns, prefix),
	} {
		if fmt.Sprint(got) != want {
			t.Errorf("writers of %s recorded by the API server: %v; want only the leader %s", what, got, leader.name)
		}
	}
	checkReplicaSetsCreatedOnce(t, log, ns, app)
	for _, p := range procs {
		n := syncCount(t, p)
		switch {
		case p == leader && n == 0:
			t.Errorf("leader %s reports no syncs on /metrics", p.name)
		case p != leader && n != 0:
			t.Errorf("follower %s reports %v syncs on /metrics; followers must not reconcile", p.name, n)
		}
	}
}

// TestLeaderKilledDuringTimedPause kills -9 the leader of three `roost
// controller` processes 3 s into a 20 s pause step. Another takes the Lease,
// continues at the same step and advances when the original pause ends: the
// step index never goes back, the pause's startTime is never reset, and no
// ReplicaSet is created twice. Run with short lease timings and with the
// defaults.
func TestLeaderKilledDuringTimedPause(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags []string
	}{
		{"short-lease", []string{"--lease-duration", "4s", "--renew-deadline", "3s", "--retry-period", "1s"}},
		{"default-lease", nil},
	} {
		t.Run(tc.name, func(t *testing.T) { leaderKill(t, tc.flags) })
	}
}

func leaderKill(t *testing.T, leaseFlags []string) {
	ns := env.NewNamespace(t)
	log := recordObjects(t, ns)
	const app, prefix = "failover", "roost-ctl-failover"
	procs := controllerProcs(t, ns, prefix, 3, leaseFlags...)
	first := procOf(t, procs, waitHolder(t, 30*time.Second, ns, ""))

	const pause = 20 * time.Second
	ro := leaderRollout(ns, app, 5, "registry.example/failover:v1", rollouttest.SetWeight(20), rollouttest.PauseFor(pause.String()), rollouttest.SetWeight(60))
	createRollout(t, ro)
	v1 := v1alpha1.PodTemplateHash(&ro.Spec.Template, nil)
	leadWaitRollout(t, 60*time.Second, ns, app, "revision 1 Healthy", leadHealthyAt(v1))
	v2 := leadSetImage(t, ro, "registry.example/failover:v2")
	paused := leadWaitRollout(t, 30*time.Second, ns, app, "20% and in the 20s pause at step 1", func(r *v1alpha1.Rollout) bool {
		return leadObserved(r) && r.Status.CurrentPodHash == v2 && ptr.Deref(r.Status.CurrentStepIndex, -1) == 1 && len(r.Status.PauseConditions) == 1
	})
	pauseStart := paused.Status.PauseConditions[0].StartTime.Time
	assertReplicas(t, ns, app, map[string]int32{v1: 4, v2: 1})

	time.Sleep(time.Until(pauseStart.Add(3 * time.Second)))
	oldHolder, _, err := leaseHolder(context.Background(), ns, election.DefaultLeaseName)
	if err != nil {
		t.Fatal(err)
	}
	if procOf(t, procs, oldHolder) != first {
		t.Fatalf("the lease moved from %s to %s before the kill", first.name, oldHolder)
	}
	killed := time.Now()
	if err := syscall.Kill(first.pid(), syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %s (pid %d): %v", first.name, first.pid(), err)
	}
	var holder string
	for holder == "" || holder == oldHolder {
		if time.Since(killed) > 30*time.Second {
			t.Fatalf("lease still held by %q 30s after killing it", holder)
		}
		holder, _, err = leaseHolder(context.Background(), ns, election.DefaultLeaseName)
		if err != nil {
			t.Logf("read lease: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	takeover := time.Since(killed)
	next := procOf(t, procs, holder)

	final := leadWaitRollout(t, 60*time.Second, ns, app, "revision 2 Healthy under the new leader", leadHealthyAt(v2))
	assertReplicas(t, ns, app, map[string]int32{v1: 0, v2: 5})
	if final.Status.StableRS != v2 {
		t.Errorf("status.stableRS = %s, want %s", final.Status.StableRS, v2)
	}

	// Replay the Rollout's history as the watch saw it, from the new
	// revision on.
	rollouts, _, _, _, _ := log.snapshot()
	var advanced time.Time
	var advancedBy []string
	last := int32(-1)
	for _, r := range rollouts {
		if r.podHash != v2 {
			continue
		}
		if r.step < last {
			t.Errorf("rv %s: currentStepIndex went back from %d to %d: a step was done twice", r.rv, last, r.step)
		}
		if r.step >= 2 && advanced.IsZero() {
			advanced, advancedBy = r.at, r.managers
		}
		last = r.step
		for _, pc := range r.pauses {
			if pc.Reason == v1alpha1.PauseReasonCanaryPauseStep && !pc.StartTime.Time.Equal(pauseStart) {
				t.Errorf("rv %s: pause startTime %s; it began at %s: the pause was restarted", r.rv, pc.StartTime.Time.Format(time.RFC3339), pauseStart.Format(time.RFC3339))
			}
		}
	}
	if advanced.IsZero() {
		t.Fatalf("the watch never saw the step advance past the pause")
	}
	// startTime has whole seconds; the pause may not end before it.
	if early := pauseStart.Add(pause).Sub(advanced); early > 0 {
		t.Errorf("the step advanced %s before the 20s pause ended", early)
	}
	if d := advanced.Sub(killed); d > 20*time.Second {
		t.Errorf("the step advanced %s after the kill; want within 20s", d.Round(time.Millisecond))
	}
	if !strings.Contains(fmt.Sprint(advancedBy), next.name) {
		t.Errorf("the write that advanced the step lists managers %v; want the new leader %s among them", advancedBy, next.name)
	}
	_, _, _, rsManagers, _ := log.snapshot()
	for _, m := range roostManagers(rsManagers, prefix) {
		if m != first.name && m != next.name {
			t.Errorf("%s wrote a ReplicaSet without ever leading", m)
		}
	}
	checkReplicaSetsCreatedOnce(t, log, ns, app)
	t.Logf("take-over after kill -9 of %s: lease held by %s %s after the kill; step advanced %s after the kill (%s after the pause's end)",
		first.name, next.name, takeover.Round(time.Millisecond), advanced.Sub(killed).Round(time.Millisecond),
		advanced.Sub(pauseStart.Add(pause)).Round(time.Millisecond))
	fmt.Printf("e2e: %s: leader take-over: lease %s, step advance %s after kill -9\n", t.Name(), takeover.Round(time.Millisecond), advanced.Sub(killed).Round(time.Millisecond))
}
