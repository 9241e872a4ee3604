package election

import (
	"context"
	"sync"
)

// latest holds the newest value of something readers wait on: each change
// wakes every waiter, and a waiter that was away sees only the newest.
type latest[T any] struct {
	mu      sync.Mutex
	value   T
	changed chan struct{} // closed and replaced at each change
}

func newLatest[T any](v T) *latest[T] {
	return &latest[T]{value: v, changed: make(chan struct{})}
}

func (l *latest[T]) get() T {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.value
}

// set stores v unless same says it is the value held; waiters wake only
// for a change.
func (l *latest[T]) set(v T, same func(a, b T) bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if same(l.value, v) {
		return
	}
	l.value = v
	close(l.changed)
	l.changed = make(chan struct{})
}

// wait blocks until differs holds of the value, or ctx ends (then it
// returns ctx's error and the value as it is).
func (l *latest[T]) wait(ctx context.Context, differs func(T) bool) (T, error) {
	for {
		l.mu.Lock()
		cur, ch := l.value, l.changed
		l.mu.Unlock()
		if differs(cur) {
			return cur, nil
		}
		select {
		case <-ctx.Done():
			return cur, ctx.Err()
		case <-ch:
		}
	}
}
