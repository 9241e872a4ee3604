package metrics

import "time"

// Settled reports whether no poll is in flight and none is due at the
// poller's clock time: what a test waits for after moving a fake clock.
func (p *Poller) Settled() bool {
	now := p.clock.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.entries {
		for s := side(0); s < sides; s++ {
			sc := e.sched[s]
			if sc.running {
				return false
			}
			if e.target.Poll && p.on(e, s) && (sc.refresh || !sc.next.After(now)) {
				return false
			}
		}
	}
	return true
}

// Wake makes Run look at its schedule now. A fake clock moved while Run
// armed its timer leaves the timer late by the move; a test that waits for
// the poller wakes it instead of depending on that timer.
func (p *Poller) Wake() { signal(p.wake) }

// NextDue is the earliest time a poll is due, zero when none is.
func (p *Poller) NextDue() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	var next time.Time
	for _, e := range p.entries {
		for s := side(0); s < sides; s++ {
			if !e.target.Poll || !p.on(e, s) {
				continue
			}
			if t := e.sched[s].next; next.IsZero() || t.Before(next) {
				next = t
			}
		}
	}
	return next
}
