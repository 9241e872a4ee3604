package watch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	apiwatch "k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// Key names one rollout. It is the workqueue key of the reconciler too, so a
// shared informer set can feed both.
type Key = cache.ObjectName

// Resource names, as Health reports them.
const (
	ResourceRollouts    = "rollouts"
	ResourceReplicaSets = "replicasets"
	ResourcePods        = "pods"
	ResourceEvents      = "events"
	// ResourceAnalysisRuns is watched only when Options.AnalysisRuns is set.
	ResourceAnalysisRuns = "analysisruns"
	// ResourceApplications (Argo CD's) is watched only when
	// Options.ArgoCD.Applications is set.
	ResourceApplications = "applications"
)

// Index names on the informers' caches. They let the Store find one rollout's
// objects without scanning its namespace.
const (
	// byRollout maps a ReplicaSet to "namespace/rollout" of its controlling
	// Rollout, and an Event to "namespace/name" of the Rollout it is about.
	byRollout = "roost-watch-rollout"
	// byReplicaSet maps a pod to "namespace/replicaset" of its controller.
	byReplicaSet = "roost-watch-replicaset"
	// byAppName maps a Rollout to the name of the Argo CD Application its
	// tracking mark names, and an Application to its name.
	byAppName = "roost-watch-app-name"
)

// Options scope a Watcher.
type Options struct {
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
	// Pods reads the pods' watches straight into Pod (NewPodClient); nil
	// watches them with Kube's typed client (a fake one, in tests) and
	// converts each pod.
	Pods *PodClient
	// Namespace limits every informer to one namespace; "" watches all (-A).
	Namespace string
	// LabelSelector selects Rollouts (kubectl syntax); "" selects all.
	LabelSelector string
	// Clock paces WaitDirty and stamps Health; nil is the real clock.
	Clock clock.Clock
	// FullObjects keeps everything of Rollouts, ReplicaSets and Events but
	// managedFields and the last-applied annotation in the caches, and pods'
	// annotations. Set it when the reconciler shares these informers: it
	// writes ReplicaSets back with Update (a trimmed template would be
	// written too) and reads pod annotations. The dashboard alone leaves it
	// false and caches only what it shows.
	FullObjects bool
	// Resync re-delivers every cached object at this period; 0 (the
	// dashboard's choice) never does. Handlers skip re-deliveries of
	// unchanged objects either way.
	Resync time.Duration
	// AnalysisRuns adds an informer of AnalysisRuns (argoproj.io/v1alpha1),
	// indexed by the Rollout that owns each. Set it only where the
	// AnalysisRun CRD is installed: a watch of a missing resource fails.
	AnalysisRuns bool
	// WantedRunsOnly, when set and FullObjects is not, lists the
	// AnalysisRuns in full once, then follows only the runs of the
	// rollouts SetWanted names (see lightRuns): a dashboard's, which shows
	// only some rollouts' runs at a time. There is then no informer of
	// AnalysisRuns.
	WantedRunsOnly bool
	// ArgoCD says how to tell the Argo CD Application of each rollout; nil
	// tracks by the annotation and DefaultInstanceLabel and reads no
	// Applications.
	ArgoCD *ArgoCDOptions
}

// ArgoCDOptions: how a Watcher learns which Argo CD Application deploys each
// rollout.
type ArgoCDOptions struct {
	// InstanceLabel is the label of Argo CD's label tracking; "" turns
	// label tracking off (see AppTracker).
	InstanceLabel string
	// Applications is a client of the cluster where Argo CD keeps its
	// Applications (this one or another); nil reads none. Set it only where
	// the Application resource is served and may be listed and watched in
	// ApplicationNamespace: a watch of a missing resource fails.
	Applications dynamic.Interface
	// ApplicationNamespace limits the watch of Applications to one
	// namespace (Argo CD's own); "" watches every namespace (apps in any
	// namespace).
	ApplicationNamespace string
	// ArgoNamespace is Argo CD's own namespace, where a tracking mark
	// without a namespace points ("" is DefaultArgoCDNamespace).
	ArgoNamespace string
}

