package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/roost-dev/roost/actions"
	"github.com/roost-dev/roost/watch"
)

// actionFunc is one of actions.Actions' methods, bound to its options.
type actionFunc func(act *actions.Actions) func(ctx context.Context, ns, name string) (actions.Result, error)

// batchOptions pick the rollouts an action applies to.
type batchOptions struct {
	selector string
	all      bool
	pick     appPick
	// picks are the ways of picking the command offers besides names.
	picks picks
}

// picks are the ways an action command picks its rollouts besides names.
type picks struct {
	// selector adds -l SELECTOR and --all.
	selector bool
	// argo adds --app and --project.
	argo bool
	// specChange is set for an action that changes the rollout's spec,
	// which Argo CD's self-heal reverts: it is warned about.
	specChange bool
	// contexts lets the command act in several clusters (--context a,b,c,
	// --all-contexts, clusters in the configuration).
	contexts bool
}

// actionCommand builds a command that runs an action on each named rollout;
// it also takes -l SELECTOR and --all, and --app and --project, as picks
// says. Every rollout gets one line; a failure never stops the others, and
// the exit code is 1 if any failed.
func actionCommand(a *app, cmd *cobra.Command, p picks, fn actionFunc) *cobra.Command {
	o := &batchOptions{picks: p}
	if p.selector {
		cmd.Flags().StringVarP(&o.selector, "selector", "l", "", "act on every rollout with these labels (e.g. -l team=payments); with --app or --project, only those of theirs")
		cmd.Flags().BoolVar(&o.all, "all", false, "act on every rollout of the namespace (of every namespace with -A)")
		cmd.Long += `

Several rollouts can be named, or picked with -l SELECTOR or --all (with -A across
namespaces).`
	}
	if p.argo {
		o.pick.addFlags(cmd.Flags())
		cmd.Long += `

--app NAME picks the rollouts Argo CD's Application deploys (from their tracking
marks), --project NAME those of every Application in an AppProject (which needs
Argo CD's Applications readable: here, or in the cluster --argocd-context names);
in the namespace, or every namespace with -A.`
		if p.selector {
			cmd.Long += ` -l SELECTOR narrows them further.`
		}
	}
	if p.specChange {
		cmd.Long += `

A rollout whose Argo CD Application auto-syncs with self-heal is still changed,
with a warning: Argo CD will revert the change to its spec.`
	}
	if p.selector || p.argo {
		cmd.Long += `

Each rollout is reported on its own line; one failure never stops the others.
Exit code: 0 when all succeeded (or had nothing to do, or none matched), 1 when
any failed.`
	} else {
		cmd.Long += `

Exit code: 0 when all succeeded (or had nothing to do), 1 when any failed.`
	}
	cmd.Args = cobra.ArbitraryArgs
	if p.contexts {
		takesManyContexts(a, cmd, "The exit code is then 1.")
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := o.check(a, cmd.Name(), args); err != nil {
			return err
		}
		var names []string
		if p.contexts {
			var err error
			if names, err = a.contexts(""); err != nil {
				return err
			}
		}
		ctx := cmd.Context()
		act := func(ctx context.Context, c *clients) (acted, error) {
			return a.actIn(ctx, c, o, args, cmd.Name(), fn)
		}
		if names != nil {
			// Read once, before the clusters are, so that a broken file is
			// warned about once.
			a.config("")
			var groups []clusterOutcomes
			for _, r := range eachCluster(ctx, a, names, act) {
				g := clusterOutcomes{Cluster: r.Context, Err: r.Err, Outcomes: r.Value.outcomes, Warnings: r.Value.revert}
				for _, w := range r.Value.warnings {
					g.Notes = append(g.Notes, "warning: "+w)
				}
				if r.Value.none != "" {
					g.Notes = append(g.Notes, r.Value.none)
				}
				groups = append(groups, g)
			}
			return a.reportOutcomes("", "rollouts", groups...)
		}
		c, err := a.connect()
		if err != nil {
			return err
		}
		res, err := act(ctx, c)
		if err != nil {
			return err
		}
		for _, w := range res.warnings {
			fmt.Fprintln(a.errOut, "warning:", w)
		}
		if res.none != "" {
			fmt.Fprintln(a.errOut, res.none)
			return nil
		}
		return a.report(res.outcomes, res.revert)
	}
	return cmd
}

