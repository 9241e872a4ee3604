package tui

import (
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/roost-dev/roost/themes"
)

// paint is a style reduced to the escape sequences around its text. Rendering
// a cell is then two concatenations instead of a lipgloss layout, which is
// what keeps a frame of hundreds of rows within a couple of milliseconds. It
// holds only for styles without padding, width or borders, which is what the
// table cells use.
type paint struct{ pre, post string }

func newPaint(s lipgloss.Style) paint {
	const mark = "\x00"
	r := s.Render(mark)
	i := strings.Index(r, mark)
	if i < 0 {
		return paint{}
	}
	return paint{pre: r[:i], post: r[i+len(mark):]}
}

// on paints text; empty text stays empty.
func (p paint) on(text string) string {
	if text == "" {
		return ""
	}
	return p.pre + text + p.post
}

// paints are the theme's cell styles, made once per theme.
type paints struct {
	text, muted, canary, stable, marked    paint
	healthy, progressing, paused, degraded paint
	ok, warn, bad                          paint
	key, title                             paint
}

func paintsOf(t themes.Theme) paints {
	return paints{
		text: newPaint(t.Text), muted: newPaint(t.Muted), canary: newPaint(t.Canary), stable: newPaint(t.Stable), marked: newPaint(t.Marked),
		healthy: newPaint(t.Healthy), progressing: newPaint(t.Progressing), paused: newPaint(t.Paused), degraded: newPaint(t.Degraded),
		ok: newPaint(t.OK), warn: newPaint(t.Warn), bad: newPaint(t.Bad),
		key: newPaint(t.Key), title: newPaint(t.Title),
	}
}

// phase is the paint and symbol of a rollout phase, as Theme.Phase says.
func (p paints) phase(t *themes.Theme, phase string) (paint, string) {
	_, sym := t.Phase(phase)
	switch phase {
	case "Healthy":
		return p.healthy, sym
	case "Progressing":
		return p.progressing, sym
	case "Paused":
		return p.paused, sym
	case "Degraded":
		return p.degraded, sym
	}
	return p.muted, sym
}
