package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/klog/v2"

	"github.com/roost-dev/roost/internal/demo"
	"github.com/roost-dev/roost/internal/sim"
	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/themes"
	"github.com/roost-dev/roost/tui"
)

// demoOptions are the flags of `roost demo`.
type demoOptions struct {
	scenario string
	speed    float64
	theme    string
	ascii    bool
	readonly bool
	bell     string
	// clusters is --clusters: how many clusters are simulated.
	clusters int
}

func newDemoCommand(a *app) *cobra.Command {
	o := &demoOptions{}
	var scenarios strings.Builder
	for _, name := range demo.ScenarioNames() {
		s, _ := demo.Lookup(name)
		fmt.Fprintf(&scenarios, "\n  %-8s %s", s.Name, s.Summary)
	}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Practise canary releases in the cockpit on a simulated cluster: no cluster, no account",
		Long: `roost demo opens the cockpit on a cluster simulated inside roost, where a scripted
release window plays: rollouts to promote, pauses counting down, canaries gated by
Argo analysis (AnalysisTemplates whose metrics query the demo's Datadog): one passes
and promotes itself, the one that turns bad is aborted by its analysis with no key
pressed; Argo CD Applications in two AppProjects that deploy the rollouts (v groups
by them); and new versions every few minutes. roost's own reconciler, analysis runs,
watches, Datadog and Bugsnag clients and cockpit run on it unchanged; only the
cluster, the traffic and the two services are simulated, and nothing you do leaves
the process but the grouping v chooses, remembered as the cockpit remembers it.

The pods' requests go to a Datadog API and their errors, sent with bugsnag-go, to
a Bugsnag, both served by roost itself. They are the only ports the demo opens: two,
on 127.0.0.1, chosen by the system. It needs no network beyond loopback, makes its
keys up at start, and leaves no files: its logs are dropped unless --log-file is given,
and only v writes roost's configuration (cockpit.grouping).
It reads no kubeconfig: the connection flags do not apply to it.

Scenarios:` + scenarios.String() + `

Keys: p promote, P promote fully, a abort (e to write a reason), r retry, y/n confirm,
/ filter, v group by Argo CD Application or project, enter detail, tab to the pods
and enter for a pod's log and Events (the simulated kubelets log each request; a bad
version's fail), backspace or h back, ? every key, q quit.`,
		Example: `  roost demo                     # the default scenario, in real time
  roost demo --speed 3           # pauses, pod starts and new versions three times as fast
  roost demo --scenario analysis # analysis that passes, fails, and is inconclusive
  roost demo --scenario busy     # 24 rollouts, for the overview`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := demo.Lookup(o.scenario); err != nil {
				return err
			}
			if err := demo.CheckSpeed(o.speed); err != nil {
				return err
			}
			if err := checkBell(o.bell); err != nil {
				return err
			}
			if o.clusters < 1 || o.clusters > demo.MaxClusters {
				return fmt.Errorf("--clusters %d: the demo simulates 1 to %d clusters", o.clusters, demo.MaxClusters)
			}
			if ns := a.flags.Namespace; ns != nil && *ns != "" {
				// The cockpit would step only that namespace's canaries,
				// and the others' releases would never start.
				return fmt.Errorf("-n %s: roost demo shows every namespace of its simulated cluster; drop -n, and filter in the cockpit with / instead", *ns)
			}
			if a.argoContext != "" {
				// It would read a real cluster's Applications.
				return fmt.Errorf("--argocd-context %s: roost demo's Argo CD is in its simulated cluster, and the demo reads no kubeconfig; drop --argocd-context", a.argoContext)
			}
			if a.logFlag == "" {
				klog.SetOutput(io.Discard)
				a.logFile = ""
			}
			return a.runDemo(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.scenario, "scenario", demo.DefaultScenario, "what plays: "+strings.Join(demo.ScenarioNames(), ", "))
	f.Float64Var(&o.speed, "speed", 1, fmt.Sprintf("how fast the scenario plays, %g to %g: pauses, pod starts, traffic and new versions (the clock is never changed)", demo.MinSpeed, demo.MaxSpeed))
	f.StringVar(&o.theme, "theme", "", "colour theme, as for the cockpit: dark, light, high-contrast, colorblind, mono, or one of yours")
	f.BoolVar(&o.ascii, "ascii", false, "draw with ASCII only (the default when the locale is not UTF-8)")
	f.BoolVar(&o.readonly, "readonly", false, "watch the demo play without acting: no key sends an action (the demo's releases still step)")
	f.IntVar(&o.clusters, "clusters", 1, fmt.Sprintf("simulate this many clusters (up to %d) with the same services, one cockpit over them all; only %s gets the bad canary", demo.MaxClusters, demo.ClusterNames(demo.MaxClusters)[demo.BadCluster]))
	addBellFlag(f, &o.bell)
	// The demo reads no kubeconfig: its help lists its own flags, and of
	// roost's only those about its logs.
	cmd.SetUsageFunc(func(c *cobra.Command) error {
		logs := pflag.NewFlagSet("logs", pflag.ContinueOnError)
		for _, name := range []string{"log-file", "v"} {
			if fl := c.InheritedFlags().Lookup(name); fl != nil {
				logs.AddFlag(fl)
			}
		}
		w := c.OutOrStderr()
		fmt.Fprintf(w, "Usage:\n  %s\n\nExamples:\n%s\n\nFlags:\n%s\nLogs:\n%s", c.UseLine(), c.Example, c.LocalFlags().FlagUsages(), logs.FlagUsages())
		return nil
	})
	return cmd
}