// Watcher owns the shared informers of one scope and turns their callbacks
// into coalesced "these rollouts changed" notices. Its callbacks never block.
//
// The reconciler can share the informers instead of building its own: built
// with FullObjects, it adds its handlers and indexers through the accessors
// before Start, and reads through the listers. Each informer runs once, however
// often Start is called.
type Watcher struct {
	clock clock.Clock

	startOnce sync.Once

	rolloutInformer cache.SharedIndexInformer
	rolloutLister   cache.GenericLister
	rsInformer      cache.SharedIndexInformer
	rsLister        appslisters.ReplicaSetLister
	podInformer     cache.SharedIndexInformer
	eventInformer   cache.SharedIndexInformer
	// runInformer is set when Options.AnalysisRuns, unless
	// Options.WantedRunsOnly sets light instead.
	runInformer cache.SharedIndexInformer
	light       *lightRuns
	// appInformer is nil unless Options.ArgoCD.Applications; tracker tells
	// a rollout's Application.
	appInformer cache.SharedIndexInformer
	tracker     AppTracker
	// decoded holds, per rollout, its Rollout decoded at the cached
	// resourceVersion (see Rollout).
	decoded sync.Map

	dirty  *dirtySet
	health *healthTracker
	// handled are the registrations of the Watcher's own handlers: once
	// they have synced, every object listed first is marked dirty.
	handled []cache.ResourceEventHandlerRegistration
}

