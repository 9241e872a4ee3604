package themes

import (
	"strings"

	"charm.land/lipgloss/v2"
)

// Preview renders a sample of every style and symbol of the theme: what a
// user needs to see to choose a theme, and the golden output of the tests.
func (t Theme) Preview() string {
	s := t.Symbols
	phase := func(p string) string {
		st, sym := t.Phase(p)
		return st.Render(sym + " " + p)
	}
	bar := t.Stable.Render(strings.Repeat(s.BarStable, 6)) +
		t.Canary.Render(strings.Repeat(s.BarCanary, 3)) +
		t.Muted.Render(s.BarEmpty)
	lines := []string{
		t.Title.Render("theme "+t.Name) + "  " + t.Muted.Render("muted text"),
		t.Text.Render("text") + "  " + t.Key.Render("p") + t.Muted.Render(" promote"),
		t.Stable.Render(s.Stable+" stable") + "  " + t.Canary.Render(s.Canary+" canary") + "  " + bar,
		phase("Healthy") + "  " + phase("Progressing") + "  " + phase("Paused") + "  " + phase("Degraded") + "  " + phase(""),
		t.Muted.Render(s.StepDone+" done") + "  " + t.Title.Render(s.StepCurrent+" current") + "  " + t.Muted.Render(s.StepPending+" to come"),
		t.OK.Render("ok") + "  " + t.Warn.Render("warn") + "  " + t.Bad.Render("bad"),
		t.Selected.Render(s.Cursor+" selected row") + "  " + t.Marked.Render(s.Marked+" marked"),
		t.StatusBar.Render(" status line" + s.Ellipsis + " "),
	}
	body := strings.Join(lines, "\n")
	return lipgloss.JoinHorizontal(lipgloss.Top,
		t.FocusedPanel.Render(body),
		t.Panel.Render(t.Muted.Render("panel")))
}
