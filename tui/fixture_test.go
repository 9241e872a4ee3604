package tui

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	tea "charm.land/bubbletea/v2"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/roost-dev/roost/actions"
	"github.com/roost-dev/roost/election"
	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/themes"
	"github.com/roost-dev/roost/watch"
)

// fixtureNow is the clock of every golden screen.
var fixtureNow = time.Date(2026, 12, 1, 14, 30, 0, 0, time.UTC)

func i32(v int32) *int32 { return &v }

func steps(index int32, texts ...string) []watch.Step {
	out := make([]watch.Step, len(texts))
	for i, t := range texts {
		s := watch.Step{Number: i + 1, Text: t, State: watch.StepPending}
		switch {
		case int32(i) < index:
			s.State = watch.StepDone
		case int32(i) == index:
			s.State = watch.StepCurrent
		}
		var w int32
		if n, _ := fmt.Sscanf(t, "setWeight %d", &w); n == 1 {
			s.Weight = i32(w)
		}
		out[i] = s
	}
	return out
}

func rs(name, rev, image string, desired, ready int32, role string) *watch.ReplicaSet {
	return &watch.ReplicaSet{
		Name: name, Revision: rev, Images: []string{image},
		Desired: desired, Total: desired, Ready: ready, Available: ready,
		PodsByRole: map[string]int{role: int(desired)}, Created: fixtureNow.Add(-20 * time.Minute),
	}
}

