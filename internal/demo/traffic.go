package demo

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"github.com/roost-dev/roost/internal/datadogserver"
	"github.com/roost-dev/roost/internal/sim"
	"github.com/roost-dev/roost/metrics"
)

// The APM metrics the pods report, as the Datadog agent names a traced
// service's requests: the ones roost's default queries read.
var (
	hitsMetric     = "trace." + metrics.DefaultOperation + ".hits"
	errorsMetric   = "trace." + metrics.DefaultOperation + ".errors"
	durationMetric = "trace." + metrics.DefaultOperation
)

// envTag is the env tag of every series, as the pods' unified service
// tags (tags.datadoghq.com/env) set it.
const envTag = "demo"

// profile is how each pod of one version of a service serves at one
// moment.
type profile struct {
	// RequestsPerPod is per second.
	RequestsPerPod float64
	ErrorRate      float64
	// LatencyMedian is in seconds, as Datadog's trace durations are.
	LatencyMedian float64
	LatencySpread float64
	// Failing is how far a bad version's regression has gone: 0, not
	// started, to 1, fully bad.
	Failing float64
}

// profileOf is how the pods of a version of quality q serve once the
// version has served for serving. The pods' role plays no part: a bad
// version misbehaves as a canary and, promoted, as stable alike.
func profileOf(b Baseline, q Quality, r Regression, serving time.Duration) profile {
	p := profile{
		RequestsPerPod: b.RequestsPerPod, ErrorRate: b.ErrorRate,
		LatencyMedian: b.LatencyMedian.Seconds(), LatencySpread: b.LatencySpread,
	}
	if q != Bad {
		return p
	}
	switch {
	case serving <= r.Onset:
		return p
	case r.Ramp <= 0 || serving >= r.Onset+r.Ramp:
		p.Failing = 1
	default:
		p.Failing = float64(serving-r.Onset) / float64(r.Ramp)
	}
	p.ErrorRate += (max(r.ErrorRate, b.ErrorRate) - b.ErrorRate) * p.Failing
	p.LatencyMedian *= 1 + (max(r.LatencyFactor, 1)-1)*p.Failing
	return p
}

// swell is the slow rise and fall of a service's traffic, t into a wave of
// period, that canary and stable share: 1 ± amplitude.
func swell(t, period time.Duration, amplitude float64) float64 {
	if period <= 0 {
		return 1
	}
	return 1 + amplitude*math.Sin(2*math.Pi*float64(t)/float64(period))
}

// latencies are k request durations of a log-normal with this median and
// spread, one from each k-th of the distribution (stratified rather than
// drawn at random), scaled by jitter: a few samples a pod then give a
// steady p95, so a good canary's latency reads like stable's.
func latencies(median, spread float64, k int, jitter float64) []float64 {
	out := make([]float64, k)
	for i := range out {
		q := (float64(i) + 0.5) / float64(k)
		z := math.Sqrt2 * math.Erfinv(2*q-1)
		out[i] = median * math.Exp(spread*z) * jitter
	}
	return out
}

// carry turns expected counts into whole ones without losing the
// fractions: what a key does not count now it counts later.
type carry map[string]float64

func (c carry) take(key string, expected float64) int {
	v := c[key] + max(expected, 0)
	// The epsilon keeps 0.3+0.7 from counting as 0.99999.
	n := math.Floor(v + 1e-9)
	c[key] = max(v-n, 0)
	return int(n)
}

// keep forgets every key but those in live.
func (c carry) keep(live map[string]bool) {
	for k := range c {
		if !live[k] {
			delete(c, k)
		}
	}
}

// seriesTags are the tags the Datadog agent puts on a pod's trace metrics:
// unified service tags, the pod's role label as kube_role (podLabelsAsTags)
// and its namespace. A pod without a role gets no kube_role.
func seriesTags(namespace, service, role, version, cluster string) []string {
	tags := []string{"service:" + service, "env:" + envTag, "kube_namespace:" + namespace, "version:" + version}
	if role != "" {
		tags = append(tags, metrics.DefaultTagKey+":"+role)
	}
	if cluster != "" {
		tags = append(tags, metrics.DefaultClusterTag+":"+cluster)
	}
	return tags
}

