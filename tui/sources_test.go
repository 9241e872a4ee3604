package tui

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/internal/sim"
	"github.com/roost-dev/roost/watch"
)

// TestWatchRolloutsBatchesWhatIsOffScreen: a change to a rollout on screen
// is delivered at once; a change to one off screen waits, batched, up to
// BackgroundInterval, and goes out with the next change on screen; one off
// screen that changes nothing shown waits until the rollout shows or the
// next delivery; until the cockpit says what it shows, everything is
// delivered at once.
func TestWatchRolloutsBatchesWhatIsOffScreen(t *testing.T) {
	c, err := sim.New(sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = c.Run(ctx) }()
	for _, name := range []string{"shown", "hidden"} {
		if err := c.CreateRollout(ctx, canaryRollout(name, 2, weight(50), untilPromoted())); err != nil {
			t.Fatal(err)
		}
	}
	w, err := watch.New(watch.Options{Kube: c.Kube, Dynamic: c.Dynamic})
	if err != nil {
		t.Fatal(err)
	}
	w.Start(ctx)
	src := &WatchRollouts{Watcher: w, Store: watch.NewStore(w)}
	// The first delivery: everything listed.
	if _, err := src.Wait(ctx, time.Now); err != nil {
		t.Fatal(err)
	}
	// touch changes what the cockpit asks of the metrics for a rollout,
	// which it acts on even off screen; nudge changes nothing it shows.
	annotate := func(name, key string) {
		t.Helper()
		patch := []byte(`{"metadata":{"annotations":{"` + key + `":"` + time.Now().String() + `"}}}`)
		if _, err := c.Dynamic.Resource(v1alpha1.RolloutGVR).Namespace(testNS).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	touch := func(name string) { annotate(name, "metrics.roost.dev/window") }
	nudge := func(name string) { annotate(name, "touched") }
	waitFor := func(d time.Duration) (watch.Changes, time.Duration, error) {
		t.Helper()
		wctx, wcancel := context.WithTimeout(ctx, d)
		defer wcancel()
		began := time.Now()
		ch, err := src.Wait(wctx, time.Now)
		return ch, time.Since(began), err
	}
	wait := func() (watch.Changes, time.Duration) {
		t.Helper()
		ch, took, err := waitFor(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return ch, took
	}
	shown, hidden := watch.Key{Namespace: testNS, Name: "shown"}, watch.Key{Namespace: testNS, Name: "hidden"}
	has := func(ch watch.Changes, k watch.Key) bool {
		for _, x := range ch.Keys {
			if x == k {
				return true
			}
		}
		return false
	}

	// Nothing said yet: an off-screen notion does not exist.
	touch("hidden")
	if ch, took := wait(); !has(ch, hidden) || took > BackgroundInterval/2 {
		t.Fatalf("before SetOnScreen: %v after %s, want hidden at once", ch.Keys, took)
	}

	src.SetOnScreen(map[watch.Key]bool{shown: true})
	touch("hidden")
	ch, took := wait()
	if !has(ch, hidden) || took < BackgroundInterval/2 {
		t.Fatalf("an off-screen change was delivered after %s (%v), want it batched for up to %s", took, ch.Keys, BackgroundInterval)
	}
	if v, ok := src.Store.Detail(hidden); !ok || v.Annotations["metrics.roost.dev/window"] == "" {
		t.Fatal("the Store did not take the off-screen change")
	}

	// A change off screen that shows nothing new is held back...
	nudge("hidden")
	if ch, took, err := waitFor(3 * BackgroundInterval); err == nil {
		t.Fatalf("a change off screen that shows nothing was delivered after %s (%v)", took, ch.Keys)
	}
	if v, ok := src.Store.Detail(hidden); !ok || v.Annotations["touched"] == "" {
		t.Fatal("the Store did not take the held-back change")
	}
	// ...until the rollout comes on screen.
	go func() {
		time.Sleep(100 * time.Millisecond)
		src.SetOnScreen(map[watch.Key]bool{shown: true, hidden: true})
	}()
	if ch, took := wait(); !has(ch, hidden) || took > BackgroundInterval/2 {
		t.Fatalf("a held-back change coming on screen: %v after %s, want it at once", ch.Keys, took)
	}
	src.SetOnScreen(map[watch.Key]bool{shown: true})
	// A held-back change also goes out with the next delivery.
	nudge("hidden")
	time.Sleep(100 * time.Millisecond)
	touch("shown")
	if ch, _ := wait(); !has(ch, shown) || !has(ch, hidden) {
		t.Fatalf("an on-screen change: %v, want the held-back one with it", ch.Keys)
	}

	touch("hidden")
	time.Sleep(50 * time.Millisecond)
	touch("shown")
	ch, took = wait()
	if !has(ch, shown) || !has(ch, hidden) || took > BackgroundInterval/2 {
		t.Fatalf("an on-screen change: %v after %s, want it at once with the pending off-screen one", ch.Keys, took)
	}
}

// screenRecorder is staticRollouts that records what the cockpit says is
// on screen.
type screenRecorder struct {
	*staticRollouts
	got map[watch.Key]bool
}

func (s *screenRecorder) SetOnScreen(keys map[watch.Key]bool) { s.got = keys }

// TestCockpitSaysWhatIsOnScreen: the rows in view, and the one under the
// cursor, are said to be on screen; rows far from the cursor are not.
func TestCockpitSaysWhatIsOnScreen(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	list, _ := fleetRollouts(200)
	rec := &screenRecorder{staticRollouts: &staticRollouts{list: list}}
	m := fixtureModel(ctx, dark(t), 120, 40, func(o *Options) { o.Rollouts = rec })
	m = press(m, "down")
	if len(rec.got) == 0 || len(rec.got) > 40 {
		t.Fatalf("%d rollouts said to be on screen at 120x40", len(rec.got))
	}
	// Every row in the frame is said to be on screen; a few more may be
	// (the room counted is the panel's at most), never many.
	screen := m.Render()
	extra := 0
	for _, r := range m.rows {
		shown := strings.Contains(screen, r.Name)
		switch {
		case shown && !rec.got[keyOf(r).Key]:
			t.Errorf("%s is in the frame but not said to be on screen", keyOf(r))
		case !shown && rec.got[keyOf(r).Key]:
			extra++
		}
	}
	if extra > 8 {
		t.Errorf("%d rollouts not in the frame are said to be on screen", extra)
	}
	for _, r := range m.rows[:5] {
		if !rec.got[keyOf(r).Key] {
			t.Errorf("%s, in view at the top, is not said to be on screen", keyOf(r))
		}
	}
	if rec.got[keyOf(m.rows[150]).Key] {
		t.Error("a row far below the screen is said to be on screen")
	}
	for i := 0; i < 120; i++ {
		m = press(m, "down")
	}
	if !rec.got[keyOf(m.current()).Key] || rec.got[keyOf(m.rows[0]).Key] {
		t.Errorf("after moving down: the cursor's row on screen %v, the first row %v", rec.got[keyOf(m.current()).Key], rec.got[keyOf(m.rows[0]).Key])
	}
}

// TestClockTicksOnlyForWhatIsOnScreen: an age that changes soon on a row
// far below the screen does not wake the cockpit; the same age on screen
// does.
func TestClockTicksOnlyForWhatIsOnScreen(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	list, _ := fleetRollouts(200)
	now := fixtureNow
	for i, r := range list {
		c := *r
		// Every age reads in minutes, its next change 30 s away...
		c.StepSince = now.Add(-10*time.Minute - 30*time.Second)
		c.PauseEnds = time.Time{}
		list[i] = &c
	}
	model := func() Model {
		return fixtureModel(ctx, dark(t), 120, 40, func(o *Options) {
			o.Rollouts = &staticRollouts{list: list}
			o.Now = func() time.Time { return now }
		})
	}
	m := model()
	base, _ := m.nextClockChange()
	if base < 2500*time.Millisecond {
		t.Fatalf("the fixture's own next tick is in %s; the test needs it later than 2.5s", base)
	}
	far := *list[150]
	// ...but one far below the screen changes in 2 s.
	far.StepSince = now.Add(-10*time.Minute - 58*time.Second)
	list[150] = &far
	m = model()
	if d, _ := m.nextClockChange(); d != base {
		t.Fatalf("the next tick is in %s, not %s: a rollout off screen wakes the cockpit", d, base)
	}
	near := *list[1]
	near.StepSince = far.StepSince
	list[1] = &near
	m = model()
	if d, ok := m.nextClockChange(); !ok || d > 2100*time.Millisecond {
		t.Fatalf("the next tick is in %s (%v), want about 2s for a rollout on screen", d, ok)
	}
}

func TestClockAligned(t *testing.T) {
	base := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	for _, tc := range []struct{ at, want time.Duration }{
		{10 * ms, 10 * ms},                 // already just past a second
		{5 * ms, 10 * ms},                  // just before: the same second
		{11 * ms, time.Second + 10*ms},     // a change inside the second waits for its end
		{400 * ms, time.Second + 10*ms},    //
		{time.Second, time.Second + 10*ms}, //
		{time.Second + 10*ms, time.Second + 10*ms},
		{59*time.Second + 999*ms, time.Minute + 10*ms},
	} {
		if got := clockAligned(base.Add(tc.at)).Sub(base); got != tc.want {
			t.Errorf("clockAligned(+%s) = +%s, want +%s", tc.at, got, tc.want)
		}
	}
}

// TestClockTicksOncePerSecond: pods whose ages change at every fraction of
// a second wake the cockpit once a second, on the second.
func TestClockTicksOncePerSecond(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	list, _ := fleetRollouts(1)
	now := fixtureNow.Add(123 * time.Millisecond)
	r := *list[0]
	r.Pods = fixturePods(&r, nil)
	for i := range r.Pods {
		// Ages of a few seconds, each changing at its own fraction.
		r.Pods[i].Created = now.Add(-3*time.Second - time.Duration(i*577)*time.Millisecond)
	}
	list[0] = &r
	m := fixtureModel(ctx, dark(t), 120, 40, func(o *Options) {
		o.Rollouts = &staticRollouts{list: list}
		o.Now = func() time.Time { return now }
	})
	m = press(m, "enter") // the detail, with its pods' ages
	ticks := 0
	for end := now.Add(10 * time.Second); ; {
		m.tickAt = time.Time{}
		if cmd := m.armTick(); cmd == nil {
			t.Fatal("no tick armed for ages of seconds on screen")
		}
		if got := m.tickAt.Sub(m.tickAt.Truncate(time.Second)); got != 10*time.Millisecond {
			t.Fatalf("a tick is armed %s past a whole second, want 10ms", got)
		}
		if d := m.tickAt.Sub(now); d <= 0 || ticks > 0 && d < time.Second {
			t.Fatalf("tick %d is armed %s ahead, want at least a second after the last", ticks, d)
		}
		if now = m.tickAt; now.After(end) {
			break
		}
		m.now = now
		ticks++
	}
	if ticks < 2 || ticks > 10 {
		t.Fatalf("%d ticks in 10 s, want some, at most one a second", ticks)
	}
}

// TestOverviewSignature: one more measurement of a running analysis shows
// nowhere off screen; a pause, an abort or a new Application does.
func TestOverviewSignature(t *testing.T) {
	var base *watch.Rollout
	for _, r := range fixtureAnalysisRollouts() {
		if r.Name == "payments" {
			base = r
		}
	}
	if base == nil || len(base.Analysis) == 0 {
		t.Fatal("the fixture has no payments rollout under analysis")
	}
	sig := overviewSignature(base)
	measured := *base
	run := base.Analysis[0]
	run.Metrics = slices.Clone(run.Metrics)
	run.Metrics[0].Successful++
	run.Metrics[0].Measured++
	measured.Analysis = []watch.AnalysisRun{run}
	if got := overviewSignature(&measured); got != sig {
		t.Errorf("one more measurement changes the signature:\n%s\n%s", sig, got)
	}
	for name, change := range map[string]func(r *watch.Rollout){
		"aborted": func(r *watch.Rollout) { r.Aborted = true },
		"paused":  func(r *watch.Rollout) { r.Paused, r.DesiredWeight = true, 77 },
		"phase":   func(r *watch.Rollout) { r.Phase = "Degraded" },
		"app":     func(r *watch.Rollout) { r.App = &watch.App{Name: "other", Known: true, Project: "p"} },
		"poll":    func(r *watch.Rollout) { r.Annotations = map[string]string{"metrics.roost.dev/window": "10m"} },
		"canary":  func(r *watch.Rollout) { c := *r.Canary; c.Ready++; r.Canary = &c },
	} {
		c := *base
		change(&c)
		if overviewSignature(&c) == sig {
			t.Errorf("%s: the signature did not change", name)
		}
	}
}

// An empty scope is a complete first frame: the first delivery goes out
// once every informer has listed, with nothing to wake it.
func TestWatchRolloutsDeliversAnEmptyScope(t *testing.T) {
	c, err := sim.New(sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = c.Run(ctx) }()
	w, err := watch.New(watch.Options{Kube: c.Kube, Dynamic: c.Dynamic, Namespace: "empty"})
	if err != nil {
		t.Fatal(err)
	}
	w.Start(ctx)
	src := &WatchRollouts{Watcher: w, Store: watch.NewStore(w)}
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	defer wcancel()
	if _, err := src.Wait(wctx, time.Now); err != nil {
		t.Fatalf("no first delivery of an empty scope: %v", err)
	}
	if n := len(src.Overview()); n != 0 {
		t.Errorf("%d rollouts", n)
	}
}
