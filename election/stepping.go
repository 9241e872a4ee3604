package election

import (
	"context"
	"fmt"
	"sync"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	apiwatch "k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
)

// Argo Rollouts' controller elects its leader on this Lease, in the namespace
// it runs in (usually argo-rollouts). A live holder means an external
// controller steps the canaries.
const (
	ArgoLeaseName      = "argo-rollouts-controller-lock"
	ArgoLeaseNamespace = "argo-rollouts"
)

// SteppingKind says who steps the canaries in roost's scope.
type SteppingKind string

// Who can be stepping the canaries.
const (
	// SteppingUnknown: still finding out (the first list has not come back).
	SteppingUnknown SteppingKind = "unknown"
	// SteppingByMe: this process holds roost's Lease and runs the reconciler.
	SteppingByMe SteppingKind = "me"
	// SteppingByOtherRoost: another roost (a dashboard or `roost controller`)
	// holds roost's Lease.
	SteppingByOtherRoost SteppingKind = "other-roost"
	// SteppingExternal: a live Argo Rollouts controller holds its Lease.
	SteppingExternal SteppingKind = "external"
	// SteppingByNobody: no controller is stepping; canaries will not move.
	SteppingByNobody SteppingKind = "nobody"
)

// Stepping is who steps the canaries, for the dashboard's header.
type Stepping struct {
	Kind SteppingKind
	// Who is the Lease holder: user@host/pid for a roost, the pod name for
	// Argo Rollouts.
	Who string
	// External is set when a live Argo Rollouts controller holds its Lease
	// while Kind says a roost steps: both would write the same rollouts.
	External string
}

func (s Stepping) String() string {
	var out string
	switch s.Kind {
	case SteppingByMe:
		out = "you step the canaries (this roost leads as " + s.Who + ")"
	case SteppingByOtherRoost:
		out = "another roost steps the canaries: " + s.Who
	case SteppingExternal:
		out = "an external controller steps the canaries: Argo Rollouts (" + s.Who + ")"
	case SteppingByNobody:
		out = "nobody steps the canaries: they will not move; restart roost with --reconciler=on, or run `roost controller` in the cluster"
	default:
		out = "finding out who steps the canaries"
	}
	if s.External != "" {
		out += "; Argo Rollouts is live too (" + s.External + "): two controllers fight over the same rollouts, stop one"
	}
	return out
}

// steppingInputs are what the Stepping is decided from.
type steppingInputs struct {
	// campaigning is set when this process takes part in roost's election
	// (--reconciler=on); roost is then what the election last said.
	campaigning bool
	roost       LeaderInfo
	// roostKnown is false until the roost Lease was first read (or the
	// election first reported).
	roostKnown bool
	// argo is the live holder of Argo Rollouts' Lease ("" when none);
	// argoKnown is false when it cannot be seen (not yet read, or RBAC).
	argo      string
	argoKnown bool
}

// decideStepping is who steps the canaries, from what is known.
func decideStepping(in steppingInputs) Stepping {
	switch {
	case in.roost.IsMe:
		return Stepping{Kind: SteppingByMe, Who: in.roost.Identity, External: in.argo}
	case in.roost.Identity != "":
		return Stepping{Kind: SteppingByOtherRoost, Who: in.roost.Identity, External: in.argo}
	case in.argo != "":
		return Stepping{Kind: SteppingExternal, Who: in.argo}
	case !in.roostKnown, in.campaigning:
		// A campaigning roost with no holder yet is about to be elected.
		return Stepping{Kind: SteppingUnknown}
	}
	return Stepping{Kind: SteppingByNobody}
}

