package watch

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	apiwatch "k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/klog/v2"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// Pacing of the runs followed for the rollouts on screen (lightRuns).
const (
	// runFetchTimeout bounds one list or read of AnalysisRuns.
	runFetchTimeout = 30 * time.Second
	// followSettle is how long a change of the rollouts on screen waits for
	// the next one (a held key scrolls a row at a time) before the runs
	// followed change; followEvery is the least time between two such
	// changes, each a list of the runs followed.
	followSettle = 100 * time.Millisecond
	followEvery  = 500 * time.Millisecond
	// followRetry and followRetryMax pace the retries of a failed list or
	// watch.
	followRetry    = time.Second
	followRetryMax = 30 * time.Second
)

// lightRuns is how a dashboard without a reconciler follows AnalysisRuns
// (Options.WantedRunsOnly). A run writes a measurement every interval: 200
// canaries under analysis are several run writes a second, and receiving
// each of them, even as metadata only, cost the idle dashboard more than
// everything else it does. Most of those rollouts are off screen, where
// their runs' counts show nowhere. So:
//
//   - the first list reads every run in full;
//   - afterwards, one watch follows only the runs of the rollouts the
//     dashboard shows (SetWanted), selected by their pod-template-hash
//     label: the hashes of those rollouts' current and stable revisions and
//     of their runs known so far. When the rollouts shown change, the runs
//     followed are listed again and the watch restarts with the new
//     selection;
//   - the runs of rollouts off screen stay as last read. Their urgency
//     follows the Rollout's own record of its current runs (recordedPhase,
//     and AnalysisOf for a run never read), which the Rollouts' watch
//     brings.
//
// A run without the hash label (Argo Rollouts and roost always set it) is
// read again when its rollout comes on screen.
type lightRuns struct {
	runs   dynamic.NamespaceableResourceInterface
	ns     string
	dirty  *dirtySet
	health *healthTracker
	// hashes are the pod-template hashes of rollout k's current and stable
	// revisions, from the Rollouts' cache.
	hashes func(k Key) []string

	// wanted are the rollouts whose runs are followed; nil follows all.
	wanted atomic.Pointer[map[Key]bool]
	// kick tells the follower that the wanted rollouts, or their
	// revisions, may have changed.
	kick chan struct{}
	// listed is closed once the first list is kept.
	listed chan struct{}

	mu sync.Mutex
	// full holds each run as last read, trimmed, keyed by its namespace
	// and name; byRollout indexes them by the rollouts that own them.
	full      map[Key]*unstructured.Unstructured
	byRollout map[Key]map[Key]bool
}

func newLightRuns(dyn dynamic.Interface, ns string, dirty *dirtySet, health *healthTracker, hashes func(Key) []string) *lightRuns {
	return &lightRuns{
		runs: dyn.Resource(v1alpha1.AnalysisRunGVR), ns: ns, dirty: dirty, health: health, hashes: hashes,
		kick: make(chan struct{}, 1), listed: make(chan struct{}), full: map[Key]*unstructured.Unstructured{}, byRollout: map[Key]map[Key]bool{},
	}
}

// Selections that are not a label selector: every run (no selector), and
// none (nothing to watch).
const (
	selectAll  = ""
	selectNone = "!none"
)

// setWanted says which rollouts' runs to follow; nil follows all.
func (l *lightRuns) setWanted(keys map[Key]bool) {
	l.wanted.Store(&keys)
	l.poke()
}

// rolloutChanged tells the follower that rollout k changed: when it is
// followed, its revisions may have.
func (l *lightRuns) rolloutChanged(k Key) {
	if w := l.wanted.Load(); w != nil && !(*w)[k] {
		return
	}
	l.poke()
}

