package tui

import (
	"charm.land/bubbles/v2/key"

	"github.com/roost-dev/roost/watch"
)

// keyMap holds every key binding of the cockpit, each with its help text.
// No action is bound to Esc alone: tmux delays Esc (escape-time), so every
// Esc has a twin that arrives at once.
type keyMap struct {
	Up, Down, Top, Bottom key.Binding

	Promote, PromoteFull, Abort, Retry key.Binding
	// Hold stops a canary where it is (spec.paused), Continue lifts that;
	// Restart replaces its pods, Undo goes back to the stable revision.
	Hold, Continue, Restart, Undo key.Binding
	// Terminate ends the running AnalysisRuns of a canary.
	Terminate      key.Binding
	Mark, MarkNone key.Binding

	Detail, Back, Focus, Filter, Metrics, Refresh key.Binding
	// Group cycles the overview's grouping: none, (over several clusters:
	// by service across clusters,) by Argo CD Application, by AppProject.
	Group key.Binding
	// Copy puts a one-line summary on the clipboard (OSC 52).
	Copy key.Binding
	// OpenPod opens the pod screen from the pods panel (enter, as Detail:
	// which one depends on the focus); Follow turns its log's following on
	// and off.
	OpenPod, Follow key.Binding
	Help, Quit      key.Binding

	// In a confirmation.
	Yes, No, Reason key.Binding
	// In a text field (filter, abort reason).
	Accept, Cancel key.Binding
}

// newKeyMap builds the bindings; ascii names the arrow keys in words.
func newKeyMap(ascii bool) keyMap {
	up, down, back := "↑/k", "↓/j", "⌫/h"
	if ascii {
		up, down, back = "up/k", "down/j", "bksp/h"
	}
	return keyMap{
		Up:     key.NewBinding(key.WithKeys("up", "k"), key.WithHelp(up, "up")),
		Down:   key.NewBinding(key.WithKeys("down", "j"), key.WithHelp(down, "down")),
		Top:    key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g/home", "first")),
		Bottom: key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G/end", "last")),

		Promote:     key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "promote")),
		PromoteFull: key.NewBinding(key.WithKeys("P"), key.WithHelp("P", "promote fully")),
		Abort:       key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "abort")),
		Retry:       key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "retry")),
		Hold:        key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "hold here")),
		Continue:    key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "continue")),
		Restart:     key.NewBinding(key.WithKeys("X"), key.WithHelp("X", "restart pods")),
		Undo:        key.NewBinding(key.WithKeys("U"), key.WithHelp("U", "undo to stable")),
		Terminate:   key.NewBinding(key.WithKeys("T"), key.WithHelp("T", "terminate analysis")),
		Mark:        key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "mark, next")),
		MarkNone:    key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "unmark all")),

		Detail:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "detail")),
		Back:    key.NewBinding(key.WithKeys("backspace", "left", "h", "esc"), key.WithHelp(back, "back")),
		Focus:   key.NewBinding(key.WithKeys("tab", "shift+tab"), key.WithHelp("tab", "next panel")),
		Filter:  key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Group:   key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "group (Argo CD)")),
		Metrics: key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "metrics")),
		Refresh: key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "refresh metrics")),
		Copy:    key.NewBinding(key.WithKeys("C"), key.WithHelp("C", "copy summary")),
		OpenPod: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "pod log (pods panel)")),
		Follow:  key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "follow the log")),
		Help:    key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:    key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),

		Yes:    key.NewBinding(key.WithKeys("y", "Y"), key.WithHelp("y", "yes, do it")),
		No:     key.NewBinding(key.WithKeys("n", "N", "q", "esc", "ctrl+c"), key.WithHelp("n", "no, cancel")),
		Reason: key.NewBinding(key.WithKeys("e", "tab"), key.WithHelp("e", "write a reason")),

		Accept: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "done")),
		Cancel: key.NewBinding(key.WithKeys("ctrl+c", "esc"), key.WithHelp("ctrl+c", "cancel")),
	}
}

// actionKeys are the bindings that change a rollout, and the marks that pick
// the rollouts to change: all of them off in a read-only cockpit. They point
// into k, so that disabling one disables the binding itself.
func (k *keyMap) actionKeys() []*key.Binding {
	return []*key.Binding{&k.Promote, &k.PromoteFull, &k.Abort, &k.Retry, &k.Hold, &k.Continue, &k.Restart, &k.Undo, &k.Terminate, &k.Mark, &k.MarkNone}
}

// openErrorKey is enter's help while the errors panel has the focus.
var openErrorKey = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open error"))

// shortHelp is the footer: the keys an on-call engineer needs first, the
// actions that fit the rollout under the cursor (r) leading, the next
// likeliest after the moves (a narrow footer drops them first).
func (k keyMap) shortHelp(s screen, podsFocused bool, r *watch.Rollout) []key.Binding {
	if s == screenPod {
		up, down := k.Up, k.Down
		up.SetHelp(up.Help().Key, "older")
		down.SetHelp(down.Help().Key, "newer")
		return []key.Binding{k.Follow, k.Back, up, down, k.Promote, k.Abort}
	}
	first, then := k.actionsFor(r)
	out := first
	switch {
	case podsFocused:
		open := k.OpenPod
		open.SetHelp("enter", "pod log")
		out = append(out, open, k.Back, k.Focus)
	case s != screenOverview:
		out = append(out, k.Back, k.Metrics, k.Focus)
	default:
		out = append(out, k.Detail, k.Filter)
	}
	return append(append(out, then...), k.Mark)
}

// actionsFor are the actions likeliest on r, the first two and the next:
// retry for an aborted canary, promote for one waiting at a pause, abort
// and hold for one moving on its own. Without a rollout, promote and abort.
func (k keyMap) actionsFor(r *watch.Rollout) (first, then []key.Binding) {
	switch {
	case r == nil:
		return []key.Binding{k.Promote, k.Abort}, []key.Binding{k.PromoteFull, k.Retry}
	case r.Aborted:
		return []key.Binding{k.Retry}, nil
	case r.InvalidSpec != "":
		return nil, nil
	case r.JudgeHeld != "":
		return []key.Binding{k.Promote, k.Abort}, nil
	case r.ManuallyPaused:
		return []key.Binding{k.Continue, k.Abort}, []key.Binding{k.Promote}
	case r.PauseUntilPromoted || r.Paused:
		return []key.Binding{k.Promote, k.Abort}, []key.Binding{k.PromoteFull}
	case r.Canary != nil:
		return []key.Binding{k.Abort, k.Hold}, []key.Binding{k.Promote, k.PromoteFull}
	}
	return nil, nil
}

// fullHelp is the `?` screen, in columns.
func (k keyMap) fullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.Top, k.Bottom, k.Detail, k.Back, k.Focus, k.OpenPod, k.Follow},
		{k.Promote, k.PromoteFull, k.Abort, k.Retry, k.Hold, k.Continue, k.Restart, k.Undo, k.Terminate},
		{k.Mark, k.MarkNone, k.Filter, k.Group, k.Metrics, k.Refresh, k.Copy, k.Help, k.Quit},
	}
}
