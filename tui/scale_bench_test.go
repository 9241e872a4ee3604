package tui

import (
	"context"
	"fmt"
	"testing"

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