// imageTag is the version an image runs: shop/cart:1.8.3 → 1.8.3.
func imageTag(image string) string {
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		return image[i+1:]
	}
	return "latest"
}

// How the pods report.
const (
	// latencySamples is how many request durations each pod reports a tick.
	latencySamples = 8
	// requestJitter, errorJitter and latencyJitter are how far one pod's
	// tick strays from its profile, either way.
	requestJitter = 0.04
	errorJitter   = 0.06
	latencyJitter = 0.03
	// trafficSwell and latencySwell are the amplitudes of the shared wave.
	trafficSwell = 0.2
	latencySwell = 0.06
	// backgroundEvery is how often, on average, a pod throws one of its
	// service's everyday errors; regressionEvery how often a fully bad one
	// throws its regression.
	backgroundEvery = 45 * time.Second
	regressionEvery = 3 * time.Second
)

// traffic is every Ready pod's requests, sent to the Datadog server as the
// agent would, and the errors its workload throws, sent to Bugsnag.
type traffic struct {
	cluster *sim.Cluster
	// clusterName is the cluster's name as Datadog tags it; "" alone.
	clusterName string
	datadog     *datadogserver.Server
	work        *workload
	scenario    Scenario
	services    map[string]*runningService
	book        *versionBook
	rand        *rand.Rand
	start       time.Time

	// hits turns each pod's expected requests into whole ones. Errors are
	// not drawn but the expected share of the requests: a few requests
	// into a 10-second bucket, a draw would make a good canary's error
	// rate leap from none to twice stable's and the judge cry wolf.
	hits carry
	// serving is when each version of each service first served.
	serving map[string]time.Time
	// everyday marks the services whose stable pods have thrown their
	// everyday errors once: a service in production has thrown them long
	// before any canary.
	everyday map[string]bool
}

// pod is what the traffic needs of a Ready pod.
type pod struct {
	name, role string
}

func (t *traffic) run(ctx context.Context) {
	tick := time.NewTicker(t.scenario.TrafficPeriod)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			if err := t.tick(now); err != nil {
				klog.ErrorS(err, "demo traffic")
			}
		}
	}
}

// history is how much of the stable versions' past traffic the demo starts
// with: they have served in production long before the demo's first canary,
// so their metrics have a line to compare with from the first poll on.
const history = 10 * time.Minute

// backfill reports the traffic of every service's stable version, on its
// full replica count, for history before the start, as the agent would
// have sent it.
func (t *traffic) backfill() {
	period := t.scenario.TrafficPeriod
	if period <= 0 {
		return
	}
	for _, svc := range t.scenario.Services {
		image := svc.Image(svc.Stable)
		prof := profileOf(svc.Baseline, t.book.quality(image), t.scenario.Regression, history)
		tags := seriesTags(svc.Namespace, svc.Name, "stable", svc.Stable, t.clusterName)
		for at := t.start.Add(-history); at.Before(t.start); at = at.Add(period) {
			requests, median := t.load(prof, at.Sub(t.start))
			for i := range svc.Replicas {
				t.report(fmt.Sprintf("%s/history-%d", svc.Key(), i), tags, at, requests, prof, median)
			}
		}
	}
}

