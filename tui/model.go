package tui

import (
	"context"
	"fmt"
	"k8s.io/klog/v2"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/roost-dev/roost/actions"
	"github.com/roost-dev/roost/election"
	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/themes"
	"github.com/roost-dev/roost/watch"
)

// Options wire the cockpit to the cluster and to the evidence.
type Options struct {
	// Context and Namespace are shown in the header: the kubeconfig context,
	// and the namespace in scope ("" for every namespace).
	Context   string
	Namespace string
	// Scope, when set, is shown in the header instead of the namespace
	// (over several clusters: "each context's namespace").
	Scope string
	// Selector is the -l selector, shown in the header when set.
	Selector string

	Rollouts Rollouts
	// Clusters, when set, are the clusters of a cockpit over several, each
	// with its own sources (see Cluster); Rollouts, Actor, Access,
	// Stepping, Evidence, JudgeGate, Logs and PodEvents are then unused.
	// Two or more add the CLUSTER column; Context is then unused too.
	Clusters []Cluster
	// Actor sends the actions; nil makes the cockpit read-only.
	Actor Actor
	// Access says what the person may do per namespace; nil assumes they may
	// (the API server still refuses what they may not).
	Access AccessFunc
	// Stepping says who steps the canaries; nil shows nothing about it.
	Stepping Stepping
	// Evidence holds the metrics and errors; nil means neither is on, and
	// MetricsOff and ErrorsOff say why.
	Evidence   Evidence
	MetricsOff string
	ErrorsOff  string
	// Logs and PodEvents feed the pod screen (enter on the pods panel):
	// its log, streamed only while the screen is shown, and its Events.
	// Without them the screen says there is no source.
	Logs      PodLogs
	PodEvents PodEvents
	// Headline is the metric whose canary/stable ratio the overview shows.
	Headline string
	// JudgeGate says what roost's judge gate does with a canary; nil shows
	// nothing about it.
	JudgeGate JudgeGateFunc
	// Grouping is the overview's grouping at start (cockpit.grouping in
	// the configuration); "" is none.
	Grouping watch.GroupBy
	// SaveGrouping remembers the grouping v chose (run in a command, never
	// in Update); nil remembers nothing.
	SaveGrouping func(watch.GroupBy) error

	Theme themes.Theme
	// FollowBackground switches to the light theme when the terminal says
	// its background is light: set it when no theme was asked for.
	FollowBackground bool
	// Notices are shown in the status line at start (how the theme was
	// chosen, a configuration file's problems).
	Notices []themes.Notice
	// ReadOnly disables every action (--readonly).
	ReadOnly bool
	// Bell is what happens when a rollout enters NEEDS YOU (--bell; the
	// zero value rings the terminal bell); BellTerminal says how the
	// terminal takes a notification.
	Bell         Bell
	BellTerminal BellTerminal
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// FirstFrame, when set, is called once, with the number of rollouts,
	// when the first complete frame (every informer listed) is drawn: how
	// start-up time is measured.
	FirstFrame func(rollouts int)
}

// Minimum and split sizes. Below minWidth×minHeight the cockpit only says the
// terminal is too small; from splitWidth×splitHeight the overview and the
// detail share the screen.
const (
	minWidth    = 40
	minHeight   = 12
	splitWidth  = 110
	splitHeight = 34
)

type screen int

const (
	screenOverview screen = iota
	screenDetail
	screenMetrics
	screenHelp
	// screenError is one Bugsnag error, opened from the errors panel.
	screenError
	// screenPod is one pod: its Events and its log (see podScreen).
	screenPod
)

// panel is what up/down move or scroll.
type panel int

const (
	panelList panel = iota
	panelPods
	panelMetrics
	panelErrors
	panelEvents
	panels
)

func (p panel) String() string {
	return [...]string{"rollouts", "pods", "metrics", "errors", "events"}[p]
}

// level colours the status line.
type level int

const (
	levelInfo level = iota
	levelOK
	levelWarn
	levelBad
)

type status struct {
	text  string
	level level
}

// accessState is what is known of the person's rights in one namespace.
type accessState struct {
	checked bool
	actions.Access
	err error
}