func (l *lightRuns) poke() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// selection is the label selector of the runs to follow now: the hashes of
// the wanted rollouts' current and stable revisions and of their runs known
// so far; selectAll while every rollout is wanted, selectNone when no
// wanted rollout has a hash yet. unlabelled are the wanted rollouts' known
// runs without the hash label, which no selector reaches.
func (l *lightRuns) selection() (sel string, unlabelled []Key) {
	wanted := l.wanted.Load()
	if wanted == nil {
		return selectAll, nil
	}
	set := map[string]bool{}
	for k := range *wanted {
		for _, h := range l.hashes(k) {
			if h != "" {
				set[h] = true
			}
		}
	}
	l.mu.Lock()
	for k := range *wanted {
		for rk := range l.byRollout[k] {
			if h := l.full[rk].GetLabels()[v1alpha1.DefaultRolloutUniqueLabelKey]; h != "" {
				set[h] = true
			} else {
				unlabelled = append(unlabelled, rk)
			}
		}
	}
	l.mu.Unlock()
	if len(set) == 0 {
		return selectNone, unlabelled
	}
	values := make([]string, 0, len(set))
	for h := range set {
		values = append(values, h)
	}
	slices.Sort(values)
	req, err := labels.NewRequirement(v1alpha1.DefaultRolloutUniqueLabelKey, selection.In, values)
	if err != nil {
		// A hash that is no label value: follow every run rather than
		// miss some.
		klog.V(2).InfoS("follow AnalysisRuns of the rollouts on screen", "err", err)
		return selectAll, unlabelled
	}
	return labels.NewSelector().Add(*req).String(), unlabelled
}

// run lists every run, then follows the wanted rollouts' runs until ctx
// ends.
func (l *lightRuns) run(ctx context.Context) {
	retry := followRetry
	backoff := func() bool {
		d := retry + rand.N(retry/2)
		retry = min(retry*2, followRetryMax)
		return sleepCtx(ctx, d)
	}
	var rv string
	for {
		var err error
		rv, err = l.list(ctx, selectAll)
		if err == nil {
			break
		}
		if !backoff() {
			return
		}
	}
	close(l.listed)
	following := selectAll
	var lastList time.Time
	for ctx.Err() == nil {
		sel, _ := l.selection()
		if sel != following || rv == "" && sel != selectNone {
			if d := followEvery - time.Since(lastList); d > 0 && !sleepCtx(ctx, d) {
				return
			}
			var unlabelled []Key
			sel, unlabelled = l.selection()
			lastList = time.Now()
			rv = ""
			if sel != selectNone {
				var err error
				if rv, err = l.list(ctx, sel); err != nil {
					if !backoff() {
						return
					}
					continue
				}
			}
			following = sel
			klog.V(4).InfoS("follow AnalysisRuns", "namespace", l.ns, "selector", sel)
			l.reread(ctx, unlabelled)
		}
		if sel == selectNone {
			if !l.await(ctx) {
				return
			}
			continue
		}
		switch l.follow(ctx, sel, &rv) {
		case followFailed:
			if !backoff() {
				return
			}
		case followExpired:
			rv = ""
		case followOK:
			retry = followRetry
		}
	}
}

// Outcomes of one watch (follow).
const (
	followOK = iota
	followFailed
	followExpired
)

// follow watches the runs sel selects from resourceVersion *rv, keeping
// the last resourceVersion seen there, until the watch ends, the selection
// changes or ctx ends.
func (l *lightRuns) follow(ctx context.Context, sel string, rv *string) int {
	timeout := int64(300 + rand.N(300))
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wi, err := l.runs.Namespace(l.ns).Watch(wctx, metav1.ListOptions{
		LabelSelector: sel, ResourceVersion: *rv, AllowWatchBookmarks: true, TimeoutSeconds: &timeout,
	})
	l.health.record(ResourceAnalysisRuns, err)
	if err != nil {
		if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
			return followExpired
		}
		return followFailed
	}
	defer wi.Stop()
	started := time.Now()
	for {
		select {
		case <-ctx.Done():
			return followOK
		case <-l.kick:
			// Wait for the rest of a scroll, then see whether the
			// selection changed.
			if !sleepCtx(ctx, followSettle) {
				return followOK
			}
			select {
			case <-l.kick:
			default:
			}
			if next, _ := l.selection(); next != sel {
				return followOK
			}
		case ev, ok := <-wi.ResultChan():
			if !ok {
				// The server ended the watch (its timeout): go on from
				// rv, after a pause if it ended at once.
				if time.Since(started) < time.Second {
					return followFailed
				}
				return followOK
			}
			switch ev.Type {
			case apiwatch.Error:
				err := apierrors.FromObject(ev.Object)
				if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
					return followExpired
				}
				l.health.record(ResourceAnalysisRuns, err)
				return followFailed
			case apiwatch.Bookmark:
				if m := metaOf(ev.Object); m != nil {
					*rv = m.GetResourceVersion()
				}
			case apiwatch.Added, apiwatch.Modified:
				if u, ok := ev.Object.(*unstructured.Unstructured); ok {
					klog.V(5).InfoS("AnalysisRun changed", "namespace", u.GetNamespace(), "name", u.GetName())
					*rv = u.GetResourceVersion()
					l.mu.Lock()
					l.put(u)
					l.mu.Unlock()
				}
			case apiwatch.Deleted:
				if u, ok := ev.Object.(*unstructured.Unstructured); ok {
					*rv = u.GetResourceVersion()
					l.mu.Lock()
					l.remove(Key{Namespace: u.GetNamespace(), Name: u.GetName()})
					l.mu.Unlock()
				}
			}
		}
	}
}

