//go:build linux || darwin

package datadog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/roost-dev/roost/analysis"
	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/internal/datadogserver"
	"github.com/roost-dev/roost/metrics/datadog"
)

// The scale of the issue: 200 rollouts, each with a background analysis
// (no count: it measures until the rollout ends it) of 3 Datadog metrics
// every 30 s.
const (
	scaleRuns     = 200
	scaleMetrics  = 3
	scaleInterval = 30 * time.Second

	// scaleCallsPerHour is the Datadog call rate the scale needs: one call
	// per metric per interval per run, 72,000 an hour (1,200 a minute).
	// Datadog's default limit for metric queries, 1,600 an hour per
	// organisation, is 45 times too low: the organisation must have it
	// raised to at least this.
	scaleCallsPerHour = scaleRuns * scaleMetrics * int(time.Hour/scaleInterval)
	// datadogDefaultPerHour is Datadog's announced default ("query", 1,600
	// calls per 3,600 s), the in-repo server's default too.
	datadogDefaultPerHour = 1600

	scaleRoostNS = "roost"
	scaleRunNS   = "shop"
	scaleAPIKey  = "5ca1e5ca1e5ca1e5ca1e5ca1e5ca1e5c"
	scaleAppKey  = "a99a99a99a99a99a99a99a99a99a99a99a99a99a"
)

// scaleStart is an hour boundary, where Datadog's fixed rate-limit windows
// start, plus half a second: timestamps in a run's status keep whole
// seconds, as the API server keeps them, so a pass exactly 30 s after the
// last would find it not yet due (Argo's rule is "after", not "at"); a
// real clock is never exactly on the second either.
var scaleStart = time.Date(2026, 3, 2, 10, 0, 0, 500_000_000, time.UTC)

// countingProvider is the Datadog provider as the run loop sees it, with
// what it answered counted.
type countingProvider struct {
	p analysis.Provider

	asked, throttled, failed atomic.Int64
	mu                       sync.Mutex
	firstErr                 error
}

func (c *countingProvider) Measure(ctx context.Context, run *v1alpha1.AnalysisRun, m v1alpha1.Metric, now time.Time) analysis.Reading {
	r := c.p.Measure(ctx, run, m, now)
	c.asked.Add(1)
	switch {
	case r.RetryAfter > 0:
		c.throttled.Add(1)
	case r.Err != nil:
		c.failed.Add(1)
		c.mu.Lock()
		if c.firstErr == nil {
			c.firstErr = fmt.Errorf("%s/%s metric %q: %w", run.Namespace, run.Name, m.Name, r.Err)
		}
		c.mu.Unlock()
	}
	return r
}

// scaleWorld is roost's AnalysisRun loop over 200 runs: a fake API server
// (dynamic client) holding the runs, an informer on it, a RunController, the
// Datadog provider and the in-repo Datadog server, all on one fake clock.
type scaleWorld struct {
	tb    testing.TB
	ctx   context.Context
	clk   *clocktesting.FakeClock
	srv   *datadogserver.Server
	limit datadogserver.RateLimit
	// served is the time spent inside the Datadog server's handler.
	served atomic.Int64
	dyn    *dynamicfake.FakeDynamicClient
	kube   *kubefake.Clientset
	inf    cache.SharedIndexInformer
	ctl    *analysis.RunController
	dd     *countingProvider
	names  []string

	// rv is the fake API server's resourceVersion counter; written is the
	// resourceVersion each run was last written at, which the informer
	// must show before the run is looked at again.
	rv      atomic.Int64
	mu      sync.Mutex
	written map[string]string

	intervals int
	// window sums the calls per rate-limit window.
	window map[time.Time]int
}

// interval is what one interval (a pass over every run) cost.
type interval struct {
	at time.Time
	// calls reached the Datadog server, rejected of them with a 429;
	// maxPerMetric is the most calls any one metric of one run made.
	calls, rejected, maxPerMetric int
	// measurements recorded (errors included), throttled readings (not
	// measured, retried later), errors among the measurements.
	measurements, throttled, errors int
	// writes are the status patches sent to the API server.
	writes int
	cpu    time.Duration
	served time.Duration
}

