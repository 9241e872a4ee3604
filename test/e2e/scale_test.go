//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	apiwatch "k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/roost-dev/roost/analysis"
	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/controller"
	"github.com/roost-dev/roost/internal/argocd"
	"github.com/roost-dev/roost/internal/cluster"
	"github.com/roost-dev/roost/internal/rollouttest"
	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/metrics/datadog"
)

// The namespace the cockpit is sized for: 200 Rollouts of 50 pods (10,000
// Ready pods) and, as a real namespace has, other objects roost must not
// list.
const (
	scaleRollouts   = 200
	scaleReplicas   = 50
	scaleConfigMaps = 2000
	// scaleApps Argo CD Applications in scaleProjects AppProjects deploy
	// the rollouts, ten each.
	scaleApps     = 20
	scaleProjects = 4
	// scaleMetrics Datadog metrics every scaleInterval: the background
	// analysis of each canary in the analysis phase.
	scaleMetrics  = 3
	scaleInterval = "30s"
	// idleWindow is how long CPU is counted with nothing changing, and how
	// long after start the steady RSS is read. /proc counts CPU in ticks of
	// 10 ms: over 60 s one tick is 0.017 % of a core, and the window spans
	// two of the analysis phase's 30 s measurement intervals.
	idleWindow = 60 * time.Second
	// settle lets a fresh cockpit finish its start-up (access reviews, the
	// election, the reconciler's first pass) before the idle window.
	settle = 10 * time.Second
	// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat:
	// 100 on every Linux ABI.
	clockTicks = 100
)

// cockpitFigures are one cockpit run's measurements.
type cockpitFigures struct {
	// firstFrame is the median first complete frame of firstFrames, the
	// phase's starts (see startsFirstFrames).
	firstFrame  time.Duration
	firstFrames []time.Duration
	// peakRSS is VmHWM, steadyRSS VmRSS, in bytes.
	peakRSS, steadyRSS int64
	// idleCPU is the percentage of one core used over idleWindow.
	idleCPU float64
	// rssParts splits the steady RSS (see rssParts).
	rssParts string
}

func (f cockpitFigures) String() string {
	return fmt.Sprintf("first complete frame %s after start (%s), peak RSS %d MB, steady RSS %d MB (%s), idle CPU %.2f%% of a core",
		f.firstFrame.Round(time.Millisecond), f.startsText(), f.peakRSS>>20, f.steadyRSS>>20, f.rssParts, f.idleCPU)
}

// startsText says what firstFrame is the median of.
func (f cockpitFigures) startsText() string {
	if len(f.firstFrames) < 2 {
		return "one start"
	}
	each := make([]string, len(f.firstFrames))
	for i, d := range f.firstFrames {
		each[i] = d.Round(time.Millisecond).String()
	}
	return fmt.Sprintf("median of %d starts, slowest %s: %s", len(f.firstFrames), f.slowestFirstFrame().Round(time.Millisecond), strings.Join(each, ", "))
}

// slowestFirstFrame is the slowest of the phase's starts.
func (f cockpitFigures) slowestFirstFrame() time.Duration {
	if len(f.firstFrames) == 0 {
		return f.firstFrame
	}
	return slices.Max(f.firstFrames)
}

// firstFrameStarts is how many cockpits a phase starts for its first
// complete frame. One start is at the mercy of what else the machine does
// at that moment: here the API server shares the two cores, and its own
// garbage collection (a second of CPU over its heap of about a gigabyte,
// about every 500 MB it allocates; a cockpit's start makes it allocate
// about 180 MB) falls into about one start in three. The figure is the
// median of the starts, reported with the slowest and each of them.
const firstFrameStarts = 5

// startsFirstFrames starts firstFrameStarts-1 cockpits with args one after
// another, each quit once it has drawn its first complete frame, then the
// cockpit the phase goes on with; it returns that one and the first
// complete frame of each.
func startsFirstFrames(b *testing.B, ns, name string, rollouts int, environ []string, args ...string) (*cockpitTerm, int, []time.Duration) {
	b.Helper()
	var frames []time.Duration
	for i := 1; i < firstFrameStarts; i++ {
		c, _, after := startMeasuredEnv(b, ns, fmt.Sprintf("%s-start-%d", name, i), rollouts, environ, args...)
		frames = append(frames, after)
		c.keys("q")
		if code := c.awaitExit(); code != 0 {
			b.Fatalf("%s: start %d: exit status %d after q", name, i, code)
		}
		// Let the API server finish with the last start's requests.
		time.Sleep(3 * time.Second)
	}
	c, pid, after := startMeasuredEnv(b, ns, name, rollouts, environ, args...)
	return c, pid, append(frames, after)
}

// figuresOf starts cockpitFigures with the first complete frames of a
// phase's starts.
func figuresOf(frames []time.Duration) cockpitFigures {
	sorted := slices.Sorted(slices.Values(frames))
	return cockpitFigures{firstFrame: sorted[len(sorted)/2], firstFrames: frames}
}

