package tui

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/roost-dev/roost/watch"
)

// The pod screen's log: the last logTailLines lines, at most logMaxBytes of
// them, each cut at logMaxLineBytes; and how often its Events are listed
// again while it is shown.
const (
	logTailLines    = 200
	logMaxBytes     = 256 << 10
	logMaxLineBytes = 4 << 10
	podEventsEvery  = 5 * time.Second
	// logBatch is the most lines one message carries to Update.
	logBatch = 1000
)

// podRows is how many pods the panel lists when it is not focused and the
// detail is short; it grows to podRowsMax with room to spare, or when
// focused.
const (
	podRowsMin     = 2
	podRowsFocused = 5
	podRowsMax     = 8
)

// pods is the current rollout's pods, as the watch layer orders them.
func (m *Model) pods() []watch.PodInfo {
	if r := m.current(); r != nil {
		return r.Pods
	}
	return nil
}

// podCursor is the pod picked in the pods panel, clamped to the list.
func (m *Model) podCursor() int {
	return min(max(m.scroll[panelPods], 0), max(len(m.pods())-1, 0))
}

// podColumns sizes the pods panel's flexible columns (name and node) for
// width and the longest name; node is 0 when there is no room for it.
func podColumns(width, longest int) (name, node int) {
	// cursor and role symbol 4, then " READY STATUS           RESTARTS " and " AGE".
	const fixed = 4 + 1 + 5 + 1 + 16 + 1 + 8 + 1 + 1 + 4
	avail := width - fixed
	if avail < 24 {
		return max(avail+1+1+4, 8), 0
	}
	name = min(max(longest, 20), 48, avail-10)
	return name, min(avail-name, 40)
}

// nodeText is a node's name in width cells: a long DNS name gives way to
// its first label (ip-10-0-1-17 of ip-10-0-1-17.eu-west-1.compute.internal).
func nodeText(node string, width int, tail string) string {
	if node == "" {
		return "-"
	}
	if utf8.RuneCountInString(node) > width {
		if host, _, ok := strings.Cut(node, "."); ok {
			node = host
		}
	}
	return cut(node, width, tail)
}

// podsSection is the pods panel: a title line that heads the columns, then
// rows pods from the one the scroll or the cursor shows.
func (m *Model) podsSection(r *watch.Rollout, width, rows int) []string {
	t := m.th
	p := m.paint
	pods := r.Pods
	longest := 0
	for i := range pods {
		longest = max(longest, len(pods[i].Name))
	}
	nameW, nodeW := podColumns(width, longest)
	focused := m.focus == panelPods
	cursor := m.podCursor()
	rows = min(rows, len(pods))
	// The window keeps the cursor in view.
	start := 0
	if len(pods) > rows && rows > 0 {
		start = min(max(cursor-rows+1, 0), len(pods)-rows)
		if !focused {
			start = 0
		}
	}
	title := "Pods"
	if len(pods) == 0 {
		title += ": none"
	} else {
		title += " " + strconv.Itoa(len(pods))
	}
	var more []string
	if start > 0 {
		more = append(more, fmt.Sprintf("%d above", start))
	}
	if below := len(pods) - start - rows; below > 0 {
		more = append(more, fmt.Sprintf("%d more", below))
	}
	head := m.sectionTitle(panelPods, title)
	if len(more) > 0 {
		head += ink(&t.Muted, ", "+strings.Join(more, ", "))
	}
	var cols string
	if len(pods) > 0 {
		cols = " READY STATUS           RESTARTS"
		if nodeW > 0 {
			cols += " " + fit("NODE", nodeW, "") + " AGE"
		}
	}
	headW := 4 + nameW
	out := []string{fit(head, headW, t.Symbols.Ellipsis) + p.muted.on(cols)}
	for i := start; i < start+rows; i++ {
		out = append(out, m.podRow(&pods[i], focused && i == cursor, nameW, nodeW))
	}
	return out
}

