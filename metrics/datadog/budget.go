package datadog

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// Backoff bounds: after a 429 without a reset the wait doubles from
// minBackoff up to maxBackoff; after Datadog itself failed (5xx, timeouts,
// an unreachable address on two or more queries) from minBackoff up to the
// budget's failure cap, DefaultFailureCap unless half the poll interval is
// shorter, so that a recovering Datadog is seen within one interval.
const (
	minBackoff        = 2 * time.Second
	maxBackoff        = 5 * time.Minute
	DefaultFailureCap = 30 * time.Second
	// resetSlack is how far two answers of one rate-limit window may put
	// its reset apart: X-RateLimit-Reset is in whole seconds.
	resetSlack = time.Second
)

// rateLimit is what Datadog's X-RateLimit headers say of the org's budget.
type rateLimit struct {
	known     bool
	remaining int
	// reset is how long until the budget refills.
	reset time.Duration
}

// parseRateLimit reads X-RateLimit-Remaining and X-RateLimit-Reset; known
// is false unless both are there and are numbers.
func parseRateLimit(h http.Header) rateLimit {
	remaining, err1 := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	reset, err2 := strconv.Atoi(h.Get("X-RateLimit-Reset"))
	if err1 != nil || err2 != nil || remaining < 0 || reset < 0 {
		return rateLimit{}
	}
	return rateLimit{known: true, remaining: remaining, reset: time.Duration(reset) * time.Second}
}

// outcome is how one call ended, as the budget needs it.
type outcome struct {
	// status is the HTTP status; 0 when no response came.
	status int
	// failed marks a failure on Datadog's side or on the way: a 5xx, a
	// timeout, an unreachable address, a body that is not the API's.
	failed bool
	// cause names the failure for later refusals: "HTTP 503", "a timeout".
	cause string
	limit rateLimit
}

// budget is the one call budget of a Client, shared by every rollout: it
// obeys Datadog's X-RateLimit headers, backs off after failures, and keeps
// under an optional ceiling of calls a minute. Every decision reads the
// injected clock, and jitter is injected too, so its behaviour is a function
// of its inputs.
type budget struct {
	clock     clock.PassiveClock
	perMinute int
	// jitter returns a random duration in [0, d).
	jitter func(d time.Duration) time.Duration

	mu sync.Mutex
	// remaining calls until resetAt, when the last headers said so.
	limitKnown bool
	remaining  int
	resetAt    time.Time
	// blockedUntil and why: the backoff after a failure or a 429.
	blockedUntil time.Time
	why          string
	// limited counts 429s without a reset, failures the bursts of
	// failures, in a row: calls sent together that fail together are one
	// burst, so parallel queries do not multiply the backoff. lastFailure
	// is when the last burst began; failedKeys the queries that failed
	// since the last success. Only a failure of two or more queries
	// blocks every call: one failing query is Datadog's answer to that
	// query, and must not silence the others.
	limited     int
	failures    int
	lastFailure time.Time
	failedKeys  map[string]bool
	failureCap  time.Duration
	// sent are the times of the calls of the last minute, for perMinute.
	sent []time.Time
}

func newBudget(clk clock.PassiveClock, perMinute int, jitter func(time.Duration) time.Duration) *budget {
	if jitter == nil {
		jitter = func(d time.Duration) time.Duration {
			if d <= 0 {
				return 0
			}
			return rand.N(d)
		}
	}
	return &budget{clock: clk, perMinute: perMinute, jitter: jitter, failureCap: DefaultFailureCap, failedKeys: map[string]bool{}}
}

// capFailures lowers the failure backoff's cap to d (the poll interval),
// when d is shorter than DefaultFailureCap and at least minBackoff.
func (b *budget) capFailures(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if d >= minBackoff && d < b.failureCap {
		b.failureCap = d
	}
}

// ticket is one reserved call: what it asks and when it was sent.
type ticket struct {
	key string
	at  time.Time
}

