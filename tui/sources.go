package tui

import (
	"cmp"
	"context"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roost-dev/roost/actions"
	"github.com/roost-dev/roost/election"
	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/watch"
)

// Rollouts is the read model the cockpit shows: the watch layer's Store over
// its informers (see WatchRollouts).
type Rollouts interface {
	// Wait blocks until some rollouts changed (or the connection state did),
	// brings the read model up to date at now, and says what changed. It
	// returns ctx's error when ctx ends first.
	Wait(ctx context.Context, now func() time.Time) (watch.Changes, error)
	// Overview lists every rollout, those needing a human first.
	Overview() []*watch.Rollout
	// Health says whether the watches are connected.
	Health() watch.Health
}

// WatchRollouts serves Rollouts from a Watcher and its Store.
type WatchRollouts struct {
	Watcher *watch.Watcher
	Store   *watch.Store
	// synced is set once the first complete list was derived.
	synced bool
	// onScreen are the rollouts the cockpit shows, as it last said
	// (SetOnScreen); nil until it says, when every change is delivered at
	// once.
	onScreen atomic.Pointer[map[watch.Key]bool]
	// pending are the changes to rollouts off screen not yet delivered;
	// last is when the last delivery went out.
	pending []watch.Key
	last    time.Time
	// quiet are changes to rollouts off screen that change nothing the
	// screen shows of them (overviewSignature): they go out with the next
	// delivery, or at once when one of them comes on screen.
	quiet map[watch.Key]bool
	// mu guards wake, which cuts short the wait in progress.
	mu   sync.Mutex
	wake context.CancelFunc
}

// firstDeliveryWait is how long the first delivery waits, once every
// informer has listed, for what they listed: long enough for the
// informers' handlers, short enough not to show.
const firstDeliveryWait = 50 * time.Millisecond

// BackgroundInterval is how long a change to a rollout off screen may wait
// to be delivered, batched with others. A change on screen (or to the
// connection) goes out within a frame. With 200 canaries under analysis,
// each run writing a measurement every 30 s, the cockpit would otherwise
// redraw seven times a second to show nothing new.
const BackgroundInterval = time.Second

// SetOnScreen says which rollouts are on screen (rows in view, the detail,
// marked ones, an open dialog's): their changes are delivered at once,
// others' at most once a BackgroundInterval. Safe to call from any
// goroutine.
func (w *WatchRollouts) SetOnScreen(keys map[watch.Key]bool) {
	w.onScreen.Store(&keys)
	// Their AnalysisRuns are kept current; others' counts show nowhere.
	w.Watcher.SetWanted(keys)
	w.mu.Lock()
	defer w.mu.Unlock()
	for k := range w.quiet {
		if keys[k] && w.wake != nil {
			// A rollout whose change was held back scrolled into view.
			w.wake()
			return
		}
	}
}

// Wait implements Rollouts: at most one delivery per frame, and the first
// one only once every informer has listed, so the first frame is complete.
// The Store is brought up to date with every change as it comes; changes
// to rollouts off screen are delivered together, at most once a
// BackgroundInterval.
func (w *WatchRollouts) Wait(ctx context.Context, now func() time.Time) (watch.Changes, error) {
	if !w.synced {
		if !w.Watcher.WaitForCacheSync(ctx) {
			return watch.Changes{}, ctx.Err()
		}
		w.synced = true
		// Every informer has listed: that is the first complete frame,
		// even of a scope with no rollout, which no change would wake.
		// What was listed is dirty already, and comes at once.
		first, cancel := context.WithTimeout(ctx, firstDeliveryWait)
		c, err := w.Watcher.WaitDirty(first, 0)
		cancel()
		if ctx.Err() != nil {
			return c, ctx.Err()
		}
		t := now()
		if err == nil && len(c.Keys) > 0 {
			w.update(c.Keys, t)
		}
		return w.deliver(c, t), nil
	}
	for {
		wctx, cancel := context.WithCancel(ctx)
		if len(w.pending) > 0 {
			wctx, cancel = context.WithTimeout(ctx, max(w.last.Add(BackgroundInterval).Sub(now()), 0))
		}
		w.mu.Lock()
		w.wake = cancel
		woken := w.quietShown()
		w.mu.Unlock()
		var c watch.Changes
		err := context.Canceled
		if !woken {
			c, err = w.Watcher.WaitDirty(wctx, watch.FrameInterval)
		}
		w.mu.Lock()
		w.wake = nil
		w.mu.Unlock()
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return c, ctx.Err()
			}
			// The pending changes waited long enough, or a held-back one
			// came on screen.
			return w.deliver(watch.Changes{}, now()), nil
		}
		t := now()
		loud := len(c.Keys) == 0
		if len(c.Keys) > 0 {
			loud = w.update(c.Keys, t)
		}
		switch {
		case c.Health || w.shown(c.Keys) || loud && t.Sub(w.last) >= BackgroundInterval:
			return w.deliver(c, t), nil
		case loud:
			w.pending = append(w.pending, c.Keys...)
		default:
			w.mu.Lock()
			if w.quiet == nil {
				w.quiet = map[watch.Key]bool{}
			}
			for _, k := range c.Keys {
				w.quiet[k] = true
			}
			w.mu.Unlock()
		}
	}
}