// podRow is one pod: cursor, role, name, ready containers, status,
// restarts, node, age.
func (m *Model) podRow(pod *watch.PodInfo, cursor bool, nameW, nodeW int) string {
	p := m.paint
	sym := m.th.Symbols
	var b strings.Builder
	if cursor {
		b.WriteString(p.text.on(sym.Cursor) + " ")
	} else {
		b.WriteString("  ")
	}
	switch pod.Role {
	case watch.PodOfCanary:
		b.WriteString(p.canary.on(sym.Canary))
	case watch.PodOfStable:
		b.WriteString(p.stable.on(sym.Stable))
	default:
		b.WriteString(p.muted.on(sym.StepPending))
	}
	b.WriteByte(' ')
	b.WriteString(p.text.on(padRight(middleCut(pod.Name, nameW, sym.Ellipsis), nameW)))
	ready := fmt.Sprintf("%d/%d", pod.ReadyContainers, pod.Containers)
	rp := p.ok
	if !pod.Ready {
		rp = p.warn
	}
	b.WriteByte(' ')
	b.WriteString(rp.on(padLeft(ready, 5)))
	b.WriteByte(' ')
	sp := p.text
	switch {
	case pod.Severity == watch.PodBad:
		sp = p.bad
	case pod.Severity == watch.PodWarn:
		sp = p.warn
	case pod.Severity == watch.PodTransient || pod.Phase == "Succeeded":
		sp = p.muted
	case !pod.Ready:
		sp = p.warn
	}
	b.WriteString(sp.on(padRight(cut(pod.Status(), 16, sym.Ellipsis), 16)))
	restarts := p.muted
	if pod.Restarts > 0 {
		restarts = p.warn
	}
	b.WriteByte(' ')
	b.WriteString(restarts.on(padLeft(strconv.Itoa(int(pod.Restarts)), 8)))
	if nodeW > 0 {
		b.WriteByte(' ')
		b.WriteString(p.muted.on(padRight(nodeText(pod.Node, nodeW, sym.Ellipsis), nodeW)))
		b.WriteByte(' ')
		b.WriteString(p.muted.on(padLeft(ageOr(pod.Created, m.now), 4)))
	}
	return b.String()
}

// cut shortens plain s to width cells, ending with tail.
func cut(s string, width int, tail string) string {
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	return ansi.Truncate(s, width, tail)
}

// middleCut shortens plain s to width cells in its middle: a pod's name
// keeps its own suffix, which tells it from its siblings.
func middleCut(s string, width int, tail string) string {
	n := utf8.RuneCountInString(s)
	if n <= width {
		return s
	}
	keep := width - utf8.RuneCountInString(tail)
	if keep < 4 {
		return cut(s, width, tail)
	}
	r := []rune(s)
	right := min(keep/2, 6)
	return string(r[:keep-right]) + tail + string(r[n-right:])
}

func padRight(s string, width int) string {
	if n := utf8.RuneCountInString(s); n < width {
		return s + strings.Repeat(" ", width-n)
	}
	return s
}

func padLeft(s string, width int) string {
	if n := utf8.RuneCountInString(s); n < width {
		return strings.Repeat(" ", width-n) + s
	}
	return s
}

// podScreen is what the pod screen shows of one pod, and its log stream.
// It is shared by the model's copies (a pointer, like the confirm dialog);
// only Update changes it.
type podScreen struct {
	rollout rolloutKey
	// pod is the pod as it was when opened; the live one is read from the
	// rollout each frame (see live).
	pod watch.PodInfo
	// back is the screen backspace returns to.
	back screen

	follow bool
	// gen numbers the streams and listings: a message of an earlier one
	// (a stream cancelled by f, a screen left) is dropped.
	gen    int
	cancel context.CancelFunc
	// streaming is set while a stream is open; connecting until its first
	// answer.
	streaming, connecting bool
	container             string
	logs                  logBuffer
	// logProblem says why there are no logs (or why they stopped), in
	// words that say what to do.
	logProblem string
	// scroll is how many log lines the view is up from the last.
	scroll int

	events    []watch.Event
	eventsErr string
	eventsAt  time.Time
	// eventsGen numbers the listings, as gen does the streams.
	eventsGen int
}

