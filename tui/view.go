package tui

import (
	"fmt"
	"image/color"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/roost-dev/roost/election"
	"github.com/roost-dev/roost/themes"
	"github.com/roost-dev/roost/watch"
)

// View renders the whole screen: every line exactly the terminal's width.
func (m Model) View() tea.View {
	v := tea.NewView(m.Render())
	if m.opt.FirstFrame != nil && m.allSynced() {
		m.firstFrame.Do(func() { m.opt.FirstFrame(len(m.all)) })
	}
	v.AltScreen = true
	v.WindowTitle = "roost"
	return v
}

// splitTop is the height of the list above the detail when they share a
// body of h lines.
func splitTop(h int) int { return max(h*2/5, 8) }

// Render is the screen as a string, for the View and for golden tests.
func (m Model) Render() string {
	if m.width < minWidth || m.height < minHeight {
		return strings.Join(m.tooSmall(), "\n")
	}
	header := m.header()
	footer := m.footer()
	h := m.height - len(header) - len(footer)
	var body []string
	switch {
	case m.screen == screenHelp:
		body = m.helpScreen(m.width, h)
	case m.screen == screenMetrics:
		body = m.metricsScreen(m.width, h)
	case m.screen == screenError && m.errOpen != nil:
		body = m.errorScreen(m.width, h)
	case m.screen == screenPod && m.pod != nil:
		body = m.podScreenView(m.width, h)
	case m.split():
		top := splitTop(h)
		body = append(m.overviewPanel(m.width, top), m.detailPanel(m.width, h-top)...)
	case m.screen == screenDetail:
		body = m.detailPanel(m.width, h)
	default:
		body = m.overviewPanel(m.width, h)
	}
	if m.confirm != nil {
		body = overlay(body, m.confirm.Render(m.th, min(m.width-2, 90)), m.width)
	}
	lines := append(append(header, body...), footer...)
	return strings.Join(lines, "\n")
}

func (m *Model) tooSmall() []string {
	w, h := max(m.width, 1), max(m.height, 1)
	x := m.th.Symbols.Times
	msg := fmt.Sprintf("Terminal too small: %d%s%d. roost needs at least %d%s%d: enlarge the pane, or zoom it (tmux: prefix z).", m.width, x, m.height, minWidth, x, minHeight)
	text := wrap(msg, w)
	out := make([]string, h)
	top := max((h-len(text))/2, 0)
	for i := range out {
		line := ""
		if j := i - top; j >= 0 && j < len(text) {
			line = ink(&m.th.Warn, text[j])
		}
		out[i] = fit(line, w, "")
	}
	return out
}

// headerHeight is how many lines header takes.
const headerHeight = 2

// header is two lines: where roost looks and whether it is connected, then
// who steps the canaries (or, while reconnecting, what fails).
func (m *Model) header() []string {
	t := m.th
	reconnecting := m.health.State == watch.Reconnecting
	var b strings.Builder
	for i, p := range m.headerParts(reconnecting) {
		if i > 0 {
			b.WriteString(ink(&t.Muted, " "+t.Symbols.Dot+" "))
		}
		b.WriteString(p)
	}
	line1 := b.String()

	var line2 string
	switch {
	case m.multiCluster():
		line2 = m.clustersLine()
	case reconnecting:
		since := ""
		if !m.health.Since.IsZero() {
			since = " for " + age(m.now.Sub(m.health.Since))
		}
		err := "no answer"
		if m.health.LastError != nil {
			err = oneLine(m.health.LastError.Error())
		}
		line2 = ink(&t.Bad, fmt.Sprintf("%s watch failing%s: %s; showing the last known state, retrying", m.health.Resource, since, err))
	case m.opt.Stepping != nil:
		line2 = ink(m.steppingStyle(), m.stepping.String())
	}
	return []string{fit(line1, m.width, t.Symbols.Ellipsis), fit(line2, m.width, t.Symbols.Ellipsis)}
}