// BenchmarkCockpitAtScale measures the cockpit against the local control
// plane holding 200 Rollouts x 50 Ready pods and 2,000 ConfigMaps in one
// namespace: the first complete frame, peak and steady RSS and idle CPU,
// with --reconciler=off and with --reconciler=on (this roost reconciling all
// 200); the time from a pod's label write to the screen showing it; and, with
// the reconciler on, the time and CPU to step all 200 to their pause after a
// new image; then, with every canary under a background analysis of three
// Datadog metrics every 30 s (run by a reconciler in this process), a
// watching cockpit's start, steady figures and event-to-frame times. The
// rollouts are deployed by 20 Argo CD Applications in 4 AppProjects, and
// the cockpits group them by project. It is a benchmark run once (`make
// e2e-scale`), not a test: it reports figures and asserts only that every
// step happened.
func BenchmarkCockpitAtScale(b *testing.B) {
	if cluster.FakeNodePods < scaleRollouts*scaleReplicas {
		b.Fatalf("the kwok node holds %d pods; the benchmark needs %d", cluster.FakeNodePods, scaleRollouts*scaleReplicas)
	}
	ns := env.NewNamespace(b)
	dyn, err := dynamic.NewForConfig(env.RESTConfig())
	if err != nil {
		b.Fatal(err)
	}
	t := scaleTarget{ns: ns, kube: env.Client(), dyn: dyn}
	populated := populateScale(b, t)
	b.ReportMetric(populated.Seconds(), "pods-ready-s")
	// ROOST_SCALE_ONLY=analysis skips the two watching phases: for whoever
	// works on the analysis phase's figures.
	only := os.Getenv("ROOST_SCALE_ONLY")
	if only != "" && only != "analysis" {
		b.Fatalf("ROOST_SCALE_ONLY=%q: the one phase that can be run alone is analysis", only)
	}
	for i := 0; i < b.N; i++ {
		if only == "analysis" {
			an, aft := measureAnalysis(b, t)
			reportAnalysis(b, an, aft)
			continue
		}
		off, ft := measureOff(b, t)
		off.report(b, "off")
		b.ReportMetric(ms(ft.roost.percentile(50)), "event-to-frame-p50-ms")
		b.ReportMetric(ms(ft.roost.percentile(99)), "event-to-frame-p99-ms")
		b.ReportMetric(ms(ft.delivered.percentile(50)), "write-to-event-p50-ms")
		b.ReportMetric(ms(ft.written.percentile(50)), "write-to-frame-p50-ms")
		b.ReportMetric(ms(ft.written.percentile(99)), "write-to-frame-p99-ms")
		b.ReportMetric(ms(ft.shown.percentile(50)), "write-to-screen-p50-ms")
		b.ReportMetric(ms(ft.shown.percentile(99)), "write-to-screen-p99-ms")
		b.ReportMetric(ms(ft.capture), "capture-pane-ms")

		on, wave := measureOn(b, t)
		on.report(b, "on")
		b.ReportMetric(wave.took.Seconds(), "step-200-s")
		b.ReportMetric(wave.cpu.Seconds(), "step-200-CPU-s")
		b.ReportMetric(float64(wave.peakRSS>>20), "step-200-peak-RSS-MB")

		an, aft := measureAnalysis(b, t)
		reportAnalysis(b, an, aft)
	}
}

// report reports f as the metrics PHASE-first-frame-s (the median),
// PHASE-first-frame-max-s, PHASE-peak-RSS-MB, PHASE-steady-RSS-MB and
// PHASE-idle-CPU-%.
func (f cockpitFigures) report(b *testing.B, phase string) {
	b.ReportMetric(f.firstFrame.Seconds(), phase+"-first-frame-s")
	b.ReportMetric(f.slowestFirstFrame().Seconds(), phase+"-first-frame-max-s")
	b.ReportMetric(float64(f.peakRSS>>20), phase+"-peak-RSS-MB")
	b.ReportMetric(float64(f.steadyRSS>>20), phase+"-steady-RSS-MB")
	b.ReportMetric(f.idleCPU, phase+"-idle-CPU-%")
}

func reportAnalysis(b *testing.B, an cockpitFigures, aft frameTimes) {
	an.report(b, "analysis")
	b.ReportMetric(ms(aft.roost.percentile(50)), "analysis-event-to-frame-p50-ms")
	b.ReportMetric(ms(aft.roost.percentile(99)), "analysis-event-to-frame-p99-ms")
	b.ReportMetric(ms(aft.written.percentile(99)), "analysis-write-to-frame-p99-ms")
}

// scaleApp and scaleProject name the Argo CD Application and AppProject
// of rollout i: ten rollouts an Application, five Applications a project.
func scaleApp(ns string, i int) string {
	return fmt.Sprintf("%s-app-%02d", ns, i*scaleApps/scaleRollouts)
}

func scaleProject(ns string, app int) string {
	return fmt.Sprintf("%s-proj-%d", ns, app*scaleProjects/scaleApps)
}

