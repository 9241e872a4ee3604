package tui

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/roost-dev/roost/election"
	"github.com/roost-dev/roost/themes"
	"github.com/roost-dev/roost/watch"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// keyMsg is the key press a terminal sends for name ("p", "enter", "space", "ctrl+c").
func keyMsg(name string) tea.KeyPressMsg {
	switch name {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	r := []rune(name)
	return tea.KeyPressMsg{Code: r[0], Text: name}
}

// press sends keys to m one by one, dropping the commands they return.
func press(m Model, keys ...string) Model {
	for _, k := range keys {
		next, _ := m.Update(keyMsg(k))
		m = next.(Model)
	}
	return m
}

// selectRollout moves the cursor to ns/name.
func selectRollout(t *testing.T, m Model, ns, name string) Model {
	t.Helper()
	m = press(m, "g")
	for range len(m.rows) + len(m.groups) {
		if r := m.current(); r != nil && r.Namespace == ns && r.Name == name {
			return m
		}
		m = press(m, "down")
	}
	t.Fatalf("rollout %s/%s is not in the overview", ns, name)
	return m
}

// selectGroup moves the cursor to the group line titled title.
func selectGroup(t *testing.T, m Model, title string) Model {
	t.Helper()
	m = press(m, "g")
	for range len(m.rows) + len(m.groups) {
		if g := m.cursorGroup(); g != nil && g.title == title {
			return m
		}
		m = press(m, "down")
	}
	t.Fatalf("no group line %q in the overview", title)
	return m
}

// focusPanel presses tab until p has the focus.
func focusPanel(t *testing.T, m Model, p panel) Model {
	t.Helper()
	for range panels {
		if m.focus == p {
			return m
		}
		m = press(m, "tab")
	}
	t.Fatalf("tab never focuses the %s panel", p)
	return m
}

// run sends msg to m and runs what it answers, message by message, as the
// program would (a batch's commands one after the other).
func run(m Model, msg tea.Msg) Model {
	next, cmd := m.Update(msg)
	m = next.(Model)
	for _, msg := range drain(cmd) {
		next, _ = m.Update(msg)
		m = next.(Model)
	}
	return m
}

// drain runs cmd and the commands of a batch, and returns their messages.
func drain(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	msg := cmd()
	if b, ok := msg.(tea.BatchMsg); ok {
		var out []tea.Msg
		for _, c := range b {
			out = append(out, drain(c)...)
		}
		return out
	}
	return []tea.Msg{msg}
}

// openFrontError opens web/front's new error from its detail, its latest
// event read.
func openFrontError(t *testing.T, m Model) Model {
	t.Helper()
	m = focusPanel(t, press(selectRollout(t, m, "web", "front"), "enter"), panelErrors)
	m = run(m, keyMsg("enter"))
	if m.screen != screenError {
		t.Fatalf("enter on the errors panel shows screen %d, want the error screen", m.screen)
	}
	return m
}

// checkGolden compares got with testdata/name.golden byte for byte.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v; run go test ./tui -run %s -update to create it", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("screen %s differs from %s (rerun with -update if the change is intended):\n%s", name, path, got)
	}
}

// checkScreen checks that every line is exactly as wide as the terminal,
// then compares the screen without styles.
func checkScreen(t *testing.T, name string, m Model) {
	t.Helper()
	out := m.Render()
	lines := strings.Split(out, "\n")
	if len(lines) != m.height {
		t.Errorf("%s: %d lines, want %d", name, len(lines), m.height)
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w != m.width {
			t.Errorf("%s: line %d is %d cells wide, want %d: %q", name, i+1, w, m.width, ansi.Strip(l))
		}
	}
	checkGolden(t, name, ansi.Strip(out))
}

func dark(t *testing.T) themes.Theme {
	th, ok := themes.Builtin("dark")
	if !ok {
		t.Fatal("no dark theme")
	}
	return th
}

var sizes = []struct{ w, h int }{{80, 24}, {120, 40}}

