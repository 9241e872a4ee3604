package tui

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/roost-dev/roost/watch"
)

// groupsOf lists the overview's groups as "title: ns/name ns/name".
func groupsOf(m Model) []string {
	var out []string
	for _, g := range m.groups {
		var names []string
		for _, r := range m.rows[g.start:g.end] {
			names = append(names, r.Namespace+"/"+r.Name)
		}
		out = append(out, g.title+": "+strings.Join(names, " "))
	}
	return out
}

// Groups come by their most urgent rollout, as the overview ranks it (a
// canary failing its metrics first), then by name; the rollouts in no
// group last; within a group, the usual order.
func TestGroupOrder(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	last := "not deployed by Argo CD, or project unknown (Application not readable)"
	for _, c := range []struct {
		name     string
		evidence bool
		keys     []string
		want     []string
	}{
		{"application", true, []string{"v"}, []string{
			// front fails its metrics: its Application goes first.
			"storefront: web/front web/search",
			"shop-checkout: shop/checkout",
			"shop-cart: shop/cart",
			"payments-refunds: payments/refunds",
			"not deployed by Argo CD: payments/ledger",
		}},
		{"project", true, []string{"v", "v"}, []string{
			"frontend: web/front web/search",
			"shop: shop/checkout shop/cart",
			last + ": payments/ledger payments/refunds",
		}},
		{"project without evidence", false, []string{"v", "v"}, []string{
			// Without metrics, the aborted checkout makes shop the most
			// urgent; search (a timed pause) and front progress.
			"shop: shop/checkout shop/cart",
			"frontend: web/front web/search",
			last + ": payments/ledger payments/refunds",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := press(fixtureModel(ctx, dark(t), 120, 40, func(o *Options) {
				if !c.evidence {
					o.Evidence = nil
				}
			}), c.keys...)
			if got := groupsOf(m); !slices.Equal(got, c.want) {
				t.Errorf("groups:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
	// Groups as urgent as each other come by name.
	m := press(fixtureModel(ctx, dark(t), 120, 40, func(o *Options) {
		var list []*watch.Rollout
		for _, name := range []string{"zeta", "alpha", "mid"} {
			r := cartAt(1)
			r.Name, r.App = name, &watch.App{Name: name + "-app", Namespace: "argocd", Known: true, Project: name}
			list = append(list, r)
		}
		o.Rollouts = &staticRollouts{list: list}
	}), "v", "v")
	if got, want := groupsOf(m), []string{"alpha: shop/alpha", "mid: shop/mid", "zeta: shop/zeta"}; !slices.Equal(got, want) {
		t.Errorf("groups of equal urgency: %q, want %q", got, want)
	}
}

// v cycles none, application, project, none; the title still counts the
// rollouts that need a person.
func TestGroupingCycles(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := fixtureModel(ctx, dark(t), 120, 40, nil)
	for _, want := range []watch.GroupBy{watch.GroupApplication, watch.GroupProject, watch.GroupNone} {
		m = press(m, "v")
		if m.grouping != want {
			t.Fatalf("v: grouping %q, want %q", m.grouping, want)
		}
		screen := ansi.Strip(m.Render())
		if !strings.Contains(screen, "Rollouts 6 · 4 need you") {
			t.Errorf("grouped by %s, the title lost its count of rollouts that need you:\n%s", want, screen)
		}
		if grouped := len(m.groups) > 0; grouped != (want != watch.GroupNone) {
			t.Errorf("grouping %s: %d groups", want, len(m.groups))
		}
	}
	// The configuration's grouping is where it starts.
	m = fixtureModel(ctx, dark(t), 120, 40, func(o *Options) { o.Grouping = watch.GroupProject })
	if m.grouping != watch.GroupProject || len(m.groups) != 3 {
		t.Errorf("Options.Grouping project: grouping %q with %d groups", m.grouping, len(m.groups))
	}
	// Grouped with no rollout deployed by Argo CD, v says why every
	// rollout lands in the last group.
	m = press(fixtureModel(ctx, dark(t), 120, 40, func(o *Options) {
		r := cartAt(1)
		r.App = nil
		o.Rollouts = &staticRollouts{list: []*watch.Rollout{r}}
	}), "v")
	if !strings.Contains(m.status.text, "no rollout here is deployed by Argo CD") || !strings.Contains(m.status.text, watch.TrackingIDAnnotation) {
		t.Errorf("grouped with no Argo CD rollout, the status says %q", m.status.text)
	}
}

// A group line names the group and its combined state; the last group
// says why its rollouts are in none.
func TestGroupLines(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := press(fixtureModel(ctx, dark(t), 120, 40, nil), "v", "v")
	screen := ansi.Strip(m.Render())
	for _, want := range []string{
		"  frontend · 2 rollouts · 1 paused at 50 % · 1 progressing to 50 %",
		"  shop · 2 rollouts · 1 aborted · 1 paused at 20 %",
		"  not deployed by Argo CD, or project unknown (Application not readable) · 2 rollouts · 1 invalid spec · 1 healthy",
	} {
		if !strings.Contains(screen, want) {
			t.Errorf("grouped by project, the screen lacks the group line %q:\n%s", want, screen)
		}
	}
	if strings.Contains(screen, "NEEDS YOU:") {
		t.Errorf("grouped, the urgency titles still show:\n%s", screen)
	}
	// A group partly marked says how much of it.
	m = press(selectRollout(t, m, "shop", "cart"), "space")
	if s := ansi.Strip(m.Render()); !strings.Contains(s, "shop · 2 rollouts · 1 aborted · 1 paused at 20 % · 1 of 2 marked") {
		t.Errorf("a group with one of two rollouts marked does not say so:\n%s", s)
	}
}

func TestLastGroupTitle(t *testing.T) {
	for _, c := range []struct {
		by             watch.GroupBy
		noApp, unknown int
		want           string
	}{
		{watch.GroupApplication, 2, 0, "not deployed by Argo CD"},
		{watch.GroupProject, 2, 0, "not deployed by Argo CD"},
		{watch.GroupProject, 0, 3, "project unknown: Argo CD Application not readable"},
		{watch.GroupProject, 1, 1, "not deployed by Argo CD, or project unknown (Application not readable)"},
	} {
		if got := lastGroupTitle(c.by, c.noApp, c.unknown); got != c.want {
			t.Errorf("lastGroupTitle(%s, %d, %d) = %q, want %q", c.by, c.noApp, c.unknown, got, c.want)
		}
	}
	// Grouped by Application, a rollout known by its tracking mark alone
	// has a group; by project, it goes last with those Argo CD does not
	// deploy.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := press(fixtureModel(ctx, dark(t), 120, 40, nil), "v")
	if got := groupsOf(m); got[len(got)-1] != "not deployed by Argo CD: payments/ledger" || !slices.Contains(got, "payments-refunds: payments/refunds") {
		t.Errorf("grouped by application: %q", got)
	}
}

// The cursor rests on group lines as on rows; it stays on a group's line
// while deliveries come; enter there opens nothing and says what works.
func TestCursorOnGroupLines(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := press(fixtureModel(ctx, dark(t), 120, 40, nil), "v", "v")
	// Not yet moved: the cursor is on the most urgent rollout, not a
	// group line a stray p would act on whole.
	if m.onGroup || m.current() == nil || m.current().Name != "front" {
		t.Fatalf("at start the cursor is on group line %v, rollout %v; want front", m.onGroup, m.current())
	}
	var seen []string
	m = press(m, "g")
	for range len(m.rows) + len(m.groups) + 2 {
		if g := m.cursorGroup(); g != nil {
			seen = append(seen, "["+g.title+"]")
		} else {
			seen = append(seen, m.current().Name)
		}
		m = press(m, "down")
	}
	want := []string{"[frontend]", "front", "search", "[shop]", "checkout", "cart", "[" + m.groups[2].title + "]", "ledger", "refunds", "refunds", "refunds"}
	if !slices.Equal(seen, want) {
		t.Errorf("down through the grouped list: %q, want %q", seen, want)
	}
	m = press(m, "up", "up")
	if g := m.cursorGroup(); g == nil || g.title != m.groups[2].title {
		t.Fatalf("up from refunds twice: group %v, rollout %v", g, m.current())
	}
	if m = press(m, "up"); m.current() == nil || m.current().Name != "cart" {
		t.Fatalf("up from the last group's line: group %v, rollout %v; want cart", m.cursorGroup(), m.current())
	}
	m = selectGroup(t, m, "shop")
	next, _ := m.Update(deliveryOf(m.opt.Rollouts, watch.Changes{}))
	m = next.(Model)
	if g := m.cursorGroup(); g == nil || g.title != "shop" {
		t.Errorf("after a delivery the cursor left shop's group line: group %v, rollout %v", g, m.current())
	}
	m = press(m, "enter")
	if m.screen != screenOverview || !strings.Contains(m.status.text, "enter opens a rollout") {
		t.Errorf("enter on a group line: screen %d, status %q", m.screen, m.status.text)
	}
	// The split screen's detail shows the group.
	screen := ansi.Strip(m.Render())
	for _, want := range []string{"Project shop", "space marks its 2 rollouts in view", "shop/checkout: aborted", "shop/cart: paused at 20 %"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the detail of shop's group line lacks %q:\n%s", want, screen)
		}
	}
}

// space on a group line marks every rollout of the group in view, and
// unmarks them all when all are marked.
func TestSpaceOnGroupLine(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := press(selectGroup(t, press(fixtureModel(ctx, dark(t), 120, 40, nil), "v", "v"), "shop"), "space")
	shop := []rolloutKey{{Key: watch.Key{Namespace: "shop", Name: "checkout"}}, {Key: watch.Key{Namespace: "shop", Name: "cart"}}}
	if len(m.marked) != 2 || !m.marked[shop[0]] || !m.marked[shop[1]] {
		t.Fatalf("space on shop's line marked %v, want shop's two rollouts", m.marked)
	}
	if g := m.cursorGroup(); g == nil || g.title != "shop" || m.status.text != "marked 2 rollouts of project shop" {
		t.Errorf("after space: group %v, status %q", g, m.status.text)
	}
	m = press(m, "space")
	if len(m.marked) != 0 || m.status.text != "unmarked 2 rollouts of project shop" {
		t.Errorf("space again: marked %v, status %q; want none", m.marked, m.status.text)
	}
	// One marked: space marks the other.
	m = press(selectRollout(t, m, "shop", "cart"), "space")
	m = press(selectGroup(t, m, "shop"), "space")
	if len(m.marked) != 2 {
		t.Errorf("space on a half-marked group: marked %v, want both", m.marked)
	}
	// Only what the filter shows is marked.
	m = press(m, "u", "/", "c", "a", "r", "t", "enter")
	m = press(selectGroup(t, m, "shop"), "space")
	if len(m.marked) != 1 || !m.marked[shop[1]] {
		t.Errorf("space on shop's line filtered to cart marked %v, want cart only", m.marked)
	}
}

// p, P, a or r on a group line with nothing marked acts on the whole
// group, through the dialog, which lists every rollout of it.
func TestActOnGroupFromItsLine(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var list []*watch.Rollout
	for _, name := range []string{"cart", "checkout", "payments", "search"} {
		r := cartAt(1)
		r.Name = name
		r.App = &watch.App{Name: "shop-" + name, Namespace: "argocd", Known: true, Project: "shop"}
		list = append(list, r)
	}
	other := cartAt(1)
	other.Namespace, other.App = "web", &watch.App{Name: "front", Namespace: "argocd", Known: true, Project: "web"}
	list = append(list, other)
	m := fixtureModel(ctx, dark(t), 120, 40, func(o *Options) { o.Rollouts = &staticRollouts{list: list} })
	m = press(selectGroup(t, press(m, "v", "v"), "shop"), "p")
	if m.confirm == nil {
		t.Fatalf("p on shop's group line opened no dialog; status %q", m.status.text)
	}
	if m.confirm.group != "project shop" || len(m.confirm.plans) != 4 {
		t.Fatalf("dialog for %q with %d plans, want project shop's 4", m.confirm.group, len(m.confirm.plans))
	}
	dialog := ansi.Strip(strings.Join(m.confirm.Render(m.th, 110), "\n"))
	if !strings.Contains(dialog, "Promote project shop: 4 rollouts?") {
		t.Errorf("the dialog's title does not name the group:\n%s", dialog)
	}
	for _, name := range []string{"cart", "checkout", "payments", "search"} {
		if !strings.Contains(dialog, "shop/"+name+": releases the pause at step 2/4") {
			t.Errorf("the dialog does not say what promote does to shop/%s:\n%s", name, dialog)
		}
	}
	if strings.Contains(dialog, "web/cart") {
		t.Errorf("the dialog lists web/cart, of project web:\n%s", dialog)
	}
	got := m.confirm.targets()
	if len(got) != 4 || slices.ContainsFunc(got, func(t rolloutKey) bool { return t.Namespace != "shop" }) {
		t.Errorf("targets %v, want shop's 4", got)
	}
	// Marks win over the group line: the marked rollouts, not the group.
	m = press(m, "n")
	m = press(selectRollout(t, m, "web", "cart"), "space")
	m = press(selectGroup(t, m, "shop"), "P")
	if m.confirm == nil || m.confirm.group != "" || len(m.confirm.plans) != 1 || m.confirm.plans[0].key.Namespace != "web" {
		t.Errorf("P on shop's line with web/cart marked: dialog %+v", m.confirm)
	}
	// A group with nothing to send says so and opens nothing.
	m = press(m, "n", "u")
	m = press(selectGroup(t, m, "shop"), "r")
	if m.confirm != nil || m.status.text != "nothing to retry: none of the 4 rollouts of project shop can be (not aborted)" {
		t.Errorf("r on a group none of which is aborted: dialog %v, status %q", m.confirm != nil, m.status.text)
	}
}

// The filter matches an Application's and a project's name too.
func TestFilterByApplicationAndProject(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"storefront", []string{"front", "search"}},
		{"frontend", []string{"front", "search"}},
		{"shop-c", []string{"checkout", "cart"}},
		{"payments-refunds", []string{"refunds"}},
		// A project is unknown where its Application is not readable.
		{"ledger", []string{"ledger"}},
	} {
		m := press(fixtureModel(ctx, dark(t), 120, 40, nil), "/")
		for _, r := range c.query {
			m = press(m, string(r))
		}
		var got []string
		for _, r := range m.rows {
			got = append(got, r.Name)
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(c.want))
		if !slices.Equal(got, want) {
			t.Errorf("filter %q: %q, want %q", c.query, got, want)
		}
	}
	if m := fixtureModel(ctx, dark(t), 120, 40, nil); m.filter.Placeholder != "name, namespace, app or project" {
		t.Errorf("filter placeholder %q does not say it matches apps and projects", m.filter.Placeholder)
	}
}

// savingGrouping records the groupings saved, and fails when told to.
type savingGrouping struct {
	mu    sync.Mutex
	saved []watch.GroupBy
	err   error
}

func (s *savingGrouping) save(g watch.GroupBy) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saved = append(s.saved, g)
	return s.err
}

func (s *savingGrouping) calls() []watch.GroupBy {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.saved)
}