// tick reports one period of every Ready pod's traffic.
func (t *traffic) tick(now time.Time) error {
	all, err := t.cluster.Pods("", "")
	if err != nil {
		return err
	}
	type group struct {
		svc              *runningService
		role, image, key string
	}
	byGroup := map[group][]pod{}
	live := map[string]bool{}
	for i := range all {
		p := &all[i]
		svc := t.services[p.Namespace+"/"+p.Labels["app"]]
		if svc == nil || !ready(p) || len(p.Spec.Containers) == 0 {
			continue
		}
		g := group{svc: svc, role: p.Labels["role"], image: p.Spec.Containers[0].Image}
		g.key = svc.Key() + "|" + g.role + "|" + g.image
		byGroup[g] = append(byGroup[g], pod{name: p.Name, role: g.role})
		live[p.Namespace+"/"+p.Name] = true
	}
	groups := make([]group, 0, len(byGroup))
	for g := range byGroup {
		groups = append(groups, g)
	}
	slices.SortFunc(groups, func(a, b group) int { return strings.Compare(a.key, b.key) })

	elapsed := now.Sub(t.start)
	for _, g := range groups {
		pods := byGroup[g]
		svc := g.svc
		version := imageTag(g.image)
		first, ok := t.serving[svc.Key()+"@"+version]
		if !ok {
			first = now
			t.serving[svc.Key()+"@"+version] = now
		}
		prof := profileOf(svc.Baseline, t.book.quality(g.image), t.scenario.Regression, now.Sub(first))
		requests, median := t.load(prof, elapsed)
		tags := seriesTags(svc.Namespace, svc.Name, g.role, version, t.clusterName)
		for _, p := range pods {
			t.report(svc.Namespace+"/"+p.name, tags, now, requests, prof, median)
			t.throwErrors(svc, p, version, prof)
		}
	}
	t.hits.keep(live)
	return nil
}

// load is what each pod of prof serves in one period, elapsed into the
// demo, on the wave its service's pods share: the requests expected and
// the median of their durations.
func (t *traffic) load(prof profile, elapsed time.Duration) (requests, median float64) {
	wave := t.scenario.Wave
	requests = prof.RequestsPerPod * t.scenario.TrafficPeriod.Seconds() * swell(elapsed, wave, trafficSwell)
	median = prof.LatencyMedian * swell(elapsed+wave/3, wave*2/3, latencySwell)
	return requests, median
}

// report sends what the pod of key served in a period ending at: about
// requests requests (whole ones, carried by key), its errors at prof's rate
// and its requests' durations around median.
func (t *traffic) report(key string, tags []string, at time.Time, requests float64, prof profile, median float64) {
	hits := float64(t.hits.take(key, requests*t.jitter(requestJitter)))
	t.datadog.Add(hitsMetric, tags, at, hits)
	t.datadog.Add(errorsMetric, tags, at, hits*prof.ErrorRate*t.jitter(errorJitter))
	for _, d := range latencies(median, prof.LatencySpread, latencySamples, t.jitter(latencyJitter)) {
		t.datadog.AddDistribution(durationMetric, tags, at, d)
	}
}

// jitter is a factor within 1 ± spread.
func (t *traffic) jitter(spread float64) float64 {
	return 1 + spread*(2*t.rand.Float64()-1)
}

// throwErrors is what one pod's workload throws in a tick: its everyday
// errors now and then, and, on a regressing version, the regression.
func (t *traffic) throwErrors(svc *runningService, p pod, version string, prof profile) {
	if p.role == "" {
		return
	}
	throw := func(e AppError) {
		t.work.throw(report{
			apiKey: svc.project.APIKey, stage: p.role, version: version, pod: p.name,
			err: e, user: "user-" + strconv.Itoa(1+t.rand.IntN(400)),
		})
	}
	everyday := svc.Errors.Background
	if p.role == stableRole && !t.everyday[svc.Key()] {
		t.everyday[svc.Key()] = true
		for _, e := range everyday {
			throw(e)
		}
	}
	period := t.scenario.TrafficPeriod
	if len(everyday) > 0 && t.rand.Float64() < float64(period)/float64(backgroundEvery) {
		throw(everyday[t.rand.IntN(len(everyday))])
	}
	if prof.Failing > 0 && t.rand.Float64() < prof.Failing*float64(period)/float64(regressionEvery) {
		throw(svc.Errors.Regression)
	}
}

// ready reports whether a pod serves: Running, Ready, not terminating.
func ready(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
