package metrics

// When each side of each rollout is due, and starting the rounds that are.

import (
	"context"
	"math"
	"sync"
	"time"
)

// firstSpread is how long the first polls of rollouts that come into scope
// together are spread over: on their phases, scaled down from the interval.
const firstSpread = time.Second

// phaseOf spreads the k-th target (from 0) over the interval by the golden
// ratio: however many come and go, neighbours stay about interval/(2.6·n)
// apart.
func phaseOf(k int, interval time.Duration) time.Duration {
	const phi = 0.6180339887498949
	_, frac := math.Modf(float64(k+1) * phi)
	return time.Duration(frac * float64(interval))
}

func (e *entry) startPolling(now time.Time, interval time.Duration) {
	first := spreadOf(e.phase, interval)
	for s := range e.sched {
		e.sched[s].next, e.sched[s].first = now.Add(first), true
	}
}

// spreadOf scales a phase within interval down to one within firstSpread.
func spreadOf(phase, interval time.Duration) time.Duration {
	if interval > firstSpread {
		return time.Duration(float64(phase) * float64(firstSpread) / float64(interval))
	}
	return phase
}

// on reports whether side s of e is asked at all.
func (p *Poller) on(e *entry, s side) bool {
	if s == sideMetrics {
		return p.metrics != nil && e.plan.MetricsOff == ""
	}
	return p.errors != nil && e.plan.ErrorsOff == ""
}

// dispatch starts the rounds that are due and returns how long until the
// next one is, if any is scheduled.
func (p *Poller) dispatch(ctx context.Context, rounds *sync.WaitGroup) (time.Duration, bool) {
	now := p.clock.Now()
	interval := p.cfg.Datadog.Interval
	p.mu.Lock()
	defer p.mu.Unlock()
	var earliest time.Time
	later := func(t time.Time) {
		if earliest.IsZero() || t.Before(earliest) {
			earliest = t
		}
	}
	for k, e := range p.entries {
		if !e.target.Poll {
			continue
		}
		for s := side(0); s < sides; s++ {
			sc := &e.sched[s]
			if sc.running || !p.on(e, s) {
				continue
			}
			due := sc.next
			if sc.refresh {
				due = now
			}
			if due.After(now) {
				later(due)
				continue
			}
			sc.refresh = false
			if h := p.holds[s]; now.Before(h.until) {
				// Spread the held rollouts over a second after the hold,
				// as at the start, so that they do not all return at
				// once, nor a whole interval late.
				sc.next = h.until.Add(spreadOf(e.phase, interval))
				state := e.state(s)
				state.Stale, state.Reason, state.RetryAt = true, h.reason, sc.next
				p.markDirty(k)
				later(sc.next)
				continue
			}
			sc.running = true
			first := sc.first
			if first {
				sc.next, sc.first = nextAfter(due.Add(e.phase), now, interval), false
			} else {
				sc.next = nextAfter(due, now, interval)
			}
			r := round{key: k, entry: e, side: s, first: first, plan: e.plan, since: e.target.Since, prev: e.metrics,
				pods: [2]int{e.target.CanaryPods, e.target.StablePods}}
			rounds.Go(func() { p.poll(ctx, r) })
		}
	}
	if earliest.IsZero() {
		return 0, false
	}
	return earliest.Sub(now), true
}

func (e *entry) state(s side) *Freshness {
	if s == sideMetrics {
		return &e.metricsState
	}
	return &e.errorsState
}

// nextAfter is the first time after now on due's beat: a round that ran
// late, or a poller that slept, does not make up for missed rounds.
func nextAfter(due, now time.Time, interval time.Duration) time.Time {
	next := due.Add(interval)
	if next.After(now) {
		return next
	}
	missed := now.Sub(due) / interval
	return due.Add((missed + 1) * interval)
}
