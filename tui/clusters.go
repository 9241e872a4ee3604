package tui

// One cockpit over several clusters (Options.Clusters). Each cluster keeps
// its own read model, actions, rights, stepping and evidence, and its own
// connection health: the model arms one wait per cluster, so a cluster's
// rows appear when its caches sync and a slow or dead cluster holds up no
// other. The overview is the clusters' overviews merged
// (watch.MergeOverviews); a rollout is told apart by its cluster, namespace
// and name (rolloutKey), everywhere: marks, evidence, the selection and the
// dialogs. One cluster is the cockpit as it always was: Options' own
// sources make a single cluster named "".

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/roost-dev/roost/election"
	"github.com/roost-dev/roost/themes"
	"github.com/roost-dev/roost/watch"
)

// Cluster is one cluster of a cockpit over several: its read model, whose
// snapshots carry Cluster == Name (watch.Store.Cluster), and what acts on
// it and reads from it there. A nil Actor leaves that cluster read-only.
type Cluster struct {
	// Name is the kube context's name: the CLUSTER column, the header and
	// the dialogs name the cluster by it.
	Name      string
	Rollouts  Rollouts
	Actor     Actor
	Access    AccessFunc
	Stepping  Stepping
	Evidence  Evidence
	JudgeGate JudgeGateFunc
	Logs      PodLogs
	PodEvents PodEvents
	// MetricsOff and ErrorsOff say why a cluster without Evidence has
	// neither (Options' own, when empty).
	MetricsOff, ErrorsOff string
	// Notices are said in the status line, led by the cluster's name, when
	// it connects (why it only watches, a configuration's problems).
	Notices []themes.Notice
	// Connect, when set, makes the rest of the Cluster (in a command, off
	// the screen): the cluster shows as connecting until it answers, and
	// one that fails shows its error and is tried again after
	// ReconnectAfter. The first frame waits for no cluster.
	Connect func(ctx context.Context) (Cluster, error)
}

// ReconnectAfter is how long a cluster whose Connect failed waits before
// it is tried again.
const ReconnectAfter = 15 * time.Second

// clusterState is what the cockpit holds of one cluster. The model's
// copies share it, as they share their maps; only Update changes it.
type clusterState struct {
	Cluster
	overview []*watch.Rollout
	health   watch.Health
	synced   bool
	stepping election.Stepping
	// connecting is set while Connect runs; lost is its last failure, and
	// lostSince when the cluster was first found unreachable.
	connecting bool
	lost       error
	lostSince  time.Time
}

// rolloutKey tells a rollout apart in the cockpit: its cluster ("" with
// one cluster), namespace and name. watch.Key is one cluster's.
type rolloutKey struct {
	Cluster string
	watch.Key
}

// String is "ns/name", led by the cluster as the CLI's lines are:
// "prod-tokyo: shop/checkout".
func (k rolloutKey) String() string {
	if k.Cluster == "" {
		return k.Key.String()
	}
	return k.Cluster + ": " + k.Key.String()
}

func keyOf(r *watch.Rollout) rolloutKey {
	return rolloutKey{Cluster: r.Cluster, Key: watch.Key{Namespace: r.Namespace, Name: r.Name}}
}

// allSynced says whether every cluster's rollouts are listed: the first
// complete frame.
func (m *Model) allSynced() bool {
	for _, c := range m.clusters {
		if !c.synced {
			return false
		}
	}
	return m.synced
}

// multiCluster says whether several clusters are in scope.
func (m *Model) multiCluster() bool { return len(m.clusters) > 1 }