// populateArgoCD installs Argo CD's CRDs and creates the AppProjects and
// Applications that deploy the benchmark's rollouts: the cockpit reads them
// and groups the overview by project.
func populateArgoCD(b *testing.B, ns string, dyn dynamic.Interface) {
	b.Helper()
	ctx := context.Background()
	if err := argocd.InstallCRDs(ctx, dyn); err != nil {
		b.Fatal(err)
	}
	if _, err := env.Client().CoreV1().Namespaces().Get(ctx, argocd.Namespace, metav1.GetOptions{}); err != nil {
		if _, err := env.Client().CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: argocd.Namespace}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			b.Fatal(err)
		}
	}
	for p := 0; p < scaleProjects; p++ {
		name := scaleProject(ns, p*scaleApps/scaleProjects)
		if _, err := dyn.Resource(argocd.AppProjectGVR).Namespace(argocd.Namespace).Create(ctx, argocd.AppProject(name, "scale"), metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	for a := 0; a < scaleApps; a++ {
		app := argocd.Application(argocd.App{Name: fmt.Sprintf("%s-app-%02d", ns, a), Project: scaleProject(ns, a), DestNamespace: ns, Sync: "Synced", Health: "Healthy"})
		if _, err := dyn.Resource(argocd.ApplicationGVR).Namespace(argocd.Namespace).Create(ctx, app, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	progress("Argo CD: %d Applications in %d AppProjects", scaleApps, scaleProjects)
}

// scaleConfig is the cockpits' configuration: grouped by AppProject, as a
// team that releases by project keeps it.
func scaleConfig(b *testing.B) string {
	b.Helper()
	p := filepath.Join(b.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte("cockpit:\n  grouping: project\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	return p
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// progress prints a line while the benchmark runs (b.Log shows only at the
// end, and populating takes minutes).
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "scale: "+format+"\n", args...)
}

// parallel runs f(0..n-1) on workers goroutines and returns the first error.
func parallel(n, workers int, f func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  = make(chan int)
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

func scaleName(i int) string { return fmt.Sprintf("svc-%03d", i) }

// scaleTarget is a namespace of one cluster that the benchmarks fill and
// watch: its clients, and the kube context that names the cluster in
// progress lines ("" for the one cluster of BenchmarkCockpitAtScale).
type scaleTarget struct {
	context, ns string
	kube        kubernetes.Interface
	dyn         dynamic.Interface
}

func (t scaleTarget) String() string {
	if t.context == "" {
		return t.ns
	}
	return t.context + ": " + t.ns
}

// populateScale creates the ConfigMaps, the Argo CD Applications and the
// 200 Rollouts with their 10,000 Ready pods, and returns how long that
// took.
func populateScale(b *testing.B, t scaleTarget) time.Duration {
	b.Helper()
	ctx := context.Background()
	began := time.Now()
	blob := strings.Repeat("x", 512)
	if err := parallel(scaleConfigMaps, 8, func(i int) error {
		_, err := t.kube.CoreV1().ConfigMaps(t.ns).Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("config-%04d", i), Labels: map[string]string{"app": "settings"}},
			Data:       map[string]string{"settings.yaml": blob},
		}, metav1.CreateOptions{})
		return err
	}); err != nil {
		b.Fatalf("create %d ConfigMaps in %s: %v", scaleConfigMaps, t, err)
	}
	progress("%d ConfigMaps created in %s", scaleConfigMaps, time.Since(began).Round(time.Second))

	populateArgoCD(b, t.ns, t.dyn)
	pods := populateRollouts(b, t, 0, scaleRollouts, func(i int, ro *v1alpha1.Rollout) {
		ro.Annotations = map[string]string{argocd.TrackingAnnotation: argocd.TrackingID(scaleApp(t.ns, i), t.ns, ro.Name)}
	})
	took := time.Since(began)
	progress("%d Rollouts Healthy, %d pods Ready, %d ConfigMaps, after %s", scaleRollouts, pods, scaleConfigMaps, took.Round(time.Second))
	return took
}

// populateRollouts creates Rollouts from to to-1 (scaleName) of
// scaleReplicas pods each in t, dress changing each before it is created,
// runs the reconciler in this process until the to Rollouts of t are
// Healthy with their pods Ready, then stops it, and returns the number of
// pods.
func populateRollouts(b *testing.B, t scaleTarget, from, to int, dress func(i int, ro *v1alpha1.Rollout)) int {
	b.Helper()
	ctx := context.Background()
	stop := runScaleReconciler(b, controller.Config{Kube: t.kube, Dynamic: t.dyn, Namespace: t.ns})
	defer stop()
	if err := parallel(to-from, 8, func(i int) error {
		i += from
		ro := roleCanary(t.ns, scaleName(i), scaleReplicas, rollouttest.SetWeight(20), rollouttest.Pause())
		if dress != nil {
			dress(i, ro)
		}
		if i == 0 {
			ro.Labels = map[string]string{probeLabel: "true"}
		}
		u, err := v1alpha1.ToUnstructured(ro)
		if err != nil {
			return err
		}
		_, err = t.dyn.Resource(v1alpha1.RolloutGVR).Namespace(t.ns).Create(ctx, u, metav1.CreateOptions{})
		return err
	}); err != nil {
		b.Fatalf("create %d Rollouts in %s: %v", to-from, t, err)
	}
	progress("%d Rollouts created in %s; waiting for %d pods to be Ready", to-from, t, to*scaleReplicas)
	awaitScale(b, t, to, 15*time.Minute, "every rollout Healthy with its pods Ready", healthy, 0)

	// The ReplicaSets say Ready; the pods themselves confirm it.
	pods, err := t.kube.CoreV1().Pods(t.ns).List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.DefaultRolloutUniqueLabelKey})
	if err != nil {
		b.Fatal(err)
	}
	if n := readyPods(pods.Items); n != to*scaleReplicas {
		b.Fatalf("%d Ready pods of rollouts in %s, want %d", n, t, to*scaleReplicas)
	}
	return len(pods.Items)
}