// acted is what an action command did in one cluster.
type acted struct {
	// warnings are about how Argo CD was read.
	warnings []string
	// none says why nothing was done when no rollout matched.
	none     string
	outcomes []actions.Outcome
	// revert are the warnings of spec changes Argo CD's self-heal reverts.
	revert map[actions.Target]string
}

// actIn runs the action in the cluster of c: on the rollouts named, or on
// those o picks there.
func (a *app) actIn(ctx context.Context, c *clients, o *batchOptions, args []string, verb string, fn actionFunc) (acted, error) {
	var res acted
	// Argo CD's Applications are read only when the selection or a
	// self-heal warning needs them.
	var argo *argoRead
	if o.pick.set() {
		argo = a.readArgoCD(ctx, c, a.argoConfig(""))
		if err := argo.needApplications(o.pick); err != nil {
			return res, err
		}
		res.warnings = argo.warnings()
	}
	targets, apps, err := o.targets(ctx, a, c, args, argo)
	if err != nil {
		return res, err
	}
	if len(targets) == 0 {
		if o.pick.set() {
			res.none = argo.noneMatched(o.pick, c.namespace(a.allNamespaces), verb)
		} else {
			res.none = fmt.Sprintf("No rollouts matched; nothing to %s. See them with `roost get -A`.", verb)
		}
		return res, nil
	}
	act := actions.NewActions(c.Dynamic, c.Kube, actions.WhoAmI(ctx, c.Kube, c.User))
	res.outcomes = act.ForEach(ctx, targets, fn(act))
	if o.picks.specChange {
		res.revert = a.revertWarnings(ctx, c, argo, res.outcomes, apps)
	}
	return res, nil
}

func (o *batchOptions) check(a *app, verb string, args []string) error {
	if err := o.pick.check(); err != nil {
		return err
	}
	switch {
	case o.pick.set() && len(args) > 0:
		return fmt.Errorf("%s picks the rollouts by Argo CD; give rollout names or %s, not both", o.pick, o.pick)
	case o.pick.set() && o.all:
		return fmt.Errorf("--all takes every rollout in scope and %s picks some of them; drop --all", o.pick)
	}
	picked := 0
	if len(args) > 0 {
		picked++
	}
	// -l with --app or --project narrows them: one pick.
	if o.selector != "" || o.pick.set() {
		picked++
	}
	if o.all {
		picked++
	}
	var ways []string
	if o.picks.selector {
		ways = append(ways, "-l SELECTOR", "--all")
	}
	if o.picks.argo {
		ways = append(ways, "--app NAME", "--project NAME")
	}
	switch {
	case picked == 0 && len(ways) > 0:
		return fmt.Errorf("name the rollouts to %s, or pick them with %s", verb, orList(ways))
	case picked == 0:
		return fmt.Errorf("name the rollouts to %s", verb)
	case picked > 1:
		return fmt.Errorf("give rollout names, -l SELECTOR or --all, not several of them")
	case len(args) > 0 && a.allNamespaces && len(ways) > 0:
		return fmt.Errorf("rollout names need one namespace: drop -A and give -n NAMESPACE (or use %s with -A)", orList(ways))
	case len(args) > 0 && a.allNamespaces:
		return errNeedsOneNamespace
	}
	return selectorOK(o.selector)
}

// orList joins ways as "a, b or c".
func orList(ways []string) string {
	if len(ways) == 1 {
		return ways[0]
	}
	return strings.Join(ways[:len(ways)-1], ", ") + " or " + ways[len(ways)-1]
}

