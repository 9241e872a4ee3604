//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// roostBuild is the roost binary, built once per test binary run into the
// cluster's folder (removed with the cluster).
var roostBuild struct {
	once sync.Once
	path string
	err  error
}

// roostBinary builds ./cmd/roost from this checkout on first use.
func roostBinary(t testing.TB) string {
	t.Helper()
	roostBuild.once.Do(func() {
		_, file, _, ok := runtime.Caller(0)
		if !ok {
			roostBuild.err = errors.New("cannot locate the test source to find the repository root")
			return
		}
		root := filepath.Join(filepath.Dir(file), "..", "..")
		out := filepath.Join(env.Dir, "bin", "roost-cli")
		began := time.Now()
		cmd := exec.Command("go", "build", "-o", out, "./cmd/roost")
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			roostBuild.err = fmt.Errorf("go build ./cmd/roost in %s: %v\n%s", root, err, b)
			return
		}
		fmt.Fprintf(os.Stderr, "e2e: built roost in %s\n", time.Since(began).Round(10*time.Millisecond))
		roostBuild.path = out
	})
	if roostBuild.err != nil {
		t.Fatal(roostBuild.err)
	}
	return roostBuild.path
}

// cliResult is what one run of roost returned.
type cliResult struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

func (r cliResult) String() string {
	return fmt.Sprintf("exit %d after %s\nstdout:\n%s\nstderr:\n%s", r.code, r.took.Round(time.Millisecond), r.stdout, r.stderr)
}

// roostCLI runs the roost binary against the test cluster in namespace ns
// (the connection flags come first, as a person would type them) and returns
// its exit code and output. A roost that cannot be started at all reports
// exit code -1 with the reason in stderr, so that callers in other
// goroutines than the test's need not call t.Fatal.
func roostCLI(t *testing.T, ns string, args ...string) cliResult {
	t.Helper()
	return roostCLIContext(context.Background(), t, ns, args...)
}

// roostCLIContext is roostCLI, killing roost when ctx ends (and after two
// minutes in any case).
func roostCLIContext(ctx context.Context, t *testing.T, ns string, args ...string) cliResult {
	t.Helper()
	return roostCLIWith(ctx, t, env.Kubeconfig, ns, args...)
}

// roostCLIWith is roostCLIContext with another kubeconfig.
func roostCLIWith(ctx context.Context, t *testing.T, kubeconfig, ns string, args ...string) cliResult {
	t.Helper()
	bin := roostBinary(t)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	full := append([]string{"--kubeconfig", kubeconfig, "-n", ns, "--log-file", filepath.Join(t.TempDir(), "roost.log")}, args...)
	cmd := exec.CommandContext(ctx, bin, full...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	began := time.Now()
	err := cmd.Run()
	res := cliResult{stdout: stdout.String(), stderr: stderr.String(), took: time.Since(began)}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		res.code = exit.ExitCode()
	default:
		res.code = -1
		res.stderr += fmt.Sprintf("\n(test harness: running %s: %v)", bin, err)
	}
	return res
}

// mustRoost runs roost and fails the test unless it exits with code want.
func mustRoost(t *testing.T, ns string, want int, args ...string) cliResult {
	t.Helper()
	res := roostCLI(t, ns, args...)
	if res.code != want {
		t.Fatalf("roost %s: want exit code %d, got %s", strings.Join(args, " "), want, res)
	}
	return res
}

// roleCanary is a Rollout selecting app=name whose canary pods carry
// role=canary and stable pods role=stable, on the kwok node.
func roleCanary(ns, name string, replicas int32, steps ...v1alpha1.CanaryStep) *v1alpha1.Rollout {
	return kwokRollout(ns, name).Replicas(replicas).Image("registry.example/" + name + ":v1").Steps(steps...).Rollout()
}

// setImage changes the rollout's pod template, which starts a canary.
func setImage(t *testing.T, ns, name, image string) {
	t.Helper()
	patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":%q}]}}}}`, image)
	if _, err := dynamicClient(t).Resource(v1alpha1.RolloutGVR).Namespace(ns).Patch(context.Background(), name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatalf("rollout %s/%s: set image %s: %v", ns, name, image, err)
	}
}

// rolloutSummary is a one-line view of a rollout's status for failure messages.
func rolloutSummary(r *v1alpha1.Rollout) string {
	st := r.Status
	idx := "nil"
	if st.CurrentStepIndex != nil {
		idx = fmt.Sprint(*st.CurrentStepIndex)
	}
	return fmt.Sprintf("phase=%s step=%s/%d stableRS=%s currentPodHash=%s abort=%t pauses=%d gen=%d observed=%s message=%q",
		st.Phase, idx, len(r.Steps()), st.StableRS, st.CurrentPodHash, st.Abort, len(st.PauseConditions), r.Generation, st.ObservedGeneration, st.Message)
}

func stepIndex(r *v1alpha1.Rollout) int32 {
	if r.Status.CurrentStepIndex == nil {
		return -1
	}
	return *r.Status.CurrentStepIndex
}

// observed is true once the reconciler has seen the rollout's latest spec.
func observed(r *v1alpha1.Rollout) bool {
	return r.Status.ObservedGeneration == fmt.Sprint(r.Generation)
}