// New builds the informers of one scope; Start runs them. Nothing is listed
// before Start, and the informers may still be shared (see the accessors)
// until then.
func New(o Options) (*Watcher, error) {
	if o.Kube == nil || o.Dynamic == nil {
		return nil, errors.New("watch: Options needs both Kube and Dynamic clients")
	}
	if o.LabelSelector != "" {
		if _, err := labels.Parse(o.LabelSelector); err != nil {
			return nil, fmt.Errorf("watch: rollout selector %q: %w; use kubectl's syntax, e.g. app=shop", o.LabelSelector, err)
		}
	}
	clk := o.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	w := &Watcher{clock: clk, dirty: newDirtySet(), tracker: DefaultAppTracker}
	argo := o.ArgoCD
	if argo != nil {
		w.tracker = AppTracker{InstanceLabel: argo.InstanceLabel}
		if argo.Applications != nil {
			w.tracker.Apps = &cachedApps{w: w, argoNamespace: cmp.Or(argo.ArgoNamespace, DefaultArgoCDNamespace)}
		}
	}
	w.health = newHealthTracker(clk, w.dirty.wakeHealth)
	t := transforms(o.FullObjects)
	ns := o.Namespace
	dyn := o.Dynamic.Resource(v1alpha1.RolloutGVR)

	// Only ReplicaSets and pods with the pod-template-hash label can belong to a
	// Rollout (roost and Argo Rollouts set it on both), so a namespace full of
	// Deployments' pods is neither listed nor cached. Of Events, the API server
	// sends only those about Rollouts.
	byHash := func(lo *metav1.ListOptions) { lo.LabelSelector = v1alpha1.DefaultRolloutUniqueLabelKey }
	aboutRollouts := func(lo *metav1.ListOptions) { lo.FieldSelector = "involvedObject.kind=" + v1alpha1.Kind }
	selected := func(lo *metav1.ListOptions) { lo.LabelSelector = o.LabelSelector }

	type wiring struct {
		resource  string
		example   runtime.Object
		client    any
		list      listFunc
		watch     watchFunc
		tweak     func(*metav1.ListOptions)
		transform cache.TransformFunc
		indexers  cache.Indexers
		keys      func(obj any) []Key
		informer  *cache.SharedIndexInformer
		// handler replaces the usual one (see Watcher.handler).
		handler cache.ResourceEventHandler
	}
	runs := o.Dynamic.Resource(v1alpha1.AnalysisRunGVR)
	wirings := []wiring{
		{ResourceRollouts, &unstructured.Unstructured{}, o.Dynamic,
			func(ctx context.Context, lo metav1.ListOptions) (runtime.Object, error) {
				return dyn.Namespace(ns).List(ctx, lo)
			},
			func(ctx context.Context, lo metav1.ListOptions) (apiwatch.Interface, error) {
				return dyn.Namespace(ns).Watch(ctx, lo)
			},
			selected, t.rollout, cache.Indexers{byAppName: w.indexRolloutByApp}, rolloutKeys, &w.rolloutInformer, nil},
		{ResourceReplicaSets, &appsv1.ReplicaSet{}, o.Kube,
			func(ctx context.Context, lo metav1.ListOptions) (runtime.Object, error) {
				return o.Kube.AppsV1().ReplicaSets(ns).List(ctx, lo)
			},
			func(ctx context.Context, lo metav1.ListOptions) (apiwatch.Interface, error) {
				return o.Kube.AppsV1().ReplicaSets(ns).Watch(ctx, lo)
			},
			byHash, t.replicaSet, cache.Indexers{byRollout: indexReplicaSetByRollout}, replicaSetKeys, &w.rsInformer, nil},
		// The pods' watch delivers *Pod (PodClient); a list, the
		// reflector's fallback, corev1.Pod, which the transform trims.
		{ResourcePods, &Pod{}, o.Kube,
			func(ctx context.Context, lo metav1.ListOptions) (runtime.Object, error) {
				return o.Kube.CoreV1().Pods(ns).List(ctx, lo)
			},
			func(ctx context.Context, lo metav1.ListOptions) (apiwatch.Interface, error) {
				if o.Pods != nil {
					return o.Pods.Watch(ctx, ns, lo, o.FullObjects)
				}
				w, err := o.Kube.CoreV1().Pods(ns).Watch(ctx, lo)
				if err != nil {
					return nil, err
				}
				return podWatchOf(w, o.FullObjects), nil
			},
			byHash, t.pod, cache.Indexers{byReplicaSet: indexPodByReplicaSet}, w.podKeys, &w.podInformer, nil},
		{ResourceEvents, &corev1.Event{}, o.Kube,
			func(ctx context.Context, lo metav1.ListOptions) (runtime.Object, error) {
				return o.Kube.CoreV1().Events(ns).List(ctx, lo)
			},
			func(ctx context.Context, lo metav1.ListOptions) (apiwatch.Interface, error) {
				return o.Kube.CoreV1().Events(ns).Watch(ctx, lo)
			},
			aboutRollouts, t.event, cache.Indexers{byRollout: indexEventByRollout}, eventKeys, &w.eventInformer, nil},
	}
	switch {
	case o.AnalysisRuns && o.WantedRunsOnly && !o.FullObjects:
		w.light = newLightRuns(o.Dynamic, ns, w.dirty, w.health, w.podHashes)
		w.health.track(ResourceAnalysisRuns)
	case o.AnalysisRuns:
		wirings = append(wirings, wiring{ResourceAnalysisRuns, &unstructured.Unstructured{}, o.Dynamic,
			func(ctx context.Context, lo metav1.ListOptions) (runtime.Object, error) {
				return runs.Namespace(ns).List(ctx, lo)
			},
			func(ctx context.Context, lo metav1.ListOptions) (apiwatch.Interface, error) {
				return runs.Namespace(ns).Watch(ctx, lo)
			},
			func(*metav1.ListOptions) {}, TrimRollout, cache.Indexers{byRollout: indexRunByRollout}, runKeys, &w.runInformer, nil})
	}
	if argo != nil && argo.Applications != nil {
		apps := argo.Applications.Resource(ApplicationGVR)
		appNS := argo.ApplicationNamespace
		wirings = append(wirings, wiring{ResourceApplications, &unstructured.Unstructured{}, argo.Applications,
			func(ctx context.Context, lo metav1.ListOptions) (runtime.Object, error) {
				return apps.Namespace(appNS).List(ctx, lo)
			},
			func(ctx context.Context, lo metav1.ListOptions) (apiwatch.Interface, error) {
				return apps.Namespace(appNS).Watch(ctx, lo)
			},
			func(*metav1.ListOptions) {}, TrimApplication, cache.Indexers{byAppName: indexAppByName}, w.appKeys, &w.appInformer, nil})
	}
	for _, x := range wirings {
		indexers := cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}
		for k, f := range x.indexers {
			indexers[k] = f
		}
		lw := w.listWatch(x.resource, x.list, x.watch, x.tweak)
		inf := cache.NewSharedIndexInformerWithOptions(cache.ToListWatcherWithWatchListSemantics(lw, x.client), x.example,
			cache.SharedIndexInformerOptions{Indexers: indexers, ObjectDescription: x.resource, ResyncPeriod: o.Resync})
		if err := inf.SetTransform(x.transform); err != nil {
			return nil, fmt.Errorf("watch: %s transform: %w", x.resource, err)
		}
		resource := x.resource
		if err := inf.SetWatchErrorHandlerWithContext(func(ctx context.Context, r *cache.Reflector, err error) {
			// Keep client-go's logging of the error (to the log file), and
			// show it unless it is a routine end of a watch.
			cache.DefaultWatchErrorHandler(ctx, r, err)
			if !routineWatchEnd(err) {
				w.health.failed(resource, err)
			}
		}); err != nil {
			return nil, fmt.Errorf("watch: %s error handler: %w", x.resource, err)
		}
		h := x.handler
		if h == nil {
			h = w.handler(x.keys)
		}
		if x.resource == ResourceRollouts && w.light != nil {
			// A rollout on screen with a new revision has new runs to
			// follow.
			h = andThen(h, func(obj any) {
				for _, k := range rolloutKeys(obj) {
					w.light.rolloutChanged(k)
				}
			})
		}
		reg, err := inf.AddEventHandler(h)
		if err != nil {
			return nil, fmt.Errorf("watch: %s handler: %w", x.resource, err)
		}
		w.handled = append(w.handled, reg)
		w.health.track(resource)
		*x.informer = inf
	}
	w.rolloutLister = cache.NewGenericLister(w.rolloutInformer.GetIndexer(), v1alpha1.RolloutGVR.GroupResource())
	w.rsLister = appslisters.NewReplicaSetLister(w.rsInformer.GetIndexer())
	return w, nil
}

