package tui

import (
	"fmt"
	"slices"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/roost-dev/roost/watch"
)

// Bell is what the cockpit does when a rollout enters NEEDS YOU.
type Bell int

const (
	// BellRing rings the terminal bell (BEL) once: tmux then flags the
	// window, a terminal beeps or marks its tab. The default.
	BellRing Bell = iota
	// BellOff sends nothing.
	BellOff
	// BellNotify rings the bell and asks the terminal for a desktop
	// notification naming the rollouts (OSC 9, or OSC 777).
	BellNotify
)

// ParseBell reads a --bell value: off, bell or notify.
func ParseBell(s string) (Bell, error) {
	switch s {
	case "off":
		return BellOff, nil
	case "bell":
		return BellRing, nil
	case "notify":
		return BellNotify, nil
	}
	return BellRing, fmt.Errorf("%q is not a bell: use off, bell (the terminal bell, the default) or notify (the bell and a desktop notification)", s)
}

func (b Bell) String() string {
	switch b {
	case BellOff:
		return "off"
	case BellNotify:
		return "notify"
	}
	return "bell"
}

// BellTerminal says how the terminal takes a notification.
type BellTerminal struct {
	// OSC777 sends `ESC ] 777 ; notify ; title ; body BEL` (urxvt, foot,
	// VTE terminals) instead of `ESC ] 9 ; text BEL` (iTerm2, WezTerm,
	// Windows Terminal, Ghostty).
	OSC777 bool
	// Tmux wraps the notification in tmux's passthrough, which tmux
	// forwards to the outer terminal with `set -g allow-passthrough on`;
	// the bell itself needs no wrapping: tmux flags the window.
	Tmux bool
}

// bellState is what the bell remembers between deliveries: the rollouts in
// NEEDS YOU, so that one rings only as it enters.
type bellState struct {
	// needing are the rollouts in NEEDS YOU at the last delivery.
	needing map[rolloutKey]bool
	// armed is set once the first delivery is in: what needs you when the
	// cockpit opens is on the screen in front of you, and does not ring.
	armed bool
	// quiet are the rollouts of that first delivery whose evidence has not
	// come yet: a canary already failing when the cockpit opened is learnt
	// of with its first evidence, and does not ring either.
	quiet map[rolloutKey]bool
}

// bellCheck compares NEEDS YOU with the last delivery's and rings once when
// a rollout entered it. evidenceFor lists the rollouts whose evidence this
// delivery brought (nil for a delivery of the rollouts).
func (m *Model) bellCheck(evidenceFor map[rolloutKey]bool) tea.Cmd {
	if !m.synced {
		// Evidence before the first delivery of the rollouts: nothing to
		// compare yet.
		return nil
	}
	b := &m.bell
	now := make(map[rolloutKey]bool, len(b.needing))
	var entered []*watch.Rollout
	for _, r := range m.all {
		if m.urgencyOf(r) > watch.UrgencyAwaitingPromotion {
			continue
		}
		k := keyOf(r)
		now[k] = true
		if b.armed && !b.needing[k] && !(b.quiet[k] && evidenceFor[k]) {
			entered = append(entered, r)
		}
	}
	if !b.armed && m.anyEvidence() {
		b.quiet = map[rolloutKey]bool{}
		for _, r := range m.all {
			if _, ok := m.evidence[keyOf(r)]; !ok {
				b.quiet[keyOf(r)] = true
			}
		}
	}
	for k := range evidenceFor {
		delete(b.quiet, k)
	}
	b.needing, b.armed = now, true
	if len(entered) == 0 || m.opt.Bell == BellOff {
		return nil
	}
	return tea.Raw(bellBytes(m.opt.Bell, m.opt.BellTerminal, m.needsText(entered)))
}

// bellBytes is what goes to the terminal: BEL, then for notify the
// notification.
func bellBytes(b Bell, term BellTerminal, text string) string {
	out := "\a"
	if b != BellNotify {
		return out
	}
	text = printable(text)
	osc := "\x1b]9;" + text + "\a"
	if term.OSC777 {
		osc = "\x1b]777;notify;roost;" + strings.ReplaceAll(text, ";", ",") + "\a"
	}
	if term.Tmux {
		osc = "\x1bPtmux;" + strings.ReplaceAll(osc, "\x1b", "\x1b\x1b") + "\x1b\\"
	}
	return out + osc
}

// printable drops control characters, which would end or break the
// escape sequence.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, s)
}

// needsText says which rollouts need what: "roost: shop/cart waits for a
// promote", "roost: 2 rollouts need you: shop/cart waits for a promote;
// web/front: canary failing its metrics".
func (m *Model) needsText(rs []*watch.Rollout) string {
	rs = slices.Clone(rs)
	slices.SortStableFunc(rs, func(a, b *watch.Rollout) int { return int(m.urgencyOf(a) - m.urgencyOf(b)) })
	parts := make([]string, 0, len(rs))
	for _, r := range rs {
		parts = append(parts, r.Namespace+"/"+r.Name+" "+m.needsWhat(r))
	}
	if len(rs) == 1 {
		return "roost: " + parts[0]
	}
	return fmt.Sprintf("roost: %d rollouts need you: %s", len(rs), strings.Join(parts, "; "))
}

// needsWhat is what a rollout in NEEDS YOU waits for, in a few words.
func (m *Model) needsWhat(r *watch.Rollout) string {
	switch {
	case m.urgencyOf(r) == urgencyFailing:
		return "has a canary failing its metrics"
	case r.InvalidSpec != "":
		return "has a spec roost refuses"
	case r.Aborted:
		return "was " + abortText(r)
	case r.Phase == "Degraded":
		return "is degraded"
	case r.JudgeHeld != "":
		return "is held by roost's judge"
	case r.PauseUntilPromoted:
		return "waits for a promote"
	}
	return "is paused"
}
