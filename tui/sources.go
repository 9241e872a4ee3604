package tui

import (
	"context"
	"io"
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
}

// Wait implements Rollouts: at most one delivery per frame, and the first
// one only once every informer has listed, so the first frame is complete.
func (w *WatchRollouts) Wait(ctx context.Context, now func() time.Time) (watch.Changes, error) {
	if !w.synced {
		if !w.Watcher.WaitForCacheSync(ctx) {
			return watch.Changes{}, ctx.Err()
		}
		w.synced = true
	}
	c, err := w.Watcher.WaitDirty(ctx, watch.FrameInterval)
	if err != nil {
		return c, err
	}
	if len(c.Keys) > 0 {
		w.Store.Update(c.Keys, now())
	}
	return c, nil
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
