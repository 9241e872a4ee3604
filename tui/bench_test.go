package tui

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/roost-dev/roost/controller"
	"github.com/roost-dev/roost/internal/sim"
	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/watch"
)

// fleetRollouts are n rollouts in all the states of the fixtures, over a
// few namespaces.
func fleetRollouts(n int) ([]*watch.Rollout, map[watch.Key]metrics.Evidence) {
	base := fixtureRollouts()
	baseEv := fixtureEvidence()
	out := make([]*watch.Rollout, 0, n)
	ev := map[watch.Key]metrics.Evidence{}
	for i := 0; i < n; i++ {
		src := base[i%len(base)]
		r := *src
		r.Namespace = fmt.Sprintf("team-%02d", i%12)
		r.Name = fmt.Sprintf("%s-%03d", src.Name, i)
		out = append(out, &r)
		if e, ok := baseEv[keyOf(src).Key]; ok {
			ev[keyOf(&r).Key] = e
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return watch.UrgencyOf(out[i]) < watch.UrgencyOf(out[j]) })
	return out, ev
}

// BenchmarkView renders the whole screen with 500 rollouts in scope: the
// overview, and the split overview with the detail of the one under the
// cursor, with metrics and errors.
func BenchmarkView(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	list, ev := fleetRollouts(500)
	th := dark(&testing.T{})
	for _, size := range []struct{ w, h int }{{80, 24}, {120, 40}, {200, 60}} {
		m := fixtureModel(ctx, th, size.w, size.h, func(o *Options) {
			o.Rollouts = &staticRollouts{list: list}
			o.Evidence = staticEvidence{items: ev}
		})
		for k, e := range ev {
			m.evidence[rolloutKey{Key: k}] = e
		}
		m = press(m, "down", "down", "down", "down")
		b.Run(fmt.Sprintf("%dx%d", size.w, size.h), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = m.View()
			}
		})
	}
}

// BenchmarkEventToFrame measures, with 500 rollouts of 10 pods each cached,
// the time from a pod's change at the API server to the frame that shows it:
// informer event, dirty key, re-derivation, Update and a full render. Each
// change waits a frame after the previous one, as a person's terminal would
// see them. roost's reconciler brings the rollouts up on the simulated
// cluster first.
func BenchmarkEventToFrame(b *testing.B) {
	c, err := sim.New(sim.Options{PodStartMin: time.Millisecond, PodStartMax: 5 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = c.Run(ctx) }()
	w, err := watch.New(watch.Options{Kube: c.Kube, Dynamic: c.Dynamic, FullObjects: true})
	if err != nil {
		b.Fatal(err)
	}
	w.Start(ctx)
	ctrl, err := controller.New(controller.Config{Kube: c.Kube, Dynamic: c.Dynamic, Watcher: w})
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = ctrl.Run(ctx, 2) }()
	const n = 500
	for i := 0; i < n; i++ {
		if err := c.CreateRollout(ctx, canaryRollout(fmt.Sprintf("svc-%03d", i), 10, weight(20), untilPromoted())); err != nil {
			b.Fatal(err)
		}
	}
	src := &WatchRollouts{Watcher: w, Store: watch.NewStore(w)}
	m := New(ctx, Options{Rollouts: src, Theme: dark(&testing.T{})})
	next, _ := m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	m = next.(Model)
	deliver := func() {
		ch, err := src.Wait(ctx, time.Now)
		if err != nil {
			b.Fatal(err)
		}
		next, _ := m.Update(deliveryOf(src, ch))
		m = next.(Model)
		_ = m.View()
	}
	healthy := func() int {
		k := 0
		for _, r := range m.all {
			if r.Phase == "Healthy" && r.Stable != nil && r.Stable.Ready == 10 {
				k++
			}
		}
		return k
	}
	for deadline := time.Now().Add(5 * time.Minute); healthy() < n; {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d rollouts healthy after 5 minutes", healthy(), n)
		}
		deliver()
	}
	pods, err := c.Kube.CoreV1().Pods(testNS).List(ctx, metav1.ListOptions{})
	if err != nil || len(pods.Items) < n*10 {
		b.Fatalf("%d pods: %v", len(pods.Items), err)
	}
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < max(b.N, 100); i++ {
		name := pods.Items[(i*37)%len(pods.Items)].Name
		p, err := c.Kube.CoreV1().Pods(testNS).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			b.Fatal(err)
		}
		p.Labels["touched"] = fmt.Sprint(i)
		time.Sleep(watch.FrameInterval)
		start := time.Now()
		if _, err := c.Kube.CoreV1().Pods(testNS).Update(ctx, p, metav1.UpdateOptions{}); err != nil {
			b.Fatal(err)
		}
		deliver()
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkLinkScreens renders the metrics screen with its three Datadog
// links and the error screen with its stack.
func BenchmarkLinkScreens(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t := &testing.T{}
	for _, size := range []struct{ w, h int }{{80, 24}, {120, 40}} {
		base := fixtureModel(ctx, dark(t), size.w, size.h, nil)
		for _, s := range []struct {
			name string
			m    Model
		}{
			{"metrics", press(selectRollout(t, base, "web", "front"), "m")},
			{"error", openFrontError(t, base)},
		} {
			b.Run(fmt.Sprintf("%s-%dx%d", s.name, size.w, size.h), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					_ = s.m.View()
				}
			})
		}
	}
}

