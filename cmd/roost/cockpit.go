package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/roost-dev/roost/actions"
	"github.com/roost-dev/roost/analysis"
	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/controller"
	"github.com/roost-dev/roost/election"
	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/themes"
	"github.com/roost-dev/roost/tui"
	"github.com/roost-dev/roost/watch"
)

// cockpitOptions are the flags of `roost` without a subcommand.
type cockpitOptions struct {
	reconciler     string
	readonly       bool
	theme          string
	ascii          bool
	selector       string
	config         string
	leaseNamespace string
	workers        int
	// bell is --bell: off, bell or notify; "" leaves it to the
	// configuration file (cockpit.bell), else bell.
	bell string
	// steps is set by the demo: its simulated cluster has no other
	// controller, so this roost steps the canaries even when read-only.
	steps bool
	// ready, when set, is waited for before the first frame (the demo's
	// world reaching its starting state), the reconciler already running.
	ready func(ctx context.Context) error
	// evidence, when set, replaces the configuration file and the
	// environment as the source of the metrics and errors (the demo's
	// servers) and of where Argo CD is (the demo's, in its simulated
	// cluster).
	evidence *evidenceSources
	// podLogs, when set, reads pods' logs instead of the API server's
	// pods/log (the demo's simulated kubelets).
	podLogs logStream
	// grouping, when set, is the overview's grouping at start instead of
	// the configuration's cockpit.grouping. Either way v remembers the
	// person's choice in the configuration file, and only v writes it.
	grouping watch.GroupBy
	// argoCD, when set, replaces the configuration's argocd section (the
	// demo's: its Argo CD, if any, is in its simulated cluster, never in a
	// real one argocd.context names).
	argoCD *metrics.ArgoCDConfig
}

func (o *cockpitOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.reconciler, "reconciler", "auto", "step canaries from this terminal: auto (unless Argo Rollouts or you lack the rights), on (always, leader-elected), off (only watch)")
	f.BoolVar(&o.readonly, "readonly", false, "send no actions: watch only (also turns the reconciler off)")
	f.StringVar(&o.theme, "theme", "", "colour theme: dark, light, high-contrast, colorblind, mono, or a file in $XDG_CONFIG_HOME/roost/themes (default: dark, light on a light terminal)")
	f.BoolVar(&o.ascii, "ascii", false, "draw with ASCII only (the default when the locale is not UTF-8)")
	f.StringVarP(&o.selector, "selector", "l", "", "only rollouts with these labels (e.g. team=payments)")
	f.StringVar(&o.config, "config", "", "metrics configuration file (default $XDG_CONFIG_HOME/roost/config.yaml)")
	f.StringVar(&o.leaseNamespace, "lease-namespace", "", "namespace of the reconciler's Lease (default: the namespace in scope; kube-system with -A)")
	f.IntVar(&o.workers, "workers", 2, "rollouts reconciled in parallel when this roost steps the canaries")
	addBellFlag(f, &o.bell)
}

// addBellFlag adds --bell, which the cockpit and the demo share.
func addBellFlag(f *pflag.FlagSet, bell *string) {
	f.StringVar(bell, "bell", "", "when a rollout starts to need you, the `mode`: bell (ring the terminal bell once; tmux flags the window), notify (the bell and a desktop notification), off (default: cockpit.bell in the config file, else bell)")
}

// checkBell refuses a --bell value that is none of off, bell, notify.
func checkBell(bell string) error {
	if bell == "" {
		return nil
	}
	if _, err := tui.ParseBell(bell); err != nil {
		return fmt.Errorf("--bell %w", err)
	}
	return nil
}

func (o *cockpitOptions) check() error {
	switch o.reconciler {
	case "auto", "on", "off":
	default:
		return fmt.Errorf("--reconciler %q: use auto, on or off", o.reconciler)
	}
	if o.workers < 1 {
		return fmt.Errorf("--workers %d: need at least 1", o.workers)
	}
	if err := checkBell(o.bell); err != nil {
		return err
	}
	return selectorOK(o.selector)
}

