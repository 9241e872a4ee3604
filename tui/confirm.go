package tui

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/roost-dev/roost/actions"
	"github.com/roost-dev/roost/themes"
	"github.com/roost-dev/roost/watch"
)

// confirmDialog is an action waiting for y or n: what it will do to which
// rollouts, and for an abort the reason everyone will read. It is a
// component: the root model owns it, hands it its keys and draws it over the
// screen; sending is a command, and its result comes back as actionDoneMsg.
type confirmDialog struct {
	verb  verb
	plans []plannedAction
	// group names the group acted on from its line ("project shop"), ""
	// for marked rollouts or the one under the cursor.
	group string
	// judge gives a promote's plans what the judge says of each canary.
	judge func(*watch.Rollout) (string, bool)
	// armed is set by a first y on a promote of a canary the judge fails:
	// a second y sends it.
	armed bool
	// reason is the abort's reason; editing is set while it has the keys.
	reason  textinput.Model
	editing bool
}

// confirmAnswer is what a key did to the dialog.
type confirmAnswer int

const (
	// confirmOpen: the dialog stays open (a reason is being written, or the
	// key meant nothing here).
	confirmOpen confirmAnswer = iota
	// confirmYes: send the action.
	confirmYes
	// confirmNo: close the dialog, send nothing.
	confirmNo
)

// newConfirmDialog plans v on each target, the rollouts of group when it
// is set. It returns nil and why when nothing would be sent to any of them.
func newConfirmDialog(v verb, targets []*watch.Rollout, group string, th *themes.Theme, judge func(*watch.Rollout) (string, bool)) (*confirmDialog, string) {
	c := &confirmDialog{verb: v, group: group, judge: judge}
	for _, r := range targets {
		c.plans = append(c.plans, c.plan(r))
	}
	if c.sendable() == 0 {
		switch {
		case len(c.plans) == 1:
			return nil, fmt.Sprintf("nothing to %s: %s: %s", v, c.plans[0].key, c.plans[0].skip)
		case group != "":
			return nil, fmt.Sprintf("nothing to %s: none of the %d rollouts of %s can be (%s)", v, len(c.plans), group, c.plans[0].skip)
		}
		return nil, fmt.Sprintf("nothing to %s: none of the %d marked rollouts can be (%s)", v, len(c.plans), c.plans[0].skip)
	}
	if v == verbAbort {
		c.reason = textinput.New()
		c.reason.Prompt = ""
		c.reason.Placeholder = "what went wrong (everyone sees it)"
		c.reason.CharLimit = 200
		st := textinput.Styles{}
		st.Focused.Text, st.Focused.Placeholder = th.Text, th.Muted
		st.Blurred.Text, st.Blurred.Placeholder = th.Text, th.Muted
		st.Cursor.Blink = false
		c.reason.SetStyles(st)
	}
	return c, ""
}

// plan predicts the action on r, with the judge's word for a promote, and
// Argo CD's for a change of the spec it will revert.
func (c *confirmDialog) plan(r *watch.Rollout) plannedAction {
	p := planAction(c.verb, r)
	if (c.verb == verbPromote || c.verb == verbPromoteFull) && p.skip == "" && c.judge != nil {
		p.evidence, p.fail = c.judge(r)
	}
	if p.skip == "" {
		p.reverted = revertWarning(c.verb, r)
	}
	return p
}

// revertWarning says that Argo CD will revert v on r: an undo or a hold
// changes the Rollout's spec, which an Application that auto-syncs with
// self-heal puts back as Git has it. Promote, abort and retry write the
// status, which Argo CD never reverts.
func revertWarning(v verb, r *watch.Rollout) string {
	if (v != verbUndo && v != verbHold) || !r.App.Reverts() {
		return ""
	}
	return fmt.Sprintf("Argo CD's Application %s/%s auto-syncs with self-heal: it will revert this change; pause auto-sync in Argo CD first, or change Git", r.App.Namespace, r.App.Name)
}

// refresh plans again every rollout that moved on since the dialog opened
// (lookup finds its newest snapshot, nil when it is gone), so that what
// the dialog says is what y does. A change disarms a second y.
func (c *confirmDialog) refresh(lookup func(rolloutKey) *watch.Rollout) {
	for i, p := range c.plans {
		r := lookup(p.key)
		if r == nil {
			if p.skip == "" {
				c.plans[i].skip, c.plans[i].changed = "gone from the cluster", true
			}
			continue
		}
		np := c.plan(r)
		if np.expect != p.expect || np.skip != p.skip || np.fail != p.fail {
			np.changed = true
			c.plans[i] = np
			c.armed = false
		}
		// Argo CD's sync policy is the Application's, not the rollout's:
		// the warning follows it without calling the rollout moved on.
		c.plans[i].reverted = np.reverted
	}
}

// needsSecondYes is set when a promote would move a canary the judge
// scores Fail.
func (c *confirmDialog) needsSecondYes() bool {
	for _, p := range c.plans {
		if p.skip == "" && p.fail {
			return true
		}
	}
	return false
}

