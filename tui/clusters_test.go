package tui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/roost-dev/roost/actions"
	"github.com/roost-dev/roost/election"
	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/themes"
	"github.com/roost-dev/roost/watch"
)

// clusterNames are the clusters of the multi-cluster fixtures.
var clusterNames = []string{"prod-tokyo", "prod-osaka", "prod-us"}

// clusterRollouts are the fixtures as the cluster named name has them:
// the same services everywhere; cart's canary paused at 50 % in tokyo, at
// 20 % in osaka, done in the US.
func clusterRollouts(name string) []*watch.Rollout {
	list := fixtureRollouts()
	for i, r := range list {
		c := *r
		c.Cluster = name
		if c.Name == "cart" {
			switch name {
			case "prod-tokyo":
				c.StepIndex, c.DesiredWeight, c.ActualWeight = 3, 50, 50
				c.Steps = steps(3, "setWeight 20", "pause (until promoted)", "setWeight 50", "pause (until promoted)")
			case "prod-us":
				c.Phase, c.Paused, c.PauseUntilPromoted, c.Canary = "Healthy", false, false, nil
				c.StepIndex, c.DesiredWeight, c.ActualWeight = 4, 100, 100
				c.Steps = steps(4, "setWeight 20", "pause (until promoted)", "setWeight 50", "pause (until promoted)")
			}
		}
		list[i] = &c
	}
	return watch.MergeOverviews([][]*watch.Rollout{list})
}

// callActor records the actions sent to its cluster.
type callActor struct {
	noActor
	mu    sync.Mutex
	calls []string
}

func (a *callActor) Promote(_ context.Context, ns, name string) (actions.Result, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, "promote "+ns+"/"+name)
	return actions.Result{Summary: "promoted"}, nil
}

// multiModel is the cockpit over three clusters at width×height, each
// cluster's first delivery in; mutate changes a cluster before.
func multiModel(t *testing.T, width, height int, mutate func(i int, c *Cluster)) (Model, []*callActor) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var actors []*callActor
	var clusters []Cluster
	for i, name := range clusterNames {
		a := &callActor{}
		actors = append(actors, a)
		c := Cluster{
			Name: name, Rollouts: &staticRollouts{list: clusterRollouts(name)}, Actor: a,
			Stepping: staticStepping{election.Stepping{Kind: election.SteppingByMe, Who: "alice@bastion/4242"}},
			Logs:     fixtureLogs{}, PodEvents: fixturePodEvents{},
		}
		if mutate != nil {
			mutate(i, &c)
		}
		clusters = append(clusters, c)
	}
	m := New(ctx, Options{Clusters: clusters, Theme: dark(t), Headline: "error_rate", Now: func() time.Time { return fixtureNow }})
	next, _ := m.Update(tea.WindowSizeMsg{Width: width, Height: height})
	m = next.(Model)
	for i, c := range clusters {
		if c.Rollouts == nil {
			continue
		}
		msg := deliveryOf(c.Rollouts, watch.Changes{})
		msg.cluster = i
		next, _ = m.Update(msg)
		m = next.(Model)
	}
	return m, actors
}

// selectIn moves the cursor to ns/name of cluster.
func selectIn(t *testing.T, m Model, cluster, ns, name string) Model {
	t.Helper()
	m = press(m, "g")
	for range len(m.rows) + len(m.groups) {
		if r := m.current(); r != nil && r.Cluster == cluster && r.Namespace == ns && r.Name == name {
			return m
		}
		m = press(m, "down")
	}
	t.Fatalf("rollout %s/%s of %s is not in the overview", ns, name, cluster)
	return m
}

func TestMultiClusterScreens(t *testing.T) {
	for _, size := range []struct{ w, h int }{{120, 40}, {80, 24}} {
		suffix := fmt.Sprintf("-%dx%d", size.w, size.h)
		m, _ := multiModel(t, size.w, size.h, nil)
		checkScreen(t, "clusters-overview"+suffix, selectIn(t, m, "prod-osaka", "shop", "cart"))
		grouped := press(m, "v")
		if grouped.grouping != watch.GroupService {
			t.Fatalf("v over several clusters groups %q, want by service", grouped.grouping)
		}
		checkScreen(t, "clusters-grouped"+suffix, selectGroup(t, grouped, "shop-cart"))
	}
}

// The group line of a service across clusters says its state cluster by
// cluster, the most urgent first.
func TestMultiClusterGroupLine(t *testing.T) {
	m, _ := multiModel(t, 160, 40, nil)
	m = press(m, "v")
	screen := ansi.Strip(m.Render())
	want := "shop-cart · 3 clusters · prod-tokyo paused at 50 %, prod-osaka paused at 20 %, prod-us healthy"
	if !strings.Contains(screen, want) {
		t.Errorf("no group line %q:\n%s", want, screen)
	}
	// v goes on through Argo CD's groupings, then none.
	for _, want := range []watch.GroupBy{watch.GroupApplication, watch.GroupProject, watch.GroupNone, watch.GroupService} {
		if m = press(m, "v"); m.grouping != want {
			t.Fatalf("v: %q, want %q", m.grouping, want)
		}
	}
}

