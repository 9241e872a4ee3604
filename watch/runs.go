package watch

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	apiwatch "k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// runFetchTimeout bounds one read of a full AnalysisRun.
const runFetchTimeout = 10 * time.Second

// lightRuns is how a dashboard without a reconciler follows AnalysisRuns
// (Options.Metadata): their watch carries metadata only, and full runs are
// read once in the first list, then again only for the rollouts the
// dashboard shows (SetWanted) whose runs changed since. A run writes a
// measurement every interval, and 200 of them decoded in full cost more
// than everything else the dashboard does; most of those rollouts are off
// screen, where their counts show nowhere. Their urgency follows the
// Rollout's own record of its runs (see recordedPhase).
type lightRuns struct {
	runs dynamic.NamespaceableResourceInterface
	meta metadata.Interface
	ns   string

	// ctx bounds the reads (the Watcher's Start).
	ctx atomic.Pointer[context.Context]
	// wanted are the rollouts whose runs are kept current; nil wants all.
	wanted atomic.Pointer[map[Key]bool]

	mu sync.Mutex
	// full holds each run as last read in full, trimmed, keyed by its
	// namespace and name.
	full map[Key]*unstructured.Unstructured
}

func newLightRuns(dyn dynamic.Interface, meta metadata.Interface, ns string) *lightRuns {
	return &lightRuns{runs: dyn.Resource(v1alpha1.AnalysisRunGVR), meta: meta, ns: ns, full: map[Key]*unstructured.Unstructured{}}
}

// list reads the runs in full, keeps them, and gives the informer their
// metadata.
func (l *lightRuns) list(ctx context.Context, lo metav1.ListOptions) (runtime.Object, error) {
	list, err := l.runs.Namespace(l.ns).List(ctx, lo)
	if err != nil {
		return nil, err
	}
	out := &metav1.PartialObjectMetadataList{ListMeta: metav1.ListMeta{
		ResourceVersion: list.GetResourceVersion(), Continue: list.GetContinue(), RemainingItemCount: list.GetRemainingItemCount(),
	}}
	out.Items = make([]metav1.PartialObjectMetadata, len(list.Items))
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range list.Items {
		u := &list.Items[i]
		_, _ = TrimRollout(u)
		l.full[Key{Namespace: u.GetNamespace(), Name: u.GetName()}] = u
		out.Items[i] = partialOf(u)
	}
	return out, nil
}

// watchRuns watches the runs' metadata only.
func (l *lightRuns) watch(ctx context.Context, lo metav1.ListOptions) (apiwatch.Interface, error) {
	return l.meta.Resource(v1alpha1.AnalysisRunGVR).Namespace(l.ns).Watch(ctx, lo)
}

// partialOf is the metadata of u as a metadata watch delivers it.
func partialOf(u *unstructured.Unstructured) metav1.PartialObjectMetadata {
	p := metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "PartialObjectMetadata"}}
	p.Name, p.Namespace, p.UID = u.GetName(), u.GetNamespace(), u.GetUID()
	p.ResourceVersion, p.Generation = u.GetResourceVersion(), u.GetGeneration()
	p.CreationTimestamp, p.DeletionTimestamp = u.GetCreationTimestamp(), u.GetDeletionTimestamp()
	p.Labels, p.Annotations = u.GetLabels(), u.GetAnnotations()
	p.OwnerReferences = u.GetOwnerReferences()
	return p
}

// handler marks a run's rollouts dirty when the run comes or goes, and when
// it changes only for rollouts that are wanted: another rollout's snapshot
// would show the same (its counts are off screen, its urgency follows its
// Rollout).
func (l *lightRuns) handler(dirty *dirtySet) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { dirty.add(runKeys(obj)...) },
		UpdateFunc: func(old, cur any) {
			if o, c := metaOf(old), metaOf(cur); o != nil && c != nil && o.GetResourceVersion() == c.GetResourceVersion() {
				return
			}
			keys := runKeys(cur)
			wanted := l.wanted.Load()
			if wanted == nil {
				dirty.add(keys...)
				return
			}
			for _, k := range keys {
				if (*wanted)[k] {
					dirty.add(k)
				}
			}
		},
		DeleteFunc: func(obj any) {
			if n, err := cache.DeletionHandlingObjectToName(obj); err == nil {
				l.mu.Lock()
				delete(l.full, n)
				l.mu.Unlock()
			}
			dirty.add(runKeys(obj)...)
		},
	}
}

