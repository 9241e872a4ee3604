package demo

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/internal/argocd"
	"github.com/roost-dev/roost/internal/bugsnagserver"
	"github.com/roost-dev/roost/internal/datadogserver"
	"github.com/roost-dev/roost/internal/sim"
	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/metrics/bugsnag"
)

// ContextName is what the cockpit's header calls the simulated cluster.
const ContextName = "roost-demo (simulated, nothing is real)"

// pollInterval is how often the cockpit asks the demo's Datadog and
// Bugsnag about a canary: the shortest interval roost allows.
const pollInterval = 5 * time.Second

// The demo's Datadog: the call budget is generous (Datadog's own is 1,600
// an hour, for a whole organisation) so that the busy scenario stays
// fresh, and points are kept a little longer than the window roost reads.
var (
	datadogRateLimit = datadogserver.RateLimit{Limit: 100_000, Period: time.Hour, Name: "query"}
	datadogRetention = metrics.DefaultWindow + 15*time.Minute
)

// Options shape a World.
type Options struct {
	// Scenario names the scenario (see ScenarioNames); "" is the default.
	Scenario string
	// Speed divides the scenario's durations; 0 is 1 (real time).
	Speed float64
	// Seed makes the cluster's names and delays and the traffic's jitter
	// repeatable; 0 picks one.
	Seed uint64
	// Calm plays the scenario with every version good: the other clusters
	// of a demo over several, beside the one with the bad canary.
	Calm bool
	// Name is the cluster's kube context in a demo over several; its
	// Datadog series carry it as kube_cluster_name, as the Datadog agent
	// tags them, so that the cockpit tells the clusters' series apart.
	Name string
}

// clusterNames name the simulated clusters of a demo over several, in
// order; BadCluster is the index of the one that plays the scenario as
// written, its bad canary included.
var clusterNames = []string{"demo-tokyo", "demo-osaka", "demo-us", "demo-eu", "demo-sydney"}

// BadCluster is which of ClusterNames plays the bad canary.
const BadCluster = 1

// MaxClusters is how many clusters a demo simulates at most.
var MaxClusters = len(clusterNames)

// ClusterNames are the kube context names of a demo over n clusters.
func ClusterNames(n int) []string { return clusterNames[:min(max(n, 1), len(clusterNames))] }

// World is a running demo: the cluster, the two services' servers on
// loopback, the traffic and the script.
type World struct {
	// Cluster is the simulated cluster, for roost's clients.
	Cluster *sim.Cluster

	datadog        *datadogserver.Server
	bugsnag        *bugsnagserver.Server
	listeners      []net.Listener
	datadogURL     string
	bugsnagURL     string
	credentials    map[string]string
	services       map[string]*runningService
	book           *versionBook
	work           *workload
	traffic        *traffic
	script         *script
	gitops         *gitops
	closeListeners sync.Once
	running        sync.Mutex
}

// runningService is a scenario service with its Bugsnag project.
type runningService struct {
	Service
	project bugsnagserver.Project
}

