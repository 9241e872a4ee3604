package election

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	apiwatch "k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
)

// FieldManager starts the name roost's writes carry (client-go takes it
// from the binary's name, roost): how roost tells its own status writes from
// another controller's.
const FieldManager = "roost"

// Signs of an Argo Rollouts controller other than its Lease.
const (
	// ArgoPodLabel selects the Argo Rollouts controller's pods, in its
	// manifests and its Helm chart (whose dashboard pods carry it too, with
	// component rollouts-dashboard, and are not a controller).
	ArgoPodLabel          = "app.kubernetes.io/name=argo-rollouts"
	argoComponentLabel    = "app.kubernetes.io/component"
	argoDashboardComponet = "rollouts-dashboard"
	// knownWithin bounds the wait for every sign's first list.
	knownWithin = 10 * time.Second
	// RecentWrite is how long a status write by another controller counts
	// as a sign that it is live.
	RecentWrite = 30 * time.Second
)

// clientManagers write a Rollout's status without being controllers: the
// Argo plugin's actions and kubectl's. Their writes are no sign.
var clientManagers = []string{"kubectl-argo-rollouts", "kubectl"}

// RolloutResource is what the detector watches the metadata of.
var rolloutResource = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "rollouts"}

// ArgoSeen is what the detector knows of a live Argo Rollouts controller.
type ArgoSeen struct {
	// Live says another controller steps Rollouts in scope; Signs say how
	// roost knows ("lease argo-rollouts/argo-rollouts-controller-lock held
	// by …", "Argo Rollouts controller pod argo-rollouts/… is running",
	// "status of rollout shop/checkout written by rollouts-controller in
	// the last 30s").
	Live  bool
	Signs []string
	// Known is false until every sign that can be watched was listed once.
	Known bool
}

func (s ArgoSeen) String() string {
	if !s.Live {
		return "no Argo Rollouts controller seen"
	}
	return strings.Join(s.Signs, "; ")
}

// DetectorOptions configure an ArgoDetector.
type DetectorOptions struct {
	Kube kubernetes.Interface
	// Metadata reads Rollouts' metadata (their managedFields); nil leaves
	// that sign out.
	Metadata metadata.Interface
	// Namespace scopes the Rollouts watched ("" for all).
	Namespace string
	// OwnManagers are the field managers of roost's own writes (this
	// process's and every roost's); FieldManager when empty.
	OwnManagers []string
	Clock       clock.WithTicker
}

// ArgoDetector watches, continuously, every sign of a live Argo Rollouts
// controller roost can read: its Lease, its running pods, and recent status
// writes to Rollouts in scope by a field manager that is not roost's (a
// controller run without leader election holds no Lease). Signs that cannot
// be read (RBAC) are left out.
type ArgoDetector struct {
	o     DetectorOptions
	clock clock.WithTicker
	own   map[string]bool
	wake  chan struct{}

	current *latest[ArgoSeen]

	mu sync.Mutex
	// writes are, per "namespace/name manager", when a status write by
	// another controller was last seen (local time).
	writes map[string]time.Time
	// stamps are the managedFields times already seen, so that a write is
	// dated when it is observed, not by the server's clock.
	stamps map[string]time.Time
}

// NewArgoDetector builds a detector; Run starts it.
func NewArgoDetector(o DetectorOptions) *ArgoDetector {
	clk := o.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	own := map[string]bool{}
	for _, m := range o.OwnManagers {
		own[m] = true
	}
	return &ArgoDetector{
		o: o, clock: clk, own: own, wake: make(chan struct{}, 1), current: newLatest(ArgoSeen{}),
		writes: map[string]time.Time{}, stamps: map[string]time.Time{},
	}
}

// Current is what is known now.
func (d *ArgoDetector) Current() ArgoSeen { return d.current.get() }

// Wait blocks until what is known differs from last in Live or Known, or
// ctx ends.
func (d *ArgoDetector) Wait(ctx context.Context, last ArgoSeen) (ArgoSeen, error) {
	cur, err := d.current.wait(ctx, func(cur ArgoSeen) bool { return cur.Live != last.Live || cur.Known != last.Known })
	if err != nil {
		return last, err
	}
	return cur, nil
}

// WaitSigns is Wait that also returns when only the signs changed.
func (d *ArgoDetector) WaitSigns(ctx context.Context, last ArgoSeen) (ArgoSeen, error) {
	cur, err := d.current.wait(ctx, func(cur ArgoSeen) bool { return !sameSeen(cur, last) })
	if err != nil {
		return last, err
	}
	return cur, nil
}

func sameSeen(a, b ArgoSeen) bool {
	return a.Live == b.Live && a.Known == b.Known && strings.Join(a.Signs, "\n") == strings.Join(b.Signs, "\n")
}