func TestGoldenScreens(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	screens := []struct {
		name  string
		setup func(t *testing.T, m Model) Model
	}{
		{"overview", func(_ *testing.T, m Model) Model { return m }},
		{"detail-paused", func(t *testing.T, m Model) Model { return press(selectRollout(t, m, "shop", "cart"), "enter") }},
		{"detail-bad-canary", func(t *testing.T, m Model) Model { return press(selectRollout(t, m, "web", "front"), "enter") }},
		{"detail-aborted", func(t *testing.T, m Model) Model { return press(selectRollout(t, m, "shop", "checkout"), "enter") }},
		{"detail-stale-metrics", func(t *testing.T, m Model) Model { return press(selectRollout(t, m, "web", "search"), "enter") }},
		{"metrics", func(t *testing.T, m Model) Model { return press(selectRollout(t, m, "web", "front"), "m") }},
		{"metrics-links-off", func(t *testing.T, m Model) Model { return press(selectRollout(t, m, "shop", "cart"), "m") }},
		{"error", func(t *testing.T, m Model) Model { return openFrontError(t, m) }},
		{"errors-focused", func(t *testing.T, m Model) Model {
			return press(focusPanel(t, press(selectRollout(t, m, "web", "front"), "enter"), panelErrors), "down")
		}},
		{"help", func(_ *testing.T, m Model) Model { return press(m, "?") }},
		{"confirm-promote", func(t *testing.T, m Model) Model { return press(selectRollout(t, m, "shop", "cart"), "p") }},
		{"confirm-abort", func(t *testing.T, m Model) Model {
			return press(selectRollout(t, m, "web", "front"), "a", "e", "p", "9", "9", " ", "3", "x")
		}},
		{"confirm-retry", func(t *testing.T, m Model) Model { return press(selectRollout(t, m, "shop", "checkout"), "r") }},
		{"confirm-batch", func(t *testing.T, m Model) Model {
			m = press(selectRollout(t, m, "shop", "cart"), "space")
			m = press(selectRollout(t, m, "web", "search"), "space")
			m = press(selectRollout(t, m, "shop", "checkout"), "space")
			return press(m, "P")
		}},
		{"filter", func(_ *testing.T, m Model) Model { return press(m, "/", "w", "e", "b") }},
		{"grouped-application", func(_ *testing.T, m Model) Model { return press(m, "v") }},
		{"grouped-project", func(_ *testing.T, m Model) Model { return press(m, "v", "v") }},
		{"grouped-project-marked", func(t *testing.T, m Model) Model { return press(selectGroup(t, press(m, "v", "v"), "shop"), "space") }},
		{"grouped-filter", func(_ *testing.T, m Model) Model { return press(m, "v", "v", "/", "c", "a", "r", "t") }},
		{"confirm-group", func(t *testing.T, m Model) Model { return press(selectGroup(t, press(m, "v", "v"), "shop"), "p") }},
		{"confirm-undo-self-heal", func(t *testing.T, m Model) Model { return press(selectRollout(t, m, "shop", "cart"), "U") }},
	}
	for _, s := range screens {
		for _, size := range sizes {
			name := fmt.Sprintf("%s-%dx%d", s.name, size.w, size.h)
			t.Run(name, func(t *testing.T) {
				checkScreen(t, name, s.setup(t, fixtureModel(ctx, dark(t), size.w, size.h, nil)))
			})
		}
	}
}

// TestGoldenSmallTerminals: 40×12 is still useful; below it roost says so.
func TestGoldenSmallTerminals(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, c := range []struct {
		name string
		w, h int
		keys []string
	}{
		{"minimum-overview", 40, 12, nil},
		{"minimum-detail", 40, 12, []string{"down", "down", "enter"}},
		{"minimum-detail-canary", 40, 12, []string{"enter"}},
		{"minimum-grouped", 40, 12, []string{"v", "v", "up"}},
		{"too-small", 39, 12, nil},
		{"too-small-short", 80, 11, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkScreen(t, c.name, press(fixtureModel(ctx, dark(t), c.w, c.h, nil), c.keys...))
		})
	}
}

// TestGoldenThemes keeps each built-in theme's screen, styles and all: the
// colours are the themes' own, and mono has none.
func TestGoldenThemes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, name := range themes.BuiltinNames() {
		for _, ascii := range []bool{false, true} {
			th, _ := themes.Builtin(name)
			suffix := ""
			if ascii {
				th = th.WithSymbols(themes.SymbolsFor(true))
				suffix = "-ascii"
			}
			for _, size := range sizes {
				golden := fmt.Sprintf("theme-%s%s-%dx%d", name, suffix, size.w, size.h)
				t.Run(golden, func(t *testing.T) {
					m := press(selectRollout(t, fixtureModel(ctx, th, size.w, size.h, nil), "shop", "cart"), "enter")
					out := m.Render()
					if ascii {
						for i, r := range ansi.Strip(out) {
							if r > 127 {
								t.Fatalf("ASCII screen has %q at byte %d", r, i)
							}
						}
					}
					if name == "mono" && strings.Contains(out, "38;") {
						t.Errorf("mono screen sets a foreground colour")
					}
					checkGolden(t, golden, out)
				})
			}
		}
	}
}