func scaleRun(i int) *v1alpha1.AnalysisRun {
	filter := fmt.Sprintf("{service:svc-%03d,kube_role:canary}", i)
	metric := func(name string, d v1alpha1.DatadogMetric) v1alpha1.Metric {
		return v1alpha1.Metric{
			Name: name, Interval: "30s", SuccessCondition: "result < 0.05",
			Provider: v1alpha1.MetricProvider{Datadog: &d},
		}
	}
	// A mix of Argo's requests: a v2 scalar formula, a lone query on v2
	// for half the runs and on v1 for the others, a v1 query.
	ratio := v1alpha1.DatadogMetric{APIVersion: v1alpha1.DatadogAPIv1, Query: "avg:roost.bench.ratio" + filter}
	if i%2 == 0 {
		ratio = v1alpha1.DatadogMetric{APIVersion: v1alpha1.DatadogAPIv2, Aggregator: v1alpha1.DatadogAggregatorAvg, Query: "avg:roost.bench.ratio" + filter}
	}
	return &v1alpha1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: scaleRunNS, Name: fmt.Sprintf("checkout-%03d-6d4f8b-bg", i),
			UID: types.UID(fmt.Sprintf("uid-%03d", i)), ResourceVersion: "1",
		},
		Spec: v1alpha1.AnalysisRunSpec{Metrics: []v1alpha1.Metric{
			metric("error-rate", v1alpha1.DatadogMetric{
				APIVersion: v1alpha1.DatadogAPIv2, Aggregator: v1alpha1.DatadogAggregatorSum,
				Queries: map[string]string{
					"errors": "sum:roost.bench.errors" + filter + ".as_count()",
					"hits":   "sum:roost.bench.hits" + filter + ".as_count()",
				},
				Formula: "errors / hits",
			}),
			metric("ratio", ratio),
			metric("latency", v1alpha1.DatadogMetric{Query: "avg:roost.bench.latency" + filter}),
		}},
	}
}