// routineWatchEnd reports whether err is how watches normally end: the
// server closed the stream or its resource version expired. The reflector
// relists at once; a failing relist is recorded by listWatch.
func routineWatchEnd(err error) bool {
	return apierrors.IsResourceExpired(err) || apierrors.IsGone(err) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

type (
	listFunc  = func(context.Context, metav1.ListOptions) (runtime.Object, error)
	watchFunc = func(context.Context, metav1.ListOptions) (apiwatch.Interface, error)
)

// listWatch scopes list and watch calls with tweak and reports their outcome
// to Health: a failed call (the API server is away, a 403...) makes the
// resource Reconnecting, a successful one Connected again. The reflector
// retries a refused watch without telling anyone, so this is where an
// unreachable API server shows.
func (w *Watcher) listWatch(resource string, list listFunc, watch watchFunc, tweak func(*metav1.ListOptions)) *cache.ListWatch {
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, lo metav1.ListOptions) (runtime.Object, error) {
			tweak(&lo)
			obj, err := list(ctx, lo)
			w.health.record(resource, err)
			return obj, err
		},
		WatchFuncWithContext: func(ctx context.Context, lo metav1.ListOptions) (apiwatch.Interface, error) {
			tweak(&lo)
			wi, err := watch(ctx, lo)
			w.health.record(resource, err)
			return wi, err
		},
	}
}

// handler marks the rollouts an object maps to as dirty. It only takes a
// short lock and does a non-blocking send, so it never holds up the informer.
func (w *Watcher) handler(keys func(any) []Key) cache.ResourceEventHandler {
	mark := func(obj any) { w.dirty.add(keys(obj)...) }
	return cache.ResourceEventHandlerFuncs{
		AddFunc: mark,
		UpdateFunc: func(old, cur any) {
			// A relist re-delivers unchanged objects: nothing to re-derive.
			if o, c := metaOf(old), metaOf(cur); o != nil && c != nil && c.GetResourceVersion() != "" && o.GetResourceVersion() == c.GetResourceVersion() {
				return
			}
			mark(cur)
		},
		DeleteFunc: mark,
	}
}