// SteppingOptions configure a SteppingWatch.
type SteppingOptions struct {
	Kube kubernetes.Interface
	// LeaseNamespace and LeaseName are roost's Lease.
	LeaseNamespace, LeaseName string
	// Me is this process's identity in the Lease.
	Me string
	// Campaigning is set when this process runs a Leader; it then reports
	// every change through LeaderChanged, and the roost Lease is not watched.
	Campaigning bool
	Clock       clock.WithTicker
	// Detector, when set, is what says whether Argo Rollouts is live (its
	// Lease, pods and status writes); without it only its Lease is watched.
	Detector *ArgoDetector
}

// SteppingWatch follows roost's Lease (or this process's own election) and
// Argo Rollouts' Lease, and says who steps the canaries. It watches; it never
// polls. A Lease that stops being renewed stops counting at its expiry.
type SteppingWatch struct {
	o     SteppingOptions
	clock clock.WithTicker
	wake  chan struct{}

	mu      sync.Mutex
	in      steppingInputs
	current *latest[Stepping]
}

// NewSteppingWatch builds a SteppingWatch; Run starts it.
func NewSteppingWatch(o SteppingOptions) *SteppingWatch {
	if o.LeaseName == "" {
		o.LeaseName = DefaultLeaseName
	}
	if o.LeaseNamespace == "" {
		o.LeaseNamespace = DefaultLeaseNamespace
	}
	clk := o.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	w := &SteppingWatch{o: o, clock: clk, wake: make(chan struct{}, 1)}
	w.in.campaigning = o.Campaigning
	w.current = newLatest(decideStepping(w.in))
	return w
}

// Current says who steps the canaries now.
func (w *SteppingWatch) Current() Stepping { return w.current.get() }

// Wait blocks until who steps the canaries differs from last, or ctx ends.
func (w *SteppingWatch) Wait(ctx context.Context, last Stepping) (Stepping, error) {
	cur, err := w.current.wait(ctx, func(cur Stepping) bool { return cur != last })
	if err != nil {
		return last, err
	}
	return cur, nil
}

// LeaderChanged is the Leader's OnChange when this process campaigns.
func (w *SteppingWatch) LeaderChanged(info LeaderInfo) {
	w.update(func(in *steppingInputs) {
		in.roost, in.roostKnown = info, true
	})
}

func (w *SteppingWatch) update(f func(*steppingInputs)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f(&w.in)
	w.current.set(decideStepping(w.in), func(a, b Stepping) bool { return a == b })
}

// Run watches the Leases until ctx is done.
func (w *SteppingWatch) Run(ctx context.Context) {
	var roost, argo *leaseWatch
	if !w.o.Campaigning {
		roost = w.watchLease(ctx, w.o.LeaseNamespace, w.o.LeaseName)
	}
	switch ns, ok := w.argoScope(ctx); {
	case w.o.Detector != nil:
		go w.followDetector(ctx)
	case ok:
		argo = w.watchLease(ctx, ns, ArgoLeaseName)
	default:
		w.update(func(in *steppingInputs) { in.argo, in.argoKnown = "", false })
	}
	timer := w.clock.NewTimer(time.Hour)
	timer.Stop()
	for {
		now := w.clock.Now()
		var next time.Time
		w.update(func(in *steppingInputs) {
			if roost != nil && roost.synced() {
				info, until := roost.holder(w.o.Me, now)
				in.roost, in.roostKnown = info, true
				next = earliest(next, until)
			}
			if argo != nil && argo.synced() {
				info, until := argo.holder("", now)
				in.argo, in.argoKnown = info.Identity, true
				next = earliest(next, until)
			}
		})
		if !next.IsZero() {
			// Re-decide when a holder's Lease would expire unrenewed; a
			// renewal before then wakes this loop anyway.
			timer.Reset(max(next.Sub(now), 0) + time.Millisecond)
		}
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-w.wake:
		case <-timer.C():
		}
	}
}