func newScaleWorld(tb testing.TB, limit datadogserver.RateLimit) *scaleWorld {
	tb.Helper()
	w := &scaleWorld{tb: tb, limit: limit, written: map[string]string{}, window: map[time.Time]int{}}
	w.clk = clocktesting.NewFakeClock(scaleStart)
	w.srv = datadogserver.New(datadogserver.Options{
		APIKey: scaleAPIKey, AppKey: scaleAppKey, Clock: w.clk, RateLimit: limit,
		// A query looks 5 minutes back (Argo's default window).
		Retention: 10 * time.Minute,
	})
	h := w.srv.Handler()
	front := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h.ServeHTTP(rw, r)
		w.served.Add(int64(time.Since(start)))
	}))
	tb.Cleanup(front.Close)

	// The API server: the runs, and status patches that get a new
	// resourceVersion and honour the one they were based on, as a real one
	// does (the fake keeps an object's resourceVersion as written).
	objs := make([]k8sruntime.Object, 0, scaleRuns)
	for i := range scaleRuns {
		run := scaleRun(i)
		u, err := v1alpha1.AnalysisRunToUnstructured(run)
		if err != nil {
			tb.Fatal(err)
		}
		objs = append(objs, u)
		w.names = append(w.names, run.Name)
	}
	w.dyn = dynamicfake.NewSimpleDynamicClientWithCustomListKinds(k8sruntime.NewScheme(),
		map[schema.GroupVersionResource]string{v1alpha1.AnalysisRunGVR: "AnalysisRunList"}, objs...)
	w.rv.Store(1000)
	tracker := w.dyn.Tracker()
	w.dyn.PrependReactor("patch", v1alpha1.AnalysisRunGVR.Resource, func(a k8stesting.Action) (bool, k8sruntime.Object, error) {
		pa := a.(k8stesting.PatchAction)
		gvr, ns, name := pa.GetResource(), pa.GetNamespace(), pa.GetName()
		cur, err := tracker.Get(gvr, ns, name)
		if err != nil {
			return true, nil, err
		}
		var body map[string]any
		if err := json.Unmarshal(pa.GetPatch(), &body); err != nil {
			return true, nil, apierrors.NewBadRequest(err.Error())
		}
		md, _ := body["metadata"].(map[string]any)
		if md == nil {
			md = map[string]any{}
			body["metadata"] = md
		}
		if based, _ := md["resourceVersion"].(string); based != "" && based != cur.(metav1.Object).GetResourceVersion() {
			return true, nil, apierrors.NewConflict(gvr.GroupResource(), name, fmt.Errorf("based on resourceVersion %s, stored %s", based, cur.(metav1.Object).GetResourceVersion()))
		}
		rv := strconv.FormatInt(w.rv.Add(1), 10)
		md["resourceVersion"] = rv
		patch, err := json.Marshal(body)
		if err != nil {
			return true, nil, err
		}
		handled, obj, err := k8stesting.ObjectReaction(tracker)(k8stesting.NewPatchAction(gvr, ns, name, pa.GetPatchType(), patch))
		if err == nil {
			w.mu.Lock()
			w.written[name] = rv
			w.mu.Unlock()
		}
		return handled, obj, err
	})

	ctx, cancel := context.WithCancel(context.Background())
	w.ctx = ctx
	runs := w.dyn.Resource(v1alpha1.AnalysisRunGVR)
	// As watch.Watcher builds it: a list then a watch (the fake client
	// says it cannot stream the list).
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (k8sruntime.Object, error) {
			return runs.Namespace(metav1.NamespaceAll).List(ctx, opts)
		},
		WatchFuncWithContext: runs.Namespace(metav1.NamespaceAll).Watch,
	}
	w.inf = cache.NewSharedIndexInformerWithOptions(cache.ToListWatcherWithWatchListSemantics(lw, w.dyn), &unstructured.Unstructured{},
		cache.SharedIndexInformerOptions{Indexers: cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}})

	// The provider as cmd/roost builds it: credentials from the Secret
	// "datadog" in roost's namespace (read at most every 10 s), the budget
	// left to Datadog's X-RateLimit headers.
	w.kube = kubefake.NewClientset(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: scaleRoostNS, Name: datadog.DefaultSecretName},
		Data: map[string][]byte{
			datadog.SecretAPIKey: []byte(scaleAPIKey), datadog.SecretAppKey: []byte(scaleAppKey),
			datadog.SecretAddress: []byte(front.URL),
		},
	})
	// Datadog's API speaks HTTP/2, one connection for every call at once;
	// the in-repo server speaks HTTP/1.1, so keep enough idle connections
	// for a pass's calls in flight together rather than measure TCP set-up
	// (http.DefaultTransport keeps 2).
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 8
	tb.Cleanup(transport.CloseIdleConnections)
	p, err := datadog.NewAnalysisProvider(datadog.AnalysisOptions{
		Kube: w.kube, Namespace: scaleRoostNS,
		LookupEnv:  func(string) (string, bool) { return "", false },
		Clock:      w.clk,
		HTTPClient: &http.Client{Transport: transport},
	})
	if err != nil {
		tb.Fatal(err)
	}
	w.dd = &countingProvider{p: p}
	w.ctl, err = analysis.NewRunController(analysis.ControllerConfig{
		Dynamic: w.dyn, Informer: w.inf, Clock: w.clk,
		Providers: analysis.Providers{Datadog: w.dd},
	})
	if err != nil {
		tb.Fatal(err)
	}
	go w.inf.RunWithContext(ctx)
	tb.Cleanup(func() {
		cancel()
		// With ctx done, Run shuts the controller's queue down and
		// detaches it from the informer at once.
		_ = w.ctl.Run(ctx, 1)
	})
	if !cache.WaitForCacheSync(ctx.Done(), w.inf.HasSynced) {
		tb.Fatal("the AnalysisRun informer did not sync")
	}
	if n := len(w.inf.GetStore().ListKeys()); n != scaleRuns {
		tb.Fatalf("the informer holds %d runs, want %d", n, scaleRuns)
	}
	return w
}

// feed gives every run's series three points, one per 10 s, in the 30 s
// before now: error rate 0.01, ratio 0.02, latency 0.03.
func (w *scaleWorld) feed(now time.Time) {
	for i := range scaleRuns {
		tags := []string{fmt.Sprintf("service:svc-%03d", i), "kube_role:canary"}
		for _, back := range []time.Duration{25 * time.Second, 15 * time.Second, 5 * time.Second} {
			at := now.Add(-back)
			w.srv.Add("roost.bench.errors", tags, at, 1)
			w.srv.Add("roost.bench.hits", tags, at, 100)
			w.srv.Add("roost.bench.ratio", tags, at, 0.02)
			w.srv.Add("roost.bench.latency", tags, at, 0.03)
		}
	}
}

