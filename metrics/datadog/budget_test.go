package datadog

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

// budgetStep is one thing that happens to a budget: time passes, a call is
// asked for, or a call ends.
type budgetStep struct {
	advance time.Duration
	// reserve asks for a call; wantWait 0 means it is allowed, else it is
	// refused for wantWait with a reason containing wantWhy.
	reserve  bool
	wantWait time.Duration
	wantWhy  string
	// record ends a call; wantRetry is the wait it returns.
	record    *outcome
	wantRetry time.Duration
	// key is the query of the call reserved or ended ("q" when empty).
	key string
}

func allow() budgetStep            { return budgetStep{reserve: true} }
func allowKey(k string) budgetStep { return budgetStep{reserve: true, key: k} }
func refuse(wait time.Duration, why string) budgetStep {
	return budgetStep{reserve: true, wantWait: wait, wantWhy: why}
}
func after(d time.Duration) budgetStep { return budgetStep{advance: d} }
func ended(o outcome, retry time.Duration) budgetStep {
	return budgetStep{record: &o, wantRetry: retry}
}
func endedKey(k string, o outcome, retry time.Duration) budgetStep {
	return budgetStep{record: &o, wantRetry: retry, key: k}
}

func okWith(remaining int, reset time.Duration) outcome {
	return outcome{status: 200, limit: rateLimit{known: true, remaining: remaining, reset: reset}}
}

var (
	okNoHeaders  = outcome{status: 200}
	tooMany      = outcome{status: 429}
	serverError  = outcome{status: 503, failed: true, cause: "HTTP 503"}
	timedOut     = outcome{failed: true, cause: "a timeout"}
	forbidden403 = outcome{status: 403}
)

func tooManyReset(reset time.Duration) outcome {
	return outcome{status: 429, limit: rateLimit{known: true, remaining: 0, reset: reset}}
}