// demoReadyTimeout bounds the wait for the demo's starting state before the
// first frame: it takes a second or two.
const demoReadyTimeout = 30 * time.Second

// runDemo builds the scenario's world, runs it under the cockpit until the
// person quits, then stops it.
func (a *app) runDemo(ctx context.Context, o *demoOptions) error {
	if o.clusters > 1 {
		return a.runDemoClusters(ctx, o)
	}
	w, err := demo.New(demo.Options{Scenario: o.scenario, Speed: o.speed})
	if err != nil {
		return err
	}
	defer w.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	worldDone := make(chan error, 1)
	go func() { worldDone <- w.Run(ctx) }()
	c, co := a.demoCockpit(w, o)
	err = a.runCockpit(ctx, c, co, demo.ContextName)
	cancel()
	if werr := <-worldDone; err == nil && werr != nil {
		err = fmt.Errorf("the demo stopped: %w", werr)
	}
	return err
}

// demoCockpit is what the cockpit runs on in the demo: the simulated
// cluster's clients, every namespace, this roost stepping the canaries,
// and the demo's metrics configuration and keys instead of the file and
// the environment.
func (a *app) demoCockpit(w *demo.World, o *demoOptions) (*clients, *cockpitOptions) {
	c := &clients{Kube: w.Cluster.Kube, Dynamic: w.Cluster.Dynamic, User: sim.DefaultUser, Context: demo.ContextName}
	a.allNamespaces = true
	// Argo CD's Applications, if any, are the simulated cluster's: never
	// those of a real cluster that --argocd-context or argocd.context name.
	a.argoContext = ""
	co := &cockpitOptions{
		reconciler: "on", workers: 2, theme: o.theme, ascii: o.ascii, readonly: o.readonly, bell: o.bell,
		evidence: &evidenceSources{config: w.Metrics(), getenv: w.Getenv},
		// Nothing else steps the simulated canaries; and the first frame
		// shows where the scenario starts, not the cluster filling up.
		steps: true,
		ready: func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, demoReadyTimeout)
			defer cancel()
			return w.Ready(ctx)
		},
		podLogs: w.Cluster.PodLogs,
	}
	argoCD := metrics.Defaults().ArgoCD
	co.argoCD = &argoCD
	return c, co
}

// runDemoClusters is the demo over several simulated clusters: one world
// per cluster, the same services in each, the scenario's bad canary in
// only one (demo.BadCluster), under one cockpit over them all, each with
// its own reconciler and evidence.
func (a *app) runDemoClusters(ctx context.Context, o *demoOptions) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	opts, started, stopped, err := a.demoClusters(ctx, o)
	if err != nil {
		return err
	}
	err = runClustersCockpit(ctx, cancel, opts, started)
	if werr := stopped(); err == nil && werr != nil {
		err = fmt.Errorf("the demo stopped: %w", werr)
	}
	return err
}

// demoClusters builds and runs, under ctx, the worlds of a demo over
// several clusters, and the cockpit's options over them; stopped waits,
// once ctx ended, for the worlds to stop and releases them.
func (a *app) demoClusters(ctx context.Context, o *demoOptions) (tui.Options, *clusterCockpits, func() error, error) {
	names := demo.ClusterNames(o.clusters)
	worlds := make(map[string]*demo.World, len(names))
	closeAll := func() {
		for _, w := range worlds {
			w.Close()
		}
	}
	for i, name := range names {
		w, err := demo.New(demo.Options{Scenario: o.scenario, Speed: o.speed, Calm: i != demo.BadCluster, Name: name})
		if err != nil {
			closeAll()
			return tui.Options{}, nil, nil, err
		}
		worlds[name] = w
	}
	worldsDone := make(chan error, len(names))
	for _, w := range worlds {
		go func() { worldsDone <- w.Run(ctx) }()
	}
	stopped := func() error {
		var errs []error
		for range names {
			errs = append(errs, <-worldsDone)
		}
		closeAll()
		return errors.Join(errs...)
	}
	a.connectContext = func(name string) (*clients, error) {
		c, _ := a.demoCockpit(worlds[name], o)
		c.Context = name
		return c, nil
	}
	// A simulated cluster always answers.
	a.reach = func(context.Context, *clients) error { return nil }
	_, base := a.demoCockpit(worlds[names[0]], o)
	opts, started := a.clustersOptions(ctx, base, names, func(name string) *cockpitOptions {
		_, co := a.demoCockpit(worlds[name], o)
		return co
	})
	opts.Notices = append(opts.Notices, themes.Notice{Text: fmt.Sprintf("roost demo: %d simulated clusters, nothing is real; %s has the bad canary", len(names), names[min(demo.BadCluster, len(names)-1)])})
	return opts, started, stopped, nil
}
