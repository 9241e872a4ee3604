// Package tui owns roost's cockpit: one Bubble Tea root model that owns all
// state and routes every message, and components (overview, detail, metrics,
// confirmation, help) that are plain structs rendering into a width. Update
// does no I/O: reading the watch layer, sending an action, asking what the
// person may do and reading the evidence are all tea.Cmds returning typed
// messages. Colours and symbols come from themes only.
//
// The bell (bell.go) rings when a rollout enters NEEDS YOU: a tea.Raw
// command with BEL (and, for notify, OSC 9 or 777), returned from Update
// only then, so an idle cockpit writes nothing. On a narrow pane the
// header, the list's columns and the detail's blocks give way by rank:
// what says whether a rollout needs you goes last.
package tui