// awaitScale waits until cond holds for all the rollouts of t, which are
// to number rollouts, and their ReplicaSets' Ready replicas add up to
// scaleReplicas each; canary is the number of those on each rollout's
// canary ReplicaSet.
func awaitScale(b *testing.B, t scaleTarget, rollouts int, timeout time.Duration, what string, cond func(*v1alpha1.Rollout) bool, canary int32) {
	b.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(timeout)
	lastReport := time.Now()
	for {
		list, err := t.dyn.Resource(v1alpha1.RolloutGVR).Namespace(t.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			b.Fatal(err)
		}
		ok := 0
		canaryHash := map[string]string{}
		var lagging string
		for i := range list.Items {
			r, errs := v1alpha1.FromUnstructured(&list.Items[i])
			if len(errs) > 0 {
				b.Fatal(errs.ToAggregate())
			}
			if cond(r) {
				ok++
			} else if lagging == "" {
				lagging = r.Name + ": " + rolloutSummary(r)
			}
			if r.Status.CurrentPodHash != r.Status.StableRS {
				canaryHash[r.Name+"-"+r.Status.CurrentPodHash] = r.Name
			}
		}
		sets, err := t.kube.AppsV1().ReplicaSets(t.ns).List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.DefaultRolloutUniqueLabelKey})
		if err != nil {
			b.Fatal(err)
		}
		var ready, canaryReady int32
		for _, rs := range sets.Items {
			ready += rs.Status.ReadyReplicas
			if _, ok := canaryHash[rs.Name]; ok {
				canaryReady += rs.Status.ReadyReplicas
			}
		}
		wantCanary := canary * int32(rollouts)
		if ok == rollouts && len(list.Items) == rollouts && ready == int32(rollouts*scaleReplicas) && canaryReady == wantCanary {
			return
		}
		state := fmt.Sprintf("%s: %d/%d rollouts ok, %d/%d pods Ready (%d/%d on canaries); e.g. %s",
			t, ok, rollouts, ready, rollouts*scaleReplicas, canaryReady, wantCanary, lagging)
		if time.Now().After(deadline) {
			b.Fatalf("timed out after %s waiting for %s: %s", timeout, what, state)
		}
		if time.Since(lastReport) > 15*time.Second {
			progress("%s", state)
			lastReport = time.Now()
		}
		time.Sleep(time.Second)
	}
}

// firstFrameLine is what roost logs once the first complete frame is drawn.
var firstFrameLine = regexp.MustCompile(`"first complete frame" after="([^"]+)" rollouts=(\d+)`)