// Model is the cockpit's one root model: it owns all state, and routes every
// message. Components render from it; commands never touch it.
type Model struct {
	ctx  context.Context
	opt  *Options
	keys keyMap
	help help.Model
	th   *themes.Theme
	// paint is th's cell styles, reduced for speed.
	paint paints
	now   time.Time

	width, height int

	// all is the overview in urgency order; rows is what the filter keeps.
	all      []*watch.Rollout
	rows     []*watch.Rollout
	cursor   int
	selected rolloutKey
	// picked is set once the person moved the cursor or filtered: until
	// then it stays on the top row, the rollout that needs a human most.
	picked bool
	marked map[rolloutKey]bool
	// synced is set once some cluster's rollouts are listed; health is the
	// first cluster's (the only one's, with one).
	synced bool
	health watch.Health
	// clusters are the clusters in scope: one (named "") unless
	// Options.Clusters has several.
	clusters []*clusterState

	// grouping is how the overview groups rows; groups are the groups of
	// rows in view (rows is then in group order), nil when not grouped.
	grouping watch.GroupBy
	groups   []rowGroup
	// onGroup is set when the cursor rests on the group line of the group
	// that starts at rows[cursor]; selectedGroup is that group's key, kept
	// across deliveries as selected is.
	onGroup       bool
	selectedGroup string
	// savingGrouping is set while a SaveGrouping command runs: one at a
	// time, so that the file ends with the last choice.
	savingGrouping bool

	screen screen
	// back is the screen help returns to.
	back   screen
	focus  panel
	scroll [panels]int
	// errCursor picks an error in the errors panel; errOpen is the error
	// on the error screen, and details what is known of each error's
	// latest event, by error id.
	errCursor int
	errOpen   *openError
	details   map[string]detailState

	filter    *textinput.Model
	filtering bool

	confirm *confirmDialog
	// pod is the pod screen's state while it is open.
	pod    *podScreen
	busy   string
	status status

	access   map[accessKey]accessState
	stepping election.Stepping
	evidence map[rolloutKey]metrics.Evidence
	// targetSigs tell, rollout by rollout in overview order, the targets
	// last given to the poller, to skip repeats; targetMemo holds each
	// rollout's target with the snapshot it came from, so that a delivery
	// works out only the changed ones.
	// onScreen are the rollouts last said to be on screen (publishOnScreen).
	onScreen   map[rolloutKey]bool
	targetSigs []string
	targetMemo map[rolloutKey]targetMemo
	targetGen  uint64
	// tickAt is when the armed tick fires; zero when none is armed.
	tickAt time.Time
	// firstFrame reports the first complete frame once; shared by the
	// model's copies.
	firstFrame *sync.Once
	// bell remembers what needed you at the last delivery.
	bell bellState
	// memo keeps parts of the frame that did not change (see viewMemo).
	memo *viewMemo
	// gen counts the messages that may change what the screen shows: all
	// but the clock's ticks, which change only the time (see viewMemo).
	gen uint64
}

// New builds the cockpit; ctx bounds every command it runs.
func New(ctx context.Context, opt Options) Model {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Actor == nil && len(opt.Clusters) == 0 {
		opt.ReadOnly = true
	}
	m := Model{
		ctx:      ctx,
		opt:      &opt,
		help:     help.New(),
		marked:   map[rolloutKey]bool{},
		access:   map[accessKey]accessState{},
		evidence: map[rolloutKey]metrics.Evidence{},
		clusters: clustersOf(opt),
		details:  map[string]detailState{},
		width:    80,
		height:   24,

		firstFrame: &sync.Once{},
		memo:       &viewMemo{help: map[string]string{}},
	}
	m.now = opt.Now()
	m.grouping = opt.Grouping
	if m.grouping == "" || m.grouping == watch.GroupService && !m.multiCluster() {
		m.grouping = watch.GroupNone
	}
	filter := textinput.New()
	m.filter = &filter
	m.filter.Prompt = "/"
	m.filter.Placeholder = "name, namespace, app or project"
	m.filter.CharLimit = 64
	m.setTheme(opt.Theme)
	m.keys = newKeyMap(opt.Theme.Symbols.Times == "x")
	if m.multiCluster() {
		m.keys.Group.SetHelp("v", "group (service, Argo CD)")
	}
	for _, c := range m.clusters {
		if c.Stepping != nil {
			c.stepping = c.Stepping.Current()
		}
	}
	m.stepping = m.clusters[0].stepping
	if opt.ReadOnly {
		for _, b := range m.keys.actionKeys() {
			b.SetEnabled(false)
		}
	}
	for _, n := range opt.Notices {
		lv := levelInfo
		if n.Level == themes.Warning {
			lv = levelWarn
		}
		m.status = status{text: n.Text, level: lv}
	}
	return m
}

// setTheme styles the bubbles from the theme: no colour of their own.
func (m *Model) setTheme(t themes.Theme) {
	m.th = &t
	if m.memo != nil {
		clear(m.memo.help)
	}
	m.paint = paintsOf(t)
	m.help.Styles = help.Styles{
		Ellipsis:       t.Muted,
		ShortKey:       t.Key,
		ShortDesc:      t.Muted,
		ShortSeparator: t.Muted,
		FullKey:        t.Key,
		FullDesc:       t.Text,
		FullSeparator:  t.Muted,
	}
	m.help.ShortSeparator = " " + m.th.Symbols.Dot + " "
	m.help.Ellipsis = t.Symbols.Ellipsis
	st := textinput.Styles{}
	st.Focused.Prompt, st.Focused.Text, st.Focused.Placeholder = t.Key, t.Text, t.Muted
	st.Blurred.Prompt, st.Blurred.Text, st.Blurred.Placeholder = t.Muted, t.Text, t.Muted
	st.Cursor.Blink = false
	m.filter.SetStyles(st)
}

// Messages. Each is the result of one command.
type (
	// rolloutsMsg is a delivery of the watch layer: the overview and the
	// watches' health come inside it, read by the command, so that Update
	// reads no shared state.
	rolloutsMsg struct {
		// cluster is the index of the cluster delivering.
		cluster  int
		changes  watch.Changes
		overview []*watch.Rollout
		health   watch.Health
		err      error
	}
	tickMsg     time.Time
	steppingMsg struct {
		cluster  int
		stepping election.Stepping
		err      error
	}
	accessMsg struct {
		key    accessKey
		access actions.Access
		err    error
	}
	evidenceMsg struct {
		cluster int
		items   map[rolloutKey]metrics.Evidence
		err     error
	}
	actionDoneMsg struct {
		verb     verb
		outcomes []outcome
	}
)

