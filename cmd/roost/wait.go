package main

import (
	"context"
	"errors"
	"fmt"
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
	cmd := &cobra.Command{
		Use:   "wait NAME --for=healthy|paused|degraded|completed [--timeout 10m]",
		Short: "Wait until a rollout is healthy, paused, degraded or completed (for scripts)",
		Long: `Wait until a rollout reaches a state, watching it (no polling):

  healthy    phase Healthy: every step done, stable is the current template, all pods available
  paused     phase Paused: at a pause step or paused by hand
  degraded   phase Degraded: aborted, past its progress deadline, or an invalid spec
  completed  every step done and stable switched to the current template

Exit codes:
  0  the state was reached
  1  the rollout ended up Degraded while waiting for healthy, paused or completed
     (the message says why), was deleted, or could not be read
  2  the timeout passed first`,
		Example: `  roost wait checkout -n shop --for=healthy --timeout 15m && echo released
  roost wait checkout --for=paused   # until the canary reaches its next pause`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("name exactly one rollout to wait for, e.g. `roost wait checkout --for=healthy`")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if !waitTargets[target] {
				return fmt.Errorf("--for=%q is not a state roost can wait for; use --for=healthy, paused, degraded or completed", target)
			}
			if a.allNamespaces {
				return errNeedsOneNamespace
			}
			c, err := a.connect()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
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
	cmd.Flags().StringVar(&target, "for", "healthy", "state to wait for: healthy, paused, degraded or completed")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "give up after this long (exit code 2); 0 waits forever")
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