// v remembers the grouping through SaveGrouping in a command, never in
// Update; a failure shows in the status line with what to do.
func TestSaveGroupingInACommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &savingGrouping{}
	m := fixtureModel(ctx, dark(t), 120, 40, func(o *Options) { o.SaveGrouping = s.save })
	next, cmd := m.Update(keyMsg("v"))
	m = next.(Model)
	if cmd == nil || len(s.calls()) != 0 {
		t.Fatalf("v: command %v, saved in Update %v; want a command and nothing saved yet", cmd != nil, s.calls())
	}
	// A second v before the first save ends: one save at a time.
	next, cmd2 := m.Update(keyMsg("v"))
	m = next.(Model)
	if cmd2 != nil {
		t.Errorf("v while a save runs started another")
	}
	msg := cmd()
	if got := s.calls(); !slices.Equal(got, []watch.GroupBy{watch.GroupApplication}) {
		t.Fatalf("saved %q, want application", got)
	}
	next, cmd = m.Update(msg)
	m = next.(Model)
	if cmd == nil {
		t.Fatal("after the first save, the newer grouping was not saved")
	}
	m = run(m, cmd())
	if got := s.calls(); !slices.Equal(got, []watch.GroupBy{watch.GroupApplication, watch.GroupProject}) {
		t.Errorf("saved %q, want application then project", got)
	}
	if m.status.level != levelInfo || !strings.Contains(m.status.text, "grouped by Argo CD AppProject") {
		t.Errorf("after a good save the status is %q (%d)", m.status.text, m.status.level)
	}

	s.err = errors.New("config file /home/sre/.config/roost/config.yaml: it is not valid YAML (line 3); the grouping is not remembered: fix the file, or set cockpit.grouping in it by hand")
	m = run(m, keyMsg("v"))
	if m.grouping != watch.GroupNone || m.status.level != levelWarn {
		t.Fatalf("after a failed save: grouping %q, status %q (%d)", m.grouping, m.status.text, m.status.level)
	}
	for _, want := range []string{"Not grouped", "for this session only", "not valid YAML", "fix the file"} {
		if !strings.Contains(m.status.text, want) {
			t.Errorf("the failed save's status %q lacks %q", m.status.text, want)
		}
	}
	if screen := ansi.Strip(m.Render()); !strings.Contains(screen, "for this session only") {
		t.Errorf("the failure is not on screen:\n%s", screen)
	}
	// Without SaveGrouping, v groups and remembers nothing.
	m = fixtureModel(ctx, dark(t), 120, 40, nil)
	if next, cmd := m.Update(keyMsg("v")); cmd != nil || next.(Model).grouping != watch.GroupApplication {
		t.Errorf("v without SaveGrouping: command %v, grouping %q", cmd != nil, next.(Model).grouping)
	}
}