// logBuffer keeps the last lines of a log within a line count and a size.
type logBuffer struct {
	lines    []string
	bytes    int
	maxLines int
	maxBytes int
	// dropped counts the lines that fell off the top.
	dropped int
}

func newLogBuffer() logBuffer {
	return logBuffer{maxLines: logTailLines, maxBytes: logMaxBytes}
}

// add appends lines, each made safe to draw and cut at logMaxLineBytes,
// then drops the oldest until the buffer fits its caps again.
func (b *logBuffer) add(lines ...string) {
	for _, l := range lines {
		l = cleanLogLine(l)
		b.lines = append(b.lines, l)
		b.bytes += len(l)
	}
	drop := 0
	for len(b.lines)-drop > b.maxLines || (b.bytes > b.maxBytes && len(b.lines)-drop > 1) {
		b.bytes -= len(b.lines[drop])
		drop++
	}
	if drop > 0 {
		b.dropped += drop
		// Copy down so the dropped lines' memory goes.
		b.lines = append(b.lines[:0:0], b.lines[drop:]...)
	}
}

// cleanLogLine makes a log line safe and cheap to draw: no terminal
// escapes or control characters (a log must not repaint the cockpit), tabs
// as spaces, valid UTF-8, at most logMaxLineBytes.
func cleanLogLine(s string) string {
	if len(s) > logMaxLineBytes {
		s = s[:logMaxLineBytes]
	}
	s = strings.TrimRight(s, "\r\n")
	if strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == utf8.RuneError }) < 0 {
		return s
	}
	s = ansi.Strip(strings.ToValidUTF8(s, "?"))
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\t':
			b.WriteString("    ")
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Messages of the pod screen.
type (
	// logOpenedMsg answers the opening of stream gen.
	logOpenedMsg struct {
		gen       int
		container string
		lines     <-chan logChunk
		err       error
	}
	// logChunk is what the reader of a stream read: lines, or its end.
	logChunk struct {
		line string
		err  error
	}
	// logLinesMsg carries lines of stream gen; done is set at its end.
	logLinesMsg struct {
		gen   int
		lines []string
		from  <-chan logChunk
		done  bool
		err   error
	}
	podEventsMsg struct {
		gen    int
		events []watch.Event
		err    error
	}
	podEventsTickMsg struct{ gen int }
)

// openPod shows the pod under the pods panel's cursor: its Events now and
// every few seconds, its log followed.
func (m Model) openPod() (tea.Model, tea.Cmd) {
	r := m.current()
	if r == nil || len(r.Pods) == 0 {
		return m, nil
	}
	back := m.screen
	m.pod = &podScreen{
		rollout: keyOf(r), pod: r.Pods[m.podCursor()], back: back,
		follow: true, logs: newLogBuffer(),
	}
	m.screen = screenPod
	return m, tea.Batch(m.startLogs(), m.listPodEvents())
}

// closePod leaves the pod screen: its stream ends.
func (m *Model) closePod() {
	if m.pod == nil {
		return
	}
	m.stopLogs()
	m.screen, m.focus = m.pod.back, panelPods
	if m.screen == screenPod || m.screen == screenHelp {
		m.screen = screenDetail
	}
	m.pod = nil
}

// stopLogs ends the pod screen's stream, if one runs.
func (m *Model) stopLogs() {
	ps := m.pod
	if ps == nil {
		return
	}
	ps.gen++
	if ps.cancel != nil {
		ps.cancel()
		ps.cancel = nil
	}
	ps.streaming, ps.connecting = false, false
}