// await waits for a kick (the selection may have changed) and the rest of
// a scroll after it; false when ctx ended first.
func (l *lightRuns) await(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return false
	case <-l.kick:
		return sleepCtx(ctx, followSettle)
	}
}

// list reads the runs sel selects in full, keeps them, forgets the runs
// that sel would select and are gone, and returns the list's
// resourceVersion.
func (l *lightRuns) list(ctx context.Context, sel string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, runFetchTimeout)
	defer cancel()
	list, err := l.runs.Namespace(l.ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	l.health.record(ResourceAnalysisRuns, err)
	if err != nil {
		if ctx.Err() == nil {
			klog.V(2).InfoS("list AnalysisRuns", "namespace", l.ns, "selector", sel, "err", err)
		}
		return "", err
	}
	selected := labels.Everything()
	if sel != selectAll {
		if selected, err = labels.Parse(sel); err != nil {
			return "", err
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	listed := make(map[Key]bool, len(list.Items))
	for i := range list.Items {
		u := &list.Items[i]
		listed[Key{Namespace: u.GetNamespace(), Name: u.GetName()}] = true
		l.put(u)
	}
	for k, u := range l.full {
		if !listed[k] && selected.Matches(labels.Set(u.GetLabels())) {
			l.remove(k)
		}
	}
	return list.GetResourceVersion(), nil
}

// reread reads again the runs no selector reaches.
func (l *lightRuns) reread(ctx context.Context, keys []Key) {
	for _, k := range keys {
		rctx, cancel := context.WithTimeout(ctx, runFetchTimeout)
		u, err := l.runs.Namespace(k.Namespace).Get(rctx, k.Name, metav1.GetOptions{})
		cancel()
		l.mu.Lock()
		switch {
		case err == nil:
			l.put(u)
		case apierrors.IsNotFound(err):
			l.remove(k)
		default:
			klog.V(2).InfoS("read AnalysisRun", "namespace", k.Namespace, "name", k.Name, "err", err)
		}
		l.mu.Unlock()
	}
}

// put keeps run u, trimmed, and marks its rollouts changed when it is new or
// changed. l.mu is held.
func (l *lightRuns) put(u *unstructured.Unstructured) {
	k := Key{Namespace: u.GetNamespace(), Name: u.GetName()}
	old := l.full[k]
	if old != nil && old.GetResourceVersion() == u.GetResourceVersion() {
		return
	}
	_, _ = TrimRollout(u)
	if old != nil {
		l.unindex(k, old)
	}
	l.full[k] = u
	owners := runKeys(u)
	for _, o := range owners {
		if l.byRollout[o] == nil {
			l.byRollout[o] = map[Key]bool{}
		}
		l.byRollout[o][k] = true
	}
	l.dirty.add(owners...)
}

// remove forgets run k and marks its rollouts changed. l.mu is held.
func (l *lightRuns) remove(k Key) {
	if old := l.full[k]; old != nil {
		l.unindex(k, old)
		delete(l.full, k)
	}
}

// unindex takes run k, as old was, out of its rollouts' index, and marks
// them changed. l.mu is held.
func (l *lightRuns) unindex(k Key, old *unstructured.Unstructured) {
	owners := runKeys(old)
	for _, o := range owners {
		delete(l.byRollout[o], k)
		if len(l.byRollout[o]) == 0 {
			delete(l.byRollout, o)
		}
	}
	l.dirty.add(owners...)
}

// runsOf returns rollout k's runs as last read.
func (l *lightRuns) runsOf(k Key) []*unstructured.Unstructured {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]*unstructured.Unstructured, 0, len(l.byRollout[k]))
	for rk := range l.byRollout[k] {
		out = append(out, l.full[rk])
	}
	return out
}

// count is how many runs are known.
func (l *lightRuns) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.full)
}

// sleepCtx waits d, and reports false when ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
