package watch

import (
	"cmp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// Source is where a Store reads one rollout's objects. The Watcher is one; a
// test can be another.
type Source interface {
	// Rollout returns the rollout of k, or nil when it does not exist.
	Rollout(k Key) (*v1alpha1.Rollout, error)
	// Objects returns the ReplicaSets, pods and Events of the rollout of k.
	Objects(k Key) ([]*appsv1.ReplicaSet, []*Pod, []*corev1.Event)
}

// RunSource is a Source that also has AnalysisRuns: the Watcher when it
// watches them (Options.AnalysisRuns).
type RunSource interface {
	// AnalysisRunsOf returns the AnalysisRuns owned by the rollout of k.
	AnalysisRunsOf(k Key) []*unstructured.Unstructured
}

// AppSource is a Source that knows which Argo CD Application deploys a
// Rollout: the Watcher always does (from the tracking marks, and from its
// Applications when it watches them).
type AppSource interface {
	// AppTracker is how the Source tells a rollout's Application.
	AppTracker() AppTracker
}

// Store is the dashboard's read model: the snapshot of every rollout in scope,
// re-derived only for the rollouts marked dirty, and the overview list sorted
// so that the rollouts needing a human come first.
//
// The slices and values it returns are never modified afterwards; a reader may
// keep them while the Store moves on.
type Store struct {
	src Source
	// Cluster, when set before the first Update, is stamped on every
	// snapshot (Rollout.Cluster): the kube context this Store's Source
	// watches, in a cockpit over several clusters.
	Cluster string

	mu       sync.RWMutex
	byKey    map[Key]ranked
	overview []*Rollout
	// sorted is false when overview must be rebuilt before it is served.
	sorted bool
}

// ranked is a snapshot with its urgency, computed once per derivation rather
// than in every comparison of a sort.
type ranked struct {
	v       *Rollout
	urgency Urgency
}

// NewStore returns an empty Store over src.
func NewStore(src Source) *Store {
	return &Store{src: src, byKey: map[Key]ranked{}, sorted: true}
}

// Update re-derives the snapshots of keys at now; a rollout that no longer
// exists leaves the Store. It returns how many snapshots were replaced or
// removed.
func (s *Store) Update(keys []Key, now time.Time) int {
	type result struct {
		key Key
		v   *Rollout
	}
	// Derive outside the lock: readers keep serving the previous frame.
	results := make([]result, 0, len(keys))
	runs, _ := s.src.(RunSource)
	tracker := DefaultAppTracker
	if a, ok := s.src.(AppSource); ok {
		tracker = a.AppTracker()
	}
	for _, k := range keys {
		ro, err := s.src.Rollout(k)
		if err != nil || ro == nil {
			results = append(results, result{key: k})
			continue
		}
		rss, pods, events := s.src.Objects(k)
		v := Snapshot(ro, rss, pods, events, now)
		if runs != nil {
			v.Analysis = AnalysisOf(ro, runs.AnalysisRunsOf(k), now)
		}
		v.App = tracker.AppOf(ro.Namespace, ro.Name, ro.Annotations, ro.Labels)
		v.Cluster = s.Cluster
		results = append(results, result{key: k, v: &v})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := 0
	for _, r := range results {
		_, had := s.byKey[r.key]
		switch {
		case r.v != nil:
			s.byKey[r.key] = ranked{v: r.v, urgency: UrgencyOf(r.v)}
		case had:
			delete(s.byKey, r.key)
		default:
			continue
		}
		s.sorted = false
		changed++
	}
	return changed
}

// Overview returns every rollout, those needing a human first (see Urgency),
// then by namespace and name.
func (s *Store) Overview() []*Rollout {
	s.mu.RLock()
	if s.sorted {
		defer s.mu.RUnlock()
		return s.overview
	}
	s.mu.RUnlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.sorted {
		// A new slice each time: readers of the previous one are unaffected.
		all := make([]ranked, 0, len(s.byKey))
		for _, r := range s.byKey {
			all = append(all, r)
		}
		slices.SortFunc(all, compareRanked)
		list := make([]*Rollout, len(all))
		for i, r := range all {
			list[i] = r.v
		}
		s.overview, s.sorted = list, true
	}
	return s.overview
}

// Detail returns the snapshot of one rollout.
func (s *Store) Detail(k Key) (*Rollout, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.byKey[k]
	return r.v, ok
}

// Len is how many rollouts the Store holds.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.byKey)
}

// Timed lists the rollouts whose snapshot depends on the clock beyond their
// age: those in a timed pause, whose countdown a dashboard re-derives each
// second. Others need no re-derivation until they change.
func (s *Store) Timed() []Key {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Key
	for k, r := range s.byKey {
		if v := r.v; v.Paused && !v.PauseUntilPromoted && !v.ManuallyPaused {
			out = append(out, k)
		}
	}
	sort.Slice(out, func(i, j int) bool { return keyLess(out[i], out[j]) })
	return out
}

// Urgency ranks a rollout for the overview: lower needs a human sooner.
type Urgency int

// Urgencies, most urgent first.
const (
	// UrgencyAnalysisFailed: the canary's analysis failed (or erred): it
	// is aborted by it, or about to be.
	UrgencyAnalysisFailed Urgency = iota
	// UrgencyDegraded: degraded, aborted or refused (InvalidSpec).
	UrgencyDegraded
	// UrgencyAnalysisInconclusive: paused because its analysis was
	// inconclusive, until someone promotes or aborts it.
	UrgencyAnalysisInconclusive
	// UrgencyAwaitingPromotion: paused until someone promotes or resumes it.
	UrgencyAwaitingPromotion
	// UrgencyProgressing: moving on its own (including timed pauses), or not
	// yet reported on by any controller.
	UrgencyProgressing
	// UrgencyHealthy: done, nothing to do.
	UrgencyHealthy
)

// UrgencyOf ranks v.
func UrgencyOf(v *Rollout) Urgency {
	switch {
	case v.InvalidSpec == "" && v.AnalysisFailed():
		return UrgencyAnalysisFailed
	case v.Phase == v1alpha1.PhaseDegraded || v.Aborted || v.InvalidSpec != "":
		return UrgencyDegraded
	case v.AnalysisInconclusive():
		return UrgencyAnalysisInconclusive
	case v.Paused && (v.PauseUntilPromoted || v.ManuallyPaused):
		return UrgencyAwaitingPromotion
	case v.Phase == v1alpha1.PhaseHealthy:
		return UrgencyHealthy
	}
	return UrgencyProgressing
}

// MergeOverviews is the overview of several clusters: each cluster's
// Overview merged into one list in the same order (urgency, namespace,
// name), the same rollout of two clusters in the order of lists.
func MergeOverviews(lists [][]*Rollout) []*Rollout {
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	all := make([]ranked, 0, n)
	for _, l := range lists {
		for _, r := range l {
			all = append(all, ranked{v: r, urgency: UrgencyOf(r)})
		}
	}
	slices.SortStableFunc(all, compareRanked)
	out := make([]*Rollout, len(all))
	for i, r := range all {
		out[i] = r.v
	}
	return out
}

func compareRanked(a, b ranked) int {
	if c := cmp.Compare(a.urgency, b.urgency); c != 0 {
		return c
	}
	if c := strings.Compare(a.v.Namespace, b.v.Namespace); c != 0 {
		return c
	}
	return strings.Compare(a.v.Name, b.v.Name)
}

// Rollout implements Source: it decodes the cached Rollout of k. A spec roost
// cannot act on still yields a Rollout (metadata and status decode leniently),
// so the dashboard shows it with its InvalidSpec condition.
//
// The decoded Rollout is kept per resourceVersion: a rollout re-derived
// because its pods, Events or AnalysisRuns changed is not decoded again.
// Callers must not modify it.
func (w *Watcher) Rollout(k Key) (*v1alpha1.Rollout, error) {
	obj, err := w.rolloutLister.ByNamespace(k.Namespace).Get(k.Name)
	if apierrors.IsNotFound(err) {
		w.decoded.Delete(k)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return nil, nil
	}
	rv := u.GetResourceVersion()
	if d, ok := w.decoded.Load(k); ok && rv != "" && d.(decodedRollout).rv == rv {
		return d.(decodedRollout).ro, nil
	}
	ro, _ := v1alpha1.FromUnstructured(u)
	w.decoded.Store(k, decodedRollout{rv: rv, ro: ro})
	return ro, nil
}

// decodedRollout is a Rollout decoded from the cache at resourceVersion rv.
type decodedRollout struct {
	rv string
	ro *v1alpha1.Rollout
}

// Objects implements Source from the informers' indexes, without scanning the
// namespace.
func (w *Watcher) Objects(k Key) ([]*appsv1.ReplicaSet, []*Pod, []*corev1.Event) {
	rss := w.replicaSetsOf(k)
	return rss, w.podsOf(rss), w.eventsOf(k)
}