// startLogs opens a new stream of the pod screen's log (after ending the
// one before), from its last lines.
func (m *Model) startLogs() tea.Cmd {
	ps := m.pod
	m.stopLogs()
	logs := m.sources(ps.rollout.Cluster).Logs
	if logs == nil {
		ps.logProblem = "logs: this cockpit has no source of logs"
		return nil
	}
	ps.logs = newLogBuffer()
	ps.logProblem, ps.scroll = "", 0
	ps.streaming, ps.connecting = true, true
	ctx, cancel := context.WithCancel(m.ctx)
	ps.cancel = cancel
	gen, src := ps.gen, logs
	ns, name := ps.rollout.Namespace, ps.pod.Name
	o := LogOptions{Container: ps.container, TailLines: logTailLines, Follow: ps.follow}
	if !o.Follow {
		o.LimitBytes = logMaxBytes
	}
	return func() tea.Msg {
		s, err := src.PodLogs(ctx, ns, name, o)
		if err != nil {
			return logOpenedMsg{gen: gen, err: err}
		}
		return logOpenedMsg{gen: gen, container: s.Container, lines: readLines(ctx, s.ReadCloser)}
	}
}

// readLines reads body line by line into a channel until it ends or ctx
// does; the channel's last chunk carries the error that ended it (io.EOF
// for a plain end).
func readLines(ctx context.Context, body io.ReadCloser) <-chan logChunk {
	ch := make(chan logChunk, logBatch)
	stop := context.AfterFunc(ctx, func() { body.Close() })
	go func() {
		defer close(ch)
		defer stop()
		defer body.Close()
		r := bufio.NewReaderSize(body, 32<<10)
		for {
			line, err := readLine(r)
			if line != "" || err == nil {
				select {
				case ch <- logChunk{line: line}:
				case <-ctx.Done():
					return
				}
			}
			if err != nil {
				if ctx.Err() != nil {
					err = ctx.Err()
				}
				select {
				case ch <- logChunk{err: err}:
				case <-ctx.Done():
				}
				return
			}
		}
	}()
	return ch
}

// readLine reads one line, keeping at most logMaxLineBytes of it.
func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		frag, err := r.ReadSlice('\n')
		if room := logMaxLineBytes - len(b); room > 0 {
			b = append(b, frag[:min(len(frag), room)]...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return strings.TrimRight(string(b), "\r\n"), err
	}
}

// waitLogLines hands Update the next lines of stream gen: the first that
// comes, then as many as are already there.
func waitLogLines(gen int, ch <-chan logChunk) tea.Cmd {
	return func() tea.Msg {
		msg := logLinesMsg{gen: gen, from: ch}
		take := func(c logChunk, ok bool) bool {
			switch {
			case !ok:
				msg.done = true
			case c.err != nil:
				msg.done, msg.err = true, c.err
			default:
				msg.lines = append(msg.lines, c.line)
				return true
			}
			return false
		}
		if c, ok := <-ch; !take(c, ok) {
			return msg
		}
		for len(msg.lines) < logBatch {
			select {
			case c, ok := <-ch:
				if !take(c, ok) {
					return msg
				}
			default:
				return msg
			}
		}
		return msg
	}
}

// listPodEvents lists the pod screen's Events.
func (m *Model) listPodEvents() tea.Cmd {
	ps := m.pod
	src := m.sources(ps.rollout.Cluster).PodEvents
	if src == nil {
		return nil
	}
	ps.eventsGen++
	gen, ctx := ps.eventsGen, m.ctx
	ns, name := ps.rollout.Namespace, ps.pod.Name
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		evs, err := src.PodEvents(ctx, ns, name)
		return podEventsMsg{gen: gen, events: evs, err: err}
	}
}