// frameRate caps the redraws a second. The renderer (third_party/bubbletea)
// sleeps while nothing changes and draws the first change after a quiet
// spell at once, so the cap only paces bursts: while 200 canaries step at
// once the cockpit draws at most 60 frames a second, as watch delivers
// changes (watch.FrameInterval), and a change that comes within a frame of
// the last waits at most 1/60 s.
const frameRate = 60

// reconcilerDelay is the longest the reconciler waits for the first
// complete frame before it campaigns.
const reconcilerDelay = 3 * time.Second

// cockpit is everything the dashboard runs on, apart from the terminal.
type cockpit struct {
	opts     tui.Options
	watcher  *watch.Watcher
	leader   *election.Leader
	stepping *election.SteppingWatch
	// background are started with the cockpit and stopped after it.
	background []func(ctx context.Context)
	workers    int
	newCtrl    func() (*controller.Controller, error)
	// detector watches for a live Argo Rollouts controller: the header
	// says so, and the reconciler steps only while there is none.
	detector *election.ArgoDetector
	// gate is roost's judge as a gate, when this roost reconciles and has
	// evidence.
	gate *analysis.Gate
	// providers measure the AnalysisRuns, when this roost reconciles.
	providers analysis.Providers
	// drawn is closed when the first complete frame is on screen (the
	// dashboard reports it once).
	drawn chan struct{}
	// profile is the terminal's colour profile, from the environment.
	profile colorprofile.Profile
	// ready is waited for before the first frame (cockpitOptions.ready).
	ready func(ctx context.Context) error
	// started is when the process began, for the start-up log.
	started time.Time
	// context is the kube context's name, for the log.
	context string
}

// logSyncs writes to the log when each watch of the cluster of context
// name has listed, from the process's start: where a slow first frame
// spent its time.
func logSyncs(ctx context.Context, w *watch.Watcher, started time.Time, name string) {
	informers := map[string]cache.SharedIndexInformer{
		watch.ResourceRollouts: w.RolloutInformer(), watch.ResourceReplicaSets: w.ReplicaSetInformer(),
		watch.ResourcePods: w.PodInformer(), watch.ResourceEvents: w.EventInformer(),
	}
	if inf := w.ApplicationInformer(); inf != nil {
		informers[watch.ResourceApplications] = inf
	}
	listed := func(resource string, n int) {
		klog.InfoS("listed", "context", name, "resource", resource, "objects", n, "after", time.Since(started).Round(time.Millisecond))
	}
	for resource, inf := range informers {
		go func() {
			select {
			case <-inf.HasSyncedChecker().Done():
				listed(resource, len(inf.GetStore().ListKeys()))
			case <-ctx.Done():
			}
		}()
	}
	if w.WatchesAnalysisRuns() {
		go func() {
			if w.WaitAnalysisRunsListed(ctx) {
				n, _ := w.AnalysisRunsListed()
				listed(watch.ResourceAnalysisRuns, n)
			}
		}()
	}
}

// firstFrameDrawn logs the first complete frame, of n rollouts (over
// every cluster, when there are several), with the heap's figures, and
// tells the profiler.
func (a *app) firstFrameDrawn(n int, keysAndValues ...any) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	klog.InfoS("first complete frame", append([]any{"after", time.Since(a.started).Round(time.Millisecond), "rollouts", n},
		append(keysAndValues, "heapInUseMB", ms.HeapInuse>>20, "heapSysMB", ms.HeapSys>>20, "sysMB", ms.Sys>>20)...)...)
	// Listing thousands of pods leaves garbage several times the size of
	// what is kept: collect it now, once, off the screen's goroutine, so
	// that the heap's next goal follows what is kept; the runtime's
	// scavenger hands the pages above it back to the system. Handing every
	// free page back at once (debug.FreeOSMemory) cost more than it saved:
	// the heap grew back into them a page fault at a time, which over 200
	// canaries under analysis was a sixth of the idle cockpit's CPU, for a
	// few MB less a minute later.
	go runtime.GC()
	if a.firstFrame != nil {
		a.firstFrame()
	}
}

// runCockpit opens the dashboard on c until the person quits.
func (a *app) runCockpit(ctx context.Context, c *clients, o *cockpitOptions, contextName string) error {
	if err := checkCRD(c); err != nil {
		return err
	}
	ck, err := a.buildCockpit(ctx, c, o, contextName)
	if err != nil {
		return err
	}
	return ck.run(ctx)
}