// caughtUp waits until the informer shows every run at the
// resourceVersion it was last written at, as the controller's own
// requeue would wait for it.
func (w *scaleWorld) caughtUp() {
	deadline := time.Now().Add(30 * time.Second)
	for {
		behind := ""
		w.mu.Lock()
		for name, rv := range w.written {
			obj, ok, _ := w.inf.GetIndexer().GetByKey(scaleRunNS + "/" + name)
			if !ok || obj.(metav1.Object).GetResourceVersion() != rv {
				behind = name
				break
			}
		}
		w.mu.Unlock()
		if behind == "" {
			return
		}
		if time.Now().After(deadline) {
			w.tb.Fatalf("the informer did not show run %s's last write within 30 s", behind)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// step takes one interval: the clock moves 30 s on (not before the first),
// Datadog gets the interval's points, and every run gets one pass.
func (w *scaleWorld) step() interval {
	if w.intervals > 0 {
		w.clk.Step(scaleInterval)
	}
	w.intervals++
	now := w.clk.Now()
	w.feed(now)
	w.srv.ResetRequests()
	w.dyn.ClearActions()
	w.kube.ClearActions()
	asked, throttled, failed := w.dd.asked.Load(), w.dd.throttled.Load(), w.dd.failed.Load()
	served := w.served.Load()

	cpu := cpuTime()
	for i, name := range w.names {
		if err := w.ctl.SyncOnce(w.ctx, scaleRunNS, name); err != nil {
			w.tb.Fatalf("interval %d: %v", w.intervals, err)
		}
		// The fake watch holds 100 events: let the informer keep up.
		if i%32 == 31 {
			w.caughtUp()
		}
	}
	w.caughtUp()
	iv := interval{at: now, cpu: cpuTime() - cpu, served: time.Duration(w.served.Load() - served)}

	iv.throttled = int(w.dd.throttled.Load() - throttled)
	iv.errors = int(w.dd.failed.Load() - failed)
	iv.measurements = int(w.dd.asked.Load()-asked) - iv.throttled
	perMetric := map[string]int{}
	for _, r := range w.srv.Requests() {
		iv.calls++
		if r.Status == http.StatusTooManyRequests {
			iv.rejected++
		}
		w.window[r.Time.Truncate(w.limit.Period)]++
		key := string(r.Endpoint) + " " + strings.Join(r.Queries, " | ")
		perMetric[key]++
		iv.maxPerMetric = max(iv.maxPerMetric, perMetric[key])
	}
	for _, a := range w.dyn.Actions() {
		if a.GetVerb() == "patch" {
			iv.writes++
		}
	}
	return iv
}

// check fails on a breach of the ceilings: at most one Datadog call per
// metric per interval per run, at most one status write per measurement,
// no Datadog call past the announced limit, no Error measurement.
func (w *scaleWorld) check(tb testing.TB, iv interval) {
	tb.Helper()
	if iv.maxPerMetric > 1 {
		tb.Fatalf("interval %d: a metric of a run called Datadog %d times in one interval; at most one", w.intervals, iv.maxPerMetric)
	}
	if iv.calls > scaleRuns*scaleMetrics {
		tb.Fatalf("interval %d: %d Datadog calls for %d metrics", w.intervals, iv.calls, scaleRuns*scaleMetrics)
	}
	// A pass that measured writes once; one that only waits writes once
	// too, the first time, to say the metric is not being measured.
	if iv.writes > iv.measurements && iv.throttled == 0 {
		tb.Fatalf("interval %d: %d status writes for %d measurements; at most one per measurement", w.intervals, iv.writes, iv.measurements)
	}
	if iv.writes > scaleRuns {
		tb.Fatalf("interval %d: %d status writes for %d runs; a pass writes once", w.intervals, iv.writes, scaleRuns)
	}
	if iv.errors > 0 {
		w.dd.mu.Lock()
		defer w.dd.mu.Unlock()
		tb.Fatalf("interval %d: %d measurements are Errors; the first: %v", w.intervals, iv.errors, w.dd.firstErr)
	}
	for start, n := range w.window {
		if n > w.limit.Limit {
			tb.Fatalf("%d Datadog calls in the rate-limit window from %s, above the announced %d per %s", n, start.Format(time.TimeOnly), w.limit.Limit, w.limit.Period)
		}
	}
}

// measuredAll fails unless the interval measured every metric of every
// run with one call each, one write per run, nothing throttled or refused.
func measuredAll(tb testing.TB, n int, iv interval) {
	tb.Helper()
	all := scaleRuns * scaleMetrics
	if iv.calls != all || iv.measurements != all || iv.throttled != 0 || iv.rejected != 0 || iv.writes != scaleRuns {
		tb.Fatalf("interval %d: %d calls (%d refused), %d measurements, %d throttled, %d writes; want %d calls and measurements, %d writes",
			n, iv.calls, iv.rejected, iv.measurements, iv.throttled, iv.writes, all, scaleRuns)
	}
}

// statuses checks the runs as stored: Running, every metric Successful so
// far with at least want measurements counted.
func (w *scaleWorld) statuses(tb testing.TB, want int) {
	tb.Helper()
	list, err := w.dyn.Resource(v1alpha1.AnalysisRunGVR).Namespace(scaleRunNS).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	for i := range list.Items {
		run, _ := v1alpha1.AnalysisRunFromUnstructured(&list.Items[i])
		if run.Status.Phase != v1alpha1.AnalysisPhaseRunning || len(run.Status.MetricResults) != scaleMetrics {
			tb.Fatalf("run %s: phase %q, %d metric results (%s)", run.Name, run.Status.Phase, len(run.Status.MetricResults), run.Status.Message)
		}
		for _, r := range run.Status.MetricResults {
			if int(r.Count) < want || r.Successful != r.Count || len(r.Measurements) == 0 {
				tb.Fatalf("run %s metric %s: count %d, successful %d, %d kept; want %d measured and successful", run.Name, r.Name, r.Count, r.Successful, len(r.Measurements), want)
			}
		}
	}
}

// cpuTime is the CPU the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// heapMB is the heap after a collection: the spans in use, and the live
// objects in them.
func heapMB() (inuse, live float64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapInuse) / (1 << 20), float64(ms.HeapAlloc) / (1 << 20)
}

// TestAnalysisRuns200Budget guards the ceilings of BenchmarkAnalysisRuns200
// in `make test`: over a few intervals, one Datadog call per metric per
// interval per run and one status write per pass; and, under Datadog's
// default 1,600 calls an hour, a spent budget is a wait (RetryAfter), never
// an Error, never a call past the limit, and every run measures again when
// the window resets. About 2 s, 16 s under -race.
func TestAnalysisRuns200Budget(t *testing.T) {
	t.Run("raised limit", func(t *testing.T) {
		w := newScaleWorld(t, datadogserver.RateLimit{Limit: scaleCallsPerHour, Period: time.Hour, Name: "query"})
		const intervals = 3
		for n := 1; n <= intervals; n++ {
			iv := w.step()
			w.check(t, iv)
			measuredAll(t, n, iv)
		}
		w.statuses(t, intervals)
	})

	t.Run("Datadog's default limit", func(t *testing.T) {
		w := newScaleWorld(t, datadogserver.RateLimit{Limit: datadogDefaultPerHour, Period: time.Hour, Name: "query"})
		// 1,600 calls: two intervals of 600, then 400 of the third.
		var measured, throttled, rejected int
		for n := 1; n <= 5; n++ {
			iv := w.step()
			w.check(t, iv)
			measured += iv.measurements
			throttled += iv.throttled
			rejected += iv.rejected
			t.Logf("interval %d: %d calls (%d refused with 429), %d measured, %d throttled, %d writes", n, iv.calls, iv.rejected, iv.measurements, iv.throttled, iv.writes)
			if n >= 4 && (iv.calls != 0 || iv.measurements != 0) {
				t.Errorf("with the hour's calls spent: %d calls, %d measurements; want none, every metric waiting", iv.calls, iv.measurements)
			}
			// The wait is written once per run (its metrics say they are
			// not measured, and until when), then nothing while it lasts.
			if n == 5 && iv.writes != 0 {
				t.Errorf("interval 5, still waiting: %d writes; the wait was already said", iv.writes)
			}
		}
		if measured != datadogDefaultPerHour || throttled != 5*scaleRuns*scaleMetrics-measured {
			t.Errorf("%d measured, %d throttled, %d refused; want the %d calls of the hour measured and every other reading throttled", measured, throttled, rejected, datadogDefaultPerHour)
		}
		// Roost stops at X-RateLimit-Remaining 0, its calls in flight
		// counted: Datadog never has to refuse one.
		if rejected != 0 {
			t.Errorf("Datadog refused %d calls with a 429; roost should have stopped at X-RateLimit-Remaining 0", rejected)
		}

		// The next window: every run measures again, at once.
		next := scaleStart.Truncate(time.Hour).Add(time.Hour + 500*time.Millisecond)
		w.clk.SetTime(next.Add(-scaleInterval))
		iv := w.step()
		w.check(t, iv)
		measuredAll(t, 5, iv)
		w.statuses(t, 3)
	})
}

// BenchmarkAnalysisRuns200 is roost's AnalysisRun loop at the scale:
// 200 runs, each a background analysis of 3 Datadog metrics (v2 scalar
// formulas, v2 and v1 queries) every 30 s, measured through the Datadog
// provider against the in-repo Datadog server. One op is one interval: the
// fake clock moves 30 s and every run gets a pass (SyncOnce), then the
// informer is let to catch up with the writes. The runs first measure for 10
// intervals, untimed, so that their statuses hold as many measurements as
// they will keep.
//
// Reported: Datadog calls per metric per run per interval (at most 1), status
// writes per measurement (at most 1; a pass writes once for its 3
// measurements, so 1/3), the process's CPU per interval (user+system; it
// includes the in-process Datadog server, whose share is dd-server-ms, and
// the fake API server and informer), and the heap after the runs: the
// process's HeapInuse (what it held before included: the test binary's few
// MB, and under -count > 1 what the previous run left to collect), and the
// live heap added since before the world was built (the informer's 200 runs
// and the fake API server's copy of them, the Datadog server's points, the
// controller and the provider).
//
// "limit=72000-per-hour" announces the limit this scale needs; under
// "limit=1600-per-hour", Datadog's default, the hour's calls run out in the
// third interval and every later reading is throttled (RetryAfter): no call,
// no write, no Error, until the window resets (TestAnalysisRuns200Budget
// follows that transition); its figures are those of an interval spent
// waiting.
func BenchmarkAnalysisRuns200(b *testing.B) {
	for _, perHour := range []int{scaleCallsPerHour, datadogDefaultPerHour} {
		b.Run(fmt.Sprintf("limit=%d-per-hour", perHour), func(b *testing.B) {
			_, before := heapMB()
			w := newScaleWorld(b, datadogserver.RateLimit{Limit: perHour, Period: time.Hour, Name: "query"})
			// The steady state: a run keeps the last 10 measurements of
			// each metric (Argo's default retention), so its status, and
			// a pass's work, grow for the first 10 intervals.
			for range v1alpha1.DefaultMeasurementRetention {
				w.check(b, w.step())
			}
			var sum interval
			intervals := 0
			b.ReportAllocs()
			for b.Loop() {
				iv := w.step()
				w.check(b, iv)
				if perHour >= scaleCallsPerHour {
					measuredAll(b, w.intervals, iv)
				}
				intervals++
				sum.calls += iv.calls
				sum.rejected += iv.rejected
				sum.measurements += iv.measurements
				sum.throttled += iv.throttled
				sum.writes += iv.writes
				sum.cpu += iv.cpu
				sum.served += iv.served
			}
			b.StopTimer()
			n := float64(intervals)
			b.ReportMetric(float64(sum.calls)/(n*scaleRuns*scaleMetrics), "datadog-calls/interval/run-metric")
			if sum.measurements > 0 {
				b.ReportMetric(float64(sum.writes)/float64(sum.measurements), "status-writes/measurement")
			}
			b.ReportMetric(float64(sum.measurements)/n, "measurements/interval")
			b.ReportMetric(float64(sum.throttled)/n, "throttled/interval")
			b.ReportMetric(float64(sum.rejected), "429s")
			b.ReportMetric(float64(sum.cpu.Microseconds())/1000/n, "cpu-ms/interval")
			b.ReportMetric(float64(sum.served.Microseconds())/1000/n, "dd-server-ms/interval")
			inuse, live := heapMB()
			b.ReportMetric(inuse, "heap-inuse-MB")
			b.ReportMetric(live-before, "heap-added-MB")
		})
	}
}
