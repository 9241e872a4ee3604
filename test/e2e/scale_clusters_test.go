//go:build e2e

package e2e

import (
	"cmp"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/dynamic"

	"github.com/roost-dev/roost/internal/cluster"
)

// clusterRollouts is each cluster's share of the benchmark across
// clusters: together, the 200 Rollouts x 50 pods of one cluster's.
const clusterRollouts = scaleRollouts / 2

// BenchmarkCockpitAcrossClusters measures one cockpit over two local
// control planes (--context roost-a,roost-b --reconciler=off), each with
// the same 100 Rollouts x 50 Ready pods in one namespace: the first
// complete frame (every cluster listed) and when each cluster's watches
// had listed, its rows shown; peak and steady RSS and idle CPU; and the
// time from a pod's label write to the frame showing it, on a rollout of
// each cluster. Then the second cluster gets the other 100 Rollouts, and a
// cockpit over it alone (--context roost-b) is measured the same way: the
// same total of pods in one cluster, the figure the steady RSS across
// clusters is compared with. It is a benchmark run once (`make
// e2e-scale-clusters`), not a test: it reports figures and asserts only
// that every step happened.
func BenchmarkCockpitAcrossClusters(b *testing.B) {
	if cluster.FakeNodePods < scaleRollouts*scaleReplicas {
		b.Fatalf("the kwok node holds %d pods; the benchmark needs %d in the second cluster", cluster.FakeNodePods, scaleRollouts*scaleReplicas)
	}
	second, kubeconfig := twoClusters(b)
	ns := env.NewNamespace(b)
	sameNamespace(b, second, ns)
	dynA, err := dynamic.NewForConfig(env.RESTConfig())
	if err != nil {
		b.Fatal(err)
	}
	a := scaleTarget{context: contextA, ns: ns, kube: env.Client(), dyn: dynA}
	z := scaleTarget{context: contextB, ns: ns, kube: second.Client(), dyn: dynamicOf(b, second)}
	began := time.Now()
	for _, t := range []scaleTarget{a, z} {
		pods := populateRollouts(b, t, 0, clusterRollouts, nil)
		progress("%s: %d Rollouts Healthy, %d pods Ready, after %s", t, clusterRollouts, pods, time.Since(began).Round(time.Second))
	}
	b.ReportMetric(time.Since(began).Seconds(), "pods-ready-s")
	environ := []string{"KUBECONFIG=" + kubeconfig}

	var across cockpitFigures
	for i := 0; i < b.N; i++ {
		f, listed, fts := measureClusters(b, environ, a, z)
		across = f
		b.ReportMetric(f.firstFrame.Seconds(), "first-frame-s")
		b.ReportMetric(f.slowestFirstFrame().Seconds(), "first-frame-max-s")
		b.ReportMetric(listed[contextA].Seconds(), "a-listed-s")
		b.ReportMetric(listed[contextB].Seconds(), "b-listed-s")
		b.ReportMetric(float64(f.peakRSS>>20), "peak-RSS-MB")
		b.ReportMetric(float64(f.steadyRSS>>20), "steady-RSS-MB")
		b.ReportMetric(f.idleCPU, "idle-CPU-%")
		for c, ft := range map[string]frameTimes{"a": fts[0], "b": fts[1]} {
			b.ReportMetric(ms(ft.roost.percentile(50)), c+"-event-to-frame-p50-ms")
			b.ReportMetric(ms(ft.roost.percentile(99)), c+"-event-to-frame-p99-ms")
			b.ReportMetric(ms(ft.written.percentile(99)), c+"-write-to-frame-p99-ms")
		}
	}

	// The same total of pods in one cluster: the other 100 Rollouts in
	// the second.
	began = time.Now()
	pods := populateRollouts(b, z, clusterRollouts, scaleRollouts, nil)
	progress("%s: %d Rollouts Healthy, %d pods Ready, after %s", z, scaleRollouts, pods, time.Since(began).Round(time.Second))
	for i := 0; i < b.N; i++ {
		one, ft := measureOneOfClusters(b, environ, z)
		one.report(b, "one")
		b.ReportMetric(ms(ft.roost.percentile(50)), "one-event-to-frame-p50-ms")
		b.ReportMetric(ms(ft.roost.percentile(99)), "one-event-to-frame-p99-ms")
		ratio := float64(across.steadyRSS) / float64(one.steadyRSS)
		b.ReportMetric(ratio, "steady-RSS-vs-one-cluster")
		progress("across clusters: steady RSS %d MB over two clusters of %d pods each, %d MB over one of %d: %.2f times (BenchmarkCockpitAtScale's off-steady-RSS-MB is the same total with its ConfigMaps and Argo CD Applications)",
			across.steadyRSS>>20, clusterRollouts*scaleReplicas, one.steadyRSS>>20, scaleRollouts*scaleReplicas, ratio)
	}
}

