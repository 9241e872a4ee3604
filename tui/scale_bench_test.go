package tui

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/watch"
)

// scaleAnalysisFleet is the screen of make e2e-scale's analysis phase: 200
// canaries of 50 pods (10 canary, 40 stable), each under a background
// analysis of three metrics with ten measurements, deployed by 20 Argo CD
// Applications in 4 AppProjects.
func scaleAnalysisFleet() []*watch.Rollout {
	var base *watch.Rollout
	for _, r := range fixtureAnalysisRollouts() {
		if r.Name == "payments" {
			base = r
		}
	}
	run := base.Analysis[0]
	run.Metrics = append([]watch.AnalysisMetric(nil), run.Metrics...)
	run.Metrics = append(run.Metrics, run.Metrics[0])
	run.Metrics[len(run.Metrics)-1].Name = "traffic"
	values := []string{"0.0041", "0.0052", "0.0047", "0.0049", "0.0044", "0.0051", "0.0046", "0.0048", "0.0050", "0.0045"}
	for i := range run.Metrics {
		run.Metrics[i].Measurements = measurements(successful, "", values...)
		run.Metrics[i].Successful, run.Metrics[i].Measured = 10, 10
	}
	out := make([]*watch.Rollout, 200)
	for i := range out {
		r := *base
		r.Namespace, r.Name = "scale", fmt.Sprintf("svc-%03d", i)
		canary, stable := *base.Canary, *base.Stable
		canary.Desired, canary.Total, canary.Ready, canary.Available = 10, 10, 10, 10
		stable.Desired, stable.Total, stable.Ready, stable.Available = 40, 40, 40, 40
		r.Canary, r.Stable = &canary, &stable
		r.Pods = fixturePods(&r, nil)
		r.Analysis = []watch.AnalysisRun{run}
		app := i * 20 / 200
		r.App = &watch.App{Name: fmt.Sprintf("app-%02d", app), Namespace: "argocd", Known: true, Project: fmt.Sprintf("proj-%d", app*4/20), Sync: "Synced", Health: "Suspended"}
		out[i] = &r
	}
	return out
}

// BenchmarkScaleAnalysisScreen measures the analysis phase's screen at
// 120x40 (the list and the detail of the first canary, grouped by project):
// a frame, and a delivery of one changed rollout.
func BenchmarkScaleAnalysisScreen(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	list := scaleAnalysisFleet()
	m := fixtureModel(ctx, dark(&testing.T{}), 120, 40, func(o *Options) {
		o.Rollouts = &staticRollouts{list: list}
		o.Grouping = watch.GroupProject
	})
	m = press(m, "down")
	b.Run("frame", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = m.View()
		}
	})
	b.Run("delivery", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			changed := *list[150]
			next := append([]*watch.Rollout(nil), list...)
			next[150] = &changed
			n, _ := m.Update(rolloutsMsg{overview: next})
			m = n.(Model)
		}
	})
}

// TestRowsInViewAreShown: the rollouts the cockpit says are on screen (whose
// changes, and AnalysisRuns, are followed at once) are exactly those whose
// rows the overview shows: over 200 rollouts, grouped or not, split or not,
// the cursor anywhere, with a status of several lines.
func TestRowsInViewAreShown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	name := regexp.MustCompile(`\bsvc-\d{3}\b`)
	long := strings.Repeat("a status long enough to take more than one line of the footer ", 4)
	for _, size := range [][2]int{{120, 40}, {80, 24}, {160, 60}} {
		for _, grouping := range []watch.GroupBy{watch.GroupNone, watch.GroupProject} {
			for _, moves := range []int{0, 7, 60, 199} {
				for _, status := range []string{"", long} {
					m := fixtureModel(ctx, dark(t), size[0], size[1], func(o *Options) {
						o.Rollouts = &staticRollouts{list: scaleAnalysisFleet()}
						o.Grouping = grouping
					})
					for range moves {
						m = press(m, "down")
					}
					m.status.text = status
					want := map[string]bool{}
					for _, r := range m.rowsInView() {
						want[r.Name] = true
					}
					got := map[string]bool{}
					lines := strings.Split(ansi.Strip(m.Render()), "\n")
					// The list's panel: from the header to its bottom border.
					for _, l := range lines[headerHeight:] {
						if strings.HasPrefix(l, "┗") || strings.HasPrefix(l, "╰") {
							break
						}
						for _, n := range name.FindAllString(l, -1) {
							got[n] = true
						}
					}
					what := fmt.Sprintf("%dx%d grouping %q after %d moves, status %d cells", size[0], size[1], grouping, moves, len(status))
					if len(got) == 0 {
						t.Fatalf("%s: no rollout row on screen", what)
					}
					if !maps.Equal(got, want) {
						t.Errorf("%s: rows shown %v, rows the cockpit says are in view %v", what, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
					}
				}
			}
		}
	}
}