// startMeasuredEnv starts a cockpit with args and environ added to its
// environment, and waits for its first complete frame: the time it logged,
// after it saw all rollouts rollouts.
func startMeasuredEnv(b *testing.B, ns, name string, rollouts int, environ []string, args ...string) (*cockpitTerm, int, time.Duration) {
	b.Helper()
	c := startCockpit(b, ns, name, environ, args...)
	pid := c.pid()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		log, _ := os.ReadFile(c.logFile)
		if m := firstFrameLine.FindSubmatch(log); m != nil {
			after, err := time.ParseDuration(string(m[1]))
			if err != nil {
				b.Fatalf("%s: first frame after %q: %v", name, m[1], err)
			}
			if n, _ := strconv.Atoi(string(m[2])); n != rollouts {
				b.Fatalf("%s: the first complete frame had %d rollouts, want %d", name, n, rollouts)
			}
			c.awaitText(fmt.Sprintf("Rollouts %d", rollouts))
			return c, pid, after
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s: no first complete frame logged within 2m", name)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// measureIdle waits for the cockpit to settle, then counts its CPU over
// idleWindow and reads its memory.
func measureIdle(b *testing.B, pid int, f *cockpitFigures) {
	b.Helper()
	time.Sleep(settle)
	before := cpuTime(b, pid)
	time.Sleep(idleWindow)
	f.idleCPU = 100 * (cpuTime(b, pid) - before).Seconds() / idleWindow.Seconds()
	f.peakRSS, f.steadyRSS = memory(b, pid)
	f.rssParts = rssParts(pid)
}

// measureOff runs the cockpit with --reconciler=off: its start, idle figures,
// and the time from 50 writes of a pod's role label to the frame showing
// each.
func measureOff(b *testing.B, t scaleTarget) (cockpitFigures, frameTimes) {
	b.Helper()
	pace := listPace(b, t, scaleRollouts)
	c, pid, frames := startsFirstFrames(b, t.ns, "scale-off", scaleRollouts, nil, "--reconciler=off", "--config", scaleConfig(b))
	f := figuresOf(frames)
	measureIdle(b, pid, &f)
	progress("--reconciler=off: %s; the API server lists the pods to a plain client in %s", f, pace)

	ft := eventToFrame(b, c, t, scaleReplicas)
	progress("--reconciler=off: pod label write to a watch event: %s; watch event to roost's frame on the terminal: %s", ft.delivered, ft.roost)
	progress("--reconciler=off: pod label write to roost's frame on the terminal: %s; to the screen read back: %s (one capture-pane takes %s)",
		ft.written, ft.shown, ft.capture.Round(10*time.Microsecond))
	c.keys("q")
	if code := c.awaitExit(); code != 0 {
		b.Fatalf("scale-off: exit status %d after q", code)
	}
	return f, ft
}

// frameTimes are the event-to-frame measurements: from a pod's write to a
// watch of the test delivering it (the cluster's share), to the first bytes
// of the frame showing it on roost's terminal, and to the first capture of
// the screen that shows it; and roost's share, from the watch event to the
// frame.
type frameTimes struct {
	delivered, written, shown, roost latencies
	// capture is the mean time of one capture-pane: the granularity of shown.
	capture time.Duration
}

// eventToFrame relabels one stable pod of the first rollout in the list
// (whose detail is on screen, with stable stable pods) 50 times, role=probe
// and back to role=stable, and times each write to the frame that shows it:
// to the first output of roost holding the new count of stable pods (49,
// then 50 again with 50 stable pods), read from tmux's copy of the pane's
// output as it arrives, then to the first capture of the screen showing the
// new labels.
func eventToFrame(b *testing.B, c *cockpitTerm, t scaleTarget, stable int) frameTimes {
	b.Helper()
	ctx := context.Background()
	kube, ns := t.kube, t.ns
	first := scaleName(0)
	pods, err := kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + first + ",role=stable"})
	if err != nil || len(pods.Items) == 0 {
		b.Fatalf("stable pods of %s: %d, %v", first, len(pods.Items), err)
	}
	pod := pods.Items[0].Name
	all, less := fmt.Sprintf("role=stable:%d", stable), fmt.Sprintf("role=stable:%d", stable-1)
	c.awaitLine(first, all)
	output := c.streamOutput()
	// The test's own watch of the pod gets each change when roost's
	// informer does, from the same API server.
	w, err := kube.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + pod, ResourceVersion: pods.ResourceVersion})
	if err != nil {
		b.Fatalf("watch pod %s/%s: %v", ns, pod, err)
	}
	defer w.Stop()
	delivered := make(chan time.Time, 128)
	go func() {
		for ev := range w.ResultChan() {
			if ev.Type == apiwatch.Modified {
				delivered <- time.Now()
			}
		}
	}()
	var ft frameTimes
	var captures time.Duration
	var n int
	for i := 0; i < 50; i++ {
		role, count := "probe", strconv.Itoa(stable-1)
		shown := func(s string) bool { return lineWith(s, "role=probe:1", less) != "" }
		if i%2 == 1 {
			role, count = "stable", strconv.Itoa(stable)
			shown = func(s string) bool { return lineWith(s, all) != "" && !strings.Contains(s, "role=probe") }
		}
		// What came before this write is not its answer.
		for drained := false; !drained; {
			select {
			case <-output:
			case <-delivered:
			default:
				drained = true
			}
		}
		patch := fmt.Sprintf(`{"metadata":{"labels":{"role":%q}}}`, role)
		began := time.Now()
		if _, err := kube.CoreV1().Pods(ns).Patch(ctx, pod, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			b.Fatalf("label pod %s/%s role=%s: %v", ns, pod, role, err)
		}
		timeout := time.After(10 * time.Second)
		var event time.Time
		select {
		case event = <-delivered:
			ft.delivered = append(ft.delivered, event.Sub(began))
		case <-timeout:
			b.Fatalf("the watch of pod %s did not deliver its relabelling role=%s within 10s", pod, role)
		}
		var seen []byte
		for written := false; !written; {
			select {
			case ch, ok := <-output:
				if !ok {
					b.Fatalf("the copy of roost's output ended")
				}
				seen = append(seen, ch.data...)
				if strings.Contains(printed(seen), count) {
					ft.written = append(ft.written, ch.at.Sub(began))
					ft.roost = append(ft.roost, ch.at.Sub(event))
					written = true
				}
			case <-timeout:
				b.Fatalf("roost wrote no frame with %s stable pods within 10s of relabelling pod %s role=%s; it wrote %q", count, pod, role, printed(seen))
			}
		}
		for {
			from := time.Now()
			s, err := c.capture(false)
			now := time.Now()
			captures += now.Sub(from)
			n++
			if err == nil && shown(s) {
				ft.shown = append(ft.shown, now.Sub(began))
				break
			}
			if now.Sub(began) > 10*time.Second {
				b.Fatalf("the screen did not show pod %s relabelled role=%s within 10s", pod, role)
			}
		}
	}
	ft.capture = captures / time.Duration(n)
	return ft
}

