package sim

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/controller"
	"github.com/roost-dev/roost/internal/rollouttest"
)

const testNS = "shop"

// fast keeps pods quick to start and stop, so that scenarios take seconds.
var fast = Options{
	PodStartMin: 20 * time.Millisecond, PodStartMax: 120 * time.Millisecond,
	PodStopMin: 10 * time.Millisecond, PodStopMax: 60 * time.Millisecond,
	Seed: 7,
}

// running is a simulated cluster with its loops running until the test ends.
func running(t *testing.T, o Options) *Cluster {
	t.Helper()
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return c
}

// reconciling runs roost's real reconciler, with 2 workers, on c.
func reconciling(t *testing.T, c *Cluster) {
	t.Helper()
	ctrl, err := controller.New(controller.Config{Kube: c.Kube, Dynamic: c.Dynamic})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ctrl.Run(ctx, 2) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("controller Run: %v", err)
		}
	})
}

// canary is a Rollout of 10 replicas of shop:v1 with role=canary/role=stable
// pod labels and the given steps.
func canary(name string, steps ...v1alpha1.CanaryStep) *v1alpha1.Rollout {
	return rollouttest.New(testNS, name).Container("web", "shop:v1").Steps(steps...).Rollout()
}

var (
	setWeight = rollouttest.SetWeight
	pause     = rollouttest.Pause
	pauseFor  = rollouttest.PauseFor
)

// eventually polls cond until it holds; on timeout it fails with the last
// description cond gave.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, desc := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last: %s", what, timeout, desc)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// rolloutState reads a Rollout back through the dynamic client.
func rolloutState(t *testing.T, c *Cluster, name string) *v1alpha1.Rollout {
	t.Helper()
	u, err := c.rollouts(testNS).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r, errs := v1alpha1.FromUnstructured(u)
	if len(errs) > 0 {
		t.Fatalf("decode %s: %v", name, errs)
	}
	return r
}

// view is a Rollout's state with its ReplicaSets and pods, for checks and
// failure messages.
type view struct {
	r      *v1alpha1.Rollout
	canary *appsv1.ReplicaSet // the ReplicaSet of status.currentPodHash
	stable *appsv1.ReplicaSet // the ReplicaSet of status.stableRS
	rss    []appsv1.ReplicaSet
	pods   map[string][]corev1.Pod // by ReplicaSet name, live pods only
}

func look(t *testing.T, c *Cluster, name string) view {
	t.Helper()
	v := view{r: rolloutState(t, c, name), pods: map[string][]corev1.Pod{}}
	l, err := c.Kube.AppsV1().ReplicaSets(testNS).List(context.Background(), metav1.ListOptions{LabelSelector: "app=" + name})
	if err != nil {
		t.Fatal(err)
	}
	v.rss = l.Items
	for i := range v.rss {
		rs := &v.rss[i]
		switch hash := rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]; hash {
		case v.r.Status.StableRS:
			v.stable = rs
		case v.r.Status.CurrentPodHash:
			v.canary = rs
		}
	}
	pods, err := c.Pods(testNS, "app="+name)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods {
		if ref := metav1.GetControllerOf(&p); ref != nil && p.DeletionTimestamp == nil {
			v.pods[ref.Name] = append(v.pods[ref.Name], p)
		}
	}
	return v
}

func (v view) String() string {
	st := v.r.Status
	idx := "nil"
	if st.CurrentStepIndex != nil {
		idx = fmt.Sprint(*st.CurrentStepIndex)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "phase=%s msg=%q step=%s pauses=%d abort=%v gen=%d/%s", st.Phase, st.Message, idx, len(st.PauseConditions), st.Abort, v.r.Generation, st.ObservedGeneration)
	rss := append([]appsv1.ReplicaSet(nil), v.rss...)
	sort.Slice(rss, func(i, j int) bool { return rss[i].Name < rss[j].Name })
	for _, rs := range rss {
		fmt.Fprintf(&b, " | %s spec=%d ready=%d avail=%d pods=%v", rs.Name, ptr.Deref(rs.Spec.Replicas, 1), rs.Status.ReadyReplicas, rs.Status.AvailableReplicas, podSummary(v.pods[rs.Name]))
	}
	return b.String()
}

func podSummary(pods []corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		ready := "-"
		if _, ok := readySince(&p); ok {
			ready = "R"
		}
		out = append(out, p.Name+":"+p.Labels["role"]+":"+ready)
	}
	sort.Strings(out)
	return out
}

// readyWithRole counts rs's live pods that are Ready and labelled role.
func (v view) readyWithRole(rs *appsv1.ReplicaSet, role string) int {
	if rs == nil {
		return 0
	}
	n := 0
	for _, p := range v.pods[rs.Name] {
		if _, ok := readySince(&p); ok && p.Labels["role"] == role {
			n++
		}
	}
	return n
}

func stepIs(r *v1alpha1.Rollout, i int32) bool {
	return r.Status.CurrentStepIndex != nil && *r.Status.CurrentStepIndex == i
}

// healthy waits until the Rollout is Healthy with all 10 pods Ready, stable
// and labelled role=stable, and no other ReplicaSet has pods.
func healthy(t *testing.T, c *Cluster, name string, timeout time.Duration) view {
	t.Helper()
	var v view
	eventually(t, timeout, name+" healthy", func() (bool, string) {
		v = look(t, c, name)
		ok := v.r.Status.Phase == v1alpha1.PhaseHealthy && v.stable != nil &&
			v.r.Status.ObservedGeneration == fmt.Sprint(v.r.Generation) &&
			v.readyWithRole(v.stable, "stable") == 10 && len(v.pods[v.stable.Name]) == 10 && len(v.pods) == 1
		return ok, v.String()
	})
	return v
}