// andThen is h, calling also f with the object of each callback.
func andThen(h cache.ResourceEventHandler, f func(obj any)) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { h.OnAdd(obj, false); f(obj) },
		UpdateFunc: func(old, cur any) { h.OnUpdate(old, cur); f(cur) },
		DeleteFunc: func(obj any) { h.OnDelete(obj); f(obj) },
	}
}

// podHashes are the pod-template hashes of rollout k's current and stable
// revisions, as its cached Rollout says.
func (w *Watcher) podHashes(k Key) []string {
	ro, err := w.Rollout(k)
	if err != nil || ro == nil {
		return nil
	}
	return []string{ro.Status.CurrentPodHash, ro.Status.StableRS}
}

// Start runs the informers until ctx is done. It does not wait for them to
// sync; see WaitForCacheSync. Informers already started (by a reconciler that
// shares them) are left alone.
func (w *Watcher) Start(ctx context.Context) {
	w.startOnce.Do(func() {
		for _, inf := range w.informers() {
			go inf.RunWithContext(ctx)
		}
		if w.light != nil {
			go w.light.run(ctx)
		}
	})
}

func (w *Watcher) informers() []cache.SharedIndexInformer {
	infs := []cache.SharedIndexInformer{w.rolloutInformer, w.rsInformer, w.podInformer, w.eventInformer}
	if w.runInformer != nil {
		infs = append(infs, w.runInformer)
	}
	if w.appInformer != nil {
		infs = append(infs, w.appInformer)
	}
	return infs
}

// WaitForCacheSync blocks until every informer has listed once and its
// handlers have marked what it listed dirty (as HasSynced), or ctx is done;
// it reports whether they all synced. It waits on the informers' own
// signals rather than polling them (client-go's WaitForCacheSync looks
// every 100 ms), so the first frame follows the last list at once.
func (w *Watcher) WaitForCacheSync(ctx context.Context) bool {
	return waitAll(ctx, w.syncSignals()...)
}

// syncSignals are closed once every informer has listed, its handlers have
// seen what it listed, and the runs' follower has listed.
func (w *Watcher) syncSignals() []<-chan struct{} {
	var signals []<-chan struct{}
	for _, inf := range w.informers() {
		signals = append(signals, inf.HasSyncedChecker().Done())
	}
	for _, reg := range w.handled {
		signals = append(signals, reg.HasSyncedChecker().Done())
	}
	if w.light != nil {
		signals = append(signals, w.light.listed)
	}
	return signals
}

// WaitAnalysisRunsListed blocks until the AnalysisRuns have been listed, or
// ctx is done; it reports whether they were. A Watcher that does not
// follow AnalysisRuns waits for ctx.
func (w *Watcher) WaitAnalysisRunsListed(ctx context.Context) bool {
	switch {
	case w.light != nil:
		return waitAll(ctx, w.light.listed)
	case w.runInformer != nil:
		return waitAll(ctx, w.runInformer.HasSyncedChecker().Done())
	}
	<-ctx.Done()
	return false
}