// outcome is an action's outcome on one rollout of a cluster.
type outcome struct {
	cluster string
	actions.Outcome
}

// key is the rollout acted on.
func (o outcome) key() rolloutKey {
	return rolloutKey{Cluster: o.cluster, Key: watch.Key{Namespace: o.Target.Namespace, Name: o.Target.Name}}
}

// accessKey names a namespace of a cluster, whose rights are checked once.
type accessKey struct {
	cluster, namespace string
}

// Init starts the background streams: rollouts, who steps, evidence.
func (m Model) Init() tea.Cmd {
	cmds := []tea.Cmd{tea.RequestBackgroundColor}
	for i, c := range m.clusters {
		if c.Connect != nil {
			cmds = append(cmds, m.connect(i))
			continue
		}
		cmds = append(cmds, m.waitRollouts(i))
		if c.Stepping != nil {
			cmds = append(cmds, m.waitStepping(i, c.stepping))
		}
		if c.Evidence != nil {
			cmds = append(cmds, m.waitEvidence(i))
		}
	}
	return tea.Batch(cmds...)
}

func (m Model) waitRollouts(i int) tea.Cmd {
	ctx, src, now := m.ctx, m.clusters[i].Rollouts, m.opt.Now
	return func() tea.Msg {
		c, err := src.Wait(ctx, now)
		if err != nil {
			return rolloutsMsg{cluster: i, err: err}
		}
		msg := deliveryOf(src, c)
		msg.cluster = i
		return msg
	}
}

// deliveryOf reads what a delivery of src brought.
func deliveryOf(src Rollouts, c watch.Changes) rolloutsMsg {
	return rolloutsMsg{changes: c, overview: src.Overview(), health: src.Health()}
}

func (m Model) waitStepping(i int, last election.Stepping) tea.Cmd {
	ctx, src := m.ctx, m.clusters[i].Stepping
	return func() tea.Msg {
		s, err := src.Wait(ctx, last)
		return steppingMsg{cluster: i, stepping: s, err: err}
	}
}

func (m Model) waitEvidence(i int) tea.Cmd {
	ctx, src, name := m.ctx, m.clusters[i].Evidence, m.clusters[i].Name
	return func() tea.Msg {
		keys, err := src.WaitChanged(ctx)
		if err != nil {
			return evidenceMsg{cluster: i, err: err}
		}
		items := make(map[rolloutKey]metrics.Evidence, len(keys))
		for _, k := range keys {
			if e, ok := src.Evidence(k.Namespace, k.Name); ok {
				items[rolloutKey{Cluster: name, Key: k}] = e
			}
		}
		return evidenceMsg{cluster: i, items: items}
	}
}

func (m Model) checkAccess(k accessKey, f AccessFunc) tea.Cmd {
	ctx := m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		a, err := f(ctx, k.namespace)
		return accessMsg{key: k, access: a, err: err}
	}
}

// setTargets hands the poller the rollouts to watch the evidence of: only the
// ones progressing or paused are polled.
func (m *Model) setTargets() tea.Cmd {
	if !m.anyEvidence() {
		return nil
	}
	// A snapshot is never modified once derived: a rollout whose snapshot
	// is the one seen last time has the same target, worked out then.
	if m.targetMemo == nil {
		m.targetMemo = map[rolloutKey]targetMemo{}
	}
	m.targetGen++
	changed := len(m.all) != len(m.targetSigs)
	if changed {
		m.targetSigs = make([]string, len(m.all))
	}
	for i, r := range m.all {
		k := keyOf(r)
		tm, ok := m.targetMemo[k]
		if !ok || tm.of != r {
			tm = newTargetMemo(r)
		}
		tm.gen = m.targetGen
		m.targetMemo[k] = tm
		if m.targetSigs[i] != tm.sig {
			m.targetSigs[i], changed = tm.sig, true
		}
	}
	if len(m.targetMemo) > len(m.all) {
		for k, tm := range m.targetMemo {
			if tm.gen != m.targetGen {
				delete(m.targetMemo, k)
			}
		}
	}
	if !changed {
		return nil
	}
	// Each cluster's poller gets its own rollouts' targets.
	type pollerTargets struct {
		ev      Evidence
		targets []metrics.Target
	}
	byCluster := make([]pollerTargets, len(m.clusters))
	for i, c := range m.clusters {
		if c.Evidence != nil {
			byCluster[i] = pollerTargets{ev: c.Evidence, targets: make([]metrics.Target, 0, len(m.all)/len(m.clusters))}
		}
	}
	for _, r := range m.all {
		i := m.clusterIndex(r.Cluster)
		if byCluster[i].ev != nil {
			byCluster[i].targets = append(byCluster[i].targets, m.targetMemo[keyOf(r)].target)
		}
	}
	return func() tea.Msg {
		for _, p := range byCluster {
			if p.ev != nil {
				p.ev.SetTargets(p.targets)
			}
		}
		return nil
	}
}