// sendable counts the rollouts the action will be sent to.
func (c *confirmDialog) sendable() int {
	n := 0
	for _, p := range c.plans {
		if p.skip == "" {
			n++
		}
	}
	return n
}

// onKey answers one key press.
func (c *confirmDialog) onKey(msg tea.KeyPressMsg, k keyMap) (confirmAnswer, tea.Cmd) {
	if c.editing {
		switch {
		case key.Matches(msg, k.Accept):
			return confirmYes, nil
		case key.Matches(msg, k.Cancel), msg.String() == "tab":
			c.editing = false
			c.reason.Blur()
			return confirmOpen, nil
		}
		var cmd tea.Cmd
		c.reason, cmd = c.reason.Update(msg)
		return confirmOpen, cmd
	}
	switch {
	case key.Matches(msg, k.Yes) && c.needsSecondYes() && !c.armed:
		c.armed = true
		return confirmOpen, nil
	case key.Matches(msg, k.Yes):
		return confirmYes, nil
	case key.Matches(msg, k.No):
		return confirmNo, nil
	case c.verb == verbAbort && key.Matches(msg, k.Reason):
		c.editing = true
		return confirmOpen, c.reason.Focus()
	}
	return confirmOpen, nil
}

// update hands the reason field what is not a key (a paste, a blink).
func (c *confirmDialog) update(msg tea.Msg) tea.Cmd {
	if !c.editing {
		return nil
	}
	var cmd tea.Cmd
	c.reason, cmd = c.reason.Update(msg)
	return cmd
}

// footerKeys are the keys the footer lists while the dialog is open.
func (c *confirmDialog) footerKeys(k keyMap) []key.Binding {
	if c.editing {
		return []key.Binding{
			key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", c.verb.String()+" with this reason")),
			key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab/ctrl+c", "back to y/n")),
		}
	}
	b := []key.Binding{k.Yes, k.No}
	if c.verb == verbAbort {
		b = append(b, k.Reason)
	}
	return b
}

// targets are the rollouts the action is sent to: the ones not skipped.
func (c *confirmDialog) targets() []rolloutKey {
	var out []rolloutKey
	for _, p := range c.plans {
		if p.skip == "" {
			out = append(out, p.key)
		}
	}
	return out
}

// busyText is what the status line says while the action is sent.
func (c *confirmDialog) busyText() string {
	t := c.targets()
	if len(t) == 1 {
		return c.verb.gerund() + " " + t[0].String()
	}
	return c.verb.gerund() + " " + plural(len(t), "rollout", "rollouts")
}

// send is the command that sends the confirmed action to every rollout that
// is not skipped, one after the other; one failure never stops the others.
//
// Each is sent only if its rollout is still in the state the dialog showed
// (actions.WithExpect): one that moved on in the meantime is refused with
// how it moved, and nothing is sent to it. actorOf gives each rollout's
// cluster's Actor: each action goes to the cluster of its rollout.
func (c *confirmDialog) send(ctx context.Context, actorOf func(cluster string) Actor) tea.Cmd {
	var targets []actions.Target
	var clusters []string
	var actors []Actor
	var expects []actions.Expect
	var undoTo []int64
	var runs [][]string
	for _, p := range c.plans {
		if p.skip == "" {
			targets = append(targets, actions.Target{Namespace: p.key.Namespace, Name: p.key.Name})
			clusters = append(clusters, p.key.Cluster)
			actors = append(actors, actorOf(p.key.Cluster))
			expects = append(expects, p.expect)
			rev, _ := strconv.ParseInt(p.undoTo, 10, 64)
			undoTo = append(undoTo, rev)
			runs = append(runs, p.runs)
		}
	}
	v := c.verb
	reason := strings.TrimSpace(c.reason.Value())
	return func() tea.Msg {
		out := make([]outcome, 0, len(targets))
		for i, t := range targets {
			actor := actors[i]
			if actor == nil {
				out = append(out, outcome{cluster: clusters[i], Outcome: actions.Outcome{Target: t, Err: fmt.Errorf("read-only in cluster %s: roost sends no actions there", clusters[i])}})
				continue
			}
			actx, cancel := context.WithTimeout(actions.WithExpect(ctx, expects[i]), 30*time.Second)
			var res actions.Result
			var err error
			switch v {
			case verbPromote:
				res, err = actor.Promote(actx, t.Namespace, t.Name)
			case verbPromoteFull:
				res, err = actor.PromoteFull(actx, t.Namespace, t.Name)
			case verbAbort:
				res, err = actor.Abort(actx, t.Namespace, t.Name, reason)
			case verbRetry:
				res, err = actor.Retry(actx, t.Namespace, t.Name)
			case verbHold:
				res, err = actor.Pause(actx, t.Namespace, t.Name)
			case verbContinue:
				res, err = actor.Resume(actx, t.Namespace, t.Name)
			case verbRestart:
				res, err = actor.Restart(actx, t.Namespace, t.Name)
			case verbUndo:
				res, err = actor.Undo(actx, t.Namespace, t.Name, undoTo[i])
			case verbTerminate:
				res, err = terminateRuns(actx, actor, t, runs[i])
			}
			cancel()
			out = append(out, outcome{cluster: clusters[i], Outcome: actions.Outcome{Target: t, Result: res, Err: err}})
		}
		return actionDoneMsg{verb: v, outcomes: out}
	}
}

