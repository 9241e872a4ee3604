package tui

// The error screen: one Bugsnag error of the canary opened from the errors
// panel, with its full message, its counts, its link to the dashboard and
// the top frames of its latest event's stack, read on demand.

import (
	"context"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/watch"
)

// ErrorDetails reads the latest event of one error of a rollout;
// *metrics.Poller is one. An Evidence that is not one shows no stacks.
type ErrorDetails interface {
	ErrorDetail(ctx context.Context, namespace, name, errorID string) (metrics.ErrorDetail, error)
}

// maxFrames is how many frames of a stack the error screen shows; the rest
// are in Bugsnag.
const maxFrames = 15

// openError is the error on the error screen.
type openError struct {
	key rolloutKey
	// err is the error as last listed: it stays on screen if a later poll
	// no longer lists it.
	err metrics.Error
	// back is the screen backspace returns to.
	back   screen
	scroll int
}

// detailState is what is known of one error's latest event.
type detailState struct {
	loading bool
	detail  metrics.ErrorDetail
	err     error
}

// errorDetailMsg is the answer of one latest-event read.
type errorDetailMsg struct {
	id     string
	detail metrics.ErrorDetail
	err    error
}

// errorsOf is what the errors panel lists for r.
func (m *Model) errorsOf(r *watch.Rollout) []metrics.Error {
	if r == nil {
		return nil
	}
	ev, _ := m.evidenceOf(r)
	return ev.Errors
}

// openPickedError opens the error under the errors panel's cursor, and
// reads its latest event unless that is known or on its way.
func (m Model) openPickedError() (Model, tea.Cmd) {
	r := m.current()
	errs := m.errorsOf(r)
	if len(errs) == 0 {
		m.status = status{text: "no error to open: Bugsnag lists none for this canary", level: levelInfo}
		return m, nil
	}
	e := errs[min(m.errCursor, len(errs)-1)]
	m.errOpen = &openError{key: keyOf(r), err: e, back: m.screen}
	m.screen = screenError
	return m, m.readDetail(false)
}

// readDetail reads the open error's latest event: when it is not known yet
// or its last read failed, or always when again is set (R).
func (m *Model) readDetail(again bool) tea.Cmd {
	o := m.errOpen
	if o == nil {
		return nil
	}
	if st, ok := m.details[o.err.ID]; ok && (st.loading || (st.err == nil && !again)) {
		return nil
	}
	src, ok := m.sources(o.key.Cluster).Evidence.(ErrorDetails)
	if !ok {
		m.details[o.err.ID] = detailState{err: fmt.Errorf("this cockpit reads no events, so it has no stack to show; the link opens the error in Bugsnag")}
		return nil
	}
	m.details[o.err.ID] = detailState{loading: true, detail: m.details[o.err.ID].detail}
	ctx, k, id := m.ctx, o.key, o.err.ID
	return func() tea.Msg {
		d, err := src.ErrorDetail(ctx, k.Namespace, k.Name, id)
		return errorDetailMsg{id: id, detail: d, err: err}
	}
}

// onErrorKey handles the keys of the error screen; ok is false for the
// keys it leaves to the others.
func (m Model) onErrorKey(msg tea.KeyPressMsg) (Model, tea.Cmd, bool) {
	k := m.keys
	o := m.errOpen
	switch {
	case key.Matches(msg, k.Back):
		m.screen, m.focus, m.errOpen = o.back, panelErrors, nil
	case key.Matches(msg, k.Up):
		m.scrollError(-1)
	case key.Matches(msg, k.Down):
		m.scrollError(1)
	case key.Matches(msg, k.Top):
		m.scrollError(-1 << 20)
	case key.Matches(msg, k.Bottom):
		m.scrollError(1 << 20)
	case key.Matches(msg, k.Refresh):
		m.status = status{text: "reading the latest event of " + o.err.Class + " again" + m.th.Symbols.Ellipsis}
		return m, m.readDetail(true), true
	case key.Matches(msg, k.Copy):
		return m.copyError()
	case key.Matches(msg, k.Detail), key.Matches(msg, k.Focus), key.Matches(msg, k.Filter), key.Matches(msg, k.Mark), key.Matches(msg, k.MarkNone):
		// Nothing to pick or filter here.
	default:
		return m, nil, false
	}
	return m, nil, true
}

// scrollError scrolls the error screen by d lines, within its text.
func (m *Model) scrollError(d int) {
	body := m.height - 4
	n := len(m.errorLines(m.width - 4))
	m.errOpen.scroll = min(max(m.errOpen.scroll+d, 0), max(n-(body-2), 0))
}

// currentError is the open error as the latest poll lists it, else as it was
// last listed.
func (m *Model) currentError() metrics.Error {
	o := m.errOpen
	for _, r := range m.all {
		if keyOf(r) == o.key {
			for _, e := range m.errorsOf(r) {
				if e.ID == o.err.ID {
					return e
				}
			}
		}
	}
	return o.err
}