// TestOverviewMemoDrawsWhatIsNew: the list's panel kept between frames
// (viewMemo) draws what the model shows now: over ticks of the clock that
// cross its texts' changes (a step's age, a pause's countdown), deliveries,
// keys and a resize, every frame is the frame drawn without the memo.
func TestOverviewMemoDrawsWhatIsNew(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	now := fixtureNow
	list := scaleAnalysisFleet()
	for i, r := range list[:12] {
		// Young steps and running pauses, whose texts change by the
		// second.
		c := *r
		c.StepSince = fixtureNow.Add(-time.Duration(50+i) * time.Second)
		if i%3 == 0 {
			c.Paused, c.PauseUntilPromoted, c.PauseEnds = true, false, fixtureNow.Add(time.Duration(20+i)*time.Second)
		}
		list[i] = &c
	}
	m := fixtureModel(ctx, dark(t), 120, 40, func(o *Options) {
		o.Rollouts = &staticRollouts{list: list}
		o.Grouping = watch.GroupProject
		o.Now = func() time.Time { return now }
	})
	step := func(what string, msg tea.Msg) {
		t.Helper()
		m = updateAsDrawnAnew(t, m, what, "list", msg)
	}
	step("first frame", tea.WindowSizeMsg{Width: 120, Height: 40})
	for i := range 90 {
		now = now.Add(time.Second)
		step(fmt.Sprintf("tick %d", i), tickMsg(now))
		switch i {
		case 20:
			changed := *list[3]
			changed.StepSince = now
			next := append([]*watch.Rollout(nil), list...)
			next[3] = &changed
			step("a delivery", rolloutsMsg{overview: next})
		case 40:
			step("a key", keyMsg("down"))
		case 60:
			step("a resize", tea.WindowSizeMsg{Width: 100, Height: 36})
		}
	}
}

// updateAsDrawnAnew delivers msg to m, and fails t (the panel kept is
// named by kept) unless the frame drawn then with the model's memo is the
// frame drawn without it.
func updateAsDrawnAnew(t *testing.T, m Model, what, kept string, msg tea.Msg) Model {
	t.Helper()
	next, _ := m.Update(msg)
	m = next.(Model)
	got := m.Render()
	fresh := m
	fresh.memo = nil
	if want := fresh.Render(); got != want {
		t.Fatalf("%s: the frame with the kept %s differs from the frame drawn anew:\n%s\nwant\n%s", what, kept, ansi.Strip(got), ansi.Strip(want))
	}
	return m
}

// TestDetailMemoDrawsWhatIsNew: the detail's panel kept between frames
// (detailMemo), with its analysis block drawn again for its countdowns,
// draws what the model shows now: over ticks of the clock that cross every
// text of the detail that counts time (the run's countdowns and age, the
// step's age, the Events', pods' and evidence's ages, a retry's
// countdown), deliveries, focus, the full detail screen and a resize,
// every frame is the frame drawn without the memo.
func TestDetailMemoDrawsWhatIsNew(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	now := fixtureNow
	list := scaleAnalysisFleet()
	young := func(r *watch.Rollout, at time.Time) *watch.Rollout {
		c := *r
		c.StepSince = at.Add(-50 * time.Second)
		c.Events = []watch.Event{
			{Time: at.Add(-3 * time.Second), Type: "Normal", Reason: "RolloutStepCompleted", Message: "step 1 done"},
			{Time: at.Add(-58 * time.Second), Type: "Normal", Reason: "RolloutUpdated", Message: "updated"},
		}
		c.Pods = slices.Clone(c.Pods)
		for i := range c.Pods {
			c.Pods[i].Created = at.Add(-time.Duration(40+i) * time.Second)
		}
		run := c.Analysis[0]
		run.Phase, run.Started = "Running", at.Add(-55*time.Second)
		run.Metrics = slices.Clone(run.Metrics)
		for i := range run.Metrics {
			run.Metrics[i].Phase = "Running"
			run.Metrics[i].Next = at.Add(time.Duration(7+11*i) * time.Second)
		}
		c.Analysis = []watch.AnalysisRun{run}
		return &c
	}
	for i := range list[:3] {
		list[i] = young(list[i], now)
	}
	_, evs := fleetRollouts(1)
	var ev metrics.Evidence
	for _, e := range evs {
		ev = e
	}
	ev.MetricsState = metrics.Freshness{FetchedAt: now.Add(-20 * time.Second)}
	ev.ErrorsState = metrics.Freshness{FetchedAt: now.Add(-40 * time.Second), Stale: true, Reason: "Bugsnag 429 (rate limit)", RetryAt: now.Add(30 * time.Second)}
	ev.Errors = slices.Clone(ev.Errors)
	for i := range ev.Errors {
		ev.Errors[i].FirstSeen = now.Add(-time.Duration(45+i) * time.Second)
	}
	m := fixtureModel(ctx, dark(t), 120, 40, func(o *Options) {
		o.Rollouts = &staticRollouts{list: list}
		o.Now = func() time.Time { return now }
	})
	for _, r := range list {
		m.evidence[rolloutKey{Key: watch.Key{Namespace: r.Namespace, Name: r.Name}}] = ev
	}
	drawn := 0
	step := func(what string, msg tea.Msg) {
		t.Helper()
		m = updateAsDrawnAnew(t, m, what, "detail", msg)
		if m.memo.detail.lines != nil {
			drawn++
		}
	}
	step("first frame", tea.WindowSizeMsg{Width: 120, Height: 40})
	if r := m.current(); r == nil || r.Analysis[0].Started.IsZero() || !strings.Contains(ansi.Strip(m.Render()), "next in") {
		t.Fatalf("the detail shows no running analysis with its countdown:\n%s", ansi.Strip(m.Render()))
	}
	for i := range 100 {
		now = now.Add(time.Second)
		step(fmt.Sprintf("tick %d", i), tickMsg(now))
		switch i {
		case 20:
			next := slices.Clone(list)
			next[0] = young(list[0], now)
			step("a delivery", rolloutsMsg{overview: next})
		case 35:
			step("the pods panel focused", keyMsg("tab"))
		case 50:
			step("the full detail", keyMsg("enter"))
		case 70:
			step("a resize", tea.WindowSizeMsg{Width: 100, Height: 30})
		case 85:
			step("back to the list", keyMsg("backspace"))
		}
	}
	if drawn == 0 {
		t.Fatal("the detail was never kept: the test compared nothing")
	}
}