// targetMemo is a rollout's evidence target and the text that tells a
// change of it.
type targetMemo struct {
	// of is the snapshot it was worked out from; gen the last setTargets
	// that saw the rollout.
	of     *watch.Rollout
	gen    uint64
	target metrics.Target
	sig    string
}

func newTargetMemo(r *watch.Rollout) targetMemo {
	t := metrics.TargetOf(r)
	var sig strings.Builder
	if r.Cluster != "" {
		sig.WriteString(r.Cluster + ": ")
	}
	fmt.Fprintf(&sig, "%s/%s %v %d %d/%d", r.Namespace, r.Name, t.Poll, t.Since.Unix(), t.CanaryPods, t.StablePods)
	for _, k := range slices.Sorted(maps.Keys(r.Annotations)) {
		if strings.HasPrefix(k, "metrics.roost.dev/") || strings.HasPrefix(k, "bugsnag.roost.dev/") {
			fmt.Fprintf(&sig, " %s=%s", k, r.Annotations[k])
		}
	}
	sig.WriteString(";")
	return targetMemo{of: r, target: t, sig: sig.String()}
}

// armTick schedules the next redraw for the clock: only when something on
// screen counts, and only as often as its text changes.
func (m *Model) armTick() tea.Cmd {
	d, ok := m.nextClockChange()
	if !ok {
		return nil
	}
	at := clockAligned(m.now.Add(d))
	d = at.Sub(m.now)
	if !m.tickAt.IsZero() && !m.tickAt.After(at) && m.tickAt.After(m.now) {
		return nil
	}
	m.tickAt = at
	return tea.Tick(d, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// clockAligned moves a redraw for the clock to just past the next whole
// second of the wall clock. The ages on screen each change at their own
// fraction of a second: drawn as they come, twenty pods' ages would wake the
// cockpit several times a second, where once a second shows the same, none
// more than a second late.
func clockAligned(at time.Time) time.Time {
	const past = 10 * time.Millisecond
	whole := at.Add(-past).Truncate(time.Second)
	if whole.Add(past).Before(at) {
		whole = whole.Add(time.Second)
	}
	return whole.Add(past)
}

// nextClockChange is how long until a duration on screen changes its text.
func (m *Model) nextClockChange() (time.Duration, bool) {
	best, found := time.Duration(0), false
	consider := func(t time.Duration) {
		if !found || t < best {
			best, found = t, true
		}
	}
	since := func(t time.Time) { consider(nextAgeChange(m.now.Sub(t))) }
	// Only what is on screen: the ages of 200 rollouts off screen would
	// otherwise wake the cockpit several times a second.
	for _, r := range m.rowsInView() {
		rowClock(r, m.now, consider)
	}
	if r := m.current(); r != nil {
		m.detailClock(r, consider)
		analysisTicks(r, m.now, consider)
	}
	if ps := m.pod; ps != nil && m.screen == screenPod {
		for i := range min(len(ps.events), podEventsShown) {
			since(ps.events[i].Time)
		}
		if !ps.eventsAt.IsZero() {
			since(ps.eventsAt)
		}
	}
	// Land just past the change, not just before it.
	return best + 10*time.Millisecond, found
}

// detailClock gives consider how long until each text of r's detail that
// counts time changes, but for its analysis block's (analysisTicks): its
// time in its step and pause countdown, its Events' ages, its pods' ages,
// how old its evidence is and when it is tried again, when its errors were
// first seen and how long its cluster's watches have failed.
func (m *Model) detailClock(r *watch.Rollout, consider func(time.Duration)) {
	since := func(t time.Time) {
		if !t.IsZero() {
			consider(nextAgeChange(m.now.Sub(t)))
		}
	}
	rowClock(r, m.now, consider)
	for _, e := range r.Events {
		since(e.Time)
	}
	// The pods panel's ages: at most a screenful of pods shows.
	if m.detailShown() {
		for i := range min(len(r.Pods), 64) {
			since(r.Pods[i].Created)
		}
	}
	if ev, ok := m.evidence[keyOf(r)]; ok {
		for _, f := range []metrics.Freshness{ev.MetricsState, ev.ErrorsState} {
			since(f.FetchedAt)
			if f.RetryAt.After(m.now) {
				consider(nextCountdownChange(f.RetryAt.Sub(m.now)))
			}
		}
		for _, e := range ev.Errors {
			since(e.FirstSeen)
		}
	}
	if c := m.clusterNamed(r.Cluster); c != nil && m.multiCluster() && c.health.State == watch.Reconnecting {
		since(c.health.Since)
	}
}

// detailClockChange is how long the detail of r drawn now stays as drawn,
// but for its analysis block.
func (m *Model) detailClockChange(r *watch.Rollout) time.Duration {
	next := time.Hour
	m.detailClock(r, func(d time.Duration) { next = min(next, d) })
	return next
}

// cmpBool orders true before false.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	}
	return 1
}

// Update routes one message.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if v := klog.V(5); v.Enabled() {
		v.InfoS("cockpit message", "type", fmt.Sprintf("%T", msg))
	}
	if _, tick := msg.(tickMsg); !tick {
		m.gen++
	}
	next, cmd := m.update(msg)
	if nm, ok := next.(Model); ok {
		nm.publishOnScreen()
		return nm, cmd
	}
	return next, cmd
}