// headerParts are the first line's parts, rendered to fit the width: whether
// roost is live or reconnecting, and read-only, are never cut; the context
// (an EKS ARN can take 70 cells) and then the scope give way, cut in the
// middle where their ends tell clusters apart.
func (m *Model) headerParts(reconnecting bool) []string {
	t := m.th
	var state string
	switch {
	case m.multiCluster():
		state = m.clustersState()
	case reconnecting:
		state = ink(&t.Bad, t.Symbols.Progressing+" reconnecting")
	case !m.synced:
		state = ink(&t.Muted, "listing rollouts"+t.Symbols.Ellipsis)
	default:
		state = ink(&t.OK, t.Symbols.Healthy+" live")
	}
	scope := "all namespaces"
	switch {
	case m.opt.Scope != "":
		scope = m.opt.Scope
	case m.opt.Namespace != "":
		scope = "namespace " + m.opt.Namespace
	}
	if m.opt.Selector != "" {
		scope += " -l " + m.opt.Selector
	}
	ctx, label, whole := m.opt.Context, "context ", scope
	if m.multiCluster() {
		names := make([]string, len(m.clusters))
		for i, c := range m.clusters {
			names[i] = c.Name
		}
		ctx, label = strings.Join(names, ","), fmt.Sprintf("%d contexts ", len(names))
	}
	if ctx == "" {
		label = ""
	}
	sep := cells(" " + t.Symbols.Dot + " ")
	fixed := cells("roost") + sep + cells(state) + sep
	if m.opt.ReadOnly {
		fixed += cells("read-only") + sep
	}
	if ctx != "" {
		fixed += sep
	}
	room := m.width - fixed
	ell := t.Symbols.Ellipsis
	if ctx != "" && cells(label)+cells(ctx)+cells(scope) > room {
		label = ""
	}
	// The context gives way first, down to a dozen cells; then the scope,
	// down to a few; then both down to eight and four; then the context
	// goes.
	over := func() int { return cells(label) + cells(ctx) + cells(scope) - room }
	for _, floor := range []struct{ ctx, scope int }{{12, 0}, {12, 8}, {8, 8}, {8, 4}} {
		if o := over(); o > 0 && cells(ctx) > floor.ctx {
			ctx = fitMiddle(ctx, max(cells(ctx)-o, floor.ctx), ell)
		}
		if o := over(); o > 0 && floor.scope > 0 && cells(scope) > floor.scope {
			scope = fit(scope, max(cells(scope)-o, floor.scope), ell)
		}
	}
	if over() > 0 && ctx != "" {
		// Too few cells to tell one context from another: leave it out,
		// and give the scope its room.
		ctx, label, room = "", "", room+sep
		scope = fit(whole, min(cells(whole), max(room, 4)), ell)
	}
	parts := []string{ink(&t.Title, "roost")}
	if ctx != "" {
		parts = append(parts, ink(&t.Muted, label)+ink(&t.Text, ctx))
	}
	parts = append(parts, ink(&t.Text, scope), state)
	if m.opt.ReadOnly {
		parts = append(parts, ink(&t.Warn, "read-only"))
	}
	return parts
}

func (m *Model) steppingStyle() *lipgloss.Style { return steppingStyleOf(m.th, m.stepping) }

