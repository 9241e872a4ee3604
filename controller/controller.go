package controller

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	appslisters "k8s.io/client-go/listers/apps/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/roost-dev/roost/analysis"
	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/watch"
)

// Config wires a Controller to a cluster.
type Config struct {
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
	// Pods, when the reconciler builds its own Watcher, reads the pods'
	// watches (watch.Options.Pods).
	Pods *watch.PodClient
	// Namespace limits every informer to one namespace; "" watches all.
	Namespace string
	// Selector is a label selector on Rollouts; "" reconciles all of them.
	Selector string
	// Clock is the time source of pauses, deadlines and the workqueue; nil is the
	// real clock.
	Clock clock.WithTicker
	// Recorder records Events on Rollouts; nil builds one that sends them to the
	// API server as component "roost".
	Recorder record.EventRecorder
	// Metrics receives the controller's Prometheus metrics; nil registers none.
	Metrics prometheus.Registerer
	// Resync is the informers' resync period; 0 disables resyncs.
	Resync time.Duration
	// Watcher, when set, is the informer set the reconciler shares with a
	// dashboard: built with FullObjects (the reconciler writes ReplicaSets
	// back from the cache) and started by its owner, which keeps it running
	// across leadership terms. Kube, Dynamic, Namespace, Selector and Resync
	// are then the Watcher's. When nil, the reconciler builds its own and
	// runs it for the length of Run.
	Watcher *watch.Watcher
	// AnalysisRuns, when the reconciler builds its own Watcher, watches
	// AnalysisRuns too; set it when the cluster has the resource. A shared
	// Watcher says so itself (watch.Options.AnalysisRuns).
	AnalysisRuns bool
	// Providers take the AnalysisRuns' measurements (Datadog, web). The
	// runs are measured by this controller, under the same lease; a
	// provider left nil makes its metrics an Error that says so.
	Providers analysis.Providers
	// Gate is roost's judge as a gate for canaries without analysis; nil
	// leaves the judge's verdicts to people.
	Gate *analysis.Gate
}

// Index names of the ReplicaSet and Pod informers.
const (
	// byControllerUID maps an object to the UID of its controller, and an orphan
	// to orphanIndexKey(namespace), so that a sync finds a Rollout's ReplicaSets
	// (and a ReplicaSet's pods) without scanning the namespace.
	byControllerUID = "roost-controller-uid"
)

// Controller reconciles Rollouts.
type Controller struct {
	kube     kubernetes.Interface
	rollouts dynamic.NamespaceableResourceInterface

	rolloutInformer cache.SharedIndexInformer
	rolloutLister   cache.GenericLister
	rsInformer      cache.SharedIndexInformer
	rsLister        appslisters.ReplicaSetLister
	podInformer     cache.SharedIndexInformer
	hasSynced       []cache.InformerSynced

	// runInformer is the AnalysisRun informer, nil when the cluster has no
	// AnalysisRun resource (a Rollout with analysis is then invalid). runs,
	// templates and clusterTemplates write runs and read templates.
	runInformer      cache.SharedIndexInformer
	runs             dynamic.NamespaceableResourceInterface
	templates        dynamic.NamespaceableResourceInterface
	clusterTemplates dynamic.NamespaceableResourceInterface

	// watcher holds the informers; ownWatcher is set when Run must start it.
	watcher    *watch.Watcher
	ownWatcher bool
	// handlers are this controller's registrations on the informers, removed
	// when Run ends so that the next term's controller starts clean.
	handlers    []handlerRegistration
	broadcaster record.EventBroadcaster

	queue    workqueue.TypedRateLimitingInterface[cache.ObjectName]
	recorder record.EventRecorder
	clock    clock.WithTicker
	metrics  *syncMetrics
	decoded  *decodeCache
	// stale remembers, per Rollout, the resourceVersion its last write was
	// based on: until the cache shows a newer one, a sync would act on a
	// status that no longer holds (and, say, create a second AnalysisRun
	// for a step whose run it already recorded), so it waits instead.
	staleMu sync.Mutex
	stale   map[cache.ObjectName]string
	// runCtrl measures the AnalysisRuns; nil without the resource.
	runCtrl *analysis.RunController
	gate    *analysis.Gate
}