func TestBudget(t *testing.T) {
	tests := []struct {
		name      string
		perMinute int
		// jitter is the fraction of its range the jitter takes.
		jitter float64
		steps  []budgetStep
	}{
		{name: "no headers, no limit", steps: []budgetStep{
			allow(), ended(okNoHeaders, 0), allow(), allow(), ended(okNoHeaders, 0), allow(),
		}},
		{name: "nothing is sent while Remaining is 0, until the reset", steps: []budgetStep{
			allow(), ended(okWith(0, 30*time.Second), 30*time.Second),
			refuse(30*time.Second, "X-RateLimit-Remaining 0"),
			after(20 * time.Second), refuse(10*time.Second, "used up"),
			after(10 * time.Second), allow(), ended(okWith(99, time.Hour), 0), allow(),
		}},
		{name: "calls in flight spend the remaining calls", steps: []budgetStep{
			allow(), ended(okWith(2, time.Minute), 0),
			allow(), allow(), refuse(time.Minute, "used up"),
		}},
		{name: "answers out of order give back no call in flight", steps: []budgetStep{
			allow(), ended(okWith(3, time.Minute), 0),
			allow(), allow(), allow(),
			ended(okWith(0, time.Minute), time.Minute), ended(okWith(2, time.Minute), time.Minute), ended(okWith(1, time.Minute), time.Minute),
			refuse(time.Minute, "used up"),
		}},
		{name: "a new window's headers replace the last window's", steps: []budgetStep{
			allow(), ended(okWith(1, 10*time.Second), 0), allow(),
			after(10 * time.Second), ended(okWith(99, time.Hour), 0), allow(),
		}},
		{name: "a 429 waits its reset", steps: []budgetStep{
			allow(), ended(tooManyReset(40*time.Second), 40*time.Second),
			refuse(40*time.Second, "rate-limited the last call (429)"),
			after(40 * time.Second), allow(), ended(okWith(10, time.Hour), 0), allow(),
		}},
		{name: "a 429 without a reset backs off, doubling, until a success", steps: []budgetStep{
			allow(), ended(tooMany, 2*time.Second), refuse(2*time.Second, "429"),
			after(2 * time.Second), allow(), ended(tooMany, 4*time.Second),
			after(4 * time.Second), allow(), ended(tooMany, 8*time.Second),
			after(8 * time.Second), allow(), ended(okNoHeaders, 0),
			allow(), ended(tooMany, 2*time.Second),
		}},
		{name: "one failing query blocks no other call", steps: []budgetStep{
			allow(), ended(serverError, 0), allow(), ended(timedOut, 0), allowKey("other"), allow(),
		}},
		{name: "Datadog failing on several queries blocks every call, by bursts, not by calls", steps: []budgetStep{
			allowKey("a"), allowKey("b"), allowKey("c"),
			endedKey("a", serverError, 0), endedKey("b", serverError, 2*time.Second), endedKey("c", timedOut, 2*time.Second),
			refuse(2*time.Second, "Datadog is failing (HTTP 503 on several queries)"),
			after(time.Second), refuse(time.Second, "failing"),
			after(time.Second), allowKey("a"), allowKey("b"),
			endedKey("a", serverError, 4*time.Second), endedKey("b", serverError, 4*time.Second), refuse(4*time.Second, "backing off"),
			after(4 * time.Second), allowKey("a"), endedKey("a", okNoHeaders, 0), allowKey("b"), endedKey("b", serverError, 0), allow(),
		}},
		{name: "the failure backoff stops at thirty seconds", steps: func() []budgetStep {
			var steps []budgetStep
			for i, d := range []time.Duration{2, 4, 8, 16, 30, 30, 30} {
				first := d * time.Second
				if i == 0 {
					first = 0 // one query failing blocks no one
				}
				steps = append(steps, allowKey("a"), allowKey("b"), endedKey("a", serverError, first), endedKey("b", serverError, d*time.Second), after(d*time.Second))
			}
			return steps
		}()},
		{name: "a 429 without a reset stops at five minutes", steps: func() []budgetStep {
			var steps []budgetStep
			for _, d := range []time.Duration{2, 4, 8, 16, 32, 64, 128, 256, 300, 300} {
				steps = append(steps, allow(), ended(tooMany, d*time.Second), after(d*time.Second))
			}
			return steps
		}()},
		{name: "jitter adds up to a quarter, within the cap", jitter: 0.5, steps: []budgetStep{
			allowKey("a"), allowKey("b"), endedKey("a", serverError, 0), endedKey("b", serverError, 2*time.Second+250*time.Millisecond),
			after(3 * time.Second), allowKey("a"), endedKey("a", serverError, 4*time.Second+500*time.Millisecond),
		}},
		{name: "refused and failed calls of the configuration do not back off", steps: []budgetStep{
			allow(), ended(forbidden403, 0), allow(), ended(outcome{status: 400}, 0), allow(),
		}},
		{name: "a ceiling of calls a minute", perMinute: 2, steps: []budgetStep{
			allow(), after(10 * time.Second), allow(), refuse(50*time.Second, "ceiling of 2 Datadog calls a minute"),
			after(50 * time.Second), allow(), refuse(10*time.Second, "ceiling"),
			after(10 * time.Second), allow(),
		}},
		{name: "a refused call spends nothing", perMinute: 1, steps: []budgetStep{
			allow(), refuse(time.Minute, "ceiling"), refuse(time.Minute, "ceiling"),
			after(time.Minute), allow(),
		}},
		{name: "headers of a failure count too", steps: []budgetStep{
			allow(), ended(outcome{status: 500, failed: true, cause: "HTTP 500", limit: rateLimit{known: true, remaining: 0, reset: 10 * time.Minute}}, 0),
			after(2 * time.Second), refuse(10*time.Minute-2*time.Second, "used up"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clocktesting.NewFakePassiveClock(time.Unix(1_700_000_000, 0))
			b := newBudget(clk, tt.perMinute, func(d time.Duration) time.Duration { return time.Duration(tt.jitter * float64(d)) })
			tickets := map[string]ticket{}
			for i, s := range tt.steps {
				if s.key == "" {
					s.key = "q"
				}
				switch {
				case s.advance > 0:
					clk.SetTime(clk.Now().Add(s.advance))
				case s.reserve:
					tk, w, why := b.reserve(s.key)
					if w != s.wantWait || !strings.Contains(why, s.wantWhy) {
						t.Fatalf("step %d: reserve = %v %q, want %v %q", i, w, why, s.wantWait, s.wantWhy)
					}
					tickets[s.key] = tk
				case s.record != nil:
					if got := b.record(tickets[s.key], *s.record); got != s.wantRetry {
						t.Fatalf("step %d: record(%+v) = %v, want %v", i, *s.record, got, s.wantRetry)
					}
				}
			}
		})
	}
}

func TestParseRateLimit(t *testing.T) {
	tests := []struct {
		header http.Header
		want   rateLimit
	}{
		{http.Header{"X-Ratelimit-Remaining": {"12"}, "X-Ratelimit-Reset": {"30"}}, rateLimit{known: true, remaining: 12, reset: 30 * time.Second}},
		{http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"0"}}, rateLimit{known: true}},
		{http.Header{"X-Ratelimit-Remaining": {"12"}}, rateLimit{}},
		{http.Header{"X-Ratelimit-Remaining": {"x"}, "X-Ratelimit-Reset": {"30"}}, rateLimit{}},
		{http.Header{"X-Ratelimit-Remaining": {"-1"}, "X-Ratelimit-Reset": {"30"}}, rateLimit{}},
		{http.Header{}, rateLimit{}},
	}
	for _, tt := range tests {
		if got := parseRateLimit(tt.header); got != tt.want {
			t.Errorf("parseRateLimit(%v) = %+v, want %+v", tt.header, got, tt.want)
		}
	}
}

// A short poll interval caps the failure backoff: a recovering Datadog is
// seen within one interval.
func TestBudgetFailureCapFollowsTheInterval(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Unix(1_700_000_000, 0))
	b := newBudget(clk, 0, func(time.Duration) time.Duration { return 0 })
	b.capFailures(10 * time.Second)
	var got []time.Duration
	for range 5 {
		a, _, _ := b.reserve("a")
		c, _, _ := b.reserve("b")
		b.record(a, serverError)
		w := b.record(c, serverError)
		got = append(got, w)
		clk.SetTime(clk.Now().Add(w))
	}
	want := []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("waits %v, want %v", got, want)
	}
}
