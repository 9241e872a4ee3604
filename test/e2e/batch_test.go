//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/internal/rollouttest"
)

// awaitAll waits until cond holds for every rollout matching selector
// (and there are want of them); the failure lists the ones that lag.
func awaitAll(t *testing.T, ns, selector string, want int, what string, cond func(r *v1alpha1.Rollout) bool) []*v1alpha1.Rollout {
	t.Helper()
	var got []*v1alpha1.Rollout
	poll(t, 60*time.Second, fmt.Sprintf("%d rollouts %s in %s: %s", want, selector, ns, what), func(ctx context.Context) (bool, string, error) {
		list, err := dynamicClient(t).Resource(v1alpha1.RolloutGVR).Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return false, "", err
		}
		got = got[:0]
		var lagging []string
		for i := range list.Items {
			r, errs := v1alpha1.FromUnstructured(&list.Items[i])
			if len(errs) > 0 {
				return false, "", errs.ToAggregate()
			}
			got = append(got, r)
			if !cond(r) {
				lagging = append(lagging, r.Name+": "+rolloutSummary(r))
			}
		}
		sort.Strings(lagging)
		if len(lagging) > 3 {
			lagging = append(lagging[:3], fmt.Sprintf("and %d more", len(lagging)-3))
		}
		return len(got) == want && len(lagging) == 0, fmt.Sprintf("%d rollouts; not yet: %s", len(got), strings.Join(lagging, "; ")), nil
	})
	return got
}

// reportedLines returns the lines of out that report on ns/name.
func reportedLines(out, ns, name string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, ns+"/"+name+": ") {
			lines = append(lines, l)
		}
	}
	return lines
}

// TestCLIBatchBySelector promotes and aborts 20 Rollouts of one project with
// `-l app-project=shop`, leaving a rollout of another project alone, and
// checks that a failing rollout in a batch never stops the others.
func TestCLIBatchBySelector(t *testing.T) {
	t.Parallel()
	ns := env.NewNamespace(t)
	runReconciler(t, ns)
	const n = 20
	const shop = "app-project=shop"
	steps := []v1alpha1.CanaryStep{rollouttest.SetWeight(50), rollouttest.Pause(), rollouttest.SetWeight(75), rollouttest.Pause()}
	var names []string
	for i := 0; i < n; i++ {
		names = append(names, fmt.Sprintf("shop-%02d", i))
	}
	for _, name := range append(names, "cart") {
		r := roleCanary(ns, name, 1, steps...)
		r.Labels = map[string]string{"app-project": "shop"}
		if name == "cart" {
			r.Labels["app-project"] = "cart"
		}
		createRollout(t, r)
	}
	awaitAll(t, ns, "app-project", n+1, "first revision Healthy", healthy)
	for _, name := range append(names, "cart") {
		setImage(t, ns, name, "registry.example/"+name+":v2")
	}
	awaitAll(t, ns, "app-project", n+1, "v2 canary at the first pause", atPause(1))

	res := mustRoost(t, ns, 0, "promote", "-l", shop)
	for _, name := range names {
		if l := reportedLines(res.stdout, ns, name); len(l) != 1 || !strings.Contains(l[0], "promoted") {
			t.Errorf("roost promote -l %s reported %q for %s; want one line saying promoted", shop, l, name)
		}
	}
	if strings.Contains(res.stdout+res.stderr, "/cart:") {
		t.Errorf("roost promote -l %s acted on cart (app-project=cart):\n%s", shop, res)
	}
	awaitAll(t, ns, shop, n, "at the second pause after the batch promote", atPause(3))
	if r := awaitRollout(t, ns, "cart", 5*time.Second, "cart still at its first pause", atPause(1)); r.Status.Abort {
		t.Errorf("cart: %s; the batch touched it", rolloutSummary(r))
	}

	const reason = "shop-wide incident"
	res = mustRoost(t, ns, 0, "abort", "-l", shop, "--reason", reason)
	for _, name := range names {
		if l := reportedLines(res.stdout, ns, name); len(l) != 1 || !strings.Contains(l[0], "aborted") {
			t.Errorf("roost abort -l %s reported %q for %s; want one line saying aborted", shop, l, name)
		}
	}
	aborted := awaitAll(t, ns, shop, n, "Degraded after the batch abort", func(r *v1alpha1.Rollout) bool {
		return r.Status.Abort && r.Status.Phase == v1alpha1.PhaseDegraded && strings.Contains(r.Status.Message, reason)
	})
	// Every canary ReplicaSet drains to 0 and every stable one keeps its pod.
	for _, r := range aborted {
		awaitPods(t, ns, r.Name, "canary drained after the abort",
			map[string]int{r.Status.StableRS + "/stable": 1},
			map[string]int32{r.Status.StableRS: 1, r.Status.CurrentPodHash: 0})
	}
	if r := awaitRollout(t, ns, "cart", 5*time.Second, "cart still at its first pause", atPause(1)); r.Status.Abort {
		t.Errorf("cart: %s; the batch abort touched it", rolloutSummary(r))
	}

	// A name that does not exist, in the middle of an explicit batch: the
	// rollouts before and after it are still retried; exit code 1.
	res = roostCLI(t, ns, "retry", "shop-00", "shop-missing", "shop-01")
	if res.code != 1 {
		t.Errorf("roost retry with a missing rollout: want exit 1, got %s", res)
	}
	if !strings.Contains(res.stderr, ns+"/shop-missing: error") {
		t.Errorf("roost retry does not report the missing rollout on stderr:\n%s", res)
	}
	for _, name := range []string{"shop-00", "shop-01"} {
		if l := reportedLines(res.stdout, ns, name); len(l) != 1 {
			t.Errorf("roost retry reported %q for %s; want one line", l, name)
		}
		awaitRollout(t, ns, name, 60*time.Second, "retried: back at the first pause", func(r *v1alpha1.Rollout) bool {
			return atPause(1)(r) && !r.Status.Abort
		})
	}

	// A selector batch where 18 of 20 are aborted: the promote is refused
	// for those (exit code 1) and still goes through for the two retried.
	res = roostCLI(t, ns, "promote", "-l", shop)
	if res.code != 1 || !strings.Contains(res.stderr, "18 of 20 rollouts failed") {
		t.Errorf("roost promote -l %s with 18 aborted rollouts: want exit 1 and \"18 of 20 rollouts failed\", got %s", shop, res)
	}
	for _, name := range []string{"shop-00", "shop-01"} {
		awaitRollout(t, ns, name, 60*time.Second, "promoted to the second pause despite the failures", atPause(3))
	}
	for _, name := range names[2:] {
		r, err := getRollout(context.Background(), t, ns, name)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Status.Abort || r.Status.Phase != v1alpha1.PhaseDegraded {
			t.Errorf("%s: %s; want it still aborted (promote must not lift an abort)", name, rolloutSummary(r))
		}
	}
}