// steppingStyleOf is the colour of what the header says of s.
func steppingStyleOf(t *themes.Theme, s election.Stepping) *lipgloss.Style {
	switch s.Kind {
	case election.SteppingByMe:
		if s.External != "" {
			return &t.Bad
		}
		return &t.OK
	case election.SteppingByNobody:
		return &t.Bad
	case election.SteppingUnknown:
		return &t.Muted
	}
	if s.External != "" {
		return &t.Bad
	}
	return &t.Text
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// statusLines is the most lines the status takes.
const statusLines = 3

// footer is the status line and the keys.
func (m *Model) footer() []string {
	t := m.th
	st := m.status
	if st.text == "" {
		if reason := m.actionsOff(); reason != "" {
			st = status{text: reason, level: levelWarn}
		}
	}
	var style lipgloss.Style
	switch st.level {
	case levelOK:
		style = t.OK
	case levelWarn:
		style = t.Warn
	case levelBad:
		style = t.Bad
	default:
		style = t.Text
	}
	var out []string
	for _, l := range m.statusText(st) {
		out = append(out, ink(&t.StatusBar, fit(" "+style.Inherit(t.StatusBar).Render(l), m.width, t.Symbols.Ellipsis)))
	}

	var keys string
	switch {
	case m.confirm != nil:
		keys = m.shortHelpView(m.confirm.footerKeys(m.keys))
	case m.filtering:
		keys = m.shortHelpView([]key.Binding{
			key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "keep filter")),
			key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "clear filter")),
		})
	case m.screen == screenHelp:
		keys = ink(&t.Muted, "any key: back")
	case m.screen == screenError:
		right := "  " + m.shortHelpView([]key.Binding{m.keys.Help, m.keys.Quit})
		m.help.SetWidth(m.width - cells(right))
		keys = fit(m.shortHelpView([]key.Binding{
			m.keys.Back, m.keys.Copy,
			key.NewBinding(key.WithKeys("up", "down"), key.WithHelp(m.keys.Up.Help().Key+" "+m.keys.Down.Help().Key, "scroll")),
			key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "read event again")),
		}), m.width-cells(right), t.Symbols.Ellipsis) + right
	default:
		// Help and quit stay on the right, whatever the width.
		right := "  " + m.shortHelpView([]key.Binding{m.keys.Help, m.keys.Quit})
		left := m.keys.shortHelp(m.screen, m.focus == panelPods && m.detailShown(), m.current())
		if m.focus == panelErrors && len(m.errorsOf(m.current())) > 0 {
			left = append([]key.Binding{openErrorKey}, left...)
		}
		prefix := ""
		// Read-only, the action keys are disabled and help lists none of
		// them. Denied in this namespace only, they stay bound (another
		// namespace may allow them) and show as off.
		if !m.opt.ReadOnly && m.actionsOff() != "" {
			left = slices.DeleteFunc(left, func(b key.Binding) bool {
				return slices.ContainsFunc(m.keys.actionKeys()[:8], func(a *key.Binding) bool { return a.Help() == b.Help() })
			})
			prefix = ink(&t.Muted, "actions off") + ink(&t.Muted, " "+t.Symbols.Dot+" ")
		}
		m.help.SetWidth(m.width - cells(right) - cells(prefix))
		view := m.shortHelpView(left)
		if m.screen == screenOverview {
			// v comes last, where it fits whole.
			if withGroup := m.shortHelpView(append(left, m.keys.Group)); cells(withGroup) <= m.width-cells(right)-cells(prefix) && strings.HasSuffix(ansi.Strip(withGroup), m.keys.Group.Help().Desc) {
				view = withGroup
			}
		}
		keys = fit(prefix+view, m.width-cells(right), t.Symbols.Ellipsis) + right
	}
	return append(out, fit(keys, m.width, t.Symbols.Ellipsis))
}

// statusText is the status bar's lines of st. A long status (a
// configuration file's problem, the themes there are) takes up to three
// lines rather than lose its end; a short pane keeps one line.
func (m *Model) statusText(st status) []string {
	most := statusLines
	if m.height < 20 {
		most = 1
	}
	text := wrap(oneLine(st.text), m.width-2)
	if len(text) > most {
		text[most-1] += " " + strings.Join(text[most:], " ")
		text = text[:most]
	}
	return text
}

// footerHeight is how many lines footer takes.
func (m *Model) footerHeight() int {
	st := m.status
	if st.text == "" {
		st.text = m.actionsOff()
	}
	return len(m.statusText(st)) + 1
}

// actionsOff says why the action keys do nothing for the rollout in front of
// the person, or "" when they work.
func (m *Model) actionsOff() string {
	if m.opt.ReadOnly {
		return "read-only (--readonly): actions are off"
	}
	if r := m.current(); r != nil {
		if a := m.accessOf(r); a.checked && a.err == nil && !a.Allowed {
			where := r.Namespace
			if r.Cluster != "" {
				where = r.Cluster + " " + where
			}
			return "actions off in " + where + ": " + a.Reason
		}
	}
	return ""
}

// borderStyle draws a panel's frame in the theme's border or accent colour.
func borderStyle(th *themes.Theme, focused bool) lipgloss.Style {
	if focused {
		return colored(th.FocusedPanel.GetBorderTopForeground())
	}
	return colored(th.Panel.GetBorderTopForeground())
}

// borderPaints holds, per theme panel style (by its address in a Theme the
// cockpit holds, as inks), the paint of its border's colour.
var borderPaints sync.Map

// borderPaint is borderStyle as a paint: a frame draws its borders in
// several pieces on every line.
func borderPaint(th *themes.Theme, focused bool) paint {
	key := &th.Panel
	if focused {
		key = &th.FocusedPanel
	}
	if v, ok := borderPaints.Load(key); ok {
		return v.(paint)
	}
	p := newPaint(borderStyle(th, focused))
	borderPaints.Store(key, p)
	return p
}

func colored(c color.Color) lipgloss.Style {
	s := lipgloss.NewStyle()
	if _, none := c.(lipgloss.NoColor); c == nil || none {
		return s
	}
	return s.Foreground(c)
}