// fixtureRollouts are six rollouts in every state an SRE meets.
func fixtureRollouts() []*watch.Rollout {
	four := []string{"setWeight 20", "pause (until promoted)", "setWeight 50", "pause 2m0s"}
	checkout := &watch.Rollout{
		Namespace: "shop", Name: "checkout", Phase: "Degraded",
		Message: "RolloutAborted: Rollout aborted update to revision 7: p99 latency 3x stable",
		Aborted: true, AbortReason: "p99 latency 3x stable", AbortedBy: "alice@bastion",
		StepIndex: 0, StepsTotal: 4, Steps: steps(0, four...),
		Stable:   rs("checkout-6f7d8b9c4", "6", "registry/checkout:1.41", 10, 10, "stable"),
		Replicas: 10, DesiredWeight: 0, ActualWeight: 0,
		StepSince: fixtureNow.Add(-4 * time.Minute), SteppedBy: "roost",
		Events: []watch.Event{
			{Time: fixtureNow.Add(-4 * time.Minute), Type: "Warning", Reason: "RolloutAborted", Message: "Rollout aborted update to revision 7: p99 latency 3x stable", Source: "roost"},
			{Time: fixtureNow.Add(-4 * time.Minute), Type: "Normal", Reason: "RolloutAbortRequested", Message: "aborted by alice@bastion: p99 latency 3x stable", Actor: "alice@bastion", Source: "roost"},
			{Time: fixtureNow.Add(-9 * time.Minute), Type: "Normal", Reason: "RolloutStepCompleted", Message: "Step 1/4: set weight 20 completed", Source: "roost"},
		},
	}
	cart := &watch.Rollout{
		Namespace: "shop", Name: "cart", Phase: "Paused", Message: "CanaryPauseStep",
		StepIndex: 1, StepsTotal: 4, Steps: steps(1, four...),
		DesiredWeight: 20, ActualWeight: 20, Paused: true, PauseUntilPromoted: true,
		Stable:   rs("cart-5d4c8f7b6", "11", "registry/cart:2.3.0", 8, 8, "stable"),
		Canary:   rs("cart-7b9f6c5d8", "12", "registry/cart:2.4.0", 2, 2, "canary"),
		Replicas: 10, StepSince: fixtureNow.Add(-3*time.Minute - 20*time.Second), SteppedBy: "roost",
		MaxSurge: &intstr.IntOrString{Type: intstr.String, StrVal: "25%"},
		Events: []watch.Event{
			{Time: fixtureNow.Add(-200 * time.Second), Type: "Normal", Reason: "RolloutPaused", Message: "Step 2/4: pause: waiting for a promote", Source: "roost"},
			{Time: fixtureNow.Add(-260 * time.Second), Type: "Normal", Reason: "RolloutStepCompleted", Message: "Step 1/4: set weight 20 completed", Source: "roost"},
			{Time: fixtureNow.Add(-290 * time.Second), Type: "Normal", Reason: "NewReplicaSetCreated", Message: "Created ReplicaSet cart-7b9f6c5d8 (revision 12) with 2 replicas", Source: "roost"},
		},
	}
	search := &watch.Rollout{
		Namespace: "web", Name: "search", Phase: "Paused", Message: "CanaryPauseStep",
		StepIndex: 3, StepsTotal: 4, Steps: steps(3, four...),
		DesiredWeight: 50, ActualWeight: 50, Paused: true,
		PauseEnds: fixtureNow.Add(80 * time.Second), PauseRemaining: 80 * time.Second,
		Stable:   rs("search-8c7d6b5f4", "3", "registry/search:9.1", 3, 3, "stable"),
		Canary:   rs("search-6b5c4d3f2", "4", "registry/search:9.2", 3, 3, "canary"),
		Replicas: 6, StepSince: fixtureNow.Add(-40 * time.Second), SteppedBy: "rollouts-controller",
	}
	front := &watch.Rollout{
		Namespace: "web", Name: "front", Phase: "Progressing", Message: "more replicas need to be updated",
		StepIndex: 2, StepsTotal: 4, Steps: steps(2, four...),
		DesiredWeight: 50, ActualWeight: 40,
		Stable:   rs("front-4f5d6c7b8", "20", "registry/front:5.0", 5, 5, "stable"),
		Canary:   rs("front-9d8c7b6a5", "21", "registry/front:5.1", 5, 3, "canary"),
		Replicas: 10, StepSince: fixtureNow.Add(-25 * time.Second), SteppedBy: "roost",
	}
	refunds := &watch.Rollout{
		Namespace: "payments", Name: "refunds", Phase: "Healthy",
		StepIndex: 4, StepsTotal: 4, Steps: steps(4, four...),
		DesiredWeight: 100, ActualWeight: 100,
		Stable:   rs("refunds-6c5b4a3d2", "8", "registry/refunds:3.2", 4, 4, "stable"),
		Replicas: 4, StepSince: fixtureNow.Add(-26 * time.Hour), SteppedBy: "roost",
	}
	ledger := &watch.Rollout{
		Namespace: "payments", Name: "ledger", Phase: "Degraded",
		Message:     "InvalidSpec: spec.strategy.canary.trafficRouting: Forbidden: roost runs the basic canary only",
		InvalidSpec: "spec.strategy.canary.trafficRouting: Forbidden: roost runs the basic canary only; remove it, or let Argo Rollouts step this rollout",
		StepsTotal:  2, Steps: steps(0, "setWeight 10", "pause (until promoted)"),
		Replicas: 3,
	}
	// Argo CD deploys all but ledger: checkout and cart in project shop
	// (cart's Application self-heals), front and search together
	// (storefront) in project frontend; refunds by its instance label
	// alone, its Application not readable.
	checkout.App = &watch.App{Name: "shop-checkout", Namespace: "argocd", Known: true, Project: "shop", Sync: "Synced", Health: "Degraded", AutoSync: true}
	cart.App = &watch.App{Name: "shop-cart", Namespace: "argocd", Known: true, Project: "shop", Sync: "Synced", Health: "Suspended", AutoSync: true, SelfHeal: true}
	front.App = &watch.App{Name: "storefront", Namespace: "argocd", Known: true, Project: "frontend", Sync: "Synced", Health: "Progressing"}
	search.App = &watch.App{Name: "storefront", Namespace: "argocd", Known: true, Project: "frontend", Sync: "Synced", Health: "Progressing"}
	refunds.App = &watch.App{Name: "payments-refunds", ByLabel: true}
	cart.Pods = fixturePods(cart, nil)
	search.Pods = fixturePods(search, nil)
	refunds.Pods = fixturePods(refunds, nil)
	checkout.Pods = fixturePods(checkout, nil)
	// front's canary: one pod crash-looping, one pulling a bad image, one
	// that restarted; stable is fine.
	front.Pods = fixturePods(front, map[string]func(p *watch.PodInfo){
		"front-9d8c7b6a5-7xk2p": func(p *watch.PodInfo) {
			p.Ready, p.ReadyContainers, p.Reason, p.Severity, p.Restarts = false, 0, "CrashLoopBackOff", watch.PodBad, 7
		},
		"front-9d8c7b6a5-m4q9z": func(p *watch.PodInfo) {
			p.Ready, p.ReadyContainers, p.Reason, p.Severity = false, 0, "ImagePullBackOff", watch.PodBad
			p.Phase = "Pending"
		},
		"front-9d8c7b6a5-b8d3w": func(p *watch.PodInfo) { p.Restarts = 2 },
	})
	return []*watch.Rollout{checkout, ledger, cart, front, search, refunds}
}