// errorScreen is the open error over the whole width.
func (m *Model) errorScreen(width, height int) []string {
	t := m.th
	o := m.errOpen
	e := m.currentError()
	title := ink(&t.Title, "Error in "+o.key.Namespace+"/"+o.key.Name) + ink(&t.Muted, " "+t.Symbols.Dot+" Bugsnag")
	if e.New {
		title += ink(&t.Muted, " "+t.Symbols.Dot+" ") + ink(&t.Bad, t.Symbols.New+" new in the canary")
	}
	return m.box(title, true, width, height, scrolled(m.errorLines(width-4), o.scroll, height-2))
}

// errorLines is the error screen's text at width: never cut, wrapped.
func (m *Model) errorLines(width int) []string {
	t := m.th
	sym := t.Symbols
	e := m.currentError()
	st := m.details[e.ID]
	var lines []string
	para := func(style func(...string) string, text string) {
		for _, l := range wrap(text, width) {
			lines = append(lines, style(l))
		}
	}
	message := e.Message
	if len(st.detail.Exceptions) > 0 && st.detail.Exceptions[0].Message != "" {
		message = st.detail.Exceptions[0].Message
	}
	para(t.Title.Render, e.Class)
	for _, l := range strings.Split(message, "\n") {
		para(t.Text.Render, l)
	}
	lines = append(lines, "")
	para(t.Text.Render, fmt.Sprintf("%s, %s in the canary stage since it began", plural(e.Events, "event", "events"), plural(e.Users, "user", "users")))
	para(t.Muted.Render, "first seen "+m.sinceText(e.FirstSeen)+" (any stage) "+sym.Dot+" last seen "+m.sinceText(e.LastSeen))
	var about []string
	if e.Severity != "" {
		about = append(about, "severity "+e.Severity)
	}
	if e.Context != "" {
		about = append(about, "context "+e.Context)
	}
	if len(about) > 0 {
		para(t.Muted.Render, strings.Join(about, " "+sym.Dot+" "))
	}
	if e.URL != "" {
		lines = append(lines, ink(&t.Muted, "Bugsnag:"))
		lines = append(lines, linkLines(e.URL, width, t.Text.Render)...)
	} else {
		para(t.Muted.Render, "Bugsnag: no link yet: Bugsnag has not said where the project's dashboard is; roost asks again at the next poll")
	}
	lines = append(lines, "")

	switch {
	case st.loading && len(st.detail.Exceptions) == 0:
		para(t.Muted.Render, "reading the latest event from Bugsnag"+sym.Ellipsis)
		return lines
	case st.err != nil:
		para(t.Warn.Render, "cannot read the latest event: "+oneLine(st.err.Error())+"; R tries again")
		return lines
	case st.detail.EventID == "":
		return lines
	}
	d := st.detail
	head := []string{"Latest event"}
	if d.ReleaseStage != "" {
		head = append(head, "stage "+d.ReleaseStage)
	}
	if d.AppVersion != "" {
		head = append(head, "version "+d.AppVersion)
	}
	if !d.ReceivedAt.IsZero() {
		head = append(head, "received "+m.sinceText(d.ReceivedAt))
	}
	if d.Unhandled {
		head = append(head, "unhandled")
	}
	para(t.Title.Render, strings.Join(head, " "+sym.Dot+" "))
	for i, x := range d.Exceptions {
		if i > 0 {
			lines = append(lines, "")
			para(t.Text.Render, "caused by "+x.Class+": "+oneLine(x.Message))
		}
		if len(x.Frames) == 0 {
			continue
		}
		shown := x.Frames[:min(len(x.Frames), maxFrames)]
		para(t.Muted.Render, fmt.Sprintf("stack, top %s (%s the project's own code):", plural(len(shown), "frame", "frames"), sym.StepCurrent))
		for _, f := range shown {
			at := f.File
			if f.Line > 0 {
				at += fmt.Sprintf(":%d", f.Line)
			}
			if f.Method != "" {
				at += " in " + f.Method
			}
			if f.InProject {
				for j, l := range wrap(at, width-2) {
					lead := "  "
					if j == 0 {
						lead = sym.StepCurrent + " "
					}
					lines = append(lines, ink(&t.Text, lead+l))
				}
				continue
			}
			for _, l := range wrap(at, width-2) {
				lines = append(lines, ink(&t.Muted, "  "+l))
			}
		}
		if more := len(x.Frames) - len(shown); more > 0 {
			para(t.Muted.Render, "  "+strings.Replace(plural(more, "frame", "frames"), " ", " more ", 1)+" in Bugsnag")
		}
	}
	return lines
}

// linkLines shows url over as many lines as it takes, every piece a
// hyperlink (OSC 8) to the whole address for terminals that follow them;
// the address itself stays readable and copyable.
func linkLines(url string, width int, style func(...string) string) []string {
	var out []string
	// Cut at the width, not at a hyphen: the pieces are the address.
	for _, piece := range strings.Split(ansi.Hardwrap(url, max(width-2, 8), true), "\n") {
		out = append(out, "  "+ansi.SetHyperlink(url)+style(piece)+ansi.ResetHyperlink())
	}
	return out
}