// closed says whether ch is closed.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// waitAll waits until every channel of signals is closed, or ctx is done;
// it reports whether they all were.
func waitAll(ctx context.Context, signals ...<-chan struct{}) bool {
	for _, ch := range signals {
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// HasSynced reports whether every informer has listed once, and its
// handlers have marked what it listed dirty.
func (w *Watcher) HasSynced() bool {
	for _, ch := range w.syncSignals() {
		if !closed(ch) {
			return false
		}
	}
	return true
}

// RolloutInformer is the dynamic informer of Rollouts (unstructured objects).
func (w *Watcher) RolloutInformer() cache.SharedIndexInformer { return w.rolloutInformer }

// RolloutLister lists the cached Rollouts as *unstructured.Unstructured.
func (w *Watcher) RolloutLister() cache.GenericLister { return w.rolloutLister }

// ReplicaSetInformer is the informer of ReplicaSets that carry the pod-template hash.
func (w *Watcher) ReplicaSetInformer() cache.SharedIndexInformer { return w.rsInformer }

// ReplicaSetLister lists the cached ReplicaSets.
func (w *Watcher) ReplicaSetLister() appslisters.ReplicaSetLister { return w.rsLister }

// PodInformer is the informer of pods that carry the pod-template hash; its
// cache holds *Pod, what roost keeps of each.
func (w *Watcher) PodInformer() cache.SharedIndexInformer { return w.podInformer }

// EventInformer is the informer of Events about Rollouts.
func (w *Watcher) EventInformer() cache.SharedIndexInformer { return w.eventInformer }

// AnalysisRunInformer is the informer of AnalysisRuns (unstructured
// objects): nil unless the Watcher was built with Options.AnalysisRuns, and
// nil too with Options.WantedRunsOnly, which follows runs without one.
func (w *Watcher) AnalysisRunInformer() cache.SharedIndexInformer { return w.runInformer }

// WatchesAnalysisRuns says whether the Watcher follows AnalysisRuns.
func (w *Watcher) WatchesAnalysisRuns() bool { return w.runInformer != nil || w.light != nil }

// AnalysisRunsListed says whether the AnalysisRuns were listed, and how
// many are known.
func (w *Watcher) AnalysisRunsListed() (n int, listed bool) {
	switch {
	case w.light != nil:
		return w.light.count(), closed(w.light.listed)
	case w.runInformer != nil:
		return len(w.runInformer.GetStore().ListKeys()), w.runInformer.HasSynced()
	}
	return 0, false
}

// SetWanted names the rollouts whose AnalysisRuns are followed with
// Options.WantedRunsOnly: those the dashboard shows. When they change, the
// runs followed are listed again, and the rollouts whose runs changed
// meanwhile are re-derived. Without Options.WantedRunsOnly every run is
// followed and this does nothing. Safe to call from any goroutine; it does
// no I/O.
func (w *Watcher) SetWanted(keys map[Key]bool) {
	if w.light == nil {
		return
	}
	w.light.setWanted(keys)
}

// AnalysisRunsOf returns the known AnalysisRuns owned by the Rollout k (any
// owner reference to it, as `kubectl argo rollouts get` counts them). It
// does no I/O.
func (w *Watcher) AnalysisRunsOf(k Key) []*unstructured.Unstructured {
	if w.light != nil {
		return w.light.runsOf(k)
	}
	if w.runInformer == nil {
		return nil
	}
	objs, err := w.runInformer.GetIndexer().ByIndex(byRollout, k.String())
	if err != nil {
		return nil
	}
	out := make([]*unstructured.Unstructured, 0, len(objs))
	for _, o := range objs {
		if u, ok := o.(*unstructured.Unstructured); ok {
			out = append(out, u)
		}
	}
	return out
}

// AppTracker implements AppSource: the tracking marks roost reads, and the
// watched Applications when there are any.
func (w *Watcher) AppTracker() AppTracker { return w.tracker }

// ApplicationInformer is the dynamic informer of Argo CD Applications, nil
// unless the Watcher was built with Options.ArgoCD.Applications.
func (w *Watcher) ApplicationInformer() cache.SharedIndexInformer { return w.appInformer }

// cachedApps is the AppIndex over the Watcher's Applications.
type cachedApps struct {
	w             *Watcher
	argoNamespace string
}

func (c *cachedApps) Application(ref AppRef) *Application {
	objs, _ := c.w.appInformer.GetIndexer().ByIndex(byAppName, ref.Name)
	named := make([]*Application, 0, len(objs))
	for _, o := range objs {
		if u, ok := o.(*unstructured.Unstructured); ok {
			named = append(named, ApplicationFrom(u))
		}
	}
	return pickApplication(named, ref, c.argoNamespace)
}

// indexRolloutByApp indexes a Rollout by the name of the Application its
// tracking mark names, so that an Application's change re-derives only its
// rollouts.
func (w *Watcher) indexRolloutByApp(obj any) ([]string, error) {
	m := metaOf(obj)
	if m == nil {
		return nil, nil
	}
	t := AppTracker{InstanceLabel: w.tracker.InstanceLabel}
	if a := t.AppOf(m.GetNamespace(), m.GetName(), m.GetAnnotations(), m.GetLabels()); a != nil {
		return []string{a.Name}, nil
	}
	return nil, nil
}

func indexAppByName(obj any) ([]string, error) {
	if m := metaOf(obj); m != nil {
		return []string{m.GetName()}, nil
	}
	return nil, nil
}

// appKeys maps an Application to the rollouts whose tracking mark names an
// Application of its name.
func (w *Watcher) appKeys(obj any) []Key {
	m := metaOf(obj)
	if m == nil {
		return nil
	}
	objs, _ := w.rolloutInformer.GetIndexer().ByIndex(byAppName, m.GetName())
	keys := make([]Key, 0, len(objs))
	for _, o := range objs {
		if r := metaOf(o); r != nil {
			keys = append(keys, Key{Namespace: r.GetNamespace(), Name: r.GetName()})
		}
	}
	return keys
}

// runKeys maps an AnalysisRun to the Rollouts that own it.
func runKeys(obj any) []Key {
	m := metaOf(obj)
	if m == nil {
		return nil
	}
	var keys []Key
	for _, ref := range m.GetOwnerReferences() {
		if ref.Kind == v1alpha1.Kind {
			keys = append(keys, Key{Namespace: m.GetNamespace(), Name: ref.Name})
		}
	}
	return keys
}

func indexRunByRollout(obj any) ([]string, error) {
	keys := runKeys(obj)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.String()
	}
	return out, nil
}

// rolloutKeys maps a Rollout (or its tombstone) to its own key.
func rolloutKeys(obj any) []Key {
	n, err := cache.DeletionHandlingObjectToName(obj)
	if err != nil {
		return nil
	}
	return []Key{n}
}

// replicaSetKeys maps a ReplicaSet to its controlling Rollout.
func replicaSetKeys(obj any) []Key {
	m := metaOf(obj)
	if m == nil {
		return nil
	}
	if ref := metav1.GetControllerOf(m); ref != nil && ref.Kind == v1alpha1.Kind {
		return []Key{{Namespace: m.GetNamespace(), Name: ref.Name}}
	}
	return nil
}

// podKeys maps a pod to the Rollout of its ReplicaSet. The ReplicaSet's owner
// is read from the cache; a pod seen before its ReplicaSet falls back on the
// naming rule of Argo Rollouts: the ReplicaSet is "<rollout>-<pod-template-hash>".
func (w *Watcher) podKeys(obj any) []Key {
	m := metaOf(obj)
	if m == nil {
		return nil
	}
	ref := metav1.GetControllerOf(m)
	if ref == nil || ref.Kind != "ReplicaSet" {
		return nil
	}
	if rs, err := w.rsLister.ReplicaSets(m.GetNamespace()).Get(ref.Name); err == nil {
		if rs.UID == ref.UID || ref.UID == "" {
			return replicaSetKeys(rs)
		}
	}
	hash := m.GetLabels()[v1alpha1.DefaultRolloutUniqueLabelKey]
	if name, ok := strings.CutSuffix(ref.Name, "-"+hash); ok && hash != "" && name != "" {
		return []Key{{Namespace: m.GetNamespace(), Name: name}}
	}
	return nil
}

// eventKeys maps an Event to the Rollout it is about.
func eventKeys(obj any) []Key {
	e, ok := unwrap(obj).(*corev1.Event)
	if !ok || e.InvolvedObject.Kind != v1alpha1.Kind {
		return nil
	}
	ns := e.InvolvedObject.Namespace
	if ns == "" {
		ns = e.Namespace
	}
	return []Key{{Namespace: ns, Name: e.InvolvedObject.Name}}
}

func indexReplicaSetByRollout(obj any) ([]string, error) {
	var out []string
	for _, k := range replicaSetKeys(obj) {
		out = append(out, k.String())
	}
	return out, nil
}

func indexPodByReplicaSet(obj any) ([]string, error) {
	m := metaOf(obj)
	if m == nil {
		return nil, nil
	}
	if ref := metav1.GetControllerOf(m); ref != nil && ref.Kind == "ReplicaSet" {
		return []string{Key{Namespace: m.GetNamespace(), Name: ref.Name}.String()}, nil
	}
	return nil, nil
}

func indexEventByRollout(obj any) ([]string, error) {
	var out []string
	for _, k := range eventKeys(obj) {
		out = append(out, k.String())
	}
	return out, nil
}

// unwrap returns the last known object of a tombstone, or obj itself.
func unwrap(obj any) any {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return t.Obj
	}
	return obj
}