// New builds a Controller and its informers; Run starts them.
func New(cfg Config) (*Controller, error) {
	if cfg.Kube == nil || cfg.Dynamic == nil {
		return nil, errors.New("controller: Config needs both Kube and Dynamic clients")
	}
	if cfg.Selector != "" {
		if _, err := labels.Parse(cfg.Selector); err != nil {
			return nil, fmt.Errorf("controller: rollout selector %q: %w; use kubectl's syntax, e.g. app=shop", cfg.Selector, err)
		}
	}
	clk := cfg.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	m, err := newSyncMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	c := &Controller{
		kube:     cfg.Kube,
		rollouts: cfg.Dynamic.Resource(v1alpha1.RolloutGVR),
		runs:     cfg.Dynamic.Resource(v1alpha1.AnalysisRunGVR),
		// Templates are read when a run is created, not watched.
		templates:        cfg.Dynamic.Resource(v1alpha1.AnalysisTemplateGVR),
		clusterTemplates: cfg.Dynamic.Resource(v1alpha1.ClusterAnalysisTemplateGVR),
		clock:            clk,
		metrics:          m,
		decoded:          newDecodeCache(),
		gate:             cfg.Gate,
		stale:            map[cache.ObjectName]string{},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.DefaultTypedControllerRateLimiter[cache.ObjectName](),
			workqueue.TypedRateLimitingQueueConfig[cache.ObjectName]{Name: "rollouts", Clock: clk},
		),
	}

	// The watch package's informers list only ReplicaSets and Pods that carry
	// the pod-template-hash label (roost and Argo put it on both), which keeps
	// the caches small in busy namespaces.
	c.watcher = cfg.Watcher
	if c.watcher == nil {
		w, err := watch.New(watch.Options{
			Kube: cfg.Kube, Dynamic: cfg.Dynamic, Pods: cfg.Pods, Namespace: cfg.Namespace, LabelSelector: cfg.Selector,
			Clock: clk, FullObjects: true, Resync: cfg.Resync, AnalysisRuns: cfg.AnalysisRuns,
		})
		if err != nil {
			return nil, fmt.Errorf("controller: %w", err)
		}
		c.watcher, c.ownWatcher = w, true
	}
	c.rolloutInformer = c.watcher.RolloutInformer()
	c.rolloutLister = c.watcher.RolloutLister()
	c.rsInformer = c.watcher.ReplicaSetInformer()
	c.rsLister = c.watcher.ReplicaSetLister()
	c.podInformer = c.watcher.PodInformer()
	c.runInformer = c.watcher.AnalysisRunInformer()
	indexed := []cache.SharedIndexInformer{c.rsInformer, c.podInformer}
	if c.runInformer != nil {
		indexed = append(indexed, c.runInformer)
	}
	for _, inf := range indexed {
		// A shared informer keeps the index from an earlier term.
		if _, ok := inf.GetIndexer().GetIndexers()[byControllerUID]; ok {
			continue
		}
		if err := inf.AddIndexers(cache.Indexers{byControllerUID: indexByControllerUID}); err != nil {
			return nil, fmt.Errorf("controller: add index: %w", err)
		}
	}
	c.hasSynced = []cache.InformerSynced{c.rolloutInformer.HasSynced, c.rsInformer.HasSynced, c.podInformer.HasSynced}
	if c.runInformer != nil {
		c.hasSynced = append(c.hasSynced, c.runInformer.HasSynced)
		if err := c.addHandler(c.runInformer, cache.ResourceEventHandlerFuncs{
			AddFunc:    c.enqueueRunOwner,
			UpdateFunc: func(old, cur any) { c.onUpdate(old, cur, c.enqueueRunOwner) },
			DeleteFunc: c.enqueueRunOwner,
		}); err != nil {
			return nil, fmt.Errorf("controller: analysisrun handler: %w", err)
		}
	}

	if err := c.addHandler(c.rolloutInformer, cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueueRollout,
		UpdateFunc: func(old, cur any) { c.onUpdate(old, cur, c.enqueueRollout) },
		DeleteFunc: func(obj any) {
			if name, err := cache.DeletionHandlingObjectToName(obj); err == nil {
				c.decoded.forget(name)
				c.staleMu.Lock()
				delete(c.stale, name)
				c.staleMu.Unlock()
			}
			c.enqueueRollout(obj)
		},
	}); err != nil {
		return nil, fmt.Errorf("controller: rollout handler: %w", err)
	}
	if err := c.addHandler(c.rsInformer, cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueueReplicaSetOwner,
		UpdateFunc: func(old, cur any) { c.onUpdate(old, cur, c.enqueueReplicaSetOwner) },
		DeleteFunc: c.enqueueReplicaSetOwner,
	}); err != nil {
		return nil, fmt.Errorf("controller: replicaset handler: %w", err)
	}
	if err := c.addHandler(c.podInformer, cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueuePodOwner,
		UpdateFunc: func(old, cur any) { c.onUpdate(old, cur, c.enqueuePodOwner) },
		DeleteFunc: c.enqueuePodOwner,
	}); err != nil {
		return nil, fmt.Errorf("controller: pod handler: %w", err)
	}

	if cfg.Recorder != nil {
		c.recorder = cfg.Recorder
	} else {
		c.broadcaster = record.NewBroadcaster()
		c.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: cfg.Kube.CoreV1().Events("")})
		c.recorder = c.broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "roost"})
	}
	if c.runInformer != nil {
		c.runCtrl, err = analysis.NewRunController(analysis.ControllerConfig{
			Dynamic: cfg.Dynamic, Kube: cfg.Kube, Informer: c.runInformer, Providers: cfg.Providers,
			Clock: clk, Recorder: c.recorder,
		})
		if err != nil {
			return nil, fmt.Errorf("controller: %w", err)
		}
	}
	return c, nil
}