func (d *ArgoDetector) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run watches until ctx is done.
func (d *ArgoDetector) Run(ctx context.Context) {
	var synced []cache.InformerSynced
	var lease *leaseWatch
	if ns, ok := leaseScope(ctx, d.o.Kube); ok {
		lease = watchLease(ctx, d.o.Kube, ns, ArgoLeaseName, d.wake)
		synced = append(synced, lease.synced)
	}
	pods := d.watchPods(ctx)
	if pods != nil {
		synced = append(synced, pods.HasSynced)
	}
	if rollouts := d.watchRollouts(ctx); rollouts != nil {
		synced = append(synced, rollouts.HasSynced)
	}
	timer := d.clock.NewTimer(time.Hour)
	timer.Stop()
	// A sign that cannot be listed (the API server is away, a watch keeps
	// failing) must not keep roost from ever deciding.
	giveUp := d.clock.Now().Add(knownWithin)
	for {
		now := d.clock.Now()
		seen := ArgoSeen{Known: true}
		for _, s := range synced {
			if !s() && now.Before(giveUp) {
				seen.Known = false
				next := giveUp
				timer.Reset(max(next.Sub(now), 0) + time.Millisecond)
			}
		}
		var next time.Time
		if lease != nil && lease.synced() {
			if info, until := lease.holder("", now); info.Identity != "" {
				seen.Signs = append(seen.Signs, info.Identity)
				next = earliest(next, until)
			}
		}
		if pods != nil {
			seen.Signs = append(seen.Signs, runningArgoPods(pods.GetStore().List())...)
		}
		d.mu.Lock()
		for key, at := range d.writes {
			if age := now.Sub(at); age < RecentWrite {
				seen.Signs = append(seen.Signs, fmt.Sprintf("status of rollout %s in the last %s", key, RecentWrite))
				next = earliest(next, at.Add(RecentWrite))
			} else {
				delete(d.writes, key)
			}
		}
		d.mu.Unlock()
		sort.Strings(seen.Signs)
		seen.Live = len(seen.Signs) > 0
		d.current.set(seen, sameSeen)
		if !next.IsZero() {
			timer.Reset(max(next.Sub(now), 0) + time.Millisecond)
		}
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-d.wake:
		case <-timer.C():
		}
	}
}

// leaseScope is where Argo's Lease can be watched.
func leaseScope(ctx context.Context, kube kubernetes.Interface) (string, bool) {
	for _, ns := range []string{metav1.NamespaceAll, ArgoLeaseNamespace} {
		if mayWatch(ctx, kube, ns, "coordination.k8s.io", "leases") {
			return ns, true
		}
	}
	return "", false
}

// watchPods watches the Argo Rollouts controller's pods, in every
// namespace when allowed, else in argo-rollouts; nil when neither is.
func (d *ArgoDetector) watchPods(ctx context.Context) cache.SharedIndexInformer {
	for _, ns := range []string{metav1.NamespaceAll, ArgoLeaseNamespace} {
		if !mayWatch(ctx, d.o.Kube, ns, "", "pods") {
			continue
		}
		pods := d.o.Kube.CoreV1().Pods(ns)
		lw := &cache.ListWatch{
			ListWithContextFunc: func(ctx context.Context, lo metav1.ListOptions) (runtime.Object, error) {
				lo.LabelSelector = ArgoPodLabel
				return pods.List(ctx, lo)
			},
			WatchFuncWithContext: func(ctx context.Context, lo metav1.ListOptions) (apiwatch.Interface, error) {
				lo.LabelSelector = ArgoPodLabel
				return pods.Watch(ctx, lo)
			},
		}
		inf := cache.NewSharedIndexInformerWithOptions(cache.ToListWatcherWithWatchListSemantics(lw, d.o.Kube), &corev1.Pod{},
			cache.SharedIndexInformerOptions{ObjectDescription: "argo-rollouts pods"})
		d.start(ctx, inf, nil)
		return inf
	}
	return nil
}

// runningArgoPods names the ready controller pods.
func runningArgoPods(objs []any) []string {
	var out []string
	for _, o := range objs {
		p, ok := o.(*corev1.Pod)
		if !ok || p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning || p.Labels[argoComponentLabel] == argoDashboardComponet ||
			strings.Contains(p.Name, "dashboard") {
			continue
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				out = append(out, fmt.Sprintf("Argo Rollouts controller pod %s/%s is running", p.Namespace, p.Name))
				break
			}
		}
	}
	return out
}

