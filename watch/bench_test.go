package watch

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// fleet is n rollouts over four namespaces, each with a stable ReplicaSet of
// 8 pods and a canary one of 2.
func fleet(n int) []app {
	apps := make([]app, n)
	for i := range apps {
		apps[i] = newApp(fmt.Sprintf("team-%d", i%4), fmt.Sprintf("svc-%03d", i), 8, 2)
		apps[i].ro.Status.StableRS, apps[i].ro.Status.CurrentPodHash = "old", "new"
		switch i % 5 {
		case 0:
			healthy(apps[i].ro)
		case 1:
			progressing(apps[i].ro)
		}
	}
	return apps
}

// syncedStore starts a Watcher over apps and fills a Store from it.
func syncedStore(b *testing.B, apps []app) (*cluster, *Store, []Key) {
	b.Helper()
	c := newCluster(b, apps...)
	c.start(Options{})
	keys := make([]Key, len(apps))
	for i, a := range apps {
		keys[i] = key(a.ro.Namespace, a.ro.Name)
	}
	s := NewStore(c.w)
	s.Update(keys, now)
	if s.Len() != len(apps) {
		b.Fatalf("store holds %d rollouts, want %d", s.Len(), len(apps))
	}
	return c, s, keys
}

// BenchmarkRederive measures the Store with 500 rollouts (5,000 pods) cached:
// re-deriving one dirty rollout, then serving the overview after a change
// (a re-sort) and without one.
func BenchmarkRederive(b *testing.B) {
	_, s, keys := syncedStore(b, fleet(500))
	b.Run("one-dirty-rollout", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			s.Update(keys[i%len(keys):i%len(keys)+1], now)
		}
	})
	b.Run("overview-after-change", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			s.mu.Lock()
			s.sorted = false
			s.mu.Unlock()
			if len(s.Overview()) != len(keys) {
				b.Fatal("short overview")
			}
		}
	})
	b.Run("frame-one-dirty", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			s.Update(keys[i%len(keys):i%len(keys)+1], now)
			if len(s.Overview()) != len(keys) {
				b.Fatal("short overview")
			}
		}
	})
	b.Run("overview-unchanged", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if len(s.Overview()) != len(keys) {
				b.Fatal("short overview")
			}
		}
	})
}

// eventLatencies writes n pod updates through the fake API server, each
// after the previous one was delivered and a frame has passed (as a real,
// paced dashboard reads), and returns how long each took from the write to
// WaitDirty returning its rollout's key.
func eventLatencies(tb testing.TB, c *cluster, apps []app, n int) []time.Duration {
	tb.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, time.Minute)
	defer cancel()
	out := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		a := apps[i%len(apps)]
		p := a.pods[0].DeepCopy()
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionStatus(fmt.Sprint(i))}}
		want := key(a.ro.Namespace, a.ro.Name)
		time.Sleep(FrameInterval)
		start := time.Now()
		if _, err := c.kube.CoreV1().Pods(p.Namespace).Update(ctx, p, metav1.UpdateOptions{}); err != nil {
			tb.Fatal(err)
		}
		for delivered := false; !delivered; {
			ch, err := c.w.WaitDirty(ctx, FrameInterval)
			if err != nil {
				tb.Fatal(err)
			}
			for _, k := range ch.Keys {
				delivered = delivered || k == want
			}
		}
		out = append(out, time.Since(start))
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	return sorted[int(float64(len(sorted)-1)*p)]
}

// BenchmarkEventToDirty reports the latency from an API write to the dirty
// key being delivered, with 500 rollouts cached.
func BenchmarkEventToDirty(b *testing.B) {
	apps := fleet(500)
	c, _, _ := syncedStore(b, apps)
	c.quiet()
	b.ResetTimer()
	lat := eventLatencies(b, c, apps, max(b.N, 20))
	b.StopTimer()
	b.ReportMetric(float64(percentile(lat, 0.5).Microseconds()), "p50-µs")
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds()), "p99-µs")
}

// BenchmarkPodCache reports what 10,000 cached pods keep on the heap, as
// the pods informer's transform makes them (TrimPod): a pod of a
// ReplicaSet, with its labels and owner, on one of 50 nodes, one in ten
// crash-looping. TestPodSize gives the struct's own share of it.
func BenchmarkPodCache(b *testing.B) {
	const n = 10_000
	src := make([]*corev1.Pod, n)
	for i := range src {
		p := fatPod()
		p.Name = fmt.Sprintf("checkout-6f7d8b9c4-%05d", i)
		p.DeletionTimestamp = nil
		p.Spec.NodeName = fmt.Sprintf("ip-10-0-%d-%d.eu-west-1.compute.internal", i%50/10, i%50)
		if i%10 == 0 {
			p.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoop" + "BackOff"}}
		}
		src[i] = p
	}
	var retained uint64
	b.ReportAllocs()
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		kept := make([]any, n)
		for i, p := range src {
			kept[i], _ = TrimPod(p.DeepCopy())
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		retained = after.HeapAlloc - before.HeapAlloc
		runtime.KeepAlive(kept)
	}
	b.ReportMetric(float64(retained)/n, "B/pod-kept")
}