type handlerRegistration struct {
	informer     cache.SharedIndexInformer
	registration cache.ResourceEventHandlerRegistration
}

func (c *Controller) addHandler(inf cache.SharedIndexInformer, h cache.ResourceEventHandler) error {
	reg, err := inf.AddEventHandler(h)
	if err != nil {
		return err
	}
	c.handlers = append(c.handlers, handlerRegistration{inf, reg})
	return nil
}

// removeHandlers detaches this controller from shared informers: a later
// term's controller must be the only one enqueueing.
func (c *Controller) removeHandlers() {
	for _, h := range c.handlers {
		_ = h.informer.RemoveEventHandler(h.registration)
	}
	c.handlers = nil
}

// HasSynced reports whether every informer has listed once.
func (c *Controller) HasSynced() bool {
	for _, s := range c.hasSynced {
		if !s() {
			return false
		}
	}
	return true
}

// Run starts the informers, waits for their caches, and runs workers until ctx
// is done; then it shuts the queue down and waits for the workers to finish the
// item they hold.
func (c *Controller) Run(ctx context.Context, workers int) error {
	defer utilruntime.HandleCrash()
	defer func() {
		if c.broadcaster != nil {
			c.broadcaster.Shutdown()
		}
	}()
	if workers < 1 {
		workers = 1
	}
	defer c.removeHandlers()
	if c.ownWatcher {
		c.watcher.Start(ctx)
	}

	if !cache.WaitForCacheSync(ctx.Done(), c.hasSynced...) {
		c.queue.ShutDown()
		if ctx.Err() != nil {
			return nil
		}
		return errors.New("controller: informer caches did not sync")
	}
	var wg sync.WaitGroup
	if c.runCtrl != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.runCtrl.Run(ctx, workers); err != nil {
				utilruntime.HandleErrorWithContext(ctx, err, "analysis runs")
			}
		}()
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wait.UntilWithContext(ctx, c.runWorker, time.Second)
		}()
	}
	<-ctx.Done()
	c.queue.ShutDown()
	wg.Wait()
	return nil
}

func (c *Controller) runWorker(ctx context.Context) {
	for c.processNextWorkItem(ctx) {
	}
}

func (c *Controller) processNextWorkItem(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	if err := c.syncTimed(ctx, key); err != nil {
		// A conflict only means the cache was behind a write (the ReplicaSet
		// controller updates status all the time): retry quietly on fresh data.
		if !apierrors.IsConflict(err) {
			utilruntime.HandleErrorWithContext(ctx, err, "syncing rollout", "rollout", key.String())
		}
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	return true
}

// SyncOnce runs one sync of one Rollout from the informers' caches, as a worker
// would; a later step it asks for is left in the workqueue.
func (c *Controller) SyncOnce(ctx context.Context, namespace, name string) error {
	return c.syncTimed(ctx, cache.ObjectName{Namespace: namespace, Name: name})
}

func (c *Controller) syncTimed(ctx context.Context, key cache.ObjectName) (err error) {
	start := c.clock.Now()
	defer func() {
		// One Rollout that trips a bug must not stop the reconciler (in the
		// dashboard, the whole program) for every other Rollout: report it as a
		// failed sync, retried with backoff.
		if p := recover(); p != nil {
			err = fmt.Errorf("rollout %s: sync panicked: %v", key, p)
		}
		c.metrics.observe(err, c.clock.Since(start))
	}()
	return c.sync(ctx, key)
}

// onUpdate skips the periodic resync of an unchanged object: nothing to do.
func (c *Controller) onUpdate(old, cur any, enqueue func(any)) {
	o, ok1 := old.(metav1.Object)
	n, ok2 := cur.(metav1.Object)
	if ok1 && ok2 && o.GetResourceVersion() == n.GetResourceVersion() {
		return
	}
	enqueue(cur)
}

func (c *Controller) enqueueRollout(obj any) {
	name, err := cache.DeletionHandlingObjectToName(obj)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	c.queue.Add(name)
}

// enqueueAfter asks for a sync of key at now+d: how timed pauses and progress
// deadlines wake up without polling.
func (c *Controller) enqueueAfter(key cache.ObjectName, d time.Duration) {
	c.queue.AddAfter(key, d)
}

func metaOf(obj any) metav1.Object {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil
	}
	return m
}