// Read-only, v groups (it sends nothing) and space marks nothing.
func TestGroupingReadOnly(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := press(fixtureModel(ctx, dark(t), 120, 40, func(o *Options) { o.ReadOnly = true }), "v", "v")
	if m.grouping != watch.GroupProject || m.status.text != "grouped by Argo CD AppProject (v: no groups)" {
		t.Errorf("read-only, v v: grouping %q, status %q", m.grouping, m.status.text)
	}
	m = press(selectGroup(t, m, "shop"), "space", "p")
	if len(m.marked) != 0 || m.confirm != nil || !strings.HasPrefix(m.status.text, "read-only") {
		t.Errorf("read-only, space and p on a group line: marked %v, dialog %v, status %q", m.marked, m.confirm != nil, m.status.text)
	}
}

// An undo or a hold on a rollout whose Application auto-syncs with
// self-heal says that Argo CD will revert it; promote, abort and retry write
// the status, which Argo CD never reverts: no warning there.
func TestSelfHealWarning(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const warning = "Argo CD's Application argocd/shop-cart auto-syncs with self-heal: it will revert this change; pause auto-sync in Argo CD first, or change Git"
	for _, c := range []struct {
		key, name string
		warns     bool
	}{
		{"U", "cart", true},
		{"s", "cart", true},
		{"p", "cart", false},
		{"P", "cart", false},
		{"a", "cart", false},
		// front's Application syncs by hand: nothing reverts an undo.
		{"U", "front", false},
	} {
		ns := "shop"
		if c.name == "front" {
			ns = "web"
		}
		m := press(selectRollout(t, fixtureModel(ctx, dark(t), 120, 40, nil), ns, c.name), c.key)
		if m.confirm == nil {
			t.Fatalf("%s on %s opened no dialog: %s", c.key, c.name, m.status.text)
		}
		// The dialog's words, without its frame.
		dialog := strings.Join(strings.Fields(strings.ReplaceAll(ansi.Strip(strings.Join(m.confirm.Render(m.th, 90), "\n")), "┃", "")), " ")
		if has := strings.Contains(dialog, strings.Join(strings.Fields(warning), " ")); has != c.warns {
			t.Errorf("%s on %s: self-heal warning shown %v, want %v:\n%s", c.key, c.name, has, c.warns, dialog)
		}
		if c.warns != (m.confirm.plans[0].reverted != "") {
			t.Errorf("%s on %s: plan reverted = %q", c.key, c.name, m.confirm.plans[0].reverted)
		}
	}
	// Self-heal turned off while the dialog is open: the warning goes, and
	// the rollout is not said to have moved on.
	c, _ := newConfirmDialog(verbUndo, []*watch.Rollout{cartAt(1)}, "", ptrTheme(dark(t)), nil)
	if c.plans[0].reverted == "" {
		t.Fatal("undo on cart: no self-heal warning")
	}
	c.refresh(func(rolloutKey) *watch.Rollout {
		r := cartAt(1)
		r.App = &watch.App{Name: "shop-cart", Namespace: "argocd", Known: true, Project: "shop", AutoSync: true}
		return r
	})
	if c.plans[0].reverted != "" || c.plans[0].changed {
		t.Errorf("after self-heal was turned off: warning %q, moved on %v", c.plans[0].reverted, c.plans[0].changed)
	}
	// Argo CD's word comes from the Application as roost read it: one not
	// readable warns of nothing, as nothing is known of its sync.
	for _, a := range []*watch.App{
		{Name: "shop-cart", Namespace: "argocd", Known: false},
		{Name: "shop-cart", Namespace: "argocd", Known: true, AutoSync: false, SelfHeal: true},
		{Name: "shop-cart", Namespace: "argocd", Known: true, AutoSync: true},
	} {
		r := cartAt(1)
		r.App = a
		if w := revertWarning(verbUndo, r); w != "" {
			t.Errorf("undo with App %+v warns %q", a, w)
		}
	}
}