func metaOf(obj any) metav1.Object {
	m, ok := unwrap(obj).(metav1.Object)
	if !ok {
		return nil
	}
	return m
}

// Connection says whether the watches are live.
type Connection string

// Connection states.
const (
	Connected    Connection = "Connected"
	Reconnecting Connection = "Reconnecting"
)

// Health is the state of the watches, for the dashboard's header.
type Health struct {
	State Connection
	// Resource, LastError and Since describe the oldest failing watch when
	// Reconnecting: which resource, the error it last returned, and since when
	// it has been failing.
	Resource  string
	LastError error
	Since     time.Time
}

// Health reports whether every watch is connected. A failed list or watch
// makes its resource Reconnecting until a list or watch call succeeds again.
func (w *Watcher) Health() Health { return w.health.get() }

// healthTracker records list and watch errors per resource.
type healthTracker struct {
	clock  clock.Clock
	notify func()

	mu        sync.Mutex
	resources map[string]*resourceHealth
}

type resourceHealth struct {
	err   error
	since time.Time
}

func newHealthTracker(clk clock.Clock, notify func()) *healthTracker {
	return &healthTracker{clock: clk, notify: notify, resources: map[string]*resourceHealth{}}
}

func (h *healthTracker) track(resource string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.resources[resource] = &resourceHealth{}
}