// New builds the world of a scenario: the cluster with the scenario's
// rollouts at their stable versions, and the servers listening. Nothing
// moves until Run; Close releases the listeners of a World never run.
func New(o Options) (*World, error) {
	name := o.Scenario
	if name == "" {
		name = DefaultScenario
	}
	sc, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	speed := o.Speed
	if speed == 0 {
		speed = 1
	}
	if err := CheckSpeed(speed); err != nil {
		return nil, err
	}
	sc = sc.Scaled(speed)
	if o.Calm {
		sc.Services = calmed(sc.Services)
		sc.Plan = []Quality{Good}
	}
	seed := o.Seed
	if seed == 0 {
		seed = mrand.Uint64() | 1
	}
	cluster, err := sim.New(sim.Options{
		PodStartMin: sc.PodStartMin, PodStartMax: sc.PodStartMax,
		PodStopMin: sc.PodStopMin, PodStopMax: sc.PodStopMax,
		Seed: seed, PodEvents: true,
	})
	if err != nil {
		return nil, err
	}
	w := &World{
		Cluster:  cluster,
		services: map[string]*runningService{},
		book:     &versionBook{bad: map[string]bool{}},
		credentials: map[string]string{
			"DD_API_KEY":     madeUpKey(16),
			"DD_APP_KEY":     madeUpKey(20),
			bugsnag.TokenEnv: madeUpKey(20),
		},
	}
	var projects []bugsnagserver.Project
	for _, svc := range sc.Services {
		p := bugsnagserver.Project{ID: projectID(svc.Key()), Name: svc.Key(), APIKey: madeUpKey(16)}
		projects = append(projects, p)
		w.services[svc.Key()] = &runningService{Service: svc, project: p}
	}
	w.datadog = datadogserver.New(datadogserver.Options{
		APIKey: w.credentials["DD_API_KEY"], AppKey: w.credentials["DD_APP_KEY"],
		RateLimit: datadogRateLimit, Retention: datadogRetention,
	})
	w.bugsnag = bugsnagserver.New(bugsnagserver.Options{
		Projects: projects, Organization: bugsnagserver.Organization{Name: "roost-demo"},
		AuthTokens: []string{w.credentials[bugsnag.TokenEnv]},
	})
	for _, url := range []*string{&w.datadogURL, &w.bugsnagURL} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("demo: listening on a loopback port: %w", err)
		}
		w.listeners = append(w.listeners, l)
		*url = "http://" + l.Addr().String()
	}
	ctx := context.Background()
	if w.gitops, err = newGitops(cluster, w.services, speed); err == nil {
		err = w.gitops.create(ctx)
	}
	if err != nil {
		w.Close()
		return nil, err
	}
	for _, t := range analysisTemplates(sc, speed) {
		if err := cluster.CreateAnalysisTemplate(ctx, t); err != nil {
			w.Close()
			return nil, err
		}
	}
	for _, svc := range sc.Services {
		r := w.services[svc.Key()]
		if err := cluster.CreateRollout(ctx, r.rollout()); err != nil {
			w.Close()
			return nil, err
		}
	}
	start := time.Now()
	w.work = newWorkload(w.bugsnagURL)
	w.traffic = &traffic{
		cluster: cluster, clusterName: o.Name, datadog: w.datadog, work: w.work, scenario: sc, services: w.services, book: w.book,
		rand: mrand.New(mrand.NewPCG(seed, seed>>1)), start: start,
		hits: carry{}, serving: map[string]time.Time{}, everyday: map[string]bool{},
	}
	w.traffic.backfill()
	cluster.SetLogProfile(w.logProfile(sc))
	w.script = &script{cluster: cluster, scenario: sc, services: w.services, book: w.book, git: w.gitops, released: map[string]time.Time{}, started: make(chan struct{})}
	// Every rollout starts as if released a while ago, in the scenario's
	// order, so that the first new versions go to them in turn.
	for i, svc := range sc.Services {
		w.script.released[svc.Key()] = start.Add(time.Duration(i-len(sc.Services)) * time.Second)
	}
	return w, nil
}

// Metrics is the metrics configuration that points roost's production
// Datadog and Bugsnag clients at the demo's servers: the defaults, with
// the demo's addresses and a short poll interval; each rollout names its
// Bugsnag project in an annotation.
func (w *World) Metrics() metrics.Config {
	cfg := metrics.Defaults()
	cfg.Datadog.Address = w.datadogURL
	cfg.Datadog.Interval = pollInterval
	cfg.Datadog.Timeout = pollInterval
	cfg.Bugsnag.Address = w.bugsnagURL
	return cfg
}

// String says where the demo's services listen, never their keys.
func (w *World) String() string {
	return fmt.Sprintf("roost demo: Datadog at %s, Bugsnag at %s (made-up keys, not shown)", w.datadogURL, w.bugsnagURL)
}

// Format prints String for every verb, %+v and %#v included, so that no
// verb prints the keys.
func (w *World) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, w.String()) }

// Getenv is the environment roost's clients read their keys from: the
// demo's made-up keys, and nothing of the real environment (a DD_SITE
// there must not send the demo's queries elsewhere).
func (w *World) Getenv(name string) string { return w.credentials[name] }

