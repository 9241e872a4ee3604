//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/actions"
	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/internal/rollouttest"
)

// scaleSeen is one spec.replicas value of the canary ReplicaSet and when a
// watch delivered it.
type scaleSeen struct {
	replicas int32
	at       time.Time
}

// watchCanaryScale reports every spec.replicas of the ReplicaSet with the
// given pod-template hash as the API server's watch delivers it, until the
// test ends. A RetryWatcher resumes from the last resourceVersion when the
// server closes the watch.
func watchCanaryScale(t *testing.T, ns, app, hash string) <-chan scaleSeen {
	t.Helper()
	rsClient := env.Client().AppsV1().ReplicaSets(ns)
	selector := fmt.Sprintf("app=%s,%s=%s", app, v1alpha1.DefaultRolloutUniqueLabelKey, hash)
	list, err := rsClient.List(context.Background(), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatalf("list ReplicaSets %s: %v", selector, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w, err := watchtools.NewRetryWatcherWithContext(ctx, list.ResourceVersion, &cache.ListWatch{
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = selector
			return rsClient.Watch(ctx, o)
		},
	})
	if err != nil {
		cancel()
		t.Fatalf("watch ReplicaSets %s: %v", selector, err)
	}
	out := make(chan scaleSeen, 1024)
	for _, rs := range list.Items {
		out <- scaleSeen{ptr.Deref(rs.Spec.Replicas, 1), time.Now()}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			if rs, ok := ev.Object.(*appsv1.ReplicaSet); ok && (ev.Type == watch.Added || ev.Type == watch.Modified) {
				select {
				case out <- scaleSeen{ptr.Deref(rs.Spec.Replicas, 1), time.Now()}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		w.Stop()
		<-done
	})
	return out
}

// latencies are durations with percentiles by nearest rank.
type latencies []time.Duration

func (l latencies) percentile(p float64) time.Duration {
	s := append(latencies(nil), l...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(i, 0)]
}

func (l latencies) String() string {
	return fmt.Sprintf("p50=%s p99=%s (n=%d)", l.percentile(50).Round(100*time.Microsecond), l.percentile(99).Round(100*time.Microsecond), len(l))
}

// measurePromotes runs a rollout of n replicas whose steps are a pause, then
// n times setWeight k*100/n and a pause, so that each of n promotes grows the
// canary ReplicaSet by exactly one replica. It returns, per promote, the time
// from just before promote is called to the watch delivering the canary
// ReplicaSet's new spec.replicas.
func measurePromotes(t *testing.T, ns, name string, n int32, promote func() error) latencies {
	t.Helper()
	steps := []v1alpha1.CanaryStep{rollouttest.Pause()}
	for k := int32(1); k <= n; k++ {
		steps = append(steps, rollouttest.SetWeight(k*100/n))
		if k < n {
			steps = append(steps, rollouttest.Pause())
		}
	}
	createRollout(t, roleCanary(ns, name, n, steps...))
	awaitRollout(t, ns, name, 90*time.Second, "first revision Healthy", healthy)
	setImage(t, ns, name, "registry.example/"+name+":v2")
	r := awaitRollout(t, ns, name, 60*time.Second, "v2 at the first pause (weight 0)", atPause(0))
	seen := watchCanaryScale(t, ns, name, r.Status.CurrentPodHash)

	var out latencies
	for i := int32(1); i <= n; i++ {
		began := time.Now()
		if err := promote(); err != nil {
			t.Fatalf("promote %d of %d: %v", i, n, err)
		}
		timeout := time.After(30 * time.Second)
	wait:
		for {
			select {
			case s := <-seen:
				if s.replicas == i {
					out = append(out, s.at.Sub(began))
					break wait
				}
				if s.replicas > i {
					t.Fatalf("promote %d: canary ReplicaSet jumped to %d replicas", i, s.replicas)
				}
			case <-timeout:
				// The pause the promote released is back: a reconcile that
				// started before the promote wrote its status over it.
				lost := ""
				if r, err := getRollout(context.Background(), t, ns, name); err == nil && stepIndex(r) == 2*(i-1) && len(r.Status.PauseConditions) > 0 {
					lost = fmt.Sprintf("the promote was lost: the rollout is still at pause step %d with a pause condition started %s, after the promote removed it\n",
						2*(i-1), r.Status.PauseConditions[0].StartTime.Format(time.RFC3339))
				}
				t.Fatalf("promote %d of %d at %s: the canary ReplicaSet never reached spec.replicas %d\n%s%s",
					i, n, began.Format(time.RFC3339Nano), i, lost, promoteDiagnosis(ns, name))
			}
		}
		if i < n {
			awaitRollout(t, ns, name, 60*time.Second, fmt.Sprintf("at the pause after %d%%", i*100/n), atPause(2*i))
		}
	}
	awaitRollout(t, ns, name, 60*time.Second, "Healthy after the last promote", healthy)
	return out
}

// promoteDiagnosis says where a rollout whose promote seems lost stands: its
// status, pause start and the Events about it.
func promoteDiagnosis(ns, name string) string {
	ctx := context.Background()
	var b strings.Builder
	u, err := dynamicClientFor().Resource(v1alpha1.RolloutGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	status, _ := json.Marshal(u.Object["status"])
	fmt.Fprintf(&b, "rollout %s/%s (resourceVersion %s) status: %s\n", ns, name, u.GetResourceVersion(), status)
	events, err := env.Client().CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + name})
	if err != nil {
		return b.String() + err.Error()
	}
	sort.Slice(events.Items, func(i, j int) bool {
		return events.Items[i].LastTimestamp.Before(&events.Items[j].LastTimestamp)
	})
	for _, e := range events.Items[max(len(events.Items)-12, 0):] {
		fmt.Fprintf(&b, "  event %s %s %s x%d: %s\n", e.LastTimestamp.Format(time.RFC3339), e.Source.Component, e.Reason, e.Count, e.Message)
	}
	return b.String()
}

func dynamicClientFor() dynamic.Interface {
	return dynamic.NewForConfigOrDie(env.RESTConfig())
}

// TestPromoteLatency measures the time from a promote to the canary
// ReplicaSet's new spec.replicas on the server: 50 promotes through
// actions.Actions (the patch roost's keys send), and 10 through the roost
// binary (process start, kubeconfig, patch). It asserts only generous
// bounds; the figures are for the README and the closing note.
func TestPromoteLatency(t *testing.T) {
	ns := env.NewNamespace(t)
	runReconciler(t, ns)
	actions := actions.NewActions(dynamicClient(t), env.Client(), "e2e-latency")
	ctx := context.Background()

	direct := measurePromotes(t, ns, "latency", 50, func() error {
		_, err := actions.Promote(ctx, ns, "latency")
		return err
	})
	t.Logf("promote→canary spec.replicas: %s [actions.Actions.Promote]", direct)

	roostBinary(t) // build it now, not inside the first timed promote
	cli := measurePromotes(t, ns, "latency-cli", 10, func() error {
		if res := roostCLI(t, ns, "promote", "latency-cli"); res.code != 0 {
			return fmt.Errorf("roost promote: %s", res)
		}
		return nil
	})
	t.Logf("promote→canary spec.replicas: %s [roost promote subprocess]", cli)

	for _, c := range []struct {
		what string
		l    latencies
	}{{"Actions.Promote", direct}, {"roost promote", cli}} {
		if p := c.l.percentile(50); p > 3*time.Second {
			t.Errorf("%s: median promote→canary spec.replicas %s; want well under 3s", c.what, p)
		}
		if p := c.l.percentile(99); p > 10*time.Second {
			t.Errorf("%s: p99 promote→canary spec.replicas %s; want under 10s", c.what, p)
		}
	}
}