// stepWave is what stepping all 200 canaries took.
type stepWave struct {
	took, cpu time.Duration
	peakRSS   int64
}

// measureOn runs the cockpit with --reconciler=on: its start and idle
// figures once it leads, then a new image on every rollout, timed until all
// 200 canaries wait at their pause with their pods Ready.
func measureOn(b *testing.B, t scaleTarget) (cockpitFigures, stepWave) {
	b.Helper()
	c, pid, frames := startsFirstFrames(b, t.ns, "scale-on", scaleRollouts, nil, "--reconciler=on", "--config", scaleConfig(b))
	c.awaitText("you step the canaries (this roost leads as ")
	f := figuresOf(frames)
	measureIdle(b, pid, &f)
	progress("--reconciler=on: %s", f)

	ctx := context.Background()
	began := time.Now()
	cpuBefore := cpuTime(b, pid)
	patch := []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"registry.example/svc:v2"}]}}}}`)
	if err := parallel(scaleRollouts, 8, func(i int) error {
		_, err := t.dyn.Resource(v1alpha1.RolloutGVR).Namespace(t.ns).Patch(ctx, scaleName(i), types.MergePatchType, patch, metav1.PatchOptions{})
		return err
	}); err != nil {
		b.Fatalf("set a new image on the rollouts: %v", err)
	}
	awaitScale(b, t, scaleRollouts, 10*time.Minute, "every canary at its pause with its pods Ready", atPause(1), scaleReplicas*20/100)
	wave := stepWave{took: time.Since(began), cpu: cpuTime(b, pid) - cpuBefore}
	c.awaitText(fmt.Sprintf("%d need you", scaleRollouts))
	wave.peakRSS, _ = memory(b, pid)
	progress("--reconciler=on: stepped %d canaries to their pause in %s using %s of CPU; peak RSS %d MB",
		scaleRollouts, wave.took.Round(100*time.Millisecond), wave.cpu.Round(10*time.Millisecond), wave.peakRSS>>20)
	c.keys("q")
	if code := c.awaitExit(); code != 0 {
		b.Fatalf("scale-on: exit status %d after q", code)
	}
	return f, wave
}

// measureAnalysis gives every rollout a background analysis of
// scaleMetrics Datadog metrics every scaleInterval and a new image, with
// roost's reconciler and run loop in this process measuring on the in-repo
// Datadog server; once all 200 canaries wait at their pause with a run
// measuring, it runs a watching cockpit (--reconciler=off): its start, its
// figures while 200 runs write a measurement each every 30 s, and the time
// from a pod's write to the frame showing it.
func measureAnalysis(b *testing.B, t scaleTarget) (cockpitFigures, frameTimes) {
	b.Helper()
	ctx := context.Background()
	ns, dyn, kube := t.ns, t.dyn, t.kube
	// The keys live apart from the rollouts' namespace, so that the
	// cockpit measured finds none and polls no evidence of its own.
	keysNS := env.NewNamespace(b)
	dd := newDDWorld(b, map[string]float64{"scale/canary": 0.01, "scale/stable": 0.01})
	if _, err := kube.CoreV1().Secrets(keysNS).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "datadog", Namespace: keysNS},
		StringData: map[string]string{"api-key": ddAPIKey, "app-key": ddAppKey, "address": dd.http.URL},
	}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	provider, err := datadog.NewAnalysisProvider(datadog.AnalysisOptions{Kube: kube, Namespace: keysNS, LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		b.Fatal(err)
	}
	op := "trace." + metrics.DefaultOperation
	query := func(what, role string) string {
		return "sum:" + op + "." + what + "{service:{{args.service}},kube_role:" + role + "}.as_count()"
	}
	tmpl := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": v1alpha1.SchemeGroupVersion.String(), "kind": v1alpha1.AnalysisTemplateKind,
		"metadata": map[string]any{"name": "scale-health", "namespace": ns},
		"spec": map[string]any{
			"args": []any{map[string]any{"name": "service"}},
			"metrics": []any{
				map[string]any{"name": "error-rate", "interval": scaleInterval, "successCondition": "result < 0.05",
					"provider": map[string]any{"datadog": map[string]any{"apiVersion": "v2", "interval": "1m", "aggregator": "avg",
						"queries": map[string]any{"errors": query("errors", "canary"), "hits": query("hits", "canary")}, "formula": "errors / hits"}}},
				map[string]any{"name": "errors-vs-stable", "interval": scaleInterval, "successCondition": "result < 2",
					"provider": map[string]any{"datadog": map[string]any{"interval": "1m",
						"query": query("errors", "canary") + " / " + query("errors", "stable")}}},
				map[string]any{"name": "traffic", "interval": scaleInterval, "successCondition": "result > 0",
					"provider": map[string]any{"datadog": map[string]any{"apiVersion": "v2", "interval": "1m", "aggregator": "sum",
						"queries": map[string]any{"hits": query("hits", "canary")}, "formula": "hits"}}},
			},
		},
	}}
	if _, err := dyn.Resource(v1alpha1.AnalysisTemplateGVR).Namespace(ns).Create(ctx, tmpl, metav1.CreateOptions{}); err != nil {
		b.Fatalf("create AnalysisTemplate: %v", err)
	}

	cfg := controller.Config{Kube: kube, Dynamic: dyn, Namespace: ns, AnalysisRuns: true, Providers: analysis.Providers{Datadog: provider}}
	stop := runScaleReconciler(b, cfg)

	began := time.Now()
	patch := []byte(`{"spec":{"strategy":{"canary":{"analysis":{"templates":[{"templateName":"scale-health"}],"args":[{"name":"service","value":"scale"}]}}},` +
		`"template":{"spec":{"containers":[{"name":"app","image":"registry.example/svc:v3"}]}}}}`)
	if err := parallel(scaleRollouts, 8, func(i int) error {
		_, err := dyn.Resource(v1alpha1.RolloutGVR).Namespace(ns).Patch(ctx, scaleName(i), types.MergePatchType, patch, metav1.PatchOptions{})
		return err
	}); err != nil {
		b.Fatalf("give the rollouts background analysis and a new image: %v", err)
	}
	awaitScale(b, t, scaleRollouts, 10*time.Minute, "every canary at its pause with its pods Ready, its analysis running", atPause(1), scaleReplicas*20/100)
	awaitRunsMeasuring(b, ns, dyn, 3*time.Minute)
	progress("analysis: %d canaries at their pause with a background run of %d metrics every %s, after %s",
		scaleRollouts, scaleMetrics, scaleInterval, time.Since(began).Round(time.Second))
	// The runs go on measuring, but the rollout whose pods the event test
	// relabels is left alone: the reconciler would put its role labels
	// back.
	stop()
	cfg.Selector = "!" + probeLabel
	defer runScaleReconciler(b, cfg)()
	// The restarted reconciler catches up first: the runs whose measurement
	// fell due while it was away measure at once. The cockpit is measured
	// in the world as it goes on, each run measuring at its interval.
	interval, _ := time.ParseDuration(scaleInterval)
	time.Sleep(interval)

	profile := filepath.Join(os.TempDir(), "roost-scale-cpu.pprof")
	args := []string{"--reconciler=off", "--config", scaleConfig(b)}
	holdAnalysis(b, ns, args)
	if os.Getenv("ROOST_SCALE_MESSAGES") != "" {
		// Each message the cockpit handles, in its log (costs a little).
		args = append(args, "-v", "5")
	}
	// The profile covers the idle window only: what the figure counts.
	window := fmt.Sprintf("ROOST_CPUPROFILE_WINDOW=%s+%s", settle, idleWindow)
	pace := listPace(b, t, scaleRollouts)
	c, pid, frames := startsFirstFrames(b, ns, "scale-analysis", scaleRollouts, []string{"ROOST_CPUPROFILE=" + profile, window}, args...)
	f := figuresOf(frames)
	measureIdle(b, pid, &f)
	progress("analysis on, --reconciler=off: %s (while %d runs write a measurement each every %s); the API server lists the pods to a plain client in %s",
		f, scaleRollouts, scaleInterval, pace)
	ft := eventToFrame(b, c, t, scaleReplicas*80/100)
	progress("analysis on: watch event to roost's frame on the terminal: %s; pod label write to the frame: %s", ft.roost, ft.written)
	c.keys("q")
	if code := c.awaitExit(); code != 0 {
		b.Fatalf("scale-analysis: exit status %d after q", code)
	}
	// Where the CPU went, for whoever reads the figures.
	if log, err := os.ReadFile(c.logFile); err == nil {
		messages := map[string]int{}
		for _, l := range strings.Split(string(log), "\n") {
			if strings.Contains(l, `"listed"`) || strings.Contains(l, "first complete frame") || strings.Contains(l, `"watches started"`) {
				progress("analysis on: start-up: %s", l)
			}
			if _, typ, ok := strings.Cut(l, `"cockpit message" type="`); ok {
				messages[strings.TrimSuffix(typ, `"`)]++
			}
		}
		if len(messages) > 0 {
			progress("analysis on: messages the cockpit handled, start to quit: %v", messages)
		}
	}
	for _, p := range []struct{ file, what, index string }{{profile, "CPU over the idle window", "cpu"}, {profile + ".heap", "heap in use at the window's end", "inuse_space"}} {
		if out, err := exec.Command("go", "tool", "pprof", "-top", "-cum", "-nodecount=40", "-sample_index="+p.index, roostBinary(b), p.file).CombinedOutput(); err == nil {
			progress("analysis on: the cockpit's profile (%s, %s):\n%s", p.what, p.file, out)
		} else {
			progress("analysis on: no profile %s (%v): %s", p.file, err, out)
		}
	}
	return f, ft
}