// onScreenSetter is a Rollouts that delivers changes to rollouts on screen
// first (WatchRollouts).
type onScreenSetter interface {
	SetOnScreen(map[watch.Key]bool)
}

// publishOnScreen tells the read model which rollouts the cockpit may show,
// when that changed: the rows in view (as overviewRows scrolls them, in a
// room at least as tall as the panel's), the one under the cursor, the
// marked ones and an open dialog's. Their changes are delivered within a frame; others' are
// batched (WatchRollouts.BackgroundInterval).
func (m *Model) publishOnScreen() {
	keys := make(map[rolloutKey]bool, len(m.marked)+16)
	for _, r := range m.rowsInView() {
		keys[keyOf(r)] = true
	}
	if r := m.current(); r != nil {
		keys[keyOf(r)] = true
	}
	for k := range m.marked {
		keys[k] = true
	}
	if m.confirm != nil {
		for _, p := range m.confirm.plans {
			keys[p.key] = true
		}
	}
	if maps.Equal(keys, m.onScreen) {
		return
	}
	m.onScreen = keys
	for _, c := range m.clusters {
		setter, ok := c.Rollouts.(onScreenSetter)
		if !ok {
			continue
		}
		// Each cluster's read model hears of its own rollouts.
		mine := make(map[watch.Key]bool, len(keys))
		for k := range keys {
			if k.Cluster == c.Name {
				mine[k.Key] = true
			}
		}
		setter.SetOnScreen(mine)
	}
}

// rowsInView are the overview's rows on screen, as overviewRows scrolls
// them in overviewRoom (so perhaps a few more); none when the screen shows
// no overview.
func (m *Model) rowsInView() []*watch.Rollout {
	room := m.overviewRoom()
	if room <= 0 || len(m.rows) == 0 {
		return nil
	}
	all, cursorLine := m.overviewLines()
	offset, end := overviewScroll(len(all), cursorLine, room)
	first, last := -1, -1
	for _, l := range all[offset:end] {
		if l.row >= 0 {
			if first < 0 {
				first = l.row
			}
			last = l.row
		}
	}
	if first < 0 {
		return nil
	}
	return m.rows[first : last+1]
}

// overviewRoom is how many lines of rows the overview shows as Render lays
// the screen out now (overviewRows scrolls them in that room), 0 when the
// screen shows no overview.
func (m *Model) overviewRoom() int {
	if m.width < minWidth || m.height < minHeight {
		return 0
	}
	h := m.height - headerHeight - m.footerHeight()
	switch {
	case m.screen == screenHelp, m.screen == screenMetrics,
		m.screen == screenError && m.errOpen != nil, m.screen == screenPod && m.pod != nil:
		return 0
	case m.split():
		h = splitTop(h)
	case m.screen == screenDetail:
		return 0
	}
	// The panel's borders and its column header.
	return max(h-3, 0)
}

// update is Update without the bookkeeping every message gets.
func (m Model) update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.help.SetWidth(msg.Width)
		m.clampCursor()
		return m, nil
	case tea.BackgroundColorMsg:
		// A light terminal gets the light theme, unless a theme was chosen
		// (or NO_COLOR chose mono): only the default follows the terminal.
		if m.opt.FollowBackground && !msg.IsDark() && m.th.Name != "light" {
			if t, ok := themes.Builtin("light"); ok {
				m.setTheme(t.WithSymbols(m.th.Symbols))
			}
		}
		return m, nil
	case rolloutsMsg:
		return m.onRollouts(msg)
	case tickMsg:
		m.now = m.opt.Now()
		m.tickAt = time.Time{}
		return m, m.armTick()
	case steppingMsg:
		if msg.err != nil {
			return m, nil
		}
		m.clusters[msg.cluster].stepping = msg.stepping
		m.stepping = m.clusters[0].stepping
		return m, m.waitStepping(msg.cluster, msg.stepping)
	case accessMsg:
		m.access[msg.key] = accessState{checked: true, Access: msg.access, err: msg.err}
		return m, nil
	case clusterConnectedMsg:
		return m.onClusterConnected(msg)
	case reconnectMsg:
		m.clusters[msg.cluster].connecting = true
		return m, m.connect(msg.cluster)
	case evidenceMsg:
		if msg.err != nil {
			return m, nil
		}
		brought := make(map[rolloutKey]bool, len(msg.items))
		for k, e := range msg.items {
			m.evidence[k] = e
			brought[k] = true
		}
		m.now = m.opt.Now()
		m.applyFilter()
		return m, tea.Batch(m.waitEvidence(msg.cluster), m.armTick(), m.bellCheck(brought))
	case actionDoneMsg:
		return m.onActionDone(msg), nil
	case errorDetailMsg:
		st := detailState{detail: msg.detail, err: msg.err}
		if msg.err != nil {
			// A failed read keeps what an earlier one found.
			st.detail = m.details[msg.id].detail
		}
		m.details[msg.id] = st
		return m, nil
	case logOpenedMsg, logLinesMsg, podEventsMsg, podEventsTickMsg:
		return m.onPodMsg(msg)
	case groupingSavedMsg:
		return m.onGroupingSaved(msg)
	case tea.KeyPressMsg:
		return m.onKey(msg)
	}
	if m.filtering {
		var cmd tea.Cmd
		*m.filter, cmd = m.filter.Update(msg)
		return m, cmd
	}
	if m.confirm != nil {
		return m, m.confirm.update(msg)
	}
	return m, nil
}

