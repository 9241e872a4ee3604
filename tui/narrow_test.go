package tui

import (
	"context"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/roost-dev/roost/themes"
	"github.com/roost-dev/roost/watch"
)

// TestStepCounting: one convention everywhere, the step under way counted
// from 1 as the Events count it, and done once past the last.
func TestStepCounting(t *testing.T) {
	for _, c := range []struct {
		index, total int
		cell, title  string
	}{
		{0, 4, "1/4", "Step 1/4"},
		{1, 4, "2/4", "Step 2/4"},
		{3, 4, "4/4", "Step 4/4"},
		{4, 4, "4/4✓", "Step 4/4 done"},
		{6, 6, "6/6✓", "Step 6/6 done"},
		{0, 0, "-", ""},
	} {
		r := &watch.Rollout{StepIndex: int32(c.index), StepsTotal: c.total}
		if got := stepText(r, "✓"); got != c.cell {
			t.Errorf("index %d of %d: STEP cell %q, want %q", c.index, c.total, got, c.cell)
		}
		if c.total > 0 {
			if got := stepTitle(r); got != c.title {
				t.Errorf("index %d of %d: detail title %q, want %q", c.index, c.total, got, c.title)
			}
		}
	}
}

// TestFooterFollowsTheRollout: the footer leads with the actions that fit
// the rollout under the cursor.
func TestFooterFollowsTheRollout(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, c := range []struct {
		ns, name string
		first    string
		absent   []string
	}{
		{"shop", "checkout", "r retry", []string{"p promote", "a abort"}},
		{"shop", "cart", "p promote · a abort", []string{"r retry"}},
		{"web", "front", "a abort · s hold here", []string{"r retry"}},
		{"payments", "refunds", "enter detail", []string{"p promote", "a abort", "r retry"}},
	} {
		m := selectRollout(t, fixtureModel(ctx, dark(t), 120, 40, nil), c.ns, c.name)
		lines := strings.Split(ansi.Strip(m.Render()), "\n")
		keys := lines[len(lines)-1]
		if !strings.HasPrefix(keys, c.first) {
			t.Errorf("%s/%s: the footer starts %q, want %q first", c.ns, c.name, keys, c.first)
		}
		for _, a := range c.absent {
			if strings.Contains(keys, a) {
				t.Errorf("%s/%s: the footer offers %q: %q", c.ns, c.name, a, keys)
			}
		}
	}
}

// TestListSaysWhatIsBelow: a list cut short says how many rollouts are
// below it, in the theme's symbols, ASCII ones included; the title counts
// what a filter keeps of all.
func TestListSaysWhatIsBelow(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, ascii := range []bool{false, true} {
		th := dark(t).WithSymbols(themes.SymbolsFor(ascii))
		want := "↓ 4 more"
		if ascii {
			want = "v 4 more"
		}
		m := fixtureModel(ctx, th, 40, 12, nil)
		if s := ansi.Strip(m.Render()); !strings.Contains(s, want) {
			t.Errorf("ascii=%v: the cut list does not say %q:\n%s", ascii, want, s)
		}
		m = press(m, "G")
		if s := ansi.Strip(m.Render()); strings.Contains(s, " more") {
			t.Errorf("ascii=%v: at the end of the list it still says more are below:\n%s", ascii, s)
		}
	}
	m := press(fixtureModel(ctx, dark(t), 80, 24, nil), "/", "w", "e", "b", "enter")
	if s := ansi.Strip(m.Render()); !strings.Contains(s, "Rollouts 2 of 6") {
		t.Errorf("filtered to 2 of 6, the title does not say so:\n%s", s)
	}
}

// TestLongStatusKeepsItsEnd: a notice longer than the line (the list of
// themes) wraps instead of losing its end.
func TestLongStatusKeepsItsEnd(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, notices := themes.Load("nosuch", themes.Env{Getenv: func(k string) string {
		if k == "HOME" {
			return "/home/oncall-engineer"
		}
		return ""
	}})
	if len(notices) != 1 {
		t.Fatalf("themes.Load(nosuch) gave %d notices", len(notices))
	}
	m := fixtureModel(ctx, dark(t), 80, 24, func(o *Options) { o.Notices = notices })
	screen := ansi.Strip(m.Render())
	if lines := strings.Split(screen, "\n"); len(lines) != 24 {
		t.Fatalf("%d lines, want 24", len(lines))
	}
	// Lines break at spaces and after hyphens.
	flat := strings.ReplaceAll(strings.Join(strings.Fields(screen), " "), "- ", "-")
	for _, name := range themes.BuiltinNames() {
		if !strings.Contains(flat, name) {
			t.Errorf("the status lost theme %q:\n%s", name, screen)
		}
	}
	if !strings.Contains(flat, "using the dark theme") {
		t.Errorf("the status lost its end:\n%s", screen)
	}
}

// TestCountsAgreeInNumber: "1 event, 1 user", never "1 events".
func TestCountsAgreeInNumber(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := fixtureModel(ctx, dark(t), 120, 40, nil)
	ev := m.evidence[rolloutKey{Key: watch.Key{Namespace: "web", Name: "front"}}]
	ev.Errors[1].Events, ev.Errors[1].Users = 1, 1
	m = press(selectRollout(t, m, "web", "front"), "enter")
	screen := ansi.Strip(m.Render())
	if !strings.Contains(screen, "1 event, 1 user,") || strings.Contains(screen, "1 events") || strings.Contains(screen, "1 users") {
		t.Errorf("counts of one:\n%s", screen)
	}
}

// TestHeaderNeverCutsItsState: at every width from 40, whatever the context,
// the header keeps live/reconnecting and read-only whole; the context gives
// way first.
func TestHeaderNeverCutsItsState(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, context := range []string{"", "prod", "gke_shop-prod_europe-west1_shop", eksContext} {
		for _, readOnly := range []bool{false, true} {
			for w := minWidth; w <= 120; w += 7 {
				m := fixtureModel(ctx, dark(t), w, 24, func(o *Options) { o.Context, o.ReadOnly = context, readOnly })
				header := strings.SplitN(ansi.Strip(m.Render()), "\n", 2)[0]
				if !strings.Contains(header, "✓ live") || readOnly && !strings.Contains(header, "read-only") {
					t.Errorf("%d cells, context %q, read-only %v: %q", w, context, readOnly, header)
				}
				if context == "" && !readOnly && !strings.Contains(header, "roost · all namespaces · ✓ live") {
					t.Errorf("%d cells, no context: the scope was cut: %q", w, header)
				}
			}
		}
	}
}

// A panel title too long for its pane (the filter's query in it at 40×12)
// is cut to leave the frame its corner: the top line stays the pane's
// width.
func TestLongPanelTitleKeepsTheFrame(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := press(fixtureModel(ctx, dark(t), 40, 12, nil), "/", "p", "a", "y", "m", "e", "n", "t")
	top := strings.Split(m.Render(), "\n")[2]
	if w := ansi.StringWidth(top); w != 40 || !strings.HasSuffix(ansi.Strip(top), "┓") {
		t.Errorf("the list's top line is %d cells, want 40 ending in its corner: %q", w, ansi.Strip(top))
	}
}