// buildCockpit wires the watch layer, the actions, the reconciler (when this
// roost is to step canaries) and the evidence into the dashboard's options.
func (a *app) buildCockpit(ctx context.Context, c *clients, o *cockpitOptions, contextName string) (*cockpit, error) {
	ns := c.namespace(a.allNamespaces)
	var notices []themes.Notice
	note := func(level themes.Level, format string, args ...any) {
		notices = append(notices, themes.Notice{Level: level, Text: fmt.Sprintf(format, args...)})
	}

	reconcile, why := a.decideReconciler(ctx, c, o, ns)
	if why != "" {
		note(themes.Info, "%s", why)
	}
	// AnalysisRuns are watched wherever the cluster has them, so that the
	// cockpit shows the analysis whoever runs it; a person who may not
	// list them is told why the cockpit shows none.
	runsServed := analysisRunsServed(c)
	// Whether runs may be listed is asked while Argo CD is looked for:
	// each is a round trip before the first frame.
	runsForbidden := make(chan bool, 1)
	go func() {
		attrs := authorizationv1.ResourceAttributes{Verb: "list", Group: v1alpha1.Group, Resource: v1alpha1.AnalysisRunResource, Namespace: ns}
		ok, err := true, error(nil)
		if runsServed && !reconcile {
			ok, err = allowed(ctx, c.Kube, attrs)
		}
		runsForbidden <- err == nil && !ok
	}()
	// Argo CD's Applications, where roost can read them, group the
	// overview by Application and AppProject; the configuration's errors
	// are the evidence's to show.
	cfg, _ := metrics.Load(o.config, os.Getenv)
	// The demo's Argo CD is in its simulated cluster: never the person's
	// argocd section (its context would reach a real cluster).
	argoCfg := cfg.ArgoCD
	if o.argoCD != nil {
		argoCfg = *o.argoCD
	}
	argo := a.findArgoCD(ctx, c, argoCfg)
	if <-runsForbidden {
		runsServed = false
		note(themes.Info, "you may not list analysisruns in %s, so the cockpit shows no analysis; ask for the roost-dashboard ClusterRole", nsText(ns))
	}
	if argo.Why != "" {
		note(themes.Info, "%s", argo.Why)
	}
	wo := watch.Options{Kube: c.Kube, Dynamic: c.Dynamic, Pods: c.Pods, Namespace: ns, LabelSelector: o.selector, FullObjects: reconcile, AnalysisRuns: runsServed, ArgoCD: argo.options()}
	// Without a reconciler to feed, the runs of rollouts off screen are not
	// followed (watch.Options.WantedRunsOnly).
	wo.WantedRunsOnly = runsServed && !reconcile
	w, err := watch.New(wo)
	if err != nil {
		return nil, err
	}
	ck := &cockpit{context: contextName, watcher: w, workers: o.workers, drawn: make(chan struct{}), profile: colorProfile(os.Getenv), ready: o.ready, started: a.started}

	theme, themeNotices := themes.Load(o.theme, themes.Env{ASCII: o.ascii})
	notices = append(themeNotices, notices...)

	me := election.DefaultIdentity()
	leaseNS := o.leaseNamespace
	if leaseNS == "" {
		leaseNS = ns
	}
	if leaseNS == "" {
		leaseNS = election.DefaultLeaseNamespace
	}
	ck.detector = newDetector(c, ns)
	ck.stepping = election.NewSteppingWatch(election.SteppingOptions{
		Kube: c.Kube, LeaseNamespace: leaseNS, LeaseName: election.DefaultLeaseName, Me: me, Campaigning: reconcile,
		Detector: ck.detector,
	})
	if reconcile {
		ck.leader, err = election.NewLeader(election.LeaderConfig{
			Kube: c.Kube, Namespace: leaseNS, Identity: me, OnChange: ck.stepping.LeaderChanged,
		})
		if err != nil {
			return nil, err
		}
		ck.newCtrl = func() (*controller.Controller, error) {
			return controller.New(controller.Config{Kube: c.Kube, Dynamic: c.Dynamic, Watcher: w, Providers: ck.providers, Gate: ck.gate})
		}
	}

	ck.opts = tui.Options{
		Context:   contextName,
		Namespace: ns,
		Selector:  o.selector,
		Rollouts:  &tui.WatchRollouts{Watcher: w, Store: watch.NewStore(w)},
		Access: func(ctx context.Context, ns string) (actions.Access, error) {
			return actions.CheckAccess(ctx, c.Kube, ns)
		},
		Stepping:         ck.stepping,
		Theme:            theme,
		FollowBackground: o.theme == "" && os.Getenv("NO_COLOR") == "",
		ReadOnly:         o.readonly,
		Now:              a.now,
		FirstFrame: func(n int) {
			close(ck.drawn)
			a.firstFrameDrawn(n)
		},
	}
	ck.opts.Grouping, ck.opts.SaveGrouping = cockpitGrouping(cfg, o)
	if !o.readonly {
		ck.opts.Actor = actions.NewActions(c.Dynamic, c.Kube, actions.WhoAmI(ctx, c.Kube, c.User))
	}
	pods := newKubePods(c.Kube, o.podLogs)
	ck.opts.Logs, ck.opts.PodEvents = pods, pods
	var ev evidence
	if o.evidence != nil {
		ev = newEvidence(ctx, c, *o.evidence)
	} else if ev, err = a.buildEvidence(ctx, c, o); err != nil {
		note(themes.Warning, "%v", err)
	}
	if ev.poller != nil {
		ck.opts.Evidence = ev.poller
		ck.background = append(ck.background, ev.poller.Run)
		if reconcile {
			// The dashboard sets the poller's targets; the gate reads them.
			ck.gate = newGate(ev.poller, ev.gate, false)
		}
		ck.opts.JudgeGate = judgeGateView(ck.gate, ev.gate)
	}
	if reconcile {
		if ck.providers, err = analysisProviders(c, ns, ev); err != nil {
			note(themes.Warning, "%v", err)
		}
	}
	ck.opts.MetricsOff, ck.opts.ErrorsOff = ev.metricsOff, ev.errorsOff
	ck.opts.Bell, ck.opts.BellTerminal = bellOf(o.bell, ev.bell), bellTerminal(os.Getenv)
	ck.opts.Headline = ev.headline
	notices = append(notices, ev.notices...)
	ck.opts.Notices = notices
	return ck, nil
}

