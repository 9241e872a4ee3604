package sim

import (
	"fmt"
	"strconv"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
)

// historySize is how many changes the store keeps for watches that resume
// from a resourceVersion. A reflector resumes from the version its list
// returned, microseconds earlier, or from the last event it saw; an older
// version gets 410 Gone and the reflector lists again, as with a real API
// server's watch cache.
const historySize = 1024

// maxQueued bounds the events waiting for one watch's reader. A reader that
// falls this far behind has its watch closed, as a real API server closes a
// slow watcher; the reflector then resumes or lists again.
const maxQueued = 50000

// history is a ring of the latest changes, oldest first.
type history struct {
	size int
	ring []change
	next int
	// floor is the newest resourceVersion no longer held (0: none dropped).
	floor int64
}

func (h *history) add(c change) {
	if len(h.ring) < h.size {
		h.ring = append(h.ring, c)
		return
	}
	h.floor = h.ring[h.next].rv
	h.ring[h.next] = c
	h.next = (h.next + 1) % h.size
}

// since returns the changes after rv, oldest first, or false when some of
// them are no longer held.
func (h *history) since(rv int64) ([]change, bool) {
	if rv < h.floor {
		return nil, false
	}
	ordered := append(append([]change{}, h.ring[h.next:]...), h.ring[:h.next]...)
	var out []change
	for _, c := range ordered {
		if c.rv > rv {
			out = append(out, c)
		}
	}
	return out, true
}

// watch opens a watch of gvr in ns ("" = all) with both selectors. From
// resourceVersion "" or "0" it starts with an ADDED event per existing
// object, as a real server does; from a number it replays the changes after
// it.
func (a *apiServer) watch(gvr schema.GroupVersionResource, ns string, ls labels.Selector, fs fields.Selector, resourceVersion string) (watch.Interface, error) {
	if err := checkFieldSelector(gvr, fs); err != nil {
		return nil, err
	}
	w := &watcher{api: a, gvr: gvr, ns: ns, labels: ls, fields: fs, result: make(chan watch.Event), done: make(chan struct{})}
	w.cond = sync.NewCond(&w.mu)
	a.mu.Lock()
	switch resourceVersion {
	case "", "0":
		var objs []runtime.Object
		for k, obj := range a.objects[gvr] {
			if (ns == "" || k.Namespace == ns) && matches(obj, ls, fs) {
				objs = append(objs, obj)
			}
		}
		sortObjects(objs)
		for _, obj := range objs {
			w.queue = append(w.queue, watch.Event{Type: watch.Added, Object: obj})
		}
	default:
		rv, err := strconv.ParseInt(resourceVersion, 10, 64)
		if err != nil {
			a.mu.Unlock()
			return nil, apierrors.NewBadRequest(fmt.Sprintf("resourceVersion %q is not one this server issued; watch from the resourceVersion of a list", resourceVersion))
		}
		changes, ok := a.history.since(rv)
		if !ok {
			a.mu.Unlock()
			return nil, apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %d (%d)", rv, a.history.floor+1))
		}
		for _, c := range changes {
			w.offer(c)
		}
	}
	a.watchers[w] = struct{}{}
	a.mu.Unlock()
	go w.run()
	return w, nil
}

// watcher is one open watch. The store appends its events to an unbounded
// queue, never blocking a write; one goroutine hands them to the reader.
type watcher struct {
	api    *apiServer
	gvr    schema.GroupVersionResource
	ns     string
	labels labels.Selector
	fields fields.Selector

	result    chan watch.Event
	done      chan struct{}
	stopOnce  sync.Once
	closeOnce sync.Once

	mu    sync.Mutex
	cond  *sync.Cond
	queue []watch.Event
	ended bool
}

func (w *watcher) ResultChan() <-chan watch.Event { return w.result }

// Stop ends the watch; its goroutine exits and the result channel closes.
func (w *watcher) Stop() {
	w.stopOnce.Do(func() {
		w.api.mu.Lock()
		delete(w.api.watchers, w)
		w.api.mu.Unlock()
		w.end()
	})
}

func (w *watcher) end() {
	w.mu.Lock()
	w.ended = true
	w.queue = nil
	w.mu.Unlock()
	w.cond.Broadcast()
	w.closeOnce.Do(func() { close(w.done) })
}

// offer queues the event ch means to this watch, if any. It is called with
// the store locked, and reports false when the watch is over (stopped, or
// closed for falling too far behind).
func (w *watcher) offer(ch change) bool {
	ev, ok := w.eventFor(ch)
	if !ok {
		return true
	}
	w.mu.Lock()
	if w.ended {
		w.mu.Unlock()
		return false
	}
	if len(w.queue) >= maxQueued {
		w.mu.Unlock()
		w.end()
		return false
	}
	w.queue = append(w.queue, ev)
	w.mu.Unlock()
	w.cond.Signal()
	return true
}

// eventFor is what a watch with these selectors sees of ch: an object that
// starts or stops matching a selector is ADDED or DELETED for it.
func (w *watcher) eventFor(ch change) (watch.Event, bool) {
	if ch.gvr != w.gvr || (w.ns != "" && ch.meta.GetNamespace() != w.ns) {
		return watch.Event{}, false
	}
	now := matches(ch.obj, w.labels, w.fields)
	switch ch.typ {
	case watch.Modified:
		before := matches(ch.old, w.labels, w.fields)
		switch {
		case before && now:
			return watch.Event{Type: watch.Modified, Object: ch.obj}, true
		case now:
			return watch.Event{Type: watch.Added, Object: ch.obj}, true
		case before:
			return watch.Event{Type: watch.Deleted, Object: ch.obj}, true
		}
		return watch.Event{}, false
	default:
		return watch.Event{Type: ch.typ, Object: ch.obj}, now
	}
}

// run hands queued events to the reader, each a copy of its own (informers'
// transforms change the objects they receive).
func (w *watcher) run() {
	defer close(w.result)
	for {
		w.mu.Lock()
		for len(w.queue) == 0 && !w.ended {
			w.cond.Wait()
		}
		if w.ended {
			w.mu.Unlock()
			return
		}
		ev := w.queue[0]
		w.queue[0] = watch.Event{}
		w.queue = w.queue[1:]
		w.mu.Unlock()
		ev.Object = ev.Object.DeepCopyObject()
		select {
		case w.result <- ev:
		case <-w.done:
			return
		}
	}
}