func (m Model) onRollouts(msg rolloutsMsg) (tea.Model, tea.Cmd) {
	if msg.err != nil {
		// The context ended: the program is quitting.
		return m, nil
	}
	m.now = m.opt.Now()
	m.synced = true
	c := m.clusters[msg.cluster]
	c.synced, c.health, c.overview = true, msg.health, msg.overview
	m.health = m.clusters[0].health
	if m.multiCluster() {
		lists := make([][]*watch.Rollout, len(m.clusters))
		for i, c := range m.clusters {
			lists[i] = c.overview
		}
		m.all = watch.MergeOverviews(lists)
	} else {
		m.all = msg.overview
	}
	m.applyFilter()
	cmds := []tea.Cmd{m.waitRollouts(msg.cluster), m.armTick(), m.setTargets(), m.bellCheck(nil)}
	for _, k := range m.namespaces() {
		if f := m.clusterNamed(k.cluster).Access; f != nil {
			if _, ok := m.access[k]; !ok {
				m.access[k] = accessState{}
				cmds = append(cmds, m.checkAccess(k, f))
			}
		}
	}
	// An open dialog says what y does now, not what it did when opened.
	if m.confirm != nil {
		byKey := make(map[rolloutKey]*watch.Rollout, len(m.all))
		for _, r := range m.all {
			byKey[keyOf(r)] = r
		}
		m.confirm.refresh(func(k rolloutKey) *watch.Rollout { return byKey[k] })
	}
	// Marks of rollouts that went away go too.
	for k := range m.marked {
		if !slices.ContainsFunc(m.all, func(r *watch.Rollout) bool { return keyOf(r) == k }) {
			delete(m.marked, k)
		}
	}
	return m, tea.Batch(cmds...)
}