// box frames content in a panel of width×height in the cockpit's theme.
func (m *Model) box(title string, focused bool, width, height int, content []string) []string {
	return frame(m.th, title, focused, width, height, content)
}

// frame frames content in a panel of width×height with title in its top
// border; the focused panel has a heavier frame, not only another colour.
func frame(th *themes.Theme, title string, focused bool, width, height int, content []string) []string {
	if height < 2 || width < 4 {
		return block("", width, height, "")
	}
	b := th.Symbols.Border
	if focused {
		b = th.Symbols.FocusBorder
	}
	bs := borderPaint(th, focused)
	inner := width - 2
	t := ""
	if title != "" {
		t = " " + fit(title, min(cells(title), inner-3), th.Symbols.Ellipsis) + " "
	}
	fill := max(inner-1-cells(t), 0)
	out := make([]string, 0, height)
	out = append(out, bs.on(b.TopLeft+b.Top)+t+bs.on(strings.Repeat(b.Top, fill)+b.TopRight))
	left, right := frameSides(th, focused)
	for i := 0; i < height-2; i++ {
		line := ""
		if i < len(content) {
			line = content[i]
		}
		out = append(out, left+fit(line, inner-2, th.Symbols.Ellipsis)+right)
	}
	out = append(out, bs.on(b.BottomLeft+strings.Repeat(b.Bottom, inner)+b.BottomRight))
	return out
}

// frameSides are what frame puts left and right of each line of content.
func frameSides(th *themes.Theme, focused bool) (left, right string) {
	b := th.Symbols.Border
	if focused {
		b = th.Symbols.FocusBorder
	}
	bs := borderPaint(th, focused)
	return bs.on(b.Left) + " ", " " + bs.on(b.Right)
}