// setWanted says which rollouts' runs to keep current, and returns those
// newly wanted whose runs changed since they were read.
func (l *lightRuns) setWanted(keys map[Key]bool, informer cache.SharedIndexInformer) []Key {
	before := l.wanted.Swap(&keys)
	var stale []Key
	for k := range keys {
		if before != nil && (*before)[k] {
			continue
		}
		for _, m := range l.metaOf(k, informer) {
			if _, current := l.last(m); !current {
				stale = append(stale, k)
				break
			}
		}
	}
	return stale
}

// metaOf lists the cached metadata of rollout k's runs.
func (l *lightRuns) metaOf(k Key, informer cache.SharedIndexInformer) []metav1.Object {
	objs, err := informer.GetIndexer().ByIndex(byRollout, k.String())
	if err != nil {
		return nil
	}
	out := make([]metav1.Object, 0, len(objs))
	for _, o := range objs {
		if m := metaOf(o); m != nil {
			out = append(out, m)
		}
	}
	return out
}

// last is the full run of m as last read, and whether it was read at m's
// resourceVersion.
func (l *lightRuns) last(m metav1.Object) (*unstructured.Unstructured, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	u := l.full[Key{Namespace: m.GetNamespace(), Name: m.GetName()}]
	return u, u != nil && u.GetResourceVersion() == m.GetResourceVersion()
}

// runsOf returns rollout k's runs: current ones for a wanted rollout (read
// now if they changed), the last read (or only their metadata) for others.
func (l *lightRuns) runsOf(k Key, informer cache.SharedIndexInformer) []*unstructured.Unstructured {
	metas := l.metaOf(k, informer)
	wanted := l.wanted.Load()
	want := wanted == nil || (*wanted)[k]
	out := make([]*unstructured.Unstructured, 0, len(metas))
	for _, m := range metas {
		u, current := l.last(m)
		if !current && want {
			if read := l.read(m); read != nil {
				u = read
			}
		}
		if u == nil {
			// Never read: what the metadata says, the phase from the
			// Rollout's record.
			u = &unstructured.Unstructured{Object: map[string]any{}}
			u.SetAPIVersion(v1alpha1.SchemeGroupVersion.String())
			u.SetKind(v1alpha1.AnalysisRunKind)
			u.SetName(m.GetName())
			u.SetNamespace(m.GetNamespace())
			u.SetLabels(m.GetLabels())
			u.SetAnnotations(m.GetAnnotations())
			u.SetOwnerReferences(m.GetOwnerReferences())
			u.SetCreationTimestamp(m.GetCreationTimestamp())
		}
		out = append(out, u)
	}
	return out
}

// read gets the full run of m, keeps it and returns it; nil when it cannot
// be read (the last one read is used meanwhile).
func (l *lightRuns) read(m metav1.Object) *unstructured.Unstructured {
	ctx := context.Background()
	if c := l.ctx.Load(); c != nil {
		ctx = *c
	}
	ctx, cancel := context.WithTimeout(ctx, runFetchTimeout)
	defer cancel()
	u, err := l.runs.Namespace(m.GetNamespace()).Get(ctx, m.GetName(), metav1.GetOptions{})
	if err != nil {
		if !apierrors.IsNotFound(err) {
			klog.V(2).InfoS("read AnalysisRun", "namespace", m.GetNamespace(), "name", m.GetName(), "err", err)
		}
		return nil
	}
	_, _ = TrimRollout(u)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.full[Key{Namespace: u.GetNamespace(), Name: u.GetName()}] = u
	return u
}

// notWatchList marks the light runs' list and watch as not a watch-list
// stream: the list must be a real list, since it reads the runs in full.
type notWatchList struct{}

func (notWatchList) IsWatchListSemanticsUnSupported() bool { return true }