// Run serves the servers, runs the cluster, the traffic, the workload and
// the script until ctx is done, then stops them all and returns once
// every goroutine it started is gone. It runs once.
func (w *World) Run(ctx context.Context) error {
	if !w.running.TryLock() {
		return errors.New("demo: the world is already running or has run; build another with New")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
		cancel()
	}
	servers := []*http.Server{
		{Handler: w.datadog.Handler(), ReadHeaderTimeout: 5 * time.Second},
		{Handler: w.bugsnag.Handler(), ReadHeaderTimeout: 5 * time.Second},
	}
	for i, s := range servers {
		l := w.listeners[i]
		wg.Go(func() {
			if err := s.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				fail(fmt.Errorf("demo: serving on %s: %w", l.Addr(), err))
			}
		})
	}
	wg.Go(func() {
		if err := w.Cluster.Run(ctx); err != nil {
			fail(err)
		}
	})
	wg.Go(func() { w.work.run(ctx) })
	wg.Go(func() { w.traffic.run(ctx) })
	wg.Go(func() { w.script.run(ctx) })
	wg.Go(func() { w.gitops.run(ctx) })

	<-ctx.Done()
	for _, s := range servers {
		sctx, done := context.WithTimeout(context.Background(), 2*time.Second)
		if err := s.Shutdown(sctx); err != nil {
			_ = s.Close()
		}
		done()
	}
	wg.Wait()
	klog.InfoS("demo stopped", "errorsReported", w.work.sent.Load(), "reportsFailed", w.work.failed.Load(), "reportsDropped", w.work.dropped.Load())
	return errors.Join(errs...)
}

// Ready waits, while Run runs and a reconciler steps the canaries, until
// the demo is where its scenario starts: every stable version's pods up,
// and the scenario's first canaries on their way. Drawn before that, the
// cockpit would show an empty cluster filling up (every rollout at 100/0,
// stable 0 of 10) as if that were the state to act on.
func (w *World) Ready(ctx context.Context) error {
	select {
	case <-w.script.started:
	case <-ctx.Done():
		return fmt.Errorf("demo: the scenario's first canaries did not start: %w", ctx.Err())
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		waiting, err := w.unsettled(ctx)
		if err == nil && waiting == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("%s is still moving", waiting)
			}
			return fmt.Errorf("demo: not at its starting state: %w (%w)", err, ctx.Err())
		case <-tick.C:
		}
	}
}

// unsettled names a rollout that is still on its way to the scenario's
// starting state, "" when none is: each with its status written for its
// spec, and at rest (Healthy, Paused, aborted) with its pods ready or its
// canary on its way from a stable version.
func (w *World) unsettled(ctx context.Context) (string, error) {
	list, err := w.Cluster.Dynamic.Resource(v1alpha1.RolloutGVR).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", fmt.Errorf("listing the demo's rollouts: %w", err)
	}
	seen := 0
	for i := range list.Items {
		r, errs := v1alpha1.FromUnstructured(&list.Items[i])
		key := list.Items[i].GetNamespace() + "/" + list.Items[i].GetName()
		if len(errs) > 0 || w.services[key] == nil {
			continue
		}
		seen++
		st := r.Status
		// At rest with its pods ready, or a canary on its way from a
		// stable version whose pods are up: either is the scenario's
		// start as it really is, not a cluster still filling up.
		observed := st.ObservedGeneration == strconv.FormatInt(r.Generation, 10)
		atRest := (st.Phase == v1alpha1.PhaseHealthy || st.Phase == v1alpha1.PhasePaused || st.Abort) && st.ReadyReplicas >= w.services[key].Replicas
		onItsWay := st.Phase == v1alpha1.PhaseProgressing && st.StableRS != "" && st.StableRS != st.CurrentPodHash
		if !observed || !atRest && !onItsWay {
			return key, nil
		}
	}
	if seen < len(w.services) {
		return "a rollout", nil
	}
	return "", nil
}

