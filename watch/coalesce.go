package watch

import (
	"context"
	"sort"
	"sync"
	"time"
)

// FrameInterval is the shortest time between two deliveries of changes to the
// dashboard: a change after a quiet spell is delivered at once, one within
// 1/60 s of the last delivery waits for the rest of it, so a burst of events
// costs at most 60 derivations a second.
const FrameInterval = time.Second / 60

// Changes is what one WaitDirty delivers.
type Changes struct {
	// Keys are the rollouts that changed since the last delivery, sorted, each
	// once, however many events touched it.
	Keys []Key
	// Health is set when the connection state may have changed: read
	// Watcher.Health again.
	Health bool
}

// dirtySet collects the keys marked by informer callbacks until a reader takes
// them. Marking never blocks: a full wake channel already means "look".
type dirtySet struct {
	wake chan struct{}

	mu     sync.Mutex
	keys   map[Key]struct{}
	health bool
	// last is when a reader last took the set, for frame pacing.
	last time.Time
}

func newDirtySet() *dirtySet {
	return &dirtySet{wake: make(chan struct{}, 1), keys: map[Key]struct{}{}}
}

func (d *dirtySet) add(keys ...Key) {
	if len(keys) == 0 {
		return
	}
	d.mu.Lock()
	for _, k := range keys {
		d.keys[k] = struct{}{}
	}
	d.mu.Unlock()
	d.signal()
}

func (d *dirtySet) wakeHealth() {
	d.mu.Lock()
	d.health = true
	d.mu.Unlock()
	d.signal()
}

func (d *dirtySet) signal() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// take empties the set. The wake token is drained first, so a mark that lands
// after the drain leaves a token for the next wait and is never lost.
func (d *dirtySet) take(now time.Time) Changes {
	select {
	case <-d.wake:
	default:
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	c := Changes{Health: d.health}
	if len(d.keys) > 0 {
		c.Keys = make([]Key, 0, len(d.keys))
		for k := range d.keys {
			c.Keys = append(c.Keys, k)
		}
		sort.Slice(c.Keys, func(i, j int) bool { return keyLess(c.Keys[i], c.Keys[j]) })
		d.keys = make(map[Key]struct{}, len(c.Keys))
	}
	d.health = false
	d.last = now
	return c
}

func keyLess(a, b Key) bool {
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}

// WaitDirty blocks until some rollouts changed (or the connection state did),
// then returns them, at most once per minInterval: changes that arrive within
// a frame of the previous delivery wait for the frame and are delivered
// together. It returns ctx's error when ctx is done first.
//
// It is meant to be the body of one Bubble Tea command: the model re-arms the
// command after handling its message, so the dashboard gets at most one
// "changed" message per frame and none at all while nothing changes. Use one
// reader at a time.
func (w *Watcher) WaitDirty(ctx context.Context, minInterval time.Duration) (Changes, error) {
	d := w.dirty
	for {
		select {
		case <-ctx.Done():
			return Changes{}, ctx.Err()
		case <-d.wake:
		}
		// Put the token back: take drains it, after the frame wait.
		d.signal()
		d.mu.Lock()
		wait := minInterval - w.clock.Since(d.last)
		d.mu.Unlock()
		if minInterval > 0 && wait > 0 {
			t := w.clock.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return Changes{}, ctx.Err()
			case <-t.C():
			}
		}
		if c := d.take(w.clock.Now()); len(c.Keys) > 0 || c.Health {
			return c, nil
		}
	}
}