// p on a service's group line promotes it in each cluster where it
// waits, through one dialog naming each cluster; each cluster's actor
// gets its own call.
func TestMultiClusterPromote(t *testing.T) {
	m, actors := multiModel(t, 120, 40, nil)
	m = press(selectGroup(t, press(m, "v"), "shop-cart"), "p")
	if m.confirm == nil {
		t.Fatalf("p on the group line opened no dialog; status %q", m.status.text)
	}
	dialog := ansi.Strip(m.Render())
	for _, want := range []string{"prod-tokyo: shop/cart: ", "prod-osaka: shop/cart: ", "prod-us: shop/cart: skipped"} {
		if !strings.Contains(dialog, want) {
			t.Errorf("the dialog does not say %q:\n%s", want, dialog)
		}
	}
	next, cmd := m.Update(keyMsg("y"))
	m = next.(Model)
	for _, msg := range drain(cmd) {
		next, _ = m.Update(msg)
		m = next.(Model)
	}
	want := [][]string{{"promote shop/cart"}, {"promote shop/cart"}, nil}
	for i, a := range actors {
		if !slices.Equal(a.calls, want[i]) {
			t.Errorf("%s's actor got %v, want %v", clusterNames[i], a.calls, want[i])
		}
	}
	if m.status.text != "promote: all 2 rollouts done" {
		t.Errorf("status %q", m.status.text)
	}
}

// Marks tell the same rollout of two clusters apart.
func TestMultiClusterMarks(t *testing.T) {
	m, actors := multiModel(t, 120, 40, nil)
	m = press(selectIn(t, m, "prod-osaka", "shop", "cart"), "space", "p")
	if len(m.marked) != 1 || !m.marked[rolloutKey{Cluster: "prod-osaka", Key: watch.Key{Namespace: "shop", Name: "cart"}}] {
		t.Fatalf("marked %v, want osaka's cart", m.marked)
	}
	m = run(m, keyMsg("y"))
	if len(actors[0].calls) != 0 || len(actors[1].calls) != 1 {
		t.Errorf("calls: tokyo %v, osaka %v; want osaka's only", actors[0].calls, actors[1].calls)
	}
	if len(m.marked) != 0 {
		t.Errorf("still marked after the promote: %v", m.marked)
	}
}

// One cluster reconnecting shows as such, with since when and its error,
// while the others stay live.
func TestMultiClusterReconnecting(t *testing.T) {
	lost := watch.Health{State: watch.Reconnecting, Resource: "rollouts", Since: fixtureNow.Add(-90 * time.Second), LastError: errors.New("dial tcp 10.2.0.7:6443: connect: connection refused")}
	m, _ := multiModel(t, 120, 40, func(i int, c *Cluster) {
		if c.Name == "prod-osaka" {
			c.Rollouts = &staticRollouts{list: clusterRollouts(c.Name), health: lost}
		}
	})
	screen := ansi.Strip(m.Render())
	for _, want := range []string{"prod-osaka reconnecting", "prod-osaka: rollouts watch failing for 1m: dial tcp 10.2.0.7:6443", "prod-osaka ↻"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the screen does not say %q:\n%s", want, screen)
		}
	}
	checkScreen(t, "clusters-reconnecting-120x40", m)
	osaka := ansi.Strip(selectIn(t, m, "prod-osaka", "shop", "cart").Render())
	if !strings.Contains(osaka, "prod-osaka: its watches fail (rollouts since 1m ago): the last known state") {
		t.Errorf("the detail of osaka's cart does not say its cluster fails:\n%s", osaka)
	}
	if tokyo := ansi.Strip(selectIn(t, m, "prod-tokyo", "shop", "cart").Render()); strings.Contains(tokyo, "its watches fail") {
		t.Errorf("the detail of tokyo's cart says its cluster fails:\n%s", tokyo)
	}
	m, _ = multiModel(t, 80, 24, func(i int, c *Cluster) {
		if c.Name == "prod-osaka" {
			c.Rollouts = &staticRollouts{list: clusterRollouts(c.Name), health: lost}
		}
	})
	checkScreen(t, "clusters-reconnecting-80x24", m)
}