// terminateRuns ends each run of t in turn, stopping at the first failure;
// the result tells them all.
func terminateRuns(ctx context.Context, actor Actor, t actions.Target, runs []string) (actions.Result, error) {
	var out actions.Result
	for i, run := range runs {
		res, err := actor.TerminateAnalysis(ctx, t.Namespace, t.Name, run)
		if err != nil {
			return out, err
		}
		if i == 0 {
			out = res
			continue
		}
		out.Summary += "; " + res.Summary
		out.Skipped = out.Skipped && res.Skipped
		if res.Warning != "" {
			out.Warning = res.Warning
		}
	}
	return out, nil
}

// Render lists what the action will do to which rollouts, in a frame width
// cells wide.
func (c *confirmDialog) Render(t *themes.Theme, width int) []string {
	inner := width - 4
	what := plural(c.sendable(), "rollout", "rollouts")
	if c.group != "" {
		what = c.group + ": " + what
	}
	title := ink(&t.Title, fmt.Sprintf("%s %s?", capitalize(c.verb.String()), what))
	var lines []string
	shown := 0
	for _, p := range c.plans {
		if shown == 8 {
			lines = append(lines, ink(&t.Muted, fmt.Sprintf("%s and %d more", t.Symbols.Ellipsis, len(c.plans)-shown)))
			break
		}
		shown++
		if p.skip != "" {
			for _, l := range wrap(p.key.String()+": skipped: "+p.skip, inner) {
				lines = append(lines, ink(&t.Muted, l))
			}
			continue
		}
		effect := p.effect
		if p.changed {
			effect = "moved on while this was open; now: " + effect
		}
		for i, l := range wrap(p.key.String()+": "+effect, inner) {
			if i == 0 {
				name := p.key.String()
				if strings.HasPrefix(l, name) {
					l = ink(&t.Title, name) + ink(&t.Text, l[len(name):])
				}
				lines = append(lines, l)
				continue
			}
			lines = append(lines, ink(&t.Text, l))
		}
		if p.evidence != "" {
			style := t.Muted
			if p.fail {
				style = t.Bad
			}
			for _, l := range wrap("  "+p.evidence, inner) {
				lines = append(lines, style.Render(l))
			}
		}
		if p.reverted != "" {
			for _, l := range wrap("  "+p.reverted, inner) {
				lines = append(lines, ink(&t.Warn, l))
			}
		}
	}
	if c.needsSecondYes() {
		lines = append(lines, "")
		if c.armed {
			lines = append(lines, ink(&t.Bad, "roost's judge scores a canary here Fail: press y once more to "+c.verb.String()+" anyway, n to send nothing"))
		} else {
			lines = append(lines, ink(&t.Bad, "roost's judge scores a canary here Fail: y asks once more before anything is sent"))
		}
	}
	if c.verb == verbAbort {
		lines = append(lines, "")
		switch {
		case c.editing:
			c.reason.SetWidth(inner - 10)
			lines = append(lines, ink(&t.Key, "Reason: ")+c.reason.View())
		case strings.TrimSpace(c.reason.Value()) != "":
			lines = append(lines, ink(&t.Key, "Reason: ")+ink(&t.Text, c.reason.Value()))
		default:
			lines = append(lines, ink(&t.Muted, "Reason: none given; press e to write one everyone will see"))
		}
	}
	lines = append(lines, "")
	yes := ink(&t.Key, "y") + ink(&t.Text, " yes, "+c.verb.String())
	no := ink(&t.Key, "n") + ink(&t.Text, " no, send nothing")
	lines = append(lines, yes+ink(&t.Muted, "   ")+no)
	return frame(t, title, true, width, len(lines)+2, lines)
}

// resultStatus is what the status line says of a sent action: its result
// for one rollout, a count for many, the first failure when any failed.
func resultStatus(msg actionDoneMsg) status {
	var failed []outcome
	for _, o := range msg.outcomes {
		if o.Err != nil {
			failed = append(failed, o)
		}
	}
	switch {
	case len(msg.outcomes) == 1 && len(failed) == 0:
		o := msg.outcomes[0]
		lv := levelOK
		if o.Result.Skipped || o.Result.Warning != "" {
			lv = levelWarn
		}
		return status{text: o.key().String() + ": " + o.Result.String(), level: lv}
	case len(msg.outcomes) == 1:
		return status{text: "error: " + failed[0].Err.Error(), level: levelBad}
	case len(failed) == 0:
		return status{text: fmt.Sprintf("%s: all %d rollouts done", msg.verb, len(msg.outcomes)), level: levelOK}
	}
	return status{text: fmt.Sprintf("%s: %d of %d failed (still marked): %s: %v", msg.verb, len(failed), len(msg.outcomes), failed[0].key(), failed[0].Err), level: levelBad}
}
