package main

import (
	"context"
	"fmt"
	"sort"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/roost-dev/roost/actions"
	"github.com/roost-dev/roost/api/v1alpha1"
)

// actionFunc is one of actions.Actions' methods, bound to its options.
type actionFunc func(act *actions.Actions) func(ctx context.Context, ns, name string) (actions.Result, error)

// batchOptions pick the rollouts an action applies to.
type batchOptions struct {
	selector string
	all      bool
}

// actionCommand builds a command that runs an action on each named rollout;
// with batch it also takes -l SELECTOR and --all. Every rollout gets one line;
// a failure never stops the others, and the exit code is 1 if any failed.
func actionCommand(a *app, cmd *cobra.Command, batch bool, fn actionFunc) *cobra.Command {
	o := &batchOptions{}
	if batch {
		cmd.Flags().StringVarP(&o.selector, "selector", "l", "", "act on every rollout with these labels (e.g. -l team=payments)")
		cmd.Flags().BoolVar(&o.all, "all", false, "act on every rollout of the namespace (of every namespace with -A)")
		cmd.Long += `

Several rollouts can be named, or picked with -l SELECTOR or --all (with -A across
namespaces). Each rollout is reported on its own line; one failure never stops the
others. Exit code: 0 when all succeeded (or had nothing to do), 1 when any failed.`
	} else {
		cmd.Long += `

Exit code: 0 when all succeeded (or had nothing to do), 1 when any failed.`
	}
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := o.check(a, cmd.Name(), args, batch); err != nil {
			return err
		}
		c, err := a.connect()
		if err != nil {
			return err
		}
		ctx := cmd.Context()
		targets, err := o.targets(ctx, a, c, args)
		if err != nil {
			return err
		}
		if len(targets) == 0 {
			fmt.Fprintf(a.errOut, "No rollouts matched; nothing to %s. See them with `roost get -A`.\n", cmd.Name())
			return nil
		}
		act := actions.NewActions(c.Dynamic, c.Kube, actions.WhoAmI(ctx, c.Kube, c.User))
		return a.report(act.ForEach(ctx, targets, fn(act)))
	}
	return cmd
}

func (o *batchOptions) check(a *app, verb string, args []string, batch bool) error {
	picked := 0
	if len(args) > 0 {
		picked++
	}
	if o.selector != "" {
		picked++
	}
	if o.all {
		picked++
	}
	switch {
	case picked == 0 && batch:
		return fmt.Errorf("name the rollouts to %s, or pick them with -l SELECTOR or --all", verb)
	case picked == 0:
		return fmt.Errorf("name the rollouts to %s", verb)
	case picked > 1:
		return fmt.Errorf("give rollout names, -l SELECTOR or --all, not several of them")
	case len(args) > 0 && a.allNamespaces:
		return fmt.Errorf("rollout names need one namespace: drop -A and give -n NAMESPACE (or use -l/--all with -A)")
	}
	return selectorOK(o.selector)
}

