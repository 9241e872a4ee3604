// Package tui owns roost's cockpit: one Bubble Tea root model that owns all
// state and routes every message, and components (overview, detail with its
// pods panel, metrics, pod screen, confirmation, help) that are plain structs
// rendering into a width. Update does no I/O: reading the watch layer,
// sending an action, asking what the person may do, reading the evidence
// and a pod's log and Events are all tea.Cmds returning typed messages (a
// log stream is read by a goroutine its command starts, ended with its
// context when the pod screen closes). Colours and symbols come from themes
// only.
package tui