// podSuffixes are the random parts of the fixture pods' names.
var podSuffixes = []string{"7xk2p", "m4q9z", "b8d3w", "c2v7n", "h5j6k", "q9r2t", "w3e4y", "z8x1c", "f6g7h", "p0o9i", "l2k3j", "n4m5b"}

// fixturePods are the pods of r's ReplicaSets, as the watch layer lists
// them (canary first, the worst first), each changed by bad[name] if any.
func fixturePods(r *watch.Rollout, bad map[string]func(p *watch.PodInfo)) []watch.PodInfo {
	var out []watch.PodInfo
	nodes := []string{"ip-10-0-1-17.eu-west-1.compute.internal", "ip-10-0-2-43.eu-west-1.compute.internal", "ip-10-0-3-8.eu-west-1.compute.internal"}
	for _, x := range []struct {
		rs   *watch.ReplicaSet
		role watch.PodRole
	}{{r.Canary, watch.PodOfCanary}, {r.Stable, watch.PodOfStable}} {
		if x.rs == nil {
			continue
		}
		for i := range int(x.rs.Desired) {
			p := watch.PodInfo{
				Name: x.rs.Name + "-" + podSuffixes[i%len(podSuffixes)], ReplicaSet: x.rs.Name, Role: x.role,
				Phase: "Running", Ready: true, ReadyContainers: 1, Containers: 1,
				Node: nodes[i%len(nodes)], Created: x.rs.Created.Add(time.Duration(i) * 7 * time.Second),
			}
			if f := bad[p.Name]; f != nil {
				f(&p)
			}
			out = append(out, p)
		}
	}
	slices.SortStableFunc(out, func(a, b watch.PodInfo) int {
		if a.Role != b.Role {
			return int(a.Role) - int(b.Role)
		}
		if a.Severity != b.Severity {
			return int(b.Severity) - int(a.Severity)
		}
		return int(b.Restarts) - int(a.Restarts)
	})
	return out
}

func series(start time.Time, values ...float64) metrics.Series {
	s := metrics.Series{Found: true}
	for i, v := range values {
		p := metrics.Point{Time: start.Add(time.Duration(i) * 30 * time.Second), Value: v}
		if math.IsNaN(v) {
			p = metrics.Point{Time: p.Time, Null: true}
		}
		s.Points = append(s.Points, p)
	}
	return s
}

