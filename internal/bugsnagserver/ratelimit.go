package bugsnagserver

import (
	"sync"
	"time"
)

// rateLimiter allows each token limit requests per fixed window, the way
// Bugsnag's Data Access API limits each user.
type rateLimiter struct {
	limit  int
	window time.Duration

	mu      sync.Mutex
	windows map[string]*tokenWindow
}

type tokenWindow struct {
	start time.Time
	used  int
}

// newRateLimiter returns nil when limit is 0: no limit.
func newRateLimiter(limit int, window time.Duration) *rateLimiter {
	if limit <= 0 {
		return nil
	}
	return &rateLimiter{limit: limit, window: window, windows: map[string]*tokenWindow{}}
}

// take counts one request of token at now. It returns the limit, the requests
// left in the window, and, when the request is refused, the whole seconds
// until the window ends (what Retry-After says).
func (l *rateLimiter) take(token string, now time.Time) (limit, remaining, retryAfter int, allowed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.windows[token]
	if w == nil || !now.Before(w.start.Add(l.window)) {
		w = &tokenWindow{start: now}
		l.windows[token] = w
	}
	if w.used >= l.limit {
		wait := w.start.Add(l.window).Sub(now)
		return l.limit, 0, int((wait + time.Second - 1) / time.Second), false
	}
	w.used++
	return l.limit, l.limit - w.used, 0, true
}