// update brings the Store up to date with keys and says whether any change
// shows off screen: in the counts, groups and order of the list, or in what
// the cockpit asks of the metrics (see overviewSignature).
func (w *WatchRollouts) update(keys []watch.Key, at time.Time) bool {
	on := w.onScreen.Load()
	if on == nil {
		w.Store.Update(keys, at)
		return true
	}
	before := make([]string, len(keys))
	for i, k := range keys {
		if r, ok := w.Store.Detail(k); ok {
			before[i] = overviewSignature(r)
		}
	}
	w.Store.Update(keys, at)
	loud := false
	for i, k := range keys {
		after := ""
		if r, ok := w.Store.Detail(k); ok {
			after = overviewSignature(r)
		}
		loud = loud || after != before[i]
	}
	return loud
}

// overviewSignature is what the cockpit shows of a rollout that is not on
// screen: its urgency and state (the list's order, the "need you" count, the
// group lines and the bell), its phase and Argo CD names (what the filter
// matches) and its evidence target (what the metrics are polled for). A
// change that leaves it alone, such as one more measurement of a running
// analysis, can wait until the rollout shows.
func overviewSignature(r *watch.Rollout) string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(int(watch.UrgencyOf(r))))
	b.WriteString("|")
	b.WriteString(watch.StateWord(r))
	b.WriteString("|")
	b.WriteString(string(r.Phase))
	if r.CanaryUnderWay() {
		b.WriteString("|under way")
	}
	if a := r.App; a != nil {
		b.WriteString("|" + a.Namespace + "/" + a.Name + "|" + a.Project)
		if a.Known {
			b.WriteString("|known")
		}
	}
	b.WriteString("|")
	b.WriteString(newTargetMemo(r).sig)
	return b.String()
}

// quietShown says whether a held-back change is to a rollout now on
// screen. w.mu is held.
func (w *WatchRollouts) quietShown() bool {
	on := w.onScreen.Load()
	if on == nil {
		return len(w.quiet) > 0
	}
	for k := range w.quiet {
		if (*on)[k] {
			return true
		}
	}
	return false
}

// shown says whether any of keys is on screen (all are, until the cockpit
// says what it shows).
func (w *WatchRollouts) shown(keys []watch.Key) bool {
	on := w.onScreen.Load()
	if on == nil {
		return true
	}
	for _, k := range keys {
		if (*on)[k] {
			return true
		}
	}
	return false
}

// deliver is c with the pending changes, which it clears.
func (w *WatchRollouts) deliver(c watch.Changes, at time.Time) watch.Changes {
	w.mu.Lock()
	for k := range w.quiet {
		w.pending = append(w.pending, k)
	}
	w.quiet = nil
	w.mu.Unlock()
	if len(w.pending) > 0 {
		c.Keys = append(w.pending, c.Keys...)
		slices.SortFunc(c.Keys, func(a, b watch.Key) int {
			return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
		})
		c.Keys = slices.Compact(c.Keys)
		w.pending = nil
	}
	w.last = at
	return c
}

// Overview implements Rollouts.
func (w *WatchRollouts) Overview() []*watch.Rollout { return w.Store.Overview() }

// Health implements Rollouts.
func (w *WatchRollouts) Health() watch.Health { return w.Watcher.Health() }

// Actor sends the actions; *actions.Actions is one.
type Actor interface {
	Promote(ctx context.Context, ns, name string) (actions.Result, error)
	PromoteFull(ctx context.Context, ns, name string) (actions.Result, error)
	Abort(ctx context.Context, ns, name, reason string) (actions.Result, error)
	Retry(ctx context.Context, ns, name string) (actions.Result, error)
	Pause(ctx context.Context, ns, name string) (actions.Result, error)
	Resume(ctx context.Context, ns, name string) (actions.Result, error)
	Restart(ctx context.Context, ns, name string) (actions.Result, error)
	Undo(ctx context.Context, ns, name string, toRevision int64) (actions.Result, error)
	TerminateAnalysis(ctx context.Context, ns, rollout, run string) (actions.Result, error)
}

// AccessFunc says whether the person may act on rollouts of a namespace
// (actions.CheckAccess bound to a client).
type AccessFunc func(ctx context.Context, namespace string) (actions.Access, error)

// Stepping says who steps the canaries; *election.SteppingWatch is one.
type Stepping interface {
	Current() election.Stepping
	Wait(ctx context.Context, last election.Stepping) (election.Stepping, error)
}

// Evidence is the metrics and errors of the canaries; *metrics.Poller is one.
type Evidence interface {
	SetTargets(targets []metrics.Target)
	Refresh(namespace, name string)
	Evidence(namespace, name string) (metrics.Evidence, bool)
	WaitChanged(ctx context.Context) ([]metrics.Key, error)
}

// LogOptions ask for one pod's log.
type LogOptions struct {
	// Container names the container; "" lets the source pick the pod's
	// default one (its kubectl.kubernetes.io/default-container annotation,
	// else its first container), as kubectl logs does.
	Container string
	// TailLines is how many of the last lines to start with.
	TailLines int64
	// LimitBytes caps what the server sends; 0 is no cap. A followed log
	// is not capped by the server (it would end the stream): the cockpit
	// keeps only its last lines (see logBuffer).
	LimitBytes int64
	// Follow keeps the stream open for new lines until ctx ends.
	Follow bool
}

// LogStream is one pod's log being read: lines separated by "\n". Closing
// it, or ending the context it was opened with, ends the stream.
type LogStream struct {
	// Container is the container whose log it is.
	Container string
	io.ReadCloser
}

// PodLogs reads pods' logs: cmd/roost's over the API server (GetLogs), the
// demo's from its simulated kubelets.
type PodLogs interface {
	PodLogs(ctx context.Context, namespace, pod string, o LogOptions) (LogStream, error)
}

// PodEvents lists the Events about one pod, newest first (watch.PodEventsOf).
type PodEvents interface {
	PodEvents(ctx context.Context, namespace, pod string) ([]watch.Event, error)
}