// reserve takes one call for key (the query) from the budget. When the
// budget refuses, wait is how long until it may allow one and why says so
// for a person.
func (b *budget) reserve(key string) (t ticket, wait time.Duration, why string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	t = ticket{key: key, at: now}
	if now.Before(b.blockedUntil) {
		return t, b.blockedUntil.Sub(now), b.why
	}
	if b.limitKnown && !now.Before(b.resetAt) {
		b.limitKnown = false
	}
	if b.limitKnown && b.remaining <= 0 {
		return t, b.resetAt.Sub(now), "Datadog's rate limit is used up (X-RateLimit-Remaining 0)"
	}
	if b.perMinute > 0 {
		cutoff := now.Add(-time.Minute)
		i := 0
		for i < len(b.sent) && !b.sent[i].After(cutoff) {
			i++
		}
		b.sent = b.sent[i:]
		if len(b.sent) >= b.perMinute {
			return t, b.sent[0].Add(time.Minute).Sub(now), fmt.Sprintf("roost's ceiling of %d Datadog calls a minute is reached", b.perMinute)
		}
		b.sent = append(b.sent, now)
	}
	// Count the call at once, so that calls in flight together do not all
	// spend the last one.
	if b.limitKnown {
		b.remaining--
	}
	return t, 0, ""
}

// record takes in how the call of ticket t ended and returns how long every
// call must wait (0: none; the caller's own schedule retries a failed
// query).
func (b *budget) record(t ticket, o outcome) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	if o.limit.known {
		resetAt := now.Add(o.limit.reset)
		switch {
		case !b.limitKnown || resetAt.After(b.resetAt.Add(resetSlack)):
			// The first headers, or a new window: as Datadog says.
			b.limitKnown, b.remaining, b.resetAt = true, o.limit.remaining, resetAt
		case resetAt.Before(b.resetAt.Add(-resetSlack)):
			// A late answer from a window since reset: nothing to learn.
		default:
			// The same window. Answers come back in any order, and none
			// counts the calls reserved since it was sent: the lowest
			// count is the truest, else calls in flight together outrun
			// X-RateLimit-Remaining and end in 429s.
			b.remaining = min(b.remaining, o.limit.remaining)
		}
	}
	var wait time.Duration
	switch {
	case o.status == http.StatusTooManyRequests:
		b.limited++
		wait = b.backoff(b.limited, maxBackoff)
		if o.limit.known && o.limit.reset > 0 {
			wait = o.limit.reset
		}
		b.why = "Datadog rate-limited the last call (429)"
	case o.failed:
		b.failedKeys[t.key] = true
		if t.at.After(b.lastFailure) {
			// A call sent after the last burst began: a new burst.
			b.failures++
			b.lastFailure = now
		}
		if len(b.failedKeys) < 2 {
			return 0
		}
		until := b.lastFailure.Add(b.backoff(b.failures, b.failureCap))
		if !until.After(b.blockedUntil) {
			return max(b.blockedUntil.Sub(now), 0)
		}
		wait = until.Sub(now)
		if wait <= 0 {
			return 0
		}
		b.why = "Datadog is failing (" + o.cause + " on several queries); backing off"
	default:
		b.failures, b.limited = 0, 0
		clear(b.failedKeys)
		if b.limitKnown && b.remaining <= 0 {
			return b.resetAt.Sub(now)
		}
		return 0
	}
	b.blockedUntil = now.Add(wait)
	return wait
}

// backoff is the wait after the n-th 429 or burst of failures in a row:
// doubling from minBackoff, plus up to a quarter of jitter so that roost
// processes do not retry in step, at most limit.
func (b *budget) backoff(n int, limit time.Duration) time.Duration {
	d := limit
	if n-1 < 16 {
		d = min(minBackoff<<(n-1), limit)
	}
	return min(d+b.jitter(d/4), limit)
}
