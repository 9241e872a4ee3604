package metrics

import (
	"context"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// callBudget holds Datadog calls to at most perMinute in any minute
// (datadog.maxCallsPerMinute), across every rollout: a sliding window, so
// that unlike a token bucket it never lets twice the budget through in a
// minute that straddles a refill.
type callBudget struct {
	mu sync.Mutex
	// at is a ring of the times granted to the last perMinute calls; next
	// is the oldest.
	at   []time.Time
	next int
}

func newCallBudget(perMinute int) *callBudget {
	return &callBudget{at: make([]time.Time, perMinute)}
}

// reserve grants one call and returns when it may go: now, or a minute
// after the call perMinute calls back. Grants never go back in time, so each
// minute holds at most perMinute of them.
func (b *callBudget) reserve(now time.Time) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	at := now
	if oldest := b.at[b.next]; !oldest.IsZero() && oldest.Add(time.Minute).After(now) {
		at = oldest.Add(time.Minute)
	}
	b.at[b.next] = at
	b.next = (b.next + 1) % len(b.at)
	return at
}

// wait blocks until a call may go, or ctx is done.
func (b *callBudget) wait(ctx context.Context, c clock.Clock) error {
	now := c.Now()
	at := b.reserve(now)
	if !at.After(now) {
		return nil
	}
	t := c.NewTimer(at.Sub(now))
	defer t.Stop()
	select {
	case <-t.C():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