// Close releases the listeners. Run closes them itself when it ends.
func (w *World) Close() {
	w.closeListeners.Do(func() {
		for _, l := range w.listeners {
			_ = l.Close()
		}
	})
}

// rollout is the service's Rollout at its stable version: role labels for
// canary and stable, unified service tags for Datadog, and the service's
// own Bugsnag project.
func (s *runningService) rollout() *v1alpha1.Rollout {
	sel := map[string]string{"app": s.Name}
	labels := map[string]string{
		"app":                       s.Name,
		metrics.LabelDatadogService: s.Name,
		metrics.LabelDatadogEnv:     envTag,
		"app.kubernetes.io/part-of": s.Namespace,
	}
	var st []v1alpha1.CanaryStep
	for _, step := range s.Steps {
		switch {
		case step.Analysis != "":
			a := s.analysisOf(step.Analysis)
			st = append(st, v1alpha1.CanaryStep{Analysis: &a})
		case step.WaitForPromote:
			st = append(st, v1alpha1.CanaryStep{Pause: &v1alpha1.RolloutPause{}})
		case step.Pause > 0:
			d := intstr.FromString(step.Pause.String())
			st = append(st, v1alpha1.CanaryStep{Pause: &v1alpha1.RolloutPause{Duration: &d}})
		default:
			st = append(st, v1alpha1.CanaryStep{SetWeight: ptr.To(step.Weight)})
		}
	}
	var background *v1alpha1.RolloutAnalysisBackground
	if s.Gate.Background != "" {
		background = &v1alpha1.RolloutAnalysisBackground{RolloutAnalysis: s.analysisOf(s.Gate.Background)}
	}
	return &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{
			Name: s.Name, Namespace: s.Namespace,
			Labels: map[string]string{"team": s.Namespace},
			Annotations: map[string]string{
				metrics.AnnotationBugsnagProject: s.project.ID,
				argocd.TrackingAnnotation:        argocd.TrackingID(appOf(s.Service).Name, s.Namespace, s.Name),
			},
		},
		Spec: v1alpha1.RolloutSpec{
			Replicas: ptr.To(s.Replicas),
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: s.Name, Image: s.Image(s.Stable),
					Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
				}}},
			},
			Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
				Steps:          st,
				Analysis:       background,
				CanaryMetadata: &v1alpha1.PodTemplateMetadata{Labels: map[string]string{"role": canaryRole}},
				StableMetadata: &v1alpha1.PodTemplateMetadata{Labels: map[string]string{"role": stableRole}},
			}},
		},
	}
}

// madeUpKey is n random bytes in hex: keys that exist for one run only.
func madeUpKey(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// projectID is a Bugsnag project id (24 hex characters) for a rollout,
// the same every run.
func projectID(key string) string {
	sum := sha256.Sum256([]byte("roost-demo project " + key))
	return hex.EncodeToString(sum[:12])
}

// logProfile is how each pod serves, for the log the pod screen shows: as
// its version serves in the traffic (a bad version's requests fail with its
// regression once it has served a while), counted from when the pod
// started.
func (w *World) logProfile(sc Scenario) func(pod *corev1.Pod, at time.Time) sim.LogProfile {
	return func(pod *corev1.Pod, at time.Time) sim.LogProfile {
		svc := w.services[pod.Namespace+"/"+pod.Labels["app"]]
		if svc == nil || len(pod.Spec.Containers) == 0 {
			return sim.LogProfile{}
		}
		serving := time.Duration(0)
		if pod.Status.StartTime != nil {
			serving = at.Sub(pod.Status.StartTime.Time)
		}
		prof := profileOf(svc.Baseline, w.book.quality(pod.Spec.Containers[0].Image), sc.Regression, serving)
		out := sim.LogProfile{ErrorRate: prof.ErrorRate, Latency: time.Duration(prof.LatencyMedian * float64(time.Second))}
		if prof.Failing > 0 {
			e := svc.Errors.Regression
			out.Errors = []string{e.Class + ": " + e.Message}
		} else {
			for _, e := range svc.Errors.Background {
				out.Errors = append(out.Errors, e.Class+": "+e.Message)
			}
		}
		return out
	}
}