func (o *batchOptions) targets(ctx context.Context, a *app, c *clients, args []string) ([]actions.Target, error) {
	if len(args) > 0 {
		seen := map[string]bool{}
		var out []actions.Target
		for _, name := range args {
			if !seen[name] {
				seen[name] = true
				out = append(out, actions.Target{Namespace: c.Namespace, Name: name})
			}
		}
		return out, nil
	}
	ns := c.namespace(a.allNamespaces)
	list, err := c.Dynamic.Resource(v1alpha1.RolloutGVR).Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: o.selector})
	if err != nil {
		return nil, listError(ns, err)
	}
	out := make([]actions.Target, 0, len(list.Items))
	for _, u := range list.Items {
		out = append(out, actions.Target{Namespace: u.GetNamespace(), Name: u.GetName()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}

// report prints one line per rollout: results on stdout, failures on stderr.
func (a *app) report(outcomes []actions.Outcome) error {
	failed := 0
	for _, o := range outcomes {
		if o.Err != nil {
			failed++
			fmt.Fprintf(a.errOut, "%s: error: %v\n", o.Target, o.Err)
			continue
		}
		fmt.Fprintf(a.out, "%s: %s\n", o.Target, o.Result)
	}
	if failed > 0 {
		err := fmt.Errorf("%d of %d rollouts failed", failed, len(outcomes))
		if len(outcomes) == 1 {
			return &exitError{code: 1, err: err, silent: true}
		}
		return &exitError{code: 1, err: err}
	}
	return nil
}

func newPromoteCommand(a *app) *cobra.Command {
	var full bool
	cmd := actionCommand(a, &cobra.Command{
		Use:   "promote NAME... | -l SELECTOR | --all",
		Short: "Release the pause a canary waits at, or skip to the next step (--full: to 100% now)",
		Long: `Promote a rollout: release the pause step it waits at, or, when it waits at none,
skip to the next step. With --full, skip every remaining step: the canary goes to
100% and becomes stable. An aborted rollout must be retried first.

The patches are those of "kubectl argo rollouts promote".`,
		Example: `  roost promote checkout -n shop
  roost promote --full checkout
  roost promote -l app.kubernetes.io/part-of=payments -A`,
	}, true, func(act *actions.Actions) func(context.Context, string, string) (actions.Result, error) {
		if full {
			return act.PromoteFull
		}
		return act.Promote
	})
	cmd.Flags().BoolVar(&full, "full", false, "skip all remaining steps and pauses: go to 100% now")
	return cmd
}

func newAbortCommand(a *app) *cobra.Command {
	var reason string
	cmd := actionCommand(a, &cobra.Command{
		Use:   "abort NAME... [--reason TEXT] | -l SELECTOR | --all",
		Short: "Send a canary back to 0%: stable takes every replica",
		Long: `Abort a rollout: the canary is scaled to 0 and stable to all replicas; the rollout
turns Degraded until it is retried or given a new template. --reason is kept on the
rollout and quoted in its status message and Events, so everyone sees why.`,
		Example: `  roost abort checkout --reason "p99 latency 3x stable"
  roost abort --all -n shop --reason "payment provider incident"`,
	}, true, func(act *actions.Actions) func(context.Context, string, string) (actions.Result, error) {
		return func(ctx context.Context, ns, name string) (actions.Result, error) {
			return act.Abort(ctx, ns, name, reason)
		}
	})
	cmd.Flags().StringVar(&reason, "reason", "", "why the canary is stopped (shown to everyone)")
	return cmd
}

func newRetryCommand(a *app) *cobra.Command {
	return actionCommand(a, &cobra.Command{
		Use:     "retry NAME... | -l SELECTOR | --all",
		Short:   "Restart an aborted rollout from its first step",
		Long:    `Retry an aborted rollout: it starts again from its first step.`,
		Example: `  roost retry checkout -n shop`,
	}, true, func(act *actions.Actions) func(context.Context, string, string) (actions.Result, error) {
		return act.Retry
	})
}

func newPauseCommand(a *app) *cobra.Command {
	return actionCommand(a, &cobra.Command{
		Use:     "pause NAME...",
		Short:   "Hold rollouts where they are until resumed",
		Long:    `Pause rollouts by hand (spec.paused): they hold at their current step until resumed.`,
		Example: `  roost pause checkout cart -n shop`,
	}, false, func(act *actions.Actions) func(context.Context, string, string) (actions.Result, error) {
		return act.Pause
	})
}

func newResumeCommand(a *app) *cobra.Command {
	return actionCommand(a, &cobra.Command{
		Use:   "resume NAME...",
		Short: "Lift a manual pause",
		Long: `Resume rollouts paused by hand (spec.paused). A pause step of the canary is
released with "roost promote" instead.`,
		Example: `  roost resume checkout -n shop`,
	}, false, func(act *actions.Actions) func(context.Context, string, string) (actions.Result, error) {
		return act.Resume
	})
}

func newRestartCommand(a *app) *cobra.Command {
	return actionCommand(a, &cobra.Command{
		Use:     "restart NAME...",
		Short:   "Replace the pods of rollouts (spec.restartAt)",
		Long:    `Restart rollouts: their controller replaces their pods, within maxUnavailable.`,
		Example: `  roost restart checkout -n shop`,
	}, false, func(act *actions.Actions) func(context.Context, string, string) (actions.Result, error) {
		return act.Restart
	})
}

func newUndoCommand(a *app) *cobra.Command {
	var to int64
	cmd := &cobra.Command{
		Use:   "undo NAME [--to-revision N]",
		Short: "Go back to the pod template of an earlier revision",
		Long: `Undo a rollout: put back the pod template of an earlier revision (by default the
previous one). This starts a new canary of that template; going back to the stable
template finishes at once. Revisions are listed by "roost get NAME".

Exit code: 0 on success (or nothing to do), 1 on failure.`,
		Example: `  roost undo checkout -n shop
  roost undo checkout --to-revision 3`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("name exactly one rollout to undo, e.g. `roost undo checkout -n shop`")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if a.allNamespaces {
				return errNeedsOneNamespace
			}
			c, err := a.connect()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			act := actions.NewActions(c.Dynamic, c.Kube, actions.WhoAmI(ctx, c.Kube, c.User))
			return a.report(act.ForEach(ctx, []actions.Target{{Namespace: c.Namespace, Name: args[0]}},
				func(ctx context.Context, ns, name string) (actions.Result, error) {
					return act.Undo(ctx, ns, name, to)
				}))
		},
	}
	cmd.Flags().Int64Var(&to, "to-revision", 0, "revision to go back to (0: the previous one)")
	return cmd
}