// measureClusters runs the cockpit over the clusters of a and z with
// --reconciler=off: its first complete frame, when each cluster's watches
// had listed, its idle figures, and the time from 50 writes of a pod's
// role label to the frame showing each, first on a's first rollout, then
// on z's.
func measureClusters(b *testing.B, environ []string, a, z scaleTarget) (cockpitFigures, map[string]time.Duration, [2]frameTimes) {
	b.Helper()
	paceA, paceZ := listPace(b, a, clusterRollouts), listPace(b, z, clusterRollouts)
	c, pid, frames := startsFirstFrames(b, a.ns, "clusters-off", scaleRollouts, environ, "--context", a.context+","+z.context, "--reconciler=off")
	f := figuresOf(frames)
	measureIdle(b, pid, &f)
	listed := listedAfter(b, c.logFile)
	progress("across clusters, --reconciler=off: %s; %s; each API server lists its pods to a plain client in %s (%s) and %s (%s)",
		f, listedSummary(listed), paceA, a.context, paceZ, z.context)

	var fts [2]frameTimes
	for i, t := range []scaleTarget{a, z} {
		if i > 0 {
			// z's rollout of the same name is the next row.
			c.keys("j")
		}
		c.awaitText(t.context + ": " + t.ns + "/" + scaleName(0))
		fts[i] = eventToFrame(b, c, t, scaleReplicas)
		progress("across clusters, a rollout of %s: pod label write to a watch event: %s; watch event to roost's frame on the terminal: %s; write to the frame: %s",
			t.context, fts[i].delivered, fts[i].roost, fts[i].written)
	}
	c.keys("q")
	if code := c.awaitExit(); code != 0 {
		b.Fatalf("clusters-off: exit status %d after q", code)
	}
	return f, listed, fts
}

// measureOneOfClusters runs the cockpit over the cluster of t alone
// (--context, --reconciler=off), holding all the benchmark's rollouts: its
// start, idle figures and event to frame, as measureClusters.
func measureOneOfClusters(b *testing.B, environ []string, t scaleTarget) (cockpitFigures, frameTimes) {
	b.Helper()
	pace := listPace(b, t, scaleRollouts)
	c, pid, frames := startsFirstFrames(b, t.ns, "one-cluster-off", scaleRollouts, environ, "--context", t.context, "--reconciler=off")
	f := figuresOf(frames)
	measureIdle(b, pid, &f)
	progress("one cluster (%s), --reconciler=off: %s; %s; the API server lists the pods to a plain client in %s",
		t.context, f, listedSummary(listedAfter(b, c.logFile)), pace)
	ft := eventToFrame(b, c, t, scaleReplicas)
	progress("one cluster (%s): pod label write to a watch event: %s; watch event to roost's frame on the terminal: %s; write to the frame: %s",
		t.context, ft.delivered, ft.roost, ft.written)
	c.keys("q")
	if code := c.awaitExit(); code != 0 {
		b.Fatalf("one-cluster-off: exit status %d after q", code)
	}
	return f, ft
}

// listedLine is what roost logs when one watch of a cluster has listed.
var listedLine = regexp.MustCompile(`"listed" context="([^"]*)" resource="([^"]+)" objects=(\d+) after="([^"]+)"`)

// listedAfter reads, from a cockpit's log, when each cluster's last watch
// had listed (after the process's start): when its caches synced and its
// rows could show.
func listedAfter(b *testing.B, logFile string) map[string]time.Duration {
	b.Helper()
	log, err := os.ReadFile(logFile)
	if err != nil {
		b.Fatal(err)
	}
	listed := map[string]time.Duration{}
	for _, m := range listedLine.FindAllStringSubmatch(string(log), -1) {
		after, err := time.ParseDuration(m[4])
		if err != nil {
			b.Fatalf("%s: listed %s after %q: %v", m[1], m[2], m[4], err)
		}
		listed[m[1]] = max(listed[m[1]], after)
	}
	if len(listed) == 0 {
		b.Fatalf("no watch of the cockpit logged that it listed (%s)", logFile)
	}
	return listed
}

// listedSummary says when each cluster's watches had listed, in the
// order of the contexts' names.
func listedSummary(listed map[string]time.Duration) string {
	var parts []string
	for _, c := range slices.Sorted(maps.Keys(listed)) {
		parts = append(parts, fmt.Sprintf("%s listed after %s", cmp.Or(c, "the cluster"), listed[c]))
	}
	return "its watches: " + strings.Join(parts, ", ")
}