// fixtureEvidence: cart's canary is as good as stable, front's is worse and
// threw an error stable never had.
func fixtureEvidence() map[watch.Key]metrics.Evidence {
	t0 := fixtureNow.Add(-10 * time.Minute)
	nan := math.NaN()
	fresh := metrics.Freshness{FetchedAt: fixtureNow.Add(-12 * time.Second)}
	return map[watch.Key]metrics.Evidence{
		{Namespace: "shop", Name: "cart"}: {
			Namespace: "shop", Name: "cart", Score: metrics.ScorePass,
			Metrics: []metrics.Metric{
				{ID: "requests", Name: "requests", Unit: "req/s", Verdict: metrics.VerdictPass,
					Canary: series(t0, 41, 43, 40, 42, 44, 43), Stable: series(t0, 170, 168, 172, 171, 169, 170)},
				{ID: "error_rate", Name: "error rate", Unit: "%", HigherIsWorse: true, Verdict: metrics.VerdictPass,
					Canary: series(t0, 0.4, 0.5, nan, 0.4, 0.5, 0.45), Stable: series(t0, 0.5, 0.45, 0.5, 0.5, 0.48, 0.5)},
				{ID: "latency_p95", Name: "p95 latency", Unit: "ms", HigherIsWorse: true, Verdict: metrics.VerdictPass,
					Canary: series(t0, 180, 182, 179, 185, 181, 183), Stable: series(t0, 178, 180, 181, 179, 182, 180)},
			},
			MetricsState: fresh, ErrorsState: fresh,
			MetricLinksOff: "no Datadog links: roost reads Datadog through https://datadog-proxy.internal, which is not one of Datadog's sites, so the web app's address is unknown; " +
				"with datadog.site (or DD_SITE) set to your site instead of datadog.address, each metric links to Datadog's metrics explorer",
		},
		{Namespace: "web", Name: "front"}: {
			Namespace: "web", Name: "front", Score: metrics.ScoreFail,
			Metrics: []metrics.Metric{
				{ID: "requests", Name: "requests", Unit: "req/s", Verdict: metrics.VerdictPass,
					Canary: series(t0, 80, 82, 84, 85, 84, 86), Stable: series(t0, 120, 121, 119, 118, 120, 119),
					Link: frontLink("requests", "hits", "sum:trace.http.request.hits{service:front} by {kube_role}.as_rate()")},
				{ID: "error_rate", Name: "error rate", Unit: "%", HigherIsWorse: true, Verdict: metrics.VerdictHigh,
					Canary: series(t0, 0.9, 1.8, 2.9, 3.6, 4.0, 4.2), Stable: series(t0, 0.9, 1.0, 0.9, 0.8, 1.0, 0.9),
					Link: frontLink("error rate", "errors", "sum:trace.http.request.errors{service:front} by {kube_role}.as_count()")},
				{ID: "latency_p95", Name: "p95 latency", Unit: "ms", HigherIsWorse: true, Verdict: metrics.VerdictHigh,
					Canary: series(t0, 210, 260, 340, 420, 480, 510), Stable: series(t0, 200, 205, 198, 202, 201, 199),
					Link: frontLink("p95 latency", "p95", "p95:trace.http.request{service:front} by {kube_role}")},
			},
			Errors: []metrics.Error{
				{ID: "6750d1a2b3c4d5e6f7a8b9c0", Class: "NoMethodError", Message: "undefined method 'price' for nil", Events: 42, Users: 17,
					FirstSeen: fixtureNow.Add(-6 * time.Minute), LastSeen: fixtureNow.Add(-20 * time.Second), Severity: "error", Context: "POST /cart/items", New: true,
					URL: "https://app.bugsnag.com/shop-co/front/errors/6750d1a2b3c4d5e6f7a8b9c0?filters[app.release_stage][][type]=eq&filters[app.release_stage][][value]=canary"},
				{ID: "6750d1a2b3c4d5e6f7a8b9c1", Class: "Timeout::Error", Message: "execution expired calling inventory", Events: 5, Users: 4, FirstSeen: fixtureNow.Add(-30 * 24 * time.Hour)},
			},
			ErrorsURL:    "https://app.bugsnag.com/shop-co/front/errors?filters[app.release_stage][][type]=eq&filters[app.release_stage][][value]=canary",
			MetricsState: fresh, ErrorsState: fresh,
		},
		{Namespace: "web", Name: "search"}: {
			Namespace: "web", Name: "search", Score: metrics.ScoreNoData,
			MetricsState: metrics.Freshness{FetchedAt: fixtureNow.Add(-95 * time.Second), Stale: true, Reason: "Datadog rate limited (429)", RetryAt: fixtureNow.Add(40 * time.Second)},
			Metrics: []metrics.Metric{
				{ID: "requests", Name: "requests", Unit: "req/s", Verdict: metrics.VerdictNoData,
					Canary: metrics.Series{Found: false}, Stable: series(t0, 50, 51)},
				{ID: "error_rate", Name: "error rate", Unit: "%", HigherIsWorse: true, Verdict: metrics.VerdictPass,
					Canary: series(t0, 0.2, 0.3), Stable: series(t0, 0.3, 0.3)},
				{ID: "latency_p95", Name: "p95 latency", Unit: "ms", HigherIsWorse: true, Verdict: metrics.VerdictNoData,
					Error: "forbidden (403): the application key lacks the timeseries_query scope"},
			},
			ErrorsOff: "Bugsnag is not configured: set BUGSNAG_AUTH_TOKEN, or bugsnag.secret in ~/.config/roost/config.yaml",
		},
	}
}