// record notes the outcome of a list or watch call.
func (h *healthTracker) record(resource string, err error) {
	if err != nil {
		h.failed(resource, err)
		return
	}
	h.ok(resource)
}

func (h *healthTracker) failed(resource string, err error) {
	if errors.Is(err, context.Canceled) {
		// Shutting down, not failing.
		return
	}
	h.mu.Lock()
	r := h.resources[resource]
	if r == nil {
		h.mu.Unlock()
		return
	}
	if r.err == nil {
		r.since = h.clock.Now()
	}
	r.err = err
	h.mu.Unlock()
	h.notify()
}

// ok clears resource's error, and wakes the dashboard only if there was one.
func (h *healthTracker) ok(resource string) {
	h.mu.Lock()
	r := h.resources[resource]
	cleared := r != nil && r.err != nil
	if cleared {
		r.err, r.since = nil, time.Time{}
	}
	h.mu.Unlock()
	if cleared {
		h.notify()
	}
}

func (h *healthTracker) get() Health {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := Health{State: Connected}
	for name, r := range h.resources {
		if r.err == nil {
			continue
		}
		if out.State == Connected || r.since.Before(out.Since) || (r.since.Equal(out.Since) && name < out.Resource) {
			out = Health{State: Reconnecting, Resource: name, LastError: r.err, Since: r.since}
		}
	}
	return out
}

// replicaSetsOf, podsOf and eventsOf read one rollout's objects from the
// indexed caches.
func (w *Watcher) replicaSetsOf(k Key) []*appsv1.ReplicaSet {
	objs, _ := w.rsInformer.GetIndexer().ByIndex(byRollout, k.String())
	out := make([]*appsv1.ReplicaSet, 0, len(objs))
	for _, o := range objs {
		if rs, ok := o.(*appsv1.ReplicaSet); ok {
			out = append(out, rs)
		}
	}
	return out
}

func (w *Watcher) podsOf(rss []*appsv1.ReplicaSet) []*Pod {
	var out []*Pod
	for _, rs := range rss {
		objs, _ := w.podInformer.GetIndexer().ByIndex(byReplicaSet, Key{Namespace: rs.Namespace, Name: rs.Name}.String())
		for _, o := range objs {
			if p, ok := o.(*Pod); ok {
				out = append(out, p)
			}
		}
	}
	return out
}

func (w *Watcher) eventsOf(k Key) []*corev1.Event {
	objs, _ := w.eventInformer.GetIndexer().ByIndex(byRollout, k.String())
	out := make([]*corev1.Event, 0, len(objs))
	for _, o := range objs {
		if e, ok := o.(*corev1.Event); ok {
			out = append(out, e)
		}
	}
	return out
}
