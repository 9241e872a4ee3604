// Package tui owns roost's cockpit: one Bubble Tea root model that owns all
// state and routes every message, and components (overview, detail with its
// pods panel, analysis, metrics, pod screen, error screen, confirmation, help)
// that are plain structs rendering into a width. analysis.go draws a
// rollout's AnalysisRuns: the overview's marker, the detail's block (counts
// against limits, values, countdown, condition, query, the decision of a
// finished run) and the judge gate's state. Update does no I/O: reading the
// watch layer, sending an action, asking what the person may do, reading the
// evidence and a pod's log and Events are all tea.Cmds returning typed
// messages (a log stream is read by a goroutine its command starts, ended
// with its context when the pod screen closes). The error screen (errors.go)
// opens one Bugsnag error from the errors panel and reads its latest event on
// demand; the copy key (copy.go) puts a one-line summary with the links to
// Datadog and Bugsnag on the clipboard through the terminal (OSC 52). Colours
// and symbols come from themes only.
//
// The bell (bell.go) rings when a rollout enters NEEDS YOU: a tea.Raw
// command with BEL (and, for notify, OSC 9 or 777), returned from Update
// only then, so an idle cockpit writes nothing. On a narrow pane the
// header, the list's columns and the detail's blocks give way by rank:
// what says whether a rollout needs you goes last.
package tui