// The detail names the rollout's Application in one line; with only the
// tracking mark known, it says the Application is not readable.
func TestDetailNamesTheApplication(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, c := range []struct {
		ns, name string
		want     string
	}{
		{"shop", "cart", "Argo CD shop-cart · project shop · Synced · Suspended · auto-sync with self-heal"},
		{"web", "front", "Argo CD storefront · project frontend · Synced · Progressing · manual sync"},
		{"payments", "refunds", "Argo CD payments-refunds (from its instance label; Application not readable: project, sync and health unknown)"},
	} {
		m := press(selectRollout(t, fixtureModel(ctx, dark(t), 120, 40, nil), c.ns, c.name), "enter")
		if screen := ansi.Strip(m.Render()); !strings.Contains(screen, c.want) {
			t.Errorf("the detail of %s/%s lacks %q:\n%s", c.ns, c.name, c.want, screen)
		}
	}
	m := press(selectRollout(t, fixtureModel(ctx, dark(t), 120, 40, nil), "payments", "ledger"), "enter")
	if screen := ansi.Strip(m.Render()); strings.Contains(screen, "Argo CD ") {
		t.Errorf("the detail of ledger, which Argo CD does not deploy, names Argo CD:\n%s", screen)
	}
	// Narrow, the line keeps the self-heal in fewer cells.
	r := cartAt(1)
	d := rolloutDetail{th: ptrTheme(dark(t)), r: r}
	if got := strings.TrimSpace(ansi.Strip(d.appLines(56)[0])); got != "Argo CD shop-cart · shop · Synced/Suspended · self-heal" {
		t.Errorf("at 56 cells: %q", got)
	}
}

// Grouped, every screen keeps its size on panes from 40×12 up: each line as
// wide as the terminal, the group lines cut with an ellipsis.
func TestGroupedNarrowPanes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, size := range []struct{ w, h int }{{40, 12}, {52, 16}, {64, 20}, {80, 24}, {110, 34}} {
		for _, keys := range [][]string{
			{"v"},
			{"v", "v", "g"},
			{"v", "v", "g", "space"},
			{"v", "v", "g", "P"},
			{"v", "v", "g", "enter"},
			{"v", "v", "/", "f", "r", "o", "n", "t", "e", "n", "d"},
		} {
			m := press(fixtureModel(ctx, dark(t), size.w, size.h, nil), keys...)
			lines := strings.Split(m.Render(), "\n")
			if len(lines) != size.h {
				t.Errorf("%d×%d after %q: %d lines", size.w, size.h, keys, len(lines))
			}
			for i, l := range lines {
				if w := ansi.StringWidth(l); w != size.w {
					t.Errorf("%d×%d after %q: line %d is %d cells: %q", size.w, size.h, keys, i+1, w, ansi.Strip(l))
				}
			}
		}
	}
}