// holdAnalysis, with ROOST_SCALE_HOLD=DURATION set, keeps the analysis
// world as it is for up to DURATION before the cockpit is measured, so that
// cockpits can be run against it by hand: it writes how to start one to
// $TMPDIR/roost-scale-hold.env, and goes on when the duration is over or
// that file is removed.
func holdAnalysis(b *testing.B, ns string, args []string) {
	b.Helper()
	v := os.Getenv("ROOST_SCALE_HOLD")
	if v == "" {
		return
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		b.Fatalf("ROOST_SCALE_HOLD=%q: want a duration such as 30m: %v", v, err)
	}
	file := filepath.Join(os.TempDir(), "roost-scale-hold.env")
	text := fmt.Sprintf("KUBECONFIG=%s\nNAMESPACE=%s\nROOST=%s\nARGS=%q\n", env.Kubeconfig, ns, roostBinary(b), strings.Join(args, " "))
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		b.Fatal(err)
	}
	progress("holding the analysis world for %s: %s says how to run a cockpit against it; remove it to go on", d, file)
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(time.Second) {
		if _, err := os.Stat(file); err != nil {
			break
		}
	}
	_ = os.Remove(file)
}

// probeLabel marks the rollout whose pods eventToFrame relabels.
const probeLabel = "e2e.roost.dev/probe"