// frontLink is web/front's graph of one metric in Datadog.
func frontLink(name, query, q string) string {
	return metrics.ExplorerURL("https://app.datadoghq.com", metrics.MetricQuery{
		Name: name, Queries: []metrics.NamedQuery{{Name: query, Query: q}}, Scale: 1,
		From: fixtureNow.Add(-30 * time.Minute), To: fixtureNow,
	})
}

// fixtureDetail is the latest event of front's new error: a long message
// and a stack deeper than the screen shows.
func fixtureDetail() metrics.ErrorDetail {
	frames := []metrics.Frame{
		{File: "app/models/line_item.rb", Line: 42, Method: "price", InProject: true},
		{File: "app/models/cart.rb", Line: 17, Method: "block in total", InProject: true},
		{File: "/usr/local/bundle/gems/activesupport-7.1.3/lib/active_support/core_ext/enumerable.rb", Line: 61, Method: "sum"},
		{File: "app/controllers/cart_items_controller.rb", Line: 9, Method: "create", InProject: true},
	}
	for i := range 14 {
		frames = append(frames, metrics.Frame{File: "/usr/local/bundle/gems/actionpack-7.1.3/lib/action_controller/metal.rb", Line: 200 + i, Method: "dispatch"})
	}
	return metrics.ErrorDetail{
		ErrorID: "6750d1a2b3c4d5e6f7a8b9c0", EventID: "6750d1a2b3c4d5e6f7a8ffff",
		ReceivedAt: fixtureNow.Add(-20 * time.Second), ReleaseStage: "canary", AppVersion: "4.2.0",
		Context: "POST /cart/items", Severity: "error", Unhandled: true,
		Exceptions: []metrics.Exception{{
			Class: "NoMethodError",
			Message: "undefined method 'price' for nil: LineItem#price called on an item whose product was deleted " +
				"between the cart's load and its total; the cart holds 3 items, 1 of them without a product (sku-7781)",
			Frames: frames,
		}},
		URL: "https://app.bugsnag.com/shop-co/front/errors/6750d1a2b3c4d5e6f7a8b9c0?event_id=6750d1a2b3c4d5e6f7a8ffff",
	}
}

// staticRollouts serves a fixed overview.
type staticRollouts struct {
	list   []*watch.Rollout
	health watch.Health
}

func (s *staticRollouts) Wait(ctx context.Context, _ func() time.Time) (watch.Changes, error) {
	<-ctx.Done()
	return watch.Changes{}, ctx.Err()
}
func (s *staticRollouts) Overview() []*watch.Rollout { return s.list }
func (s *staticRollouts) Health() watch.Health       { return s.health }

type staticStepping struct{ s election.Stepping }

func (s staticStepping) Current() election.Stepping { return s.s }
func (s staticStepping) Wait(ctx context.Context, _ election.Stepping) (election.Stepping, error) {
	<-ctx.Done()
	return s.s, ctx.Err()
}