// namespaces lists the namespaces of the rollouts in scope, by cluster.
func (m *Model) namespaces() []accessKey {
	var out []accessKey
	for _, r := range m.all {
		k := accessKey{cluster: r.Cluster, namespace: r.Namespace}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// accessOf is what is known of the person's rights over r.
func (m *Model) accessOf(r *watch.Rollout) accessState {
	return m.access[accessKey{cluster: r.Cluster, namespace: r.Namespace}]
}

// applyFilter recomputes rows (and their groups) and keeps the cursor on
// the selected rollout, or on the selected group's line.
func (m *Model) applyFilter() {
	q := strings.ToLower(strings.TrimSpace(m.filter.Value()))
	rows := m.all
	if q != "" {
		rows = make([]*watch.Rollout, 0, len(m.all))
		for _, r := range m.all {
			if matchesFilter(r, q) {
				rows = append(rows, r)
			}
		}
	}
	// The watch layer orders by urgency; a canary failing on evidence goes
	// first. A stable sort keeps the rest as they were.
	if slices.ContainsFunc(rows, func(r *watch.Rollout) bool { return m.urgencyOf(r) == urgencyFailing }) {
		rows = slices.Clone(rows)
		slices.SortStableFunc(rows, func(a, b *watch.Rollout) int {
			return cmpBool(m.urgencyOf(a) == urgencyFailing, m.urgencyOf(b) == urgencyFailing)
		})
	}
	m.groups = nil
	if m.grouping != watch.GroupNone && len(rows) > 0 {
		rows, m.groups = m.groupRows(rows, q != "")
	}
	m.rows = rows
	switch {
	case !m.picked:
		m.cursor, m.onGroup = 0, false
	case m.onGroup:
		if g := slices.IndexFunc(m.groups, func(g rowGroup) bool { return g.key == m.selectedGroup }); g >= 0 {
			m.cursor = m.groups[g].start
			break
		}
		// The group is gone (or the grouping): back to the rollout.
		m.onGroup = false
		fallthrough
	default:
		if i := slices.IndexFunc(rows, func(r *watch.Rollout) bool { return keyOf(r) == m.selected }); i >= 0 {
			m.cursor = i
		}
	}
	m.clampCursor()
}

// matchesFilter says whether r matches the filter q (lower case): its
// namespace/name, its phase, or its Argo CD Application or project.
func matchesFilter(r *watch.Rollout, q string) bool {
	if strings.Contains(strings.ToLower(r.Namespace+"/"+r.Name), q) || strings.EqualFold(string(r.Phase), q) {
		return true
	}
	if a := r.App; a != nil {
		return strings.Contains(strings.ToLower(a.Name), q) || a.Known && strings.Contains(strings.ToLower(a.Project), q)
	}
	return false
}

func (m *Model) clampCursor() {
	m.cursor = min(max(m.cursor, 0), max(len(m.rows)-1, 0))
	if m.onGroup && m.groupAt(m.cursor) < 0 {
		m.onGroup = false
	}
	if len(m.rows) > 0 {
		m.selected = keyOf(m.rows[m.cursor])
	}
	if m.onGroup {
		m.selectedGroup = m.groups[m.groupAt(m.cursor)].key
	}
}

// current is the rollout under the cursor, nil when there is none or the
// cursor is on a group line.
func (m *Model) current() *watch.Rollout {
	if len(m.rows) == 0 || m.onGroup {
		return nil
	}
	return m.rows[m.cursor]
}

func (m *Model) split() bool { return m.width >= splitWidth && m.height >= splitHeight }

// panelsShown are the panels tab cycles through on the current screen.
func (m *Model) panelsShown() []panel {
	var out []panel
	if m.screen == screenOverview || m.split() {
		out = append(out, panelList)
	}
	if m.screen == screenDetail || m.screen == screenMetrics || m.split() {
		if m.screen != screenMetrics {
			out = append(out, panelPods)
		}
		out = append(out, panelMetrics, panelErrors)
		if m.screen != screenMetrics {
			out = append(out, panelEvents)
		}
	}
	return out
}

func (m Model) onKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	switch {
	case m.confirm != nil:
		return m.onConfirmKey(msg)
	case m.filtering:
		return m.onFilterKey(msg)
	case m.screen == screenHelp:
		if key.Matches(msg, m.keys.Quit) && msg.String() == "ctrl+c" {
			return m, tea.Quit
		}
		m.screen = m.back
		if m.screen == screenPod && m.pod != nil {
			// The log was not read while help was shown.
			return m, m.resumePod()
		}
		return m, nil
	case m.screen == screenError:
		if next, cmd, ok := m.onErrorKey(msg); ok {
			return next, cmd
		}
	case m.screen == screenPod && m.pod != nil:
		if cmd, handled := m.onPodKey(msg); handled {
			return m, cmd
		}
	}
	k := m.keys
	switch {
	case key.Matches(msg, k.Quit):
		return m, tea.Quit
	case key.Matches(msg, k.Help):
		m.back, m.screen = m.screen, screenHelp
		if m.back == screenPod {
			m.stopLogs()
		}
	case key.Matches(msg, k.OpenPod) && m.focus == panelPods && m.detailShown():
		return m.openPod()
	case key.Matches(msg, k.Up):
		m.move(-1)
	case key.Matches(msg, k.Down):
		m.move(1)
	case key.Matches(msg, k.Top):
		m.move(-len(m.rows) - 1000)
	case key.Matches(msg, k.Bottom):
		m.move(len(m.rows) + 1000)
	case key.Matches(msg, k.Detail) && m.focus == panelErrors && (m.screen != screenOverview || m.split()):
		return m.openPickedError()
	case key.Matches(msg, k.Copy):
		return m.copyRollout()
	case key.Matches(msg, k.Detail):
		if g := m.cursorGroup(); g != nil {
			m.status = status{text: "enter opens a rollout: move down to one; on this group line, space marks " + m.groupName(g) + " and p P a r act on all of it"}
			break
		}
		if m.current() == nil {
			break
		}
		m.picked = true
		if !m.split() {
			m.screen = screenDetail
		}
		m.focus = panelEvents
		m.scroll = [panels]int{}
		m.errCursor = 0
	case key.Matches(msg, k.Back):
		m.screen, m.focus = screenOverview, panelList
	case key.Matches(msg, k.Focus):
		shown := m.panelsShown()
		i := slices.Index(shown, m.focus)
		step := 1
		if msg.String() == "shift+tab" {
			step = len(shown) - 1
		}
		m.focus = shown[(i+step)%len(shown)]
	case key.Matches(msg, k.Filter):
		m.filtering = true
		m.screen, m.focus = screenOverview, panelList
		return m, m.filter.Focus()
	case key.Matches(msg, k.Group):
		return m.cycleGrouping()
	case key.Matches(msg, k.Mark):
		if g := m.cursorGroup(); g != nil {
			m.markGroup(g)
		} else if r := m.current(); r != nil {
			if m.marked[keyOf(r)] {
				delete(m.marked, keyOf(r))
			} else {
				m.marked[keyOf(r)] = true
			}
			m.move(1)
		}
	case key.Matches(msg, k.MarkNone):
		clear(m.marked)
	case key.Matches(msg, k.Metrics):
		if m.screen == screenMetrics {
			m.screen, m.focus = screenDetail, panelMetrics
			if m.split() {
				m.screen = screenOverview
			}
		} else if m.current() != nil {
			m.screen, m.focus = screenMetrics, panelMetrics
		}
	case key.Matches(msg, k.Refresh):
		if r := m.current(); r != nil && m.clusterOf(r).Evidence != nil {
			ev := m.clusterOf(r).Evidence
			m.status = status{text: fmt.Sprintf("%s: refreshing metrics and errors", keyOf(r))}
			return m, func() tea.Msg { ev.Refresh(r.Namespace, r.Name); return nil }
		}
	case key.Matches(msg, k.Promote):
		return m.startAction(verbPromote)
	case key.Matches(msg, k.PromoteFull):
		return m.startAction(verbPromoteFull)
	case key.Matches(msg, k.Abort):
		return m.startAction(verbAbort)
	case key.Matches(msg, k.Retry):
		return m.startAction(verbRetry)
	case key.Matches(msg, k.Hold):
		return m.startAction(verbHold)
	case key.Matches(msg, k.Continue):
		return m.startAction(verbContinue)
	case key.Matches(msg, k.Restart):
		return m.startAction(verbRestart)
	case key.Matches(msg, k.Undo):
		return m.startAction(verbUndo)
	case key.Matches(msg, k.Terminate):
		return m.startAction(verbTerminate)
	case m.opt.ReadOnly && slices.ContainsFunc(m.keys.actionKeys(), func(b *key.Binding) bool { return slices.Contains(b.Keys(), msg.String()) }):
		// The action keys are disabled: say why they do nothing.
		m.status = status{text: "read-only (--readonly): roost sends no actions; start it without --readonly to act", level: levelWarn}
	}
	return m, nil
}

// move moves the cursor, or scrolls the focused panel.
func (m *Model) move(d int) {
	if m.focus == panelPods {
		n := len(m.pods())
		m.scroll[panelPods] = min(max(m.podCursor()+d, 0), max(n-1, 0))
		return
	}
	if m.focus == panelList || (!m.split() && m.screen == screenOverview) {
		m.picked = true
		if len(m.groups) > 0 {
			m.setCursorLine(min(max(m.cursorLine()+d, 0), len(m.rows)+len(m.groups)-1))
		} else {
			m.cursor += d
		}
		m.clampCursor()
		m.scroll = [panels]int{}
		m.errCursor = 0
		return
	}
	if m.focus == panelErrors {
		n := len(m.errorsOf(m.current()))
		m.errCursor = min(max(m.errCursor+d, 0), max(n-1, 0))
		return
	}
	m.scroll[m.focus] = max(m.scroll[m.focus]+d, 0)
}

func (m Model) onFilterKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	switch {
	case key.Matches(msg, m.keys.Accept):
		m.filtering = false
		m.filter.Blur()
		return m, nil
	case key.Matches(msg, m.keys.Cancel):
		m.filtering = false
		m.filter.Blur()
		m.filter.SetValue("")
		m.applyFilter()
		return m, nil
	}
	var cmd tea.Cmd
	*m.filter, cmd = m.filter.Update(msg)
	m.picked = true
	m.applyFilter()
	return m, cmd
}