// onPodMsg handles the pod screen's messages; those of a screen left or a
// stream ended are dropped.
func (m Model) onPodMsg(msg tea.Msg) (tea.Model, tea.Cmd) {
	ps := m.pod
	switch msg := msg.(type) {
	case logOpenedMsg:
		if ps == nil || msg.gen != ps.gen {
			return m, nil
		}
		ps.connecting = false
		if msg.err != nil {
			ps.streaming = false
			live, _ := m.livePod()
			ps.logProblem = logsProblem(msg.err, ps.rollout.Namespace, live)
			return m, nil
		}
		ps.container = msg.container
		return m, waitLogLines(msg.gen, msg.lines)
	case logLinesMsg:
		if ps == nil || msg.gen != ps.gen {
			return m, nil
		}
		ps.logs.add(msg.lines...)
		if ps.scroll > 0 {
			// Scrolled up, the view stays on the lines it shows.
			ps.scrollBy(len(msg.lines))
		}
		if !msg.done {
			return m, waitLogLines(msg.gen, msg.from)
		}
		ps.streaming = false
		switch {
		case msg.err == nil || errors.Is(msg.err, io.EOF):
			if ps.follow {
				ps.logProblem = "the log stream ended (the container stopped, or the API server closed it): f twice opens it again"
			}
		case errors.Is(msg.err, context.Canceled):
		default:
			live, _ := m.livePod()
			ps.logProblem = logsProblem(msg.err, ps.rollout.Namespace, live)
		}
		return m, nil
	case podEventsMsg:
		if ps == nil || msg.gen != ps.eventsGen {
			return m, nil
		}
		if msg.err != nil {
			ps.eventsErr = oneLine(msg.err.Error())
		} else {
			ps.events, ps.eventsErr = msg.events, ""
			ps.eventsAt = m.opt.Now()
		}
		gen := ps.eventsGen
		return m, tea.Tick(podEventsEvery, func(time.Time) tea.Msg { return podEventsTickMsg{gen: gen} })
	case podEventsTickMsg:
		if ps == nil || msg.gen != ps.eventsGen || m.screen != screenPod {
			return m, nil
		}
		return m, m.listPodEvents()
	}
	return m, nil
}

// livePod is the pod screen's pod as the watch layer last saw it, or as it
// was when opened once it is gone.
func (m *Model) livePod() (watch.PodInfo, bool) {
	ps := m.pod
	for _, r := range m.all {
		if keyOf(r) != ps.rollout {
			continue
		}
		for _, p := range r.Pods {
			if p.Name == ps.pod.Name {
				return p, true
			}
		}
	}
	return ps.pod, false
}

// logsProblem words why a pod's log could not be read, and what to do.
func logsProblem(err error, ns string, pod watch.PodInfo) string {
	kubectl := "kubectl logs -n " + ns + " " + pod.Name
	previous := ""
	if pod.Restarts > 0 {
		previous = "; its last run's log: `" + kubectl + " --previous`"
	}
	var status apierrors.APIStatus
	msg := oneLine(err.Error())
	if errors.As(err, &status) && status.Status().Message != "" {
		msg = oneLine(status.Status().Message)
	}
	switch {
	case apierrors.IsForbidden(err):
		return "logs: you may not read pods/log in namespace " + ns + " (" + msg + "); ask for the roost-dashboard ClusterRole (deploy/rbac-dashboard.yaml)"
	case apierrors.IsNotFound(err):
		return "logs: the pod is gone (" + msg + ")"
	case apierrors.IsBadRequest(err):
		// The container has not started, or the pod has several and
		// none was named.
		return "logs: " + msg + previous
	}
	return "logs: the node's kubelet did not answer (" + msg + "); try `" + kubectl + "`" + previous
}

// podEventsShown is how many of the pod's Events the pod screen lists above
// its log.
const podEventsShown = 6

