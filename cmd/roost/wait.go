package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/roost-dev/roost/actions"
	"github.com/roost-dev/roost/api/v1alpha1"
	roostwatch "github.com/roost-dev/roost/watch"
)

// Exit codes of `roost wait`, for scripts.
const (
	waitReached  = 0
	waitDegraded = 1
	waitTimeout  = 2
)

// waitTargets are the states `roost wait --for` knows.
var waitTargets = map[string]bool{"healthy": true, "paused": true, "degraded": true, "completed": true}

func newWaitCommand(a *app) *cobra.Command {
	var target string
	var timeout time.Duration
	var pick appPick
	cmd := &cobra.Command{
		Use:   "wait NAME | --app NAME | --project NAME  --for=healthy|paused|degraded|completed [--timeout 10m]",
		Short: "Wait until a rollout, or all of an Argo CD Application's or AppProject's, is healthy, paused, degraded or completed (for scripts)",
		Long: `Wait until a rollout reaches a state, watching it (no polling):

  healthy    phase Healthy: every step done, stable is the current template, all pods available
  paused     phase Paused: at a pause step or paused by hand
  degraded   phase Degraded: aborted, past its progress deadline, or an invalid spec
  completed  every step done and stable switched to the current template

--app NAME waits for every rollout Argo CD's Application deploys, --project NAME
for every rollout of an AppProject's Applications (in the namespace, or every
namespace with -A): one line per rollout as it gets there. The rollouts are those
there when roost starts. Waiting stops at the first rollout that cannot get there.

Exit codes:
  0  the state was reached (by every rollout picked, or none matched)
  1  a rollout ended up Degraded while waiting for healthy, paused or completed
     (the message says why), was deleted, or could not be read
  2  the timeout passed first (the message names the rollouts not there yet)`,
		Example: `  roost wait checkout -n shop --for=healthy --timeout 15m && echo released
  roost wait checkout --for=paused   # until the canary reaches its next pause
  roost wait --project shop -A --for=healthy --timeout 30m`,
		Args: func(_ *cobra.Command, args []string) error {
			switch {
			case pick.set() && len(args) > 0:
				return fmt.Errorf("%s picks the rollouts by Argo CD; give a rollout NAME or %s, not both", pick, pick)
			case !pick.set() && len(args) != 1:
				return fmt.Errorf("name exactly one rollout to wait for, e.g. `roost wait checkout --for=healthy`, or pick them with --app NAME or --project NAME")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if !waitTargets[target] {
				return fmt.Errorf("--for=%q is not a state roost can wait for; use --for=healthy, paused, degraded or completed", target)
			}
			if err := pick.check(); err != nil {
				return err
			}
			if a.allNamespaces && !pick.set() {
				return errNeedsOneNamespace
			}
			names, err := a.contexts("")
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			if names != nil {
				return a.waitMany(ctx, names, pick, args, target, timeout)
			}
			c, err := a.connect()
			if err != nil {
				return err
			}
			if pick.set() {
				return a.waitPicked(ctx, c, pick, target, timeout)
			}
			msg, err := waitFor(ctx, c, c.Namespace, args[0], target)
			switch {
			case errors.Is(err, context.DeadlineExceeded):
				return &exitError{code: waitTimeout, err: fmt.Errorf("rollout %s/%s: not %s after %s (%s); wait longer with --timeout", c.Namespace, args[0], target, timeout, msg)}
			case err != nil:
				return &exitError{code: waitDegraded, err: err}
			}
			fmt.Fprintf(a.out, "rollout %s/%s is %s\n", c.Namespace, args[0], target)
			return nil
		},
	}
	takesManyContexts(a, cmd, `The rollouts of every
cluster are waited for, and each laggard is named with its cluster; a cluster
that cannot be reached makes the exit code 1 (2 if the timeout passes first).`)
	cmd.Flags().StringVar(&target, "for", "healthy", "state to wait for: healthy, paused, degraded or completed")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "give up after this long (exit code 2); 0 waits forever")
	pick.addFlags(cmd.Flags())
	return cmd
}

// rolloutState says whether u reached target, and returns an error when
// waiting further is pointless (Degraded while waiting for something else).
// msg describes where the rollout stands.
func rolloutState(u *unstructured.Unstructured, target string) (reached bool, msg string, err error) {
	ro, _ := v1alpha1.FromUnstructured(u)
	v := roostwatch.Snapshot(ro, nil, nil, nil, time.Now())
	msg = "phase " + string(v.Phase)
	if v.Message != "" {
		msg += ": " + v.Message
	}
	observed := ro.Status.ObservedGeneration == fmt.Sprint(ro.Generation)
	st := &ro.Status
	completed := observed && st.StableRS != "" && st.StableRS == st.CurrentPodHash &&
		(st.CurrentStepIndex == nil || int(*st.CurrentStepIndex) >= len(ro.Steps()))
	switch target {
	case "healthy":
		reached = v.Phase == v1alpha1.PhaseHealthy && observed
	case "paused":
		reached = v.Phase == v1alpha1.PhasePaused
	case "degraded":
		reached = v.Phase == v1alpha1.PhaseDegraded
	case "completed":
		reached = completed
	}
	if !reached && target != "degraded" && v.Phase == v1alpha1.PhaseDegraded {
		why := msg
		if v.AbortReason != "" {
			why += " (abort reason: " + v.AbortReason + ")"
		}
		return false, msg, fmt.Errorf("rollout %s/%s is Degraded while waiting for %s: %s; see `roost get %s -n %s`", ro.Namespace, ro.Name, target, why, ro.Name, ro.Namespace)
	}
	return reached, msg, nil
}