// cockpitGrouping is the overview's grouping at start (o.grouping, else
// the configuration's cockpit.grouping, which Load checked) and how v
// remembers a new one: in the file the configuration came from, else the
// one --config names, else the default file, created if need be.
func cockpitGrouping(cfg metrics.Config, o *cockpitOptions) (watch.GroupBy, func(watch.GroupBy) error) {
	g, _ := watch.ParseGroupBy(cfg.Cockpit.Grouping)
	if o.grouping != "" {
		g = o.grouping
	}
	path := cmp.Or(cfg.File, o.config)
	save := func(g watch.GroupBy) error {
		p := path
		if p == "" {
			// Looked up when v is pressed, not before: nothing is written
			// or created until the person chooses.
			p, _ = metrics.DefaultPath(os.Getenv)
		}
		return metrics.SaveGrouping(p, string(g))
	}
	return g, save
}

// decideReconciler says whether this roost takes part in stepping the
// canaries, and, when --reconciler=auto turned it off, why.
func (a *app) decideReconciler(ctx context.Context, c *clients, o *cockpitOptions, ns string) (bool, string) {
	switch {
	case o.steps:
		return true, ""
	case o.readonly || o.reconciler == "off":
		return false, ""
	case o.reconciler == "on":
		return true, ""
	}
	// A live Argo Rollouts controller is not a reason to stay out: roost
	// campaigns beside it and steps only while it is gone (RunBeside).
	// The reconciler writes ReplicaSets and pod labels, and campaigns for a
	// Lease: without those rights it would only log failures.
	for _, attrs := range []authorizationv1.ResourceAttributes{
		{Verb: "create", Group: "apps", Resource: "replicasets", Namespace: ns},
		{Verb: "patch", Group: "", Resource: "pods", Namespace: ns},
		{Verb: "create", Group: "coordination.k8s.io", Resource: "leases", Namespace: leaseNamespace(o, ns)},
	} {
		if ok, err := allowed(ctx, c.Kube, attrs); err == nil && !ok {
			return false, fmt.Sprintf("you may not %s %s in %s, so this roost only watches and acts; for it to step canaries too, ask for the roost-controller ClusterRole", attrs.Verb, attrs.Resource, nsText(attrs.Namespace))
		}
	}
	return true, ""
}