// TestGoldenHeaderStates: reconnecting, nobody stepping, read-only, no
// metrics.
func TestGoldenHeaderStates(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, c := range []struct {
		name   string
		mutate func(*Options)
	}{
		{"header-reconnecting", func(o *Options) {
			o.Rollouts = &staticRollouts{list: fixtureRollouts(), health: watch.Health{
				State: watch.Reconnecting, Resource: "pods", Since: fixtureNow.Add(-12e9),
				LastError: fmt.Errorf("Get \"https://10.0.0.1:6443/api/v1/pods\": dial tcp 10.0.0.1:6443: connect: connection refused"),
			}}
		}},
		{"header-nobody-steps", func(o *Options) {
			o.Stepping = staticStepping{election.Stepping{Kind: election.SteppingByNobody}}
			o.Namespace = "shop"
		}},
		{"header-argo-steps-readonly", func(o *Options) {
			o.Stepping = staticStepping{election.Stepping{Kind: election.SteppingExternal, Who: "lease argo-rollouts/argo-rollouts-controller-lock held by argo-rollouts-5c9f-x2"}}
			o.ReadOnly = true
			o.Evidence = nil
			o.MetricsOff = "Datadog is not configured: set DD_API_KEY and DD_APP_KEY, or datadog.secret in ~/.config/roost/config.yaml"
			o.ErrorsOff = "Bugsnag is not configured: set BUGSNAG_AUTH_TOKEN, or bugsnag.secret in ~/.config/roost/config.yaml"
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkScreen(t, c.name, fixtureModel(ctx, dark(t), 80, 24, c.mutate))
		})
	}
}

// eksContext is a real context name: an EKS cluster's ARN.
const eksContext = "arn:aws:eks:eu-west-1:123456789012:cluster/prod-payments-eu-west-1"

// TestGoldenLongContext: a context name as long as an EKS ARN is cut in its
// middle, never the live or reconnecting indicator; at 40×12 the overview
// keeps STATE and ERR× and the detail keeps the metrics.
func TestGoldenLongContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	long := func(o *Options) { o.Context = eksContext }
	for _, c := range []struct {
		name   string
		w, h   int
		mutate func(*Options)
		keys   []string
	}{
		{"long-context-overview-80x24", 80, 24, long, nil},
		{"long-context-overview-40x12", 40, 12, long, nil},
		{"long-context-detail-40x12", 40, 12, long, []string{"enter"}},
		{"long-context-readonly-40x12", 40, 12, func(o *Options) { long(o); o.ReadOnly = true }, nil},
		{"long-context-reconnecting-80x24", 80, 24, func(o *Options) {
			long(o)
			o.Rollouts = &staticRollouts{list: fixtureRollouts(), health: watch.Health{
				State: watch.Reconnecting, Resource: "rollouts", Since: fixtureNow.Add(-12e9),
				LastError: fmt.Errorf("connection refused"),
			}}
		}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := press(fixtureModel(ctx, dark(t), c.w, c.h, c.mutate), c.keys...)
			header := ansi.Strip(m.Render())
			header = header[:strings.Index(header, "\n")]
			if !strings.Contains(header, "live") && !strings.Contains(header, "reconnecting") {
				t.Errorf("the header lost the live/reconnecting indicator: %q", header)
			}
			if m.opt.ReadOnly && !strings.Contains(header, "read-only") {
				t.Errorf("the header lost read-only: %q", header)
			}
			checkScreen(t, c.name, m)
		})
	}
}

// TestQuickWidthAgreesWithAnsi holds cells' fast path to ansi.StringWidth
// on every line of every golden screen, and on strings built to trip it.
func TestQuickWidthAgreesWithAnsi(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.golden"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files (%v)", err)
	}
	fast, lines := 0, 0
	check := func(where, s string) {
		n, ok := quickWidth(s)
		if ok {
			fast++
			if want := ansi.StringWidth(s); n != want {
				t.Errorf("%s: quickWidth %d, ansi.StringWidth %d: %q", where, n, want, s)
			}
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range strings.Split(string(b), "\n") {
			lines++
			check(fmt.Sprintf("%s:%d", f, i+1), l)
		}
	}
	if fast < lines/2 {
		t.Errorf("the fast path measured only %d of %d golden lines", fast, lines)
	}
	for _, s := range []string{
		"plain", "\x1b[38;5;42mgreen\x1b[m ok", "\x1b]8;;https://x\x07link\x1b]8;;\x07", "\x1b]8;;u\x1b\\l\x1b]8;;\x1b\\",
		"╭─ ● ◆ ▒█ ✓ ✗ ★ ↻ … · × ↓", "◽ wide", "e\u0301", "✓\ufe0f", "日本", "a\tb", "\x1b[", "\x1b]8;;", "\x1bc", "x\u200dy", "café",
	} {
		check("sample", s)
		if got, want := cells(s), ansi.StringWidth(s); got != want {
			t.Errorf("cells(%q) = %d, ansi.StringWidth %d", s, got, want)
		}
	}
}