// waitFor watches the rollout until it reaches target. It returns
// context.DeadlineExceeded (wrapped) on timeout, with the last known state.
func waitFor(ctx context.Context, c *clients, ns, name, target string) (string, error) {
	ri := c.Dynamic.Resource(v1alpha1.RolloutGVR).Namespace(ns)
	msg := "never read"
	for {
		u, err := ri.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			if ctx.Err() != nil {
				return msg, ctx.Err()
			}
			return msg, actions.RolloutError(ns, name, err)
		}
		reached, m, err := rolloutState(u, target)
		msg = m
		if reached || err != nil {
			return msg, err
		}
		w, err := ri.Watch(ctx, metav1.ListOptions{
			FieldSelector:   fields.OneTermEqualSelector("metadata.name", name).String(),
			ResourceVersion: u.GetResourceVersion(),
		})
		if err != nil {
			if ctx.Err() != nil {
				return msg, ctx.Err()
			}
			return msg, actions.RolloutError(ns, name, err)
		}
		reached, msg, err = watchUntil(ctx, w, name, target, msg)
		w.Stop()
		if reached || err != nil {
			return msg, err
		}
		// The watch closed (server timeout, expired resourceVersion): read again,
		// after a breath so that a failing server is not hammered.
		select {
		case <-ctx.Done():
			return msg, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func watchUntil(ctx context.Context, w watch.Interface, name, target, msg string) (bool, string, error) {
	for {
		select {
		case <-ctx.Done():
			return false, msg, ctx.Err()
		case ev, ok := <-w.ResultChan():
			if !ok {
				return false, msg, nil
			}
			u, isRollout := ev.Object.(*unstructured.Unstructured)
			switch {
			case ev.Type == watch.Error:
				return false, msg, nil
			case !isRollout || u.GetName() != name:
				continue
			case ev.Type == watch.Deleted:
				return false, msg, fmt.Errorf("rollout %s/%s was deleted while waiting for %s", u.GetNamespace(), name, target)
			}
			reached, m, err := rolloutState(u, target)
			if reached || err != nil {
				return reached, m, err
			}
			msg = m
		}
	}
}

// waitPicked waits for every rollout p picks at once, each with its own
// watch, and prints a line for each as it gets there. The first that cannot
// get there ends the wait for all (the set cannot): exit code 1, naming it
// and where the others stood; at the timeout, exit code 2 naming those not
// there yet.
func (a *app) waitPicked(ctx context.Context, c *clients, p appPick, target string, timeout time.Duration) error {
	argo := a.readArgoCD(ctx, c, a.argoConfig(""))
	if err := argo.needApplications(p); err != nil {
		return err
	}
	for _, w := range argo.warnings() {
		fmt.Fprintln(a.errOut, "warning:", w)
	}
	ns := c.namespace(a.allNamespaces)
	picked, err := a.pickRollouts(ctx, c, ns, "", p, argo)
	if err != nil {
		return err
	}
	if len(picked) == 0 {
		fmt.Fprintln(a.errOut, argo.noneMatched(p, ns, "wait for"))
		return nil
	}
	var items []waitItem
	for _, r := range picked {
		items = append(items, waitItem{c: c, t: r.target()})
	}
	failed, lagging := a.waitAll(ctx, items, target)
	var names []string
	for _, w := range lagging {
		names = append(names, w.t.String())
	}
	switch {
	case len(failed) > 0:
		var bad []string
		for _, w := range failed {
			bad = append(bad, w.t.String())
		}
		sort.Strings(bad)
		return &exitError{code: waitDegraded, err: fmt.Errorf("%d of the %d rollouts of %s cannot be %s (%s); stopped waiting for the others", len(bad), len(picked), p.what(), target, strings.Join(bad, ", "))}
	case len(lagging) > 0 && errors.Is(lagging[0].err, context.DeadlineExceeded):
		return &exitError{code: waitTimeout, err: fmt.Errorf("%d of the %d rollouts of %s not %s after %s: %s; wait longer with --timeout", len(lagging), len(picked), p.what(), target, timeout, strings.Join(names, ", "))}
	case len(lagging) > 0:
		return &exitError{code: waitDegraded, err: fmt.Errorf("stopped waiting for %s: %v", strings.Join(names, ", "), ctx.Err())}
	}
	return nil
}

// waitItem is one rollout to wait for, in the cluster of c; cluster is its
// kube context when several are in scope ("" otherwise).
type waitItem struct {
	c       *clients
	t       actions.Target
	cluster string
}

// lead goes before the item's lines: its cluster, when several are in scope.
func (w waitItem) lead() string {
	if w.cluster == "" {
		return ""
	}
	return w.cluster + ": "
}

// String names the rollout, with its cluster when several are in scope.
func (w waitItem) String() string {
	if w.cluster == "" {
		return w.t.String()
	}
	return w.t.String() + " in " + w.cluster
}

// waited is how waiting for one item ended.
type waited struct {
	waitItem
	msg string
	err error
}

// waitAll waits for every item at once, each with its own watch, and prints
// a line for each as it gets there. The first that cannot get there ends the
// wait for all (the set cannot): it is among failed. Those not there when
// the wait ended (timeout, or a failure of another) are lagging, each
// printed with where it stood, in the order of the items.
func (a *app) waitAll(ctx context.Context, items []waitItem, target string) (failed, lagging []waited) {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan waited, len(items))
	for _, it := range items {
		go func() {
			msg, err := waitFor(ctx, it.c, it.t.Namespace, it.t.Name, target)
			done <- waited{it, msg, err}
		}()
	}
	for range items {
		w := <-done
		switch {
		case w.err == nil:
			fmt.Fprintf(a.out, "%srollout %s is %s\n", w.lead(), w.t, target)
		case errors.Is(w.err, context.DeadlineExceeded) || errors.Is(w.err, context.Canceled):
			lagging = append(lagging, w)
		default:
			failed = append(failed, w)
			fmt.Fprintf(a.errOut, "%s%s: error: %v\n", w.lead(), w.t, w.err)
			stop()
		}
	}
	order := map[waitItem]int{}
	for i, it := range items {
		order[it] = i
	}
	sort.Slice(lagging, func(i, j int) bool { return order[lagging[i].waitItem] < order[lagging[j].waitItem] })
	for _, w := range lagging {
		fmt.Fprintf(a.errOut, "%s%s: not %s (%s)\n", w.lead(), w.t, target, w.msg)
	}
	return failed, lagging
}

// waitMany is wait across the clusters of names: for the rollout NAME (args)
// or those p picks, in each cluster. A cluster that cannot be reached or
// read is said at once and the others are still waited for; the exit code
// is then 1, unless a rollout's own failure or the timeout says otherwise.
func (a *app) waitMany(ctx context.Context, names []string, p appPick, args []string, target string, timeout time.Duration) error {
	if p.set() {
		a.config("")
	}
	runs := eachCluster(ctx, a, names, func(ctx context.Context, c *clients) (picked waitScope, err error) {
		picked.c = c
		if !p.set() {
			picked.targets = []actions.Target{{Namespace: c.Namespace, Name: args[0]}}
			return picked, nil
		}
		argo := a.readArgoCD(ctx, c, a.argoConfig(""))
		if err := argo.needApplications(p); err != nil {
			return picked, err
		}
		picked.warnings = argo.warnings()
		ns := c.namespace(a.allNamespaces)
		rollouts, err := a.pickRollouts(ctx, c, ns, "", p, argo)
		if err != nil {
			return picked, err
		}
		if len(rollouts) == 0 {
			picked.none = argo.noneMatched(p, ns, "wait for")
		}
		for _, r := range rollouts {
			picked.targets = append(picked.targets, r.target())
		}
		return picked, nil
	})
	var items []waitItem
	for _, r := range runs {
		if !reportRun(a.errOut, r.Context, r.Err, r.Value.warnings) {
			continue
		}
		if r.Value.none != "" {
			fmt.Fprintf(a.errOut, "%s: %s\n", r.Context, r.Value.none)
		}
		for _, t := range r.Value.targets {
			items = append(items, waitItem{c: r.Value.c, t: t, cluster: r.Context})
		}
	}
	lost := lostClusters(runs)
	failed, lagging := a.waitAll(ctx, items, target)
	what := func(ws []waited) string {
		var s []string
		for _, w := range ws {
			s = append(s, w.String())
		}
		return strings.Join(s, ", ")
	}
	switch {
	case len(failed) > 0:
		return &exitError{code: waitDegraded, err: fmt.Errorf("%d of the %d rollouts cannot be %s (%s); stopped waiting for the others", len(failed), len(items), target, what(failed))}
	case len(lagging) > 0 && errors.Is(lagging[0].err, context.DeadlineExceeded):
		err := fmt.Errorf("%d of the %d rollouts not %s after %s: %s; wait longer with --timeout", len(lagging), len(items), target, timeout, what(lagging))
		if len(lost) > 0 {
			err = fmt.Errorf("%w; and %w", err, lostError(lost, len(runs)))
		}
		return &exitError{code: waitTimeout, err: err}
	case len(lagging) > 0:
		return &exitError{code: waitDegraded, err: fmt.Errorf("stopped waiting for %s: %v", what(lagging), ctx.Err())}
	case len(lost) > 0:
		return &exitError{code: waitDegraded, err: fmt.Errorf("%w; the rollouts of the others are %s", lostError(lost, len(runs)), target)}
	}
	return nil
}

// waitScope is what wait waits for in one cluster.
type waitScope struct {
	c        *clients
	targets  []actions.Target
	warnings []string
	none     string
}