func leaseNamespace(o *cockpitOptions, ns string) string {
	switch {
	case o.leaseNamespace != "":
		return o.leaseNamespace
	case ns != "":
		return ns
	}
	return election.DefaultLeaseNamespace
}

func nsText(ns string) string {
	if ns == "" {
		return "every namespace"
	}
	return "namespace " + ns
}

func allowed(ctx context.Context, kube kubernetes.Interface, attrs authorizationv1.ResourceAttributes) (bool, error) {
	r, err := kube.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &attrs},
	}, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	return r.Status.Allowed, nil
}

// run starts the informers, the reconciler and the evidence, shows the
// dashboard until the person quits, then stops everything, releasing the
// Lease so that another roost takes over at once.
func (ck *cockpit) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopped := ck.start(ctx)
	if ck.ready != nil {
		if err := ck.ready(ctx); err != nil {
			klog.ErrorS(err, "drawing before the starting state")
		}
	}
	p := tea.NewProgram(tui.New(ctx, ck.opts), tea.WithContext(ctx), tea.WithFPS(frameRate), tea.WithColorProfile(ck.profile))
	_, err := p.Run()
	cancel()
	stopped()
	return dashboardStopped(err)
}

// dashboardStopped is the error of a dashboard's run: none when the person
// quit or roost was interrupted; a bug when the dashboard panicked (Bubble
// Tea has restored the terminal and printed the panic's report); else what
// stopped it.
func dashboardStopped(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, tea.ErrProgramPanic):
		return errors.New("roost stopped on a bug: the report above says where. The canaries stay where they are, and another roost " +
			"or roost controller can step them now. Start roost again, and report the bug with the lines above")
	case errors.Is(err, tea.ErrProgramKilled), errors.Is(err, context.Canceled):
		return nil
	}
	return fmt.Errorf("the dashboard stopped: %w", err)
}

// start starts the informers, who steps the canaries, the evidence and the
// reconciler under ctx. stopped, called once ctx ended, waits for them to
// stop (10 s at most), so that the Lease is released.
func (ck *cockpit) start(ctx context.Context) (stopped func()) {
	ck.watcher.Start(ctx)
	// What the checks before the watches took (discovery, access reviews,
	// Argo CD): the rest of a slow first frame is in the "listed" lines.
	klog.InfoS("watches started", "context", ck.context, "after", time.Since(ck.started).Round(time.Millisecond))
	go logSyncs(ctx, ck.watcher, ck.started, ck.context)
	done := make(chan struct{})
	running := 0
	start := func(f func(ctx context.Context)) {
		running++
		go func() {
			defer func() { done <- struct{}{} }()
			f(ctx)
		}()
	}
	start(ck.detector.Run)
	start(ck.stepping.Run)
	for _, f := range ck.background {
		start(f)
	}
	if ck.leader != nil {
		start(func(ctx context.Context) {
			// The first frame first: the reconciler's first pass over every
			// rollout competes with it for the CPU, and a second's wait for
			// the canaries to move is nothing at start. Unless the first
			// frame waits for the canaries (ready).
			if ck.ready == nil {
				select {
				case <-ck.drawn:
				case <-time.After(reconcilerDelay):
				case <-ctx.Done():
					return
				}
			}
			_ = ck.leader.RunBeside(ctx, ck.detector, logArgo, func(term context.Context) {
				ctrl, err := ck.newCtrl()
				if err != nil {
					klog.ErrorS(err, "starting the reconciler")
					return
				}
				if err := ctrl.Run(term, ck.workers); err != nil {
					klog.ErrorS(err, "reconciler stopped")
				}
			})
		})
	}
	return func() {
		stopped := time.After(10 * time.Second)
		for running > 0 {
			select {
			case <-done:
				running--
			case <-stopped:
				klog.InfoS("background work still stopping; leaving it", "left", running)
				running = 0
			}
		}
	}
}