// poll calls cond every 100 ms until it holds or timeout passes. Unlike
// eventually, the failure shows the last state cond could read, not the error
// of a call cut short by the deadline.
func poll(t *testing.T, timeout time.Duration, what string, cond func(ctx context.Context) (ok bool, state string, err error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var state string
	var lastErr error
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ok, s, err := cond(ctx)
		cancel()
		if err == nil {
			state = s
			if ok {
				return
			}
		}
		lastErr = err
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; last state: %s (last error: %v)", timeout, what, state, lastErr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// awaitRollout waits until cond holds for the rollout, and returns it.
func awaitRollout(t *testing.T, ns, name string, timeout time.Duration, what string, cond func(r *v1alpha1.Rollout) bool) *v1alpha1.Rollout {
	t.Helper()
	var got *v1alpha1.Rollout
	poll(t, timeout, fmt.Sprintf("rollout %s/%s: %s", ns, name, what), func(ctx context.Context) (bool, string, error) {
		r, err := getRollout(ctx, t, ns, name)
		if err != nil {
			return false, "", err
		}
		got = r
		return cond(r), rolloutSummary(r), nil
	})
	return got
}

// atPause is true when the rollout waits at pause step idx of the current
// template.
func atPause(idx int32) func(r *v1alpha1.Rollout) bool {
	return func(r *v1alpha1.Rollout) bool {
		return observed(r) && r.Status.Phase == v1alpha1.PhasePaused && stepIndex(r) == idx && len(r.Status.PauseConditions) > 0
	}
}

// healthy is true when every step is done and stable is the current template.
func healthy(r *v1alpha1.Rollout) bool {
	return observed(r) && r.Status.Phase == v1alpha1.PhaseHealthy && r.Status.StableRS != "" &&
		r.Status.StableRS == r.Status.CurrentPodHash && int(stepIndex(r)) == len(r.Steps())
}

// rsState is one ReplicaSet as a test sees it.
type rsState struct {
	name     string
	replicas int32
	ready    int32
	revision string
}

// rolloutReplicaSets returns the ReplicaSets selected by app=name, by
// pod-template hash.
func rolloutReplicaSets(ctx context.Context, ns, name string) (map[string]rsState, error) {
	sets, err := replicaSetsByHash(ctx, ns, name)
	if err != nil {
		return nil, err
	}
	out := make(map[string]rsState, len(sets))
	for h, rs := range sets {
		out[h] = rsState{name: rs.Name, replicas: ptr.Deref(rs.Spec.Replicas, 1), ready: rs.Status.ReadyReplicas, revision: rs.Annotations[v1alpha1.RevisionAnnotation]}
	}
	return out, nil
}

// awaitPods waits until the Ready pods of app=name, counted per
// "hash/role", are exactly want, every ReplicaSet's spec.replicas is as in
// replicas (hash → count; a hash missing from replicas must not exist) and
// its pods are Ready. It returns the Ready pods' names per "hash/role".
func awaitPods(t *testing.T, ns, name string, what string, want map[string]int, replicas map[string]int32) map[string][]string {
	t.Helper()
	var names map[string][]string
	poll(t, 60*time.Second, fmt.Sprintf("rollout %s/%s: %s", ns, name, what), func(ctx context.Context) (bool, string, error) {
		sets, err := rolloutReplicaSets(ctx, ns, name)
		if err != nil {
			return false, "", err
		}
		got, byRole, err := readyPodsByRole(ctx, ns, name)
		if err != nil {
			return false, "", err
		}
		names = byRole
		ok := fmt.Sprint(got) == fmt.Sprint(want) && len(sets) == len(replicas)
		var rs []string
		for h, s := range sets {
			rs = append(rs, fmt.Sprintf("%s(rev %s)=%d/%d ready", h, s.revision, s.replicas, s.ready))
			w, exists := replicas[h]
			ok = ok && exists && s.replicas == w && s.ready == w
		}
		sort.Strings(rs)
		return ok, fmt.Sprintf("ready pods %s; ReplicaSets %s", describe(got), strings.Join(rs, " ")), nil
	})
	return names
}

// readyPodsByRole counts the Ready pods of app=name per "hash/role" and
// lists their names.
func readyPodsByRole(ctx context.Context, ns, name string) (map[string]int, map[string][]string, error) {
	pods, err := env.Client().CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + name})
	if err != nil {
		return nil, nil, err
	}
	counts := map[string]int{}
	names := map[string][]string{}
	for _, p := range pods.Items {
		if !podReady(p) {
			continue
		}
		k := p.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] + "/" + p.Labels["role"]
		counts[k]++
		names[k] = append(names[k], p.Name)
	}
	for _, n := range names {
		sort.Strings(n)
	}
	return counts, names, nil
}

// podLabels reads the named pods' labels from the server; a missing pod
// fails the test.
func podLabels(t *testing.T, ns string, names []string) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	for _, n := range names {
		p, err := env.Client().CoreV1().Pods(ns).Get(context.Background(), n, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("pod %s/%s: %v", ns, n, err)
		}
		out[n] = p.Labels
	}
	return out
}

// ownedReplicaSets lists the ReplicaSets in ns owned by the object with uid.
func ownedReplicaSets(ctx context.Context, ns string, uid types.UID) ([]appsv1.ReplicaSet, error) {
	list, err := env.Client().AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []appsv1.ReplicaSet
	for _, rs := range list.Items {
		for _, ref := range rs.OwnerReferences {
			if ref.UID == uid {
				out = append(out, rs)
			}
		}
	}
	return out, nil
}

// condition returns the rollout's condition of type ct, or nil.
func condition(r *v1alpha1.Rollout, ct v1alpha1.RolloutConditionType) *v1alpha1.RolloutCondition {
	for i := range r.Status.Conditions {
		if r.Status.Conditions[i].Type == ct {
			return &r.Status.Conditions[i]
		}
	}
	return nil
}