// followDetector keeps what the detector sees in the inputs.
func (w *SteppingWatch) followDetector(ctx context.Context) {
	seen := w.o.Detector.Current()
	for {
		w.update(func(in *steppingInputs) {
			in.argo, in.argoKnown = "", seen.Known
			if seen.Live {
				in.argo = seen.String()
			}
		})
		var err error
		if seen, err = w.o.Detector.WaitSigns(ctx, seen); err != nil {
			return
		}
	}
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// argoScope picks where Argo Rollouts' Lease can be watched: every
// namespace when the person may list Leases cluster-wide, else its usual
// namespace, else nowhere.
func (w *SteppingWatch) argoScope(ctx context.Context) (string, bool) {
	for _, ns := range []string{metav1.NamespaceAll, ArgoLeaseNamespace} {
		if mayWatchLeases(ctx, w.o.Kube, ns) {
			return ns, true
		}
	}
	return "", false
}

func mayWatchLeases(ctx context.Context, kube kubernetes.Interface, namespace string) bool {
	return mayDo(ctx, kube, namespace, "coordination.k8s.io", "leases", "list", "watch")
}

// mayDo says whether the client may do every verb on a resource in
// namespace ("" for all), by SelfSubjectAccessReviews.
func mayDo(ctx context.Context, kube kubernetes.Interface, namespace, group, resource string, verbs ...string) bool {
	for _, verb := range verbs {
		review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: namespace, Verb: verb, Group: group, Resource: resource},
		}}
		got, err := kube.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
		if err != nil || !got.Status.Allowed {
			return false
		}
	}
	return true
}

// leaseWatch is an informer on the Leases of one name.
type leaseWatch struct {
	name     string
	informer cache.SharedIndexInformer
}

func (w *SteppingWatch) watchLease(ctx context.Context, namespace, name string) *leaseWatch {
	return watchLease(ctx, w.o.Kube, namespace, name, w.wake)
}

// watchLease runs an informer on the Leases named name in namespace ("" for
// all), sending on wake at each change.
func watchLease(ctx context.Context, kube kubernetes.Interface, namespace, name string, wake chan struct{}) *leaseWatch {
	byName := fields.OneTermEqualSelector("metadata.name", name).String()
	leases := kube.CoordinationV1().Leases(namespace)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, lo metav1.ListOptions) (runtime.Object, error) {
			lo.FieldSelector = byName
			return leases.List(ctx, lo)
		},
		WatchFuncWithContext: func(ctx context.Context, lo metav1.ListOptions) (apiwatch.Interface, error) {
			lo.FieldSelector = byName
			return leases.Watch(ctx, lo)
		},
	}
	// The client says whether it can stream the initial list (a fake cannot).
	inf := cache.NewSharedIndexInformerWithOptions(cache.ToListWatcherWithWatchListSemantics(lw, kube), &coordinationv1.Lease{}, cache.SharedIndexInformerOptions{ObjectDescription: "leases " + name})
	poke := func(any) {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: poke, UpdateFunc: func(_, cur any) { poke(cur) }, DeleteFunc: poke})
	go inf.RunWithContext(ctx)
	go func() {
		// The first list may hold no Lease at all, which fires no handler.
		if cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
			poke(nil)
		}
	}()
	return &leaseWatch{name: name, informer: inf}
}

func (l *leaseWatch) synced() bool { return l.informer.HasSynced() }

// holder is the live holder among the watched Leases, and until when it
// holds without renewing.
func (l *leaseWatch) holder(me string, now time.Time) (LeaderInfo, time.Time) {
	for _, obj := range l.informer.GetStore().List() {
		lease, ok := obj.(*coordinationv1.Lease)
		// The field selector already picks the name; a server (or a fake)
		// that ignores it must not make another Lease count.
		if !ok || lease.Name != l.name {
			continue
		}
		if info, until := LeaseHolder(lease, me, now); info.Identity != "" {
			if lease.Name == ArgoLeaseName {
				info.Identity = fmt.Sprintf("lease %s/%s held by %s", lease.Namespace, lease.Name, info.Identity)
			}
			return info, until
		}
	}
	return LeaderInfo{}, time.Time{}
}
