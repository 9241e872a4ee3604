package main

// The cockpit over several clusters: --context a,b,c, --all-contexts or
// clusters in the configuration, as the CLI chooses them (contexts.go).
// Each cluster gets the whole of one cluster's cockpit, built by
// buildCockpit in its own context: its watches, its actions and rights,
// who steps its canaries, its evidence, and its own reconciler, which
// campaigns for the Lease in that cluster (--reconciler=auto decides per
// cluster). The screen opens at once: each cluster is connected in the
// background (tui.Cluster.Connect), its rows shown when its caches sync;
// one that cannot be reached shows why, and is tried again.

import (
	"context"
	"os"
	"slices"
	"sync"

	tea "charm.land/bubbletea/v2"
	"k8s.io/klog/v2"

	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/themes"
	"github.com/roost-dev/roost/tui"
)

// clusterCockpits are the clusters' cockpits started so far, stopped
// together when the screen closes.
type clusterCockpits struct {
	mu      sync.Mutex
	stopped []func()
}

func (cs *clusterCockpits) add(stopped func()) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.stopped = append(cs.stopped, stopped)
}

// stop waits for every cluster's background work to stop (each 10 s at
// most, at the same time), so that every Lease held is released.
func (cs *clusterCockpits) stop() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	var wg sync.WaitGroup
	for _, f := range cs.stopped {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f()
		}()
	}
	wg.Wait()
}

// runClusters opens the cockpit over the clusters of names until the
// person quits.
func (a *app) runClusters(ctx context.Context, o *cockpitOptions, names []string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	opts, started := a.clustersOptions(ctx, o, names, func(string) *cockpitOptions { return o })
	return runClustersCockpit(ctx, cancel, opts, started)
}

// runClustersCockpit shows the cockpit of opts until the person quits,
// then ends ctx (cancel) and waits for every cluster's background work.
func runClustersCockpit(ctx context.Context, cancel context.CancelFunc, opts tui.Options, started *clusterCockpits) error {
	p := tea.NewProgram(tui.New(ctx, opts), tea.WithContext(ctx), tea.WithFPS(frameRate), tea.WithColorProfile(colorProfile(os.Getenv)))
	_, err := p.Run()
	cancel()
	started.stop()
	return dashboardStopped(err)
}

// clustersOptions are the dashboard's options over the clusters of names,
// each connected when the dashboard asks (under ctx, which bounds its
// background work) with the options optionsOf gives it (o's, but in the
// demo, whose clusters each have their own evidence); started holds those
// connected.
func (a *app) clustersOptions(ctx context.Context, o *cockpitOptions, names []string, optionsOf func(name string) *cockpitOptions) (tui.Options, *clusterCockpits) {
	started := &clusterCockpits{}
	cfg, _ := metrics.Load(o.config, os.Getenv)
	theme, notices := themes.Load(o.theme, themes.Env{ASCII: o.ascii})
	ns, scope := a.clustersNamespace(names)
	opts := tui.Options{
		Namespace:        ns,
		Scope:            scope,
		Selector:         o.selector,
		Theme:            theme,
		FollowBackground: o.theme == "" && os.Getenv("NO_COLOR") == "",
		ReadOnly:         o.readonly,
		Now:              a.now,
		Headline:         cfg.Headline(),
		Notices:          notices,
		FirstFrame: func(n int) {
			a.firstFrameDrawn(n, "clusters", len(names))
		},
	}
	opts.Bell, opts.BellTerminal = bellOf(o.bell, cfg.Cockpit.Bell), bellTerminal(os.Getenv)
	opts.Grouping, opts.SaveGrouping = cockpitGrouping(cfg, o)
	for _, name := range names {
		opts.Clusters = append(opts.Clusters, tui.Cluster{Name: name, Connect: func(context.Context) (tui.Cluster, error) {
			return a.connectCockpit(ctx, optionsOf(name), name, started)
		}})
	}
	return opts, started
}

// connectCockpit builds and starts the cockpit of one cluster, under ctx.
func (a *app) connectCockpit(ctx context.Context, o *cockpitOptions, name string, started *clusterCockpits) (tui.Cluster, error) {
	_, themeNotices := themes.Load(o.theme, themes.Env{ASCII: o.ascii})
	c, err := a.connectContext(name)
	if err != nil {
		return tui.Cluster{}, err
	}
	if err := a.reach(ctx, c); err != nil {
		return tui.Cluster{}, unreachable(name, c, err)
	}
	if err := checkCRD(c); err != nil {
		return tui.Cluster{}, err
	}
	ck, err := a.buildCockpit(ctx, c, o, name)
	if err != nil {
		return tui.Cluster{}, err
	}
	if w, ok := ck.opts.Rollouts.(*tui.WatchRollouts); ok {
		// Its rollouts are told apart from the other clusters' by it.
		w.Store.Cluster = name
	}
	started.add(ck.start(ctx))
	if ck.ready != nil {
		// The demo's cluster reaches its starting state before its rows
		// show, its reconciler running.
		if err := ck.ready(ctx); err != nil {
			klog.ErrorS(err, "drawing before the starting state", "context", name)
		}
	}
	op := ck.opts
	// The theme's notices are the screen's, said once at start.
	var notices []themes.Notice
	for _, n := range op.Notices {
		if !slices.Contains(themeNotices, n) {
			notices = append(notices, n)
		}
	}
	return tui.Cluster{
		Name: name, Rollouts: op.Rollouts, Actor: op.Actor, Access: op.Access, Stepping: op.Stepping,
		Evidence: op.Evidence, JudgeGate: op.JudgeGate, Logs: op.Logs, PodEvents: op.PodEvents,
		MetricsOff: op.MetricsOff, ErrorsOff: op.ErrorsOff, Notices: notices,
	}, nil
}

// clustersNamespace is the namespace the header names: "" with -A, else
// -n's, else the contexts' own namespace when they agree (read from the
// kubeconfig, without a call); when they do not, scope says so.
func (a *app) clustersNamespace(names []string) (ns, scope string) {
	if a.allNamespaces {
		return "", ""
	}
	if a.flags.Namespace != nil && *a.flags.Namespace != "" {
		return *a.flags.Namespace, ""
	}
	seen := map[string]bool{}
	for _, n := range names {
		got, _, err := a.flagsFor(n).ToRawKubeConfigLoader().Namespace()
		if err != nil {
			return "", "each context's namespace"
		}
		seen[got] = true
		ns = got
	}
	if len(seen) != 1 {
		return "", "each context's namespace"
	}
	return ns, ""
}
