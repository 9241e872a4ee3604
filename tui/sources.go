package tui

import (
	"cmp"
	"context"
	"io"
	"slices"
	"strings"
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
}

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
func (w *WatchRollouts) SetOnScreen(keys map[watch.Key]bool) { w.onScreen.Store(&keys) }

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
	}
	for {
		wctx, cancel := ctx, context.CancelFunc(func() {})
		if len(w.pending) > 0 {
			wctx, cancel = context.WithTimeout(ctx, max(w.last.Add(BackgroundInterval).Sub(now()), 0))
		}
		c, err := w.Watcher.WaitDirty(wctx, watch.FrameInterval)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return c, ctx.Err()
			}
			// The pending changes waited long enough.
			return w.deliver(watch.Changes{}, now()), nil
		}
		t := now()
		if len(c.Keys) > 0 {
			w.Store.Update(c.Keys, t)
		}
		if c.Health || w.shown(c.Keys) || t.Sub(w.last) >= BackgroundInterval {
			return w.deliver(c, t), nil
		}
		w.pending = append(w.pending, c.Keys...)
	}
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