// overlay puts box over the middle of body.
func overlay(body, box []string, width int) []string {
	out := append([]string(nil), body...)
	top := max((len(body)-len(box))/2, 0)
	left := max((width-cells(box[0]))/2, 0)
	pad := strings.Repeat(" ", left)
	for i, l := range box {
		if top+i < len(out) {
			out[top+i] = fit(pad+l, width, "")
		}
	}
	return out
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// helpScreen is `?`: every key, what the symbols mean, where the logs are.
func (m *Model) helpScreen(width, height int) []string {
	t := m.th
	s := t.Symbols
	m.help.SetWidth(width - 4)
	lines := strings.Split(m.help.FullHelpView(m.keys.fullHelp()), "\n")
	// What the overview's words and columns mean.
	term := func(name, text string) {
		for i, l := range wrap(text, max(width-4-11, 10)) {
			head := strings.Repeat(" ", 11)
			if i == 0 {
				head = fit(name, 11, "")
			}
			lines = append(lines, ink(&t.Key, head)+ink(&t.Muted, l))
		}
	}
	lines = append(lines, "")
	term("NEEDS YOU", "a person must act: metrics failing, degraded or aborted, promote?")
	promote := "paused until promoted (p); held by judge: roost's judge paused it"
	if m.opt.ReadOnly {
		promote = "paused until promoted; held by judge: roost's judge paused it"
	}
	term("promote?", promote)
	term("STEP", fmt.Sprintf("the step it is at: 2/4 is the 2nd of 4, 4/4%s all done", s.StepDone))
	term("WEIGHT", "desired/actual canary % (a pod ratio without a traffic router)")
	term("SINCE", "how long it has been at this step")
	if m.anyEvidence() || m.opt.MetricsOff != "" {
		term(m.headlineTitle(), fmt.Sprintf("the canary's %s as a multiple of stable's: 1.0%s is alike", headlineName(m.opt.Headline), s.Times))
	}
	lines = append(lines,
		ink(&t.Stable, s.Stable+" stable")+"  "+ink(&t.Canary, s.Canary+" canary")+"   "+
			ink(&t.Healthy, s.Healthy+" healthy")+"  "+ink(&t.Progressing, s.Progressing+" progressing")+"  "+
			ink(&t.Paused, s.Paused+" paused")+"  "+ink(&t.Degraded, s.Degraded+" degraded"))
	prose := func(style lipgloss.Style, text string) {
		for _, l := range wrap(text, width-4) {
			lines = append(lines, style.Render(l))
		}
	}
	if m.opt.ReadOnly {
		prose(t.Text, "Read-only (--readonly): roost sends no actions; start it without --readonly to act.")
	} else {
		prose(t.Text, "Actions ask y or n first, and act on every marked rollout (space marks).")
	}
	groups := "v groups the list by Argo CD Application, then by AppProject, then not at all"
	if m.multiCluster() {
		groups = "v groups the list by service across clusters (its state cluster by cluster), then by Argo CD Application, then by AppProject, then not at all"
	}
	if m.opt.SaveGrouping != nil {
		groups += ", and remembers the choice in the configuration (cockpit.grouping)"
	}
	groups += ". A group line names the group and counts its rollouts by state."
	if !m.opt.ReadOnly {
		groups += " On a group line, space marks every rollout of the group in view, and p, P, a or r acts on all of them."
	}
	prose(t.Text, groups)
	prose(t.Text, "Nothing needs Esc (tmux delays it): n cancels, backspace or h goes back.")
	return m.box("Keys", true, width, height, lines)
}

// sinceText is "12s ago" for a time, "never" for zero.
func (m *Model) sinceText(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return age(m.now.Sub(t)) + " ago"
}

// viewMemo keeps what the frame would otherwise render again unchanged,
// shared by the copies of one Model.
type viewMemo struct {
	// help holds help.ShortHelpView's lines by width and bindings.
	help map[string]string
	// overview is the list's panel as last drawn.
	overview panelMemo
	// detail is the detail's panel as last drawn.
	detail detailMemo
}

// detailMemo is the detail's panel as last drawn, valid until a text that
// counts time changes, but for its analysis block: that block's countdowns
// change every second, so it alone is drawn again, in the same rows. The
// rollout shown and the focus are the model's state (panelMemo.gen).
type detailMemo struct {
	panelMemo
	analysis analysisRows
}

// get is the detail of r drawn at m's state, size and time, if kept.
func (d *detailMemo) get(m *Model, r *watch.Rollout, focused bool, width, height int) ([]string, bool) {
	lines, ok := d.panelMemo.get(m, width, height)
	if !ok {
		return nil, false
	}
	at := d.analysis
	if at.n == 0 || at.first >= height-1 {
		return lines, true
	}
	compact, full := m.analysisLines(r, width-4)
	fresh := compact
	if at.full {
		fresh = full
	}
	if len(fresh) != at.n {
		return nil, false
	}
	// A copy: the kept lines stay as drawn, for the rows that do not change.
	lines = slices.Clone(lines)
	left, right := frameSides(m.th, focused)
	for i, l := range fresh {
		if row := at.first + i; row < height-1 {
			lines[row] = left + fit(l, width-4, m.th.Symbols.Ellipsis) + right
		}
	}
	return lines, true
}

// panelMemo is a panel as drawn at one state of the model (Model.gen) and
// size, valid until its next text that counts time changes: a tick of the
// clock redraws the countdown in the detail, not the 200 rows of the list.
type panelMemo struct {
	gen           uint64
	th            *themes.Theme
	width, height int
	from, until   time.Time
	lines         []string
}

// get is the panel drawn at m's state and size at m's time, if kept.
func (p *panelMemo) get(m *Model, width, height int) ([]string, bool) {
	if p.lines == nil || p.gen != m.gen || p.th != m.th || p.width != width || p.height != height || m.now.Before(p.from) || !m.now.Before(p.until) {
		return nil, false
	}
	// Clipped: a caller that appends must not write into the kept lines.
	return slices.Clip(p.lines), true
}

// keep keeps lines, drawn at m's state, size and time, for valid.
func (p *panelMemo) keep(m *Model, width, height int, valid time.Duration, lines []string) {
	*p = panelMemo{gen: m.gen, th: m.th, width: width, height: height, from: m.now, until: m.now.Add(valid), lines: lines}
}

// shortHelpView is m.help.ShortHelpView, rendered once per width and set
// of bindings: the footer asks for it up to three times a frame, and the
// keys change far less often than the frame.
func (m *Model) shortHelpView(bindings []key.Binding) string {
	if m.memo == nil {
		return m.help.ShortHelpView(bindings)
	}
	var k strings.Builder
	k.WriteString(strconv.Itoa(m.help.Width()))
	for _, b := range bindings {
		h := b.Help()
		k.WriteString("\x00")
		if b.Enabled() {
			k.WriteString("+")
		}
		k.WriteString(h.Key)
		k.WriteString("\x01")
		k.WriteString(h.Desc)
	}
	if v, ok := m.memo.help[k.String()]; ok {
		return v
	}
	if len(m.memo.help) >= 64 {
		clear(m.memo.help)
	}
	v := m.help.ShortHelpView(bindings)
	m.memo.help[k.String()] = v
	return v
}