// staticEvidence holds fixed evidence.
type staticEvidence struct {
	items map[watch.Key]metrics.Evidence
}

func (staticEvidence) SetTargets([]metrics.Target) {}
func (staticEvidence) Refresh(string, string)      {}
func (s staticEvidence) Evidence(ns, name string) (metrics.Evidence, bool) {
	e, ok := s.items[watch.Key{Namespace: ns, Name: name}]
	return e, ok
}
func (staticEvidence) WaitChanged(ctx context.Context) ([]metrics.Key, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// ErrorDetail knows front's new error only.
func (staticEvidence) ErrorDetail(_ context.Context, ns, name, id string) (metrics.ErrorDetail, error) {
	if d := fixtureDetail(); ns == "web" && name == "front" && id == d.ErrorID {
		return d, nil
	}
	return metrics.ErrorDetail{}, &metrics.SourceError{Source: "Bugsnag", Status: 404, Permanent: true, Reason: "Bugsnag has no event of error " + id + " for this auth token (404)"}
}

// fixtureModel is the cockpit over the fixtures at width×height, loaded as
// after the first delivery of the watch layer.
func fixtureModel(ctx context.Context, theme themes.Theme, width, height int, mutate func(*Options)) Model {
	o := Options{
		Context: "prod-eu-1", Namespace: "",
		Rollouts: &staticRollouts{list: fixtureRollouts()},
		Actor:    noActor{},
		Stepping: staticStepping{election.Stepping{Kind: election.SteppingByMe, Who: "alice@bastion/4242"}},
		Evidence: staticEvidence{}, Headline: "error_rate",
		Logs: fixtureLogs{}, PodEvents: fixturePodEvents{},
		Theme: theme,
		Now:   func() time.Time { return fixtureNow },
	}
	if mutate != nil {
		mutate(&o)
	}
	m := New(ctx, o)
	next, _ := m.Update(tea.WindowSizeMsg{Width: width, Height: height})
	m = next.(Model)
	next, _ = m.Update(deliveryOf(o.Rollouts, watch.Changes{}))
	m = next.(Model)
	if o.Evidence != nil {
		next, _ = m.Update(evidenceMsg{items: inOneCluster(fixtureEvidence())})
		m = next.(Model)
	}
	return m
}

// noActor refuses: golden screens never send.
type noActor struct{}

func (noActor) Promote(context.Context, string, string) (actions.Result, error) {
	return actions.Result{}, errNoActor
}
func (noActor) PromoteFull(context.Context, string, string) (actions.Result, error) {
	return actions.Result{}, errNoActor
}
func (noActor) Abort(context.Context, string, string, string) (actions.Result, error) {
	return actions.Result{}, errNoActor
}
func (noActor) Retry(context.Context, string, string) (actions.Result, error) {
	return actions.Result{}, errNoActor
}
func (noActor) Pause(context.Context, string, string) (actions.Result, error) {
	return actions.Result{}, errNoActor
}
func (noActor) Resume(context.Context, string, string) (actions.Result, error) {
	return actions.Result{}, errNoActor
}
func (noActor) Restart(context.Context, string, string) (actions.Result, error) {
	return actions.Result{}, errNoActor
}
func (noActor) Undo(context.Context, string, string, int64) (actions.Result, error) {
	return actions.Result{}, errNoActor
}

func (noActor) TerminateAnalysis(context.Context, string, string, string) (actions.Result, error) {
	return actions.Result{}, errNoActor
}

var errNoActor = errors.New("golden screens send nothing")

// inOneCluster keys evidence of one cluster as the cockpit does.
func inOneCluster(items map[watch.Key]metrics.Evidence) map[rolloutKey]metrics.Evidence {
	out := make(map[rolloutKey]metrics.Evidence, len(items))
	for k, e := range items {
		out[rolloutKey{Key: k}] = e
	}
	return out
}