// runScaleReconciler runs roost's reconciler in this process with cfg, and
// returns once its caches have synced, so that its start-up lists are not
// measured as a cockpit's; the function returned stops it.
func runScaleReconciler(b *testing.B, cfg controller.Config) func() {
	b.Helper()
	ctrl, err := controller.New(cfg)
	if err != nil {
		b.Fatalf("build reconciler: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ctrl.Run(ctx, 4) }()
	for deadline := time.Now().Add(2 * time.Minute); !ctrl.HasSynced(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("the benchmark's reconciler did not sync within 2m")
		}
	}
	return func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("reconciler: %v", err)
		}
	}
}

// awaitRunsMeasuring waits until each rollout has one Running background
// AnalysisRun whose every metric has a measurement.
func awaitRunsMeasuring(b *testing.B, ns string, dyn dynamic.Interface, timeout time.Duration) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	for {
		list, err := dyn.Resource(v1alpha1.AnalysisRunGVR).Namespace(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			b.Fatal(err)
		}
		measuring := 0
		for i := range list.Items {
			run, _ := v1alpha1.AnalysisRunFromUnstructured(&list.Items[i])
			if run == nil || run.Status.Phase != v1alpha1.AnalysisPhaseRunning || len(run.Status.MetricResults) != scaleMetrics {
				continue
			}
			all := true
			for _, mr := range run.Status.MetricResults {
				all = all && len(mr.Measurements) > 0
			}
			if all {
				measuring++
			}
		}
		if measuring >= scaleRollouts {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("after %s, %d of %d AnalysisRuns measure all %d metrics (%d runs)", timeout, measuring, scaleRollouts, scaleMetrics, len(list.Items))
		}
		time.Sleep(2 * time.Second)
	}
}

// cpuTime is the user and system CPU time process pid has used.
func cpuTime(b testing.TB, pid int) time.Duration {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The command name, in parentheses, may hold spaces: fields start
	// after its closing parenthesis, with the state (field 3).
	s := string(raw)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		b.Fatalf("/proc/%d/stat: %q", pid, s)
	}
	var ticks int64
	for _, f := range fields[11:13] { // utime, stime
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			b.Fatalf("/proc/%d/stat: %v", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

// memory reads VmHWM (peak) and VmRSS (now) of process pid, in bytes.
func memory(b testing.TB, pid int) (peak, now int64) {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	read := func(key string) int64 {
		for _, l := range strings.Split(string(raw), "\n") {
			if rest, ok := strings.CutPrefix(l, key+":"); ok {
				kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				if err != nil {
					b.Fatalf("/proc/%d/status %s: %v", pid, key, err)
				}
				return kb << 10
			}
		}
		b.Fatalf("/proc/%d/status has no %s", pid, key)
		return 0
	}
	return read("VmHWM"), read("VmRSS")
}

// rssParts splits the resident memory of pid into anonymous (the Go heap,
// stacks) and file-backed (the binary's pages) parts, in MB.
func rssParts(pid int) string {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "unknown"
	}
	parts := map[string]string{}
	for _, l := range strings.Split(string(raw), "\n") {
		for _, key := range []string{"RssAnon", "RssFile"} {
			if rest, ok := strings.CutPrefix(l, key+":"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				parts[key] = fmt.Sprintf("%d MB", kb>>10)
			}
		}
	}
	return fmt.Sprintf("anonymous %s, file-backed %s", parts["RssAnon"], parts["RssFile"])
}

// listPace is how long the API server of t takes, right now, to list the
// pods a cockpit lists at start to a plain client-go client (one list,
// protobuf, as roost asks): the floor under the first complete frame on
// this machine. t holds rollouts rollouts of scaleReplicas pods.
func listPace(b *testing.B, t scaleTarget, rollouts int) time.Duration {
	b.Helper()
	began := time.Now()
	pods, err := t.kube.CoreV1().Pods(t.ns).List(context.Background(), metav1.ListOptions{LabelSelector: v1alpha1.DefaultRolloutUniqueLabelKey})
	if err != nil {
		b.Fatalf("list pods: %v", err)
	}
	took := time.Since(began)
	if len(pods.Items) < rollouts*scaleReplicas {
		b.Fatalf("listed %d pods in %s, want %d", len(pods.Items), t, rollouts*scaleReplicas)
	}
	return took.Round(time.Millisecond)
}