// targets are the rollouts the action applies to; apps holds the
// Applications of those listed (not of those named).
func (o *batchOptions) targets(ctx context.Context, a *app, c *clients, args []string, argo *argoRead) ([]actions.Target, map[actions.Target]*watch.App, error) {
	if len(args) > 0 {
		seen := map[string]bool{}
		var out []actions.Target
		for _, name := range args {
			if !seen[name] {
				seen[name] = true
				out = append(out, actions.Target{Namespace: c.Namespace, Name: name})
			}
		}
		return out, nil, nil
	}
	picked, err := a.pickRollouts(ctx, c, c.namespace(a.allNamespaces), o.selector, o.pick, argo)
	if err != nil {
		return nil, nil, err
	}
	out := make([]actions.Target, 0, len(picked))
	apps := make(map[actions.Target]*watch.App, len(picked))
	for _, p := range picked {
		out = append(out, p.target())
		apps[p.target()] = p.app
	}
	return out, apps, nil
}

// report prints one line per rollout: results on stdout, failures on
// stderr, each followed by its warning (stderr) when it has one.
func (a *app) report(outcomes []actions.Outcome, warnings map[actions.Target]string) error {
	return a.reportOutcomes("", "rollouts", clusterOutcomes{Outcomes: outcomes, Warnings: warnings})
}

// clusterOutcomes are what an action did in one cluster.
type clusterOutcomes struct {
	// Cluster is the kube context's name, which leads each of its lines;
	// "" when only one cluster is in scope, whose lines are as they were
	// before roost knew several.
	Cluster string
	// Notes are said on stderr before the outcomes: warnings, or why
	// nothing was done.
	Notes    []string
	Outcomes []actions.Outcome
	Warnings map[actions.Target]string
	// Err is why nothing was done there (an unreachable cluster).
	Err error
}

// reportOutcomes prints one line per object and cluster: results on
// stdout, failures on stderr, each followed by its warning (stderr) when it
// has one. prefix goes before each target ("analysisrun "), many names the
// objects in the error. The exit code is 1 when any object or cluster
// failed.
func (a *app) reportOutcomes(prefix, many string, groups ...clusterOutcomes) error {
	failed, total := 0, 0
	var lost []string
	for _, g := range groups {
		lead := ""
		if g.Cluster != "" {
			lead = g.Cluster + ": "
		}
		if g.Err != nil {
			lost = append(lost, g.Cluster)
			fmt.Fprintf(a.errOut, "%serror: %v\n", lead, g.Err)
			continue
		}
		for _, n := range g.Notes {
			fmt.Fprintln(a.errOut, lead+n)
		}
		for _, o := range g.Outcomes {
			total++
			if o.Err != nil {
				failed++
				fmt.Fprintf(a.errOut, "%s%s%s: error: %v\n", lead, prefix, o.Target, o.Err)
				continue
			}
			fmt.Fprintf(a.out, "%s%s%s: %s\n", lead, prefix, o.Target, o.Result)
			if w := g.Warnings[o.Target]; w != "" {
				fmt.Fprintln(a.errOut, lead+"warning:", w)
			}
		}
	}
	var errs []string
	if failed > 0 {
		errs = append(errs, fmt.Sprintf("%d of %d %s failed", failed, total, many))
	}
	if len(lost) > 0 {
		errs = append(errs, lostError(lost, len(groups)).Error())
	}
	if len(errs) == 0 {
		return nil
	}
	// One object in one cluster has said it all on its own line.
	silent := len(groups) == 1 && groups[0].Cluster == "" && total == 1
	return &exitError{code: 1, err: errors.New(strings.Join(errs, "; ")), silent: silent}
}