// targets are the rollouts an action applies to: the marked ones, else the
// group on whose line the cursor is (named by group), else the one under
// the cursor.
func (m *Model) targetRollouts() (targets []*watch.Rollout, group string) {
	if len(m.marked) == 0 {
		if g := m.cursorGroup(); g != nil {
			return m.rows[g.start:g.end], m.groupName(g)
		}
		if r := m.current(); r != nil {
			return []*watch.Rollout{r}, ""
		}
		return nil, ""
	}
	var out []*watch.Rollout
	for _, r := range m.all {
		if m.marked[keyOf(r)] {
			out = append(out, r)
		}
	}
	return out, ""
}

func (m Model) startAction(v verb) (tea.Model, tea.Cmd) {
	if m.busy != "" {
		m.status = status{text: "still " + m.busy + "; wait for it to finish", level: levelWarn}
		return m, nil
	}
	targets, group := m.targetRollouts()
	if len(targets) == 0 {
		m.status = status{text: "no rollout to " + v.String() + ": none is in view (clear the filter with / then ctrl+c)", level: levelWarn}
		return m, nil
	}
	for _, r := range targets {
		if a := m.accessOf(r); a.checked && a.err == nil && !a.Allowed {
			m.status = status{text: "cannot " + v.String() + " " + keyOf(r).String() + ": " + a.Reason, level: levelBad}
			return m, nil
		}
		if a := m.accessOf(r); v == verbTerminate && a.checked && a.err == nil && !a.TerminateAnalysis {
			m.status = status{text: "cannot " + v.String() + " the analysis of " + keyOf(r).String() + ": " + a.TerminateReason, level: levelBad}
			return m, nil
		}
	}
	c, nothing := newConfirmDialog(v, targets, group, m.th, m.judgeOf)
	if c == nil {
		m.status = status{text: nothing, level: levelWarn}
		return m, nil
	}
	m.confirm = c
	return m, nil
}

func (m Model) onConfirmKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	c := m.confirm
	answer, cmd := c.onKey(msg, m.keys)
	switch answer {
	case confirmYes:
		m.confirm = nil
		m.busy = c.busyText()
		m.status = status{text: m.busy + m.th.Symbols.Ellipsis}
		return m, c.send(m.ctx, m.actorOf)
	case confirmNo:
		m.confirm = nil
		m.status = status{text: c.verb.String() + " cancelled; nothing was sent"}
	}
	return m, cmd
}

// onActionDone shows an action's result; the rollouts it reached are
// unmarked, the ones it failed on stay marked for another try.
func (m Model) onActionDone(msg actionDoneMsg) Model {
	m.busy = ""
	for _, o := range msg.outcomes {
		if o.Err == nil {
			delete(m.marked, o.key())
		}
	}
	m.status = resultStatus(msg)
	return m
}
