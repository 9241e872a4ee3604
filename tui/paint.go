package tui

import (
	"strings"
	"sync"

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

// inks holds, per theme style (by its address in a Theme the cockpit
// holds), its paint, or nil when the style does more than colour its text.
var inks sync.Map

// ink is s.Render(text), without a lipgloss layout when the style only
// colours and the text is one line: the detail panel renders a hundred
// short texts a frame, and a layout each was half of the frame's time.
// The styles' addresses stay valid for as long as their Theme: a Model
// replaces its theme whole (setTheme).
func ink(s *lipgloss.Style, text string) string {
	if text == "" || strings.ContainsAny(text, "\n\t\r") {
		return s.Render(text)
	}
	v, ok := inks.Load(s)
	if !ok {
		var p *paint
		if onlyColours(*s) {
			np := newPaint(*s)
			p = &np
		}
		v, _ = inks.LoadOrStore(s, p)
	}
	if p := v.(*paint); p != nil {
		return p.pre + text + p.post
	}
	return s.Render(text)
}

// onlyColours says whether s styles text without laying it out: no size,
// padding, margin, border, transform or link, and no underline or
// strike-through (which lipgloss draws word by word).
func onlyColours(s lipgloss.Style) bool {
	pt, pr, pb, pl := s.GetPadding()
	mt, mr, mb, ml := s.GetMargin()
	_, bt, br, bb, bl := s.GetBorder()
	link, _ := s.GetHyperlink()
	return s.GetWidth() == 0 && s.GetHeight() == 0 && s.GetMaxWidth() == 0 && s.GetMaxHeight() == 0 &&
		pt+pr+pb+pl == 0 && mt+mr+mb+ml == 0 && !bt && !br && !bb && !bl &&
		s.GetTransform() == nil && link == "" && !s.GetUnderline() && !s.GetStrikethrough() &&
		!s.GetUnderlineSpaces() && !s.GetStrikethroughSpaces()
}