// enqueueReplicaSetOwner enqueues the Rollout that controls a ReplicaSet, or for
// an orphan every Rollout in its namespace whose selector matches it (adoption).
func (c *Controller) enqueueReplicaSetOwner(obj any) {
	m := metaOf(obj)
	if m == nil {
		return
	}
	if ref := metav1.GetControllerOf(m); ref != nil {
		if isRolloutRef(ref) {
			c.queue.Add(cache.ObjectName{Namespace: m.GetNamespace(), Name: ref.Name})
		}
		return
	}
	objs, err := c.rolloutLister.ByNamespace(m.GetNamespace()).List(labels.Everything())
	if err != nil {
		return
	}
	for _, o := range objs {
		u, ok := o.(*unstructured.Unstructured)
		if !ok {
			continue
		}
		sel, found, _ := unstructured.NestedMap(u.Object, "spec", "selector")
		if !found {
			continue
		}
		ls := &metav1.LabelSelector{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(sel, ls); err != nil {
			continue
		}
		s, err := metav1.LabelSelectorAsSelector(ls)
		if err != nil || s.Empty() || !s.Matches(labels.Set(m.GetLabels())) {
			continue
		}
		c.queue.Add(cache.ObjectName{Namespace: u.GetNamespace(), Name: u.GetName()})
	}
}

// enqueueRunOwner enqueues the Rollout that controls an AnalysisRun: a run's
// phase moving is what completes an analysis step or aborts a canary.
func (c *Controller) enqueueRunOwner(obj any) {
	m := metaOf(obj)
	if m == nil {
		return
	}
	if ref := metav1.GetControllerOf(m); ref != nil && isRolloutRef(ref) {
		c.queue.Add(cache.ObjectName{Namespace: m.GetNamespace(), Name: ref.Name})
	}
}

// enqueuePodOwner follows pod → ReplicaSet → Rollout.
func (c *Controller) enqueuePodOwner(obj any) {
	m := metaOf(obj)
	if m == nil {
		return
	}
	ref := metav1.GetControllerOf(m)
	if ref == nil || ref.Kind != "ReplicaSet" {
		return
	}
	rs, err := c.rsLister.ReplicaSets(m.GetNamespace()).Get(ref.Name)
	if err != nil || rs.UID != ref.UID {
		return
	}
	if rref := metav1.GetControllerOf(rs); rref != nil && isRolloutRef(rref) {
		c.queue.Add(cache.ObjectName{Namespace: rs.Namespace, Name: rref.Name})
	}
}

func isRolloutRef(ref *metav1.OwnerReference) bool {
	return ref.Kind == v1alpha1.Kind && (ref.APIVersion == v1alpha1.SchemeGroupVersion.String() || ref.APIVersion == v1alpha1.Group)
}

func orphanIndexKey(namespace string) string { return "orphan/" + namespace }

func indexByControllerUID(obj any) ([]string, error) {
	m := metaOf(obj)
	if m == nil {
		return nil, nil
	}
	if ref := metav1.GetControllerOf(m); ref != nil {
		return []string{string(ref.UID)}, nil
	}
	return []string{orphanIndexKey(m.GetNamespace())}, nil
}

// replicaSetsOf returns the cached ReplicaSets controlled by uid, and the orphans
// of the namespace.
func (c *Controller) replicaSetsOf(namespace string, uid string) (owned, orphans []*appsv1.ReplicaSet, err error) {
	objs, err := c.rsInformer.GetIndexer().ByIndex(byControllerUID, uid)
	if err != nil {
		return nil, nil, err
	}
	for _, o := range objs {
		if rs, ok := o.(*appsv1.ReplicaSet); ok {
			owned = append(owned, rs)
		}
	}
	objs, err = c.rsInformer.GetIndexer().ByIndex(byControllerUID, orphanIndexKey(namespace))
	if err != nil {
		return nil, nil, err
	}
	for _, o := range objs {
		if rs, ok := o.(*appsv1.ReplicaSet); ok {
			orphans = append(orphans, rs)
		}
	}
	return owned, orphans, nil
}

// podsOf returns the cached pods controlled by a ReplicaSet.
func (c *Controller) podsOf(rs *appsv1.ReplicaSet) ([]*watch.Pod, error) {
	objs, err := c.podInformer.GetIndexer().ByIndex(byControllerUID, string(rs.UID))
	if err != nil {
		return nil, err
	}
	pods := make([]*watch.Pod, 0, len(objs))
	for _, o := range objs {
		if p, ok := o.(*watch.Pod); ok {
			pods = append(pods, p)
		}
	}
	return pods, nil
}