// podScreenView is the pod screen: what the pod is, its Events, then its
// log to the bottom.
func (m *Model) podScreenView(width, height int) []string {
	t := m.th
	ps := m.pod
	inner := width - 4
	pod, live := m.livePod()
	sym := t.Symbols
	role := ink(&t.Muted, sym.StepPending)
	switch pod.Role {
	case watch.PodOfCanary:
		role = ink(&t.Canary, sym.Canary)
	case watch.PodOfStable:
		role = ink(&t.Stable, sym.Stable)
	}
	title := role + " " + ink(&t.Title, ps.rollout.Namespace+"/"+pod.Name)
	dot := ink(&t.Muted, " "+sym.Dot+" ")

	status := t.Text
	switch {
	case pod.Severity == watch.PodBad:
		status = t.Bad
	case pod.Severity == watch.PodWarn || !pod.Ready:
		status = t.Warn
	}
	restarts := t.Muted
	if pod.Restarts > 0 {
		restarts = t.Warn
	}
	node := pod.Node
	if node == "" {
		node = "none yet"
	}
	about := status.Render(pod.Status()) + dot + restarts.Render(plural(int(pod.Restarts), "restart", "restarts")) + dot +
		ink(&t.Text, fmt.Sprintf("ready %d/%d", pod.ReadyContainers, pod.Containers)) + dot +
		ink(&t.Text, pod.Role.String()+" of "+ps.rollout.Name) + dot + ink(&t.Muted, "age ") + ink(&t.Text, ageOr(pod.Created, m.now))
	if rest := inner - cells(about) - 8; rest > 0 {
		about += dot + ink(&t.Muted, "node ") + ink(&t.Text, nodeText(node, rest, sym.Ellipsis))
	}
	if !live {
		about = ink(&t.Warn, "gone: the pod was deleted; as last seen: ") + about
	}
	lines := []string{fit(about, inner, sym.Ellipsis)}

	// Events.
	head := ink(&t.Title, "Events") + ink(&t.Muted, ", newest first")
	switch {
	case m.sources(ps.rollout.Cluster).PodEvents == nil:
		head += ink(&t.Muted, ": this cockpit has no source of Events")
	case ps.eventsErr != "":
		head += ink(&t.Muted, ": ") + ink(&t.Warn, "could not list them: "+ps.eventsErr+"; try `kubectl get events -n "+ps.rollout.Namespace+" --field-selector involvedObject.name="+pod.Name+"`")
	case ps.eventsAt.IsZero():
		head += ink(&t.Muted, ": listing"+sym.Ellipsis)
	default:
		head += dot + ink(&t.Muted, "updated "+m.sinceText(ps.eventsAt))
	}
	lines = append(lines, fit(head, inner, sym.Ellipsis))
	if !ps.eventsAt.IsZero() && len(ps.events) == 0 {
		lines = append(lines, ink(&t.Muted, "  none: the API server keeps Events about an hour"))
	}
	for i, e := range ps.events {
		if i == podEventsShown {
			lines = append(lines, ink(&t.Muted, fmt.Sprintf("  %d older", len(ps.events)-i)))
			break
		}
		style := t.Text
		if e.Type == "Warning" {
			style = t.Warn
		}
		count := ""
		if e.Count > 1 {
			count = fmt.Sprintf(" (%d×)", e.Count)
		}
		lines = append(lines, fit(" "+ink(&t.Muted, fitLeft(ageOr(e.Time, m.now), 4, ""))+" "+style.Render(e.Reason)+ink(&t.Muted, count+" ")+
			ink(&t.Text, oneLine(e.Message)), inner, sym.Ellipsis))
	}

	// The log, to the bottom.
	lines = append(lines, "", fit(m.logHead(), inner, sym.Ellipsis))
	room := height - 2 - len(lines)
	lines = append(lines, m.logLines(inner, room)...)
	return m.box(title, true, width, height, lines)
}

// logHead titles the log: which container, how much, whether it follows.
func (m *Model) logHead() string {
	t := m.th
	ps := m.pod
	dot := ink(&t.Muted, " "+t.Symbols.Dot+" ")
	head := ink(&t.Title, "Log")
	if ps.container != "" {
		head += ink(&t.Muted, " of ") + ink(&t.Text, ps.container)
	}
	if ps.scroll == 0 {
		head += ink(&t.Muted, fmt.Sprintf(", last %d lines", logTailLines))
	}
	switch {
	case ps.connecting:
		head += dot + ink(&t.Muted, "connecting"+t.Symbols.Ellipsis)
	case ps.streaming:
		head += dot + ink(&t.OK, "following") + ink(&t.Muted, " (f stops)")
	case !ps.follow:
		head += dot + ink(&t.Warn, "not following") + ink(&t.Muted, " (f follows)")
	}
	if ps.scroll > 0 {
		head += dot + ink(&t.Muted, plural(ps.scroll, "line", "lines")+" up, G: to the last")
	}
	return head
}