// A cluster that cannot be reached at start shows why, its rows absent,
// while the others' rows are there; it is tried again, and its rows come
// when it answers.
func TestMultiClusterConnect(t *testing.T) {
	tries := 0
	m, _ := multiModel(t, 120, 40, func(i int, c *Cluster) {
		if c.Name != "prod-us" {
			return
		}
		made := *c
		made.Notices = []themes.Notice{{Level: themes.Info, Text: "you may not create replicasets in namespace shop, so this roost only watches and acts"}}
		c.Rollouts = nil
		c.Connect = func(context.Context) (Cluster, error) {
			tries++
			if tries == 1 {
				return Cluster{}, errors.New("unreachable: the cluster at https://us.example did not answer")
			}
			return made, nil
		}
	})
	if !strings.Contains(ansi.Strip(m.Render()), "listing prod-us") {
		t.Errorf("while prod-us connects, the header does not say so:\n%s", ansi.Strip(m.Render()))
	}
	m = run(m, m.connect(2)())
	screen := ansi.Strip(m.Render())
	if !strings.Contains(screen, "prod-us, not connected for 0s: unreachable: the cluster at https://us.example did not answer") {
		t.Errorf("the failed cluster is not said:\n%s", screen)
	}
	if n := len(m.all); n != 12 {
		t.Errorf("%d rollouts in view, want the other two clusters' 12", n)
	}
	next, cmd := m.Update(reconnectMsg{cluster: 2})
	m = next.(Model)
	next, cmd = m.Update(cmd())
	m = next.(Model)
	if m.clusters[2].lost != nil || m.clusters[2].Rollouts == nil || cmd == nil {
		t.Fatalf("after a second try that answered: lost %v", m.clusters[2].lost)
	}
	if m.status.text != "prod-us: you may not create replicasets in namespace shop, so this roost only watches and acts" {
		t.Errorf("status %q, want the cluster's notice", m.status.text)
	}
	msg := deliveryOf(m.clusters[2].Rollouts, watch.Changes{})
	msg.cluster = 2
	next, _ = m.Update(msg)
	m = next.(Model)
	if n := len(m.all); n != 18 {
		t.Errorf("%d rollouts in view, want 18", n)
	}
}

// Evidence is each cluster's own.
func TestMultiClusterEvidence(t *testing.T) {
	m, _ := multiModel(t, 120, 40, func(i int, c *Cluster) {
		if i == 0 {
			c.Evidence = staticEvidence{items: fixtureEvidence()}
		}
	})
	items := map[rolloutKey]metrics.Evidence{}
	for k, e := range fixtureEvidence() {
		items[rolloutKey{Cluster: "prod-tokyo", Key: k}] = e
	}
	next, _ := m.Update(evidenceMsg{cluster: 0, items: items})
	m = next.(Model)
	tokyo := selectIn(t, m, "prod-tokyo", "web", "front")
	if ev, why := tokyo.evidenceOf(tokyo.current()); why != "" || ev.Score == "" {
		t.Errorf("tokyo's front: evidence %+v, %q", ev, why)
	}
	osaka := selectIn(t, m, "prod-osaka", "web", "front")
	if ev, _ := osaka.evidenceOf(osaka.current()); ev.Score != "" {
		t.Errorf("osaka's front has tokyo's evidence: %+v", ev)
	}
}

// BenchmarkClustersDelivery is what one cluster's delivery costs over two
// clusters of 250 rollouts each (the same total as BenchmarkDelivery):
// merging the overviews, then the frame.
func BenchmarkClustersDelivery(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	list, _ := fleetRollouts(250)
	var clusters []Cluster
	lists := make([][]*watch.Rollout, 2)
	for i, name := range []string{"prod-tokyo", "prod-osaka"} {
		for _, r := range list {
			c := *r
			c.Cluster = name
			lists[i] = append(lists[i], &c)
		}
		clusters = append(clusters, Cluster{Name: name, Rollouts: &staticRollouts{list: lists[i]}, Actor: noActor{}})
	}
	m := New(ctx, Options{Clusters: clusters, Theme: dark(&testing.T{}), Now: func() time.Time { return fixtureNow }})
	next, _ := m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	m = next.(Model)
	for i := range clusters {
		next, _ = m.Update(rolloutsMsg{cluster: i, overview: lists[i]})
		m = next.(Model)
	}
	msg := rolloutsMsg{cluster: 1, overview: lists[1]}
	b.ReportAllocs()
	for b.Loop() {
		next, _ := m.Update(msg)
		m = next.(Model)
		_ = m.View()
	}
}

// The help over several clusters says what v does there.
func TestMultiClusterHelp(t *testing.T) {
	m, _ := multiModel(t, 120, 40, nil)
	m = press(m, "?")
	if s := ansi.Strip(m.Render()); !strings.Contains(s, "v groups the list by service across clusters") {
		t.Errorf("help:\n%s", s)
	}
}