func newPromoteCommand(a *app) *cobra.Command {
	var full bool
	cmd := actionCommand(a, &cobra.Command{
		Use:   "promote NAME... | -l SELECTOR | --all | --app NAME | --project NAME",
		Short: "Release the pause a canary waits at, or skip to the next step (--full: to 100% now)",
		Long: `Promote a rollout: release the pause step it waits at, or, when it waits at none,
skip to the next step. With --full, skip every remaining step: the canary goes to
100% and becomes stable. An aborted rollout must be retried first.

The patches are those of "kubectl argo rollouts promote".`,
		Example: `  roost promote checkout -n shop
  roost promote --full checkout
  roost promote -l app.kubernetes.io/part-of=payments -A
  roost promote --project shop -A          # every rollout of Argo CD's AppProject shop`,
	}, picks{selector: true, argo: true, contexts: true}, func(act *actions.Actions) func(context.Context, string, string) (actions.Result, error) {
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
		Use:   "abort NAME... [--reason TEXT] | -l SELECTOR | --all | --app NAME | --project NAME",
		Short: "Send a canary back to 0%: stable takes every replica",
		Long: `Abort a rollout: the canary is scaled to 0 and stable to all replicas; the rollout
turns Degraded until it is retried or given a new template. --reason is kept on the
rollout and quoted in its status message and Events, so everyone sees why.`,
		Example: `  roost abort checkout --reason "p99 latency 3x stable"
  roost abort --all -n shop --reason "payment provider incident"
  roost abort --app shop-checkout --reason "card errors up"`,
	}, picks{selector: true, argo: true, contexts: true}, func(act *actions.Actions) func(context.Context, string, string) (actions.Result, error) {
		return func(ctx context.Context, ns, name string) (actions.Result, error) {
			return act.Abort(ctx, ns, name, reason)
		}
	})
	cmd.Flags().StringVar(&reason, "reason", "", "why the canary is stopped (shown to everyone)")
	return cmd
}

func newRetryCommand(a *app) *cobra.Command {
	return actionCommand(a, &cobra.Command{
		Use:   "retry NAME... | -l SELECTOR | --all | --app NAME | --project NAME",
		Short: "Restart an aborted rollout from its first step",
		Long:  `Retry an aborted rollout: it starts again from its first step.`,
		Example: `  roost retry checkout -n shop
  roost retry --project shop -A`,
	}, picks{selector: true, argo: true, contexts: true}, func(act *actions.Actions) func(context.Context, string, string) (actions.Result, error) {
		return act.Retry
	})
}

func newPauseCommand(a *app) *cobra.Command {
	return actionCommand(a, &cobra.Command{
		Use:   "pause NAME... | --app NAME | --project NAME",
		Short: "Hold rollouts where they are until resumed",
		Long:  `Pause rollouts by hand (spec.paused): they hold at their current step until resumed.`,
		Example: `  roost pause checkout cart -n shop
  roost pause --app shop-checkout`,
	}, picks{argo: true, specChange: true, contexts: true}, func(act *actions.Actions) func(context.Context, string, string) (actions.Result, error) {
		return act.Pause
	})
}

func newResumeCommand(a *app) *cobra.Command {
	return actionCommand(a, &cobra.Command{
		Use:   "resume NAME... | --app NAME | --project NAME",
		Short: "Lift a manual pause",
		Long: `Resume rollouts paused by hand (spec.paused). A pause step of the canary is
released with "roost promote" instead.`,
		Example: `  roost resume checkout -n shop
  roost resume --project shop -A`,
	}, picks{argo: true, contexts: true}, func(act *actions.Actions) func(context.Context, string, string) (actions.Result, error) {
		return act.Resume
	})
}

func newRestartCommand(a *app) *cobra.Command {
	return actionCommand(a, &cobra.Command{
		Use:     "restart NAME...",
		Short:   "Replace the pods of rollouts (spec.restartAt)",
		Long:    `Restart rollouts: their controller replaces their pods, within maxUnavailable.`,
		Example: `  roost restart checkout -n shop`,
	}, picks{}, func(act *actions.Actions) func(context.Context, string, string) (actions.Result, error) {
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

When the rollout's Argo CD Application auto-syncs with self-heal, the undo is still
made, with a warning: Argo CD will put Git's template back.

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
			outcomes := act.ForEach(ctx, []actions.Target{{Namespace: c.Namespace, Name: args[0]}},
				func(ctx context.Context, ns, name string) (actions.Result, error) {
					return act.Undo(ctx, ns, name, to)
				})
			return a.report(outcomes, a.revertWarnings(ctx, c, nil, outcomes, nil))
		},
	}
	cmd.Flags().Int64Var(&to, "to-revision", 0, "revision to go back to (0: the previous one)")
	return cmd
}