// logLines is the log's window of height rows, lines wrapped to width, the
// last line at the bottom unless scrolled up; or why there is none.
func (m *Model) logLines(width, height int) []string {
	t := m.th
	ps := m.pod
	if height <= 0 {
		return nil
	}
	var out []string
	if ps.logProblem != "" {
		for _, l := range wrap(ps.logProblem, width-2) {
			out = append(out, "  "+ink(&t.Warn, l))
		}
	}
	if len(ps.logs.lines) == 0 {
		switch {
		case ps.logProblem != "":
		case ps.connecting:
			out = append(out, ink(&t.Muted, "  asking the API server for the log"+t.Symbols.Ellipsis))
		default:
			out = append(out, ink(&t.Muted, "  no log lines yet"))
		}
		return out[:min(len(out), height)]
	}
	// The problem stays on top; the log fills the rest from the bottom.
	room := height - len(out)
	if room <= 0 {
		return out[:height]
	}
	end := max(len(ps.logs.lines)-ps.scroll, 0)
	var rows []string
	for i := end - 1; i >= 0 && len(rows) < room; i-- {
		wrapped := wrap(ps.logs.lines[i], width-2)
		for j := len(wrapped) - 1; j >= 0 && len(rows) < room; j-- {
			rows = append(rows, "  "+ink(&t.Text, wrapped[j]))
		}
	}
	for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
		rows[i], rows[j] = rows[j], rows[i]
	}
	return append(out, rows...)
}

// detailShown says whether the detail, and so the pods panel, is on screen.
func (m *Model) detailShown() bool {
	return m.screen == screenDetail || (m.split() && m.screen == screenOverview)
}

// onPodKey handles the keys of the pod screen; the others (help, quit,
// the actions on the rollout) fall through to the usual handling, and the
// ones that would leave for another screen do nothing.
func (m *Model) onPodKey(msg tea.KeyPressMsg) (tea.Cmd, bool) {
	k := m.keys
	ps := m.pod
	switch {
	case key.Matches(msg, k.Back):
		m.closePod()
		return nil, true
	case key.Matches(msg, k.Follow):
		ps.follow = !ps.follow
		if ps.follow {
			return m.startLogs(), true
		}
		m.stopLogs()
		return nil, true
	case key.Matches(msg, k.Up):
		ps.scrollBy(1)
		return nil, true
	case key.Matches(msg, k.Down):
		ps.scrollBy(-1)
		return nil, true
	case key.Matches(msg, k.Top):
		ps.scroll = max(len(ps.logs.lines)-1, 0)
		return nil, true
	case key.Matches(msg, k.Bottom):
		ps.scroll = 0
		return nil, true
	case key.Matches(msg, k.Quit), key.Matches(msg, k.Help):
		return nil, false
	case slices.ContainsFunc(k.actionKeys(), func(b *key.Binding) bool { return slices.Contains(b.Keys(), msg.String()) }):
		return nil, false
	}
	return nil, true
}

// scrollBy moves the log's view d lines up (down when negative), within
// the lines there are.
func (ps *podScreen) scrollBy(d int) {
	ps.scroll = min(max(ps.scroll+d, 0), max(len(ps.logs.lines)-1, 0))
}

// resumePod reads the pod screen's Events again after help hid it, and its
// log if it was being followed.
func (m *Model) resumePod() tea.Cmd {
	events := m.listPodEvents()
	if !m.pod.follow {
		return events
	}
	return tea.Batch(m.startLogs(), events)
}