// watchRollouts watches the Rollouts' metadata for status writes by
// another controller.
func (d *ArgoDetector) watchRollouts(ctx context.Context) cache.SharedIndexInformer {
	if d.o.Metadata == nil {
		return nil
	}
	ri := d.o.Metadata.Resource(rolloutResource)
	ns := d.o.Namespace
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, lo metav1.ListOptions) (runtime.Object, error) {
			return ri.Namespace(ns).List(ctx, lo)
		},
		WatchFuncWithContext: func(ctx context.Context, lo metav1.ListOptions) (apiwatch.Interface, error) {
			return ri.Namespace(ns).Watch(ctx, lo)
		},
	}
	inf := cache.NewSharedIndexInformerWithOptions(cache.ToListWatcherWithWatchListSemantics(lw, d.o.Metadata), &metav1.PartialObjectMetadata{},
		cache.SharedIndexInformerOptions{ObjectDescription: "rollouts' field managers"})
	// Only who wrote the status, and when, is kept of each Rollout.
	_ = inf.SetTransform(func(obj any) (any, error) {
		m, ok := obj.(*metav1.PartialObjectMetadata)
		if !ok {
			return obj, nil
		}
		kept := m.ManagedFields[:0]
		for _, f := range m.ManagedFields {
			if f.Subresource == "status" {
				f.FieldsV1 = nil
				kept = append(kept, f)
			}
		}
		out := &metav1.PartialObjectMetadata{TypeMeta: m.TypeMeta}
		out.Name, out.Namespace, out.ResourceVersion, out.UID, out.ManagedFields = m.Name, m.Namespace, m.ResourceVersion, m.UID, kept
		return out, nil
	})
	d.start(ctx, inf, func(obj any) { d.observeWrites(obj) })
	return inf
}

// observeWrites notes the status writes of obj by other controllers: a
// managedFields entry of the status subresource whose time moved since it
// was last seen (or, when first seen, is within RecentWrite of now).
func (d *ArgoDetector) observeWrites(obj any) {
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return
	}
	now := d.clock.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	found := false
	for _, f := range m.ManagedFields {
		if f.Subresource != "status" || f.Time == nil || d.own[f.Manager] || strings.HasPrefix(f.Manager, FieldManager) || isClient(f.Manager) {
			continue
		}
		key := fmt.Sprintf("%s/%s written by %s", m.Namespace, m.Name, f.Manager)
		prev, seen := d.stamps[key]
		d.stamps[key] = f.Time.Time
		switch {
		case seen && f.Time.Time.After(prev):
			d.writes[key] = now
			found = true
		case !seen && now.Sub(f.Time.Time) < RecentWrite:
			d.writes[key] = now
			found = true
		}
	}
	if found {
		d.poke()
	}
}

func isClient(manager string) bool {
	for _, c := range clientManagers {
		if manager == c || strings.HasPrefix(manager, c+"-") {
			return true
		}
	}
	return false
}

// start runs an informer with a handler that wakes the detector (and calls
// each, when given, for every added or updated object).
func (d *ArgoDetector) start(ctx context.Context, inf cache.SharedIndexInformer, each func(any)) {
	handle := func(obj any) {
		if each != nil {
			each(obj)
		}
		d.poke()
	}
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: handle, UpdateFunc: func(_, cur any) { handle(cur) }, DeleteFunc: func(any) { d.poke() },
	})
	go inf.RunWithContext(ctx)
	go func() {
		if cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
			d.poke()
		}
	}()
}

// mayWatch says whether the client may list and watch a resource in
// namespace ("" for all).
func mayWatch(ctx context.Context, kube kubernetes.Interface, namespace, group, resource string) bool {
	if group == "coordination.k8s.io" && resource == "leases" {
		return mayWatchLeases(ctx, kube, namespace)
	}
	return mayDo(ctx, kube, namespace, group, resource, "list", "watch")
}

// RunBeside campaigns for roost's Lease, and runs lead while it holds it,
// only while d sees no live Argo Rollouts controller: when one appears, the
// term ends (lead's context is cancelled) and the Lease is released, so that
// roost never steps a canary beside another controller; when it is gone,
// the campaign resumes. onChange reports what d sees at each change, for
// the header and the log.
func (l *Leader) RunBeside(ctx context.Context, d *ArgoDetector, onChange func(ArgoSeen), lead func(ctx context.Context)) error {
	report := func(s ArgoSeen) {
		if onChange != nil {
			onChange(s)
		}
	}
	seen := d.Current()
	for {
		for seen.Live || !seen.Known {
			report(seen)
			var err error
			if seen, err = d.Wait(ctx, seen); err != nil {
				return nil
			}
		}
		report(seen)
		term, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- l.Run(term, lead) }()
		for !seen.Live {
			next, err := d.Wait(ctx, seen)
			if err != nil {
				stop()
				return <-done
			}
			seen = next
		}
		stop()
		if err := <-done; err != nil {
			return err
		}
	}
}