// clusterNamed is the cluster of that name; nil when none is.
func (m *Model) clusterNamed(name string) *clusterState {
	for _, c := range m.clusters {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// clusterIndex is the index of the cluster of that name, 0 when none is
// (as sources).
func (m *Model) clusterIndex(name string) int {
	for i, c := range m.clusters {
		if c.Name == name {
			return i
		}
	}
	return 0
}

// clusterOf is r's cluster (see sources).
func (m *Model) clusterOf(r *watch.Rollout) *clusterState { return m.sources(r.Cluster) }

// sources is the cluster of that name; a rollout of no cluster in scope
// (a test's) gets the first one's.
func (m *Model) sources(cluster string) *clusterState {
	if c := m.clusterNamed(cluster); c != nil {
		return c
	}
	return m.clusters[0]
}

// anyEvidence says whether any cluster has metrics or errors.
func (m *Model) anyEvidence() bool {
	for _, c := range m.clusters {
		if c.Evidence != nil {
			return true
		}
	}
	return false
}

// clustersOf makes the clusters of opt: Options.Clusters, else one
// cluster of Options' own sources.
func clustersOf(opt Options) []*clusterState {
	if len(opt.Clusters) == 0 {
		return []*clusterState{{Cluster: Cluster{
			Rollouts: opt.Rollouts, Actor: opt.Actor, Access: opt.Access, Stepping: opt.Stepping,
			Evidence: opt.Evidence, JudgeGate: opt.JudgeGate, Logs: opt.Logs, PodEvents: opt.PodEvents,
		}}}
	}
	out := make([]*clusterState, len(opt.Clusters))
	for i, c := range opt.Clusters {
		out[i] = &clusterState{Cluster: c, connecting: c.Connect != nil}
	}
	return out
}

// clusterConnectedMsg is Connect's answer for cluster i.
type clusterConnectedMsg struct {
	cluster int
	made    Cluster
	err     error
}

// reconnectMsg is the time to try cluster i's Connect again.
type reconnectMsg struct{ cluster int }

// connect runs cluster i's Connect.
func (m *Model) connect(i int) tea.Cmd {
	ctx, f := m.ctx, m.clusters[i].Connect
	return func() tea.Msg {
		c, err := f(ctx)
		return clusterConnectedMsg{cluster: i, made: c, err: err}
	}
}

// onClusterConnected takes a cluster's sources in and starts reading them,
// or shows why it could not connect and tries again later.
func (m Model) onClusterConnected(msg clusterConnectedMsg) (tea.Model, tea.Cmd) {
	c := m.clusters[msg.cluster]
	c.connecting = false
	if msg.err != nil {
		if c.lost == nil {
			c.lostSince = m.opt.Now()
		}
		c.lost = msg.err
		i := msg.cluster
		return m, tea.Tick(ReconnectAfter, func(time.Time) tea.Msg { return reconnectMsg{cluster: i} })
	}
	made := msg.made
	made.Name, made.Connect = c.Name, nil
	c.Cluster, c.lost, c.lostSince = made, nil, time.Time{}
	for _, n := range made.Notices {
		lv := levelInfo
		if n.Level == themes.Warning {
			lv = levelWarn
		}
		m.status = status{text: c.Name + ": " + n.Text, level: lv}
	}
	cmds := []tea.Cmd{m.waitRollouts(msg.cluster)}
	if c.Stepping != nil {
		c.stepping = c.Stepping.Current()
		cmds = append(cmds, m.waitStepping(msg.cluster, c.stepping))
	}
	if c.Evidence != nil {
		cmds = append(cmds, m.waitEvidence(msg.cluster))
	}
	return m, tea.Batch(cmds...)
}

// clusterCell is the CLUSTER column: the context's name, marked when its
// watches fail (its rows show the last known state).
func (m *Model) clusterCell(r *watch.Rollout) (string, paint) {
	c := m.clusterNamed(r.Cluster)
	if c != nil && (c.lost != nil || c.health.State == watch.Reconnecting) {
		return r.Cluster + " " + m.th.Symbols.Progressing, m.paint.bad
	}
	return r.Cluster, m.paint.muted
}

// clustersState is the header's state over several clusters: live when
// every cluster is, else which are not.
func (m *Model) clustersState() string {
	t := m.th
	var down, listing []string
	for _, c := range m.clusters {
		switch {
		case c.lost != nil || c.health.State == watch.Reconnecting:
			down = append(down, c.Name)
		case !c.synced:
			listing = append(listing, c.Name)
		}
	}
	switch {
	case len(down) > 0:
		return ink(&t.Bad, t.Symbols.Progressing+" "+strings.Join(down, ", ")+" reconnecting")
	case len(listing) == len(m.clusters):
		return ink(&t.Muted, "listing rollouts"+t.Symbols.Ellipsis)
	case len(listing) > 0:
		return ink(&t.Muted, "listing "+strings.Join(listing, ", ")+t.Symbols.Ellipsis)
	}
	return ink(&t.OK, t.Symbols.Healthy+" live")
}

// clustersLine is the header's second line over several clusters: what
// fails in each cluster that fails, else who steps the canaries in each,
// said once when it is the same everywhere.
func (m *Model) clustersLine() string {
	t := m.th
	var failing []string
	for _, c := range m.clusters {
		switch {
		case c.lost != nil:
			// Connect's error says what failed (unreachable, no Rollout
			// resource...) and what to do.
			failing = append(failing, fmt.Sprintf("%s, not connected for %s: %s; trying again every %s", c.Name, age(m.now.Sub(c.lostSince)), oneLine(c.lost.Error()), age(ReconnectAfter)))
		case c.health.State == watch.Reconnecting:
			since := ""
			if !c.health.Since.IsZero() {
				since = " for " + age(m.now.Sub(c.health.Since))
			}
			err := "no answer"
			if c.health.LastError != nil {
				err = oneLine(c.health.LastError.Error())
			}
			failing = append(failing, fmt.Sprintf("%s: %s watch failing%s: %s; showing the last known state, retrying", c.Name, c.health.Resource, since, err))
		}
	}
	if len(failing) > 0 {
		return ink(&t.Bad, strings.Join(failing, " "+t.Symbols.Dot+" "))
	}
	var parts []string
	same, worst := true, m.clusters[0]
	for _, c := range m.clusters {
		if c.Stepping == nil {
			continue
		}
		if c.stepping.String() != m.clusters[0].stepping.String() {
			same = false
		}
		if steppingRank(c.stepping) > steppingRank(worst.stepping) {
			worst = c
		}
		parts = append(parts, c.Name+": "+steppingShort(c.stepping))
	}
	if len(parts) == 0 {
		return ""
	}
	style := steppingStyleOf(t, worst.stepping)
	if same && len(parts) == len(m.clusters) {
		return ink(style, "in every cluster, "+m.clusters[0].stepping.String())
	}
	return ink(style, strings.Join(parts, " "+t.Symbols.Dot+" "))
}

// steppingShort is who steps the canaries of one cluster, in a few words.
func steppingShort(s election.Stepping) string {
	var out string
	switch s.Kind {
	case election.SteppingByMe:
		out = "you step"
	case election.SteppingByOtherRoost:
		out = "roost at " + s.Who
	case election.SteppingExternal:
		out = "Argo Rollouts"
	case election.SteppingByNobody:
		out = "nobody steps"
	default:
		out = "finding out"
	}
	if s.External != "" {
		out += " (and Argo Rollouts: two controllers)"
	}
	return out
}

// steppingRank orders steppings by how much they need a look.
func steppingRank(s election.Stepping) int {
	switch {
	case s.External != "", s.Kind == election.SteppingByNobody:
		return 3
	case s.Kind == election.SteppingUnknown:
		return 1
	}
	return 0
}

// actorOf is what sends the actions to a cluster's rollouts; nil where
// this cockpit may not act.
func (m *Model) actorOf(cluster string) Actor {
	if c := m.clusterNamed(cluster); c != nil {
		return c.Actor
	}
	return nil
}

// clusterLines say, in the detail of a rollout of a cluster whose watches
// fail, that what it shows is the last known state; none otherwise.
func (m *Model) clusterLines(r *watch.Rollout, width int) []string {
	c := m.clusterNamed(r.Cluster)
	if !m.multiCluster() || c == nil || c.health.State != watch.Reconnecting {
		return nil
	}
	text := fmt.Sprintf("%s %s: its watches fail (%s since %s ago): the last known state, which may be out of date", m.th.Symbols.Progressing, c.Name, c.health.Resource, age(m.now.Sub(c.health.Since)))
	var out []string
	for _, l := range wrap(text, width) {
		out = append(out, ink(&m.th.Bad, l))
	}
	return out
}