// BenchmarkDelivery is what a delivery of 500 rollouts costs Update (the
// bell's comparison of NEEDS YOU included) when nothing entered it: the
// common case, which writes nothing to the terminal.
func BenchmarkDelivery(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	list, ev := fleetRollouts(500)
	m := fixtureModel(ctx, dark(&testing.T{}), 120, 40, func(o *Options) {
		o.Rollouts = &staticRollouts{list: list}
		o.Evidence = staticEvidence{items: ev}
	})
	msg := rolloutsMsg{overview: list}
	b.ReportAllocs()
	for b.Loop() {
		next, _ := m.Update(msg)
		m = next.(Model)
	}
}

// BenchmarkDetailPods renders the detail of a canary with 50 pods, with the
// pods panel focused (its most rows) and not, against the same rollout
// without pods: what the pods panel adds to a frame.
func BenchmarkDetailPods(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	th := dark(&testing.T{})
	list := fixtureRollouts()
	var front *watch.Rollout
	for _, r := range list {
		if r.Name == "front" {
			front = r
		}
	}
	with := *front
	with.Pods = nil
	for i := range 50 {
		p := front.Pods[i%len(front.Pods)]
		p.Name = fmt.Sprintf("front-9d8c7b6a5-%05d", i)
		with.Pods = append(with.Pods, p)
	}
	without := *front
	without.Pods = nil
	for _, size := range []struct{ w, h int }{{80, 24}, {120, 40}} {
		for _, c := range []struct {
			name  string
			r     *watch.Rollout
			focus bool
		}{{"no-pods", &without, false}, {"50-pods", &with, false}, {"50-pods-focused", &with, true}} {
			m := fixtureModel(ctx, th, size.w, size.h, func(o *Options) {
				o.Rollouts = &staticRollouts{list: []*watch.Rollout{c.r}}
			})
			m = press(m, "enter")
			if c.focus {
				for m.focus != panelPods {
					m = press(m, "tab")
				}
				m = press(m, "down", "down", "down", "down", "down", "down")
			}
			b.Run(fmt.Sprintf("%dx%d/%s", size.w, size.h, c.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					_ = m.View()
				}
			})
		}
	}
}

// BenchmarkPodScreen renders the pod screen with a full log (200 lines of
// 150 characters, wrapped) and its Events: each line a followed log brings
// costs one such frame at most (the renderer draws 60 a second at most).
func BenchmarkPodScreen(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, size := range []struct{ w, h int }{{80, 24}, {120, 40}} {
		m := fixtureModel(ctx, dark(&testing.T{}), size.w, size.h, nil)
		m = press(selectRollout(&testing.T{}, m, "web", "front"), "enter")
		for m.focus != panelPods {
			m = press(m, "tab")
		}
		next, _ := m.Update(keyMsg("enter"))
		m = next.(Model)
		m.pod.events, _ = fixturePodEvents{}.PodEvents(ctx, "web", m.pod.pod.Name)
		m.pod.eventsAt = fixtureNow
		for i := range logTailLines {
			m.pod.logs.add(fmt.Sprintf("2026-12-01T14:29:%02d.000Z ERROR GET /api/price/sku-%04d 500 12ms request_id=6f1c2a9e NoMethodError: undefined method 'price' for nil (user=user-118 region=eu-west-1)", i%60, i))
		}
		b.Run(fmt.Sprintf("%dx%d", size.w, size.h), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = m.View()
			}
		})
	}
}

// BenchmarkGrouped is what grouping by AppProject costs: 200 rollouts in
// 20 Argo CD Applications of 4 AppProjects (one Application's rollouts
// with no readable project, in the last group), at 120×40, the cursor on
// a rollout two groups down. delivery is Update with a delivery of the
// watch layer (the rows grouped again), frame is View; each against the
// same fleet ungrouped.
func BenchmarkGrouped(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	list, ev := fleetRollouts(200)
	for i, r := range list {
		app := i % 20
		r.App = &watch.App{Name: fmt.Sprintf("app-%02d", app), Namespace: "argocd", Known: app != 19, Project: fmt.Sprintf("project-%d", app%4)}
	}
	for _, g := range []watch.GroupBy{watch.GroupNone, watch.GroupProject} {
		m := fixtureModel(ctx, dark(&testing.T{}), 120, 40, func(o *Options) {
			o.Rollouts = &staticRollouts{list: list}
			o.Evidence = staticEvidence{items: ev}
			o.Grouping = g
		})
		m = press(m, "down", "down", "down", "down")
		msg := rolloutsMsg{overview: list}
		b.Run(fmt.Sprintf("%s/delivery", g), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				next, _ := m.Update(msg)
				m = next.(Model)
			}
		})
		b.Run(fmt.Sprintf("%s/frame", g), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = m.View()
			}
		})
	}
}
