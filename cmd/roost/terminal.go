package main

import (
	"strings"

	"github.com/charmbracelet/colorprofile"

	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/tui"
)

// colorProfile is the colours the terminal takes, from the environment
// alone: NO_COLOR none, COLORTERM=truecolor (or 24bit) or a TERM ending in
// -direct 24-bit colour, a TERM with 256color 256 colours, any other TERM
// (xterm, screen, tmux, linux) the 16 ANSI colours, none without a TERM or
// with TERM=dumb. It asks neither terminfo nor tmux: through tmux and ssh
// their answers describe another terminal than the one in front of you, and
// a 256-colour code on a 16-colour terminal is a wrong colour, not a near one.
func colorProfile(getenv func(string) string) colorprofile.Profile {
	term := getenv("TERM")
	switch ct := strings.ToLower(getenv("COLORTERM")); {
	case getenv("NO_COLOR") != "":
		return colorprofile.Ascii
	case term == "" || term == "dumb":
		return colorprofile.Ascii
	case ct == "truecolor" || ct == "24bit" || strings.HasSuffix(term, "-direct"):
		return colorprofile.TrueColor
	case strings.Contains(term, "256color"):
		return colorprofile.ANSI256
	}
	return colorprofile.ANSI
}

// bellOf is the cockpit's bell: --bell when given, else the configuration
// file's cockpit.bell, else the terminal bell. Both are checked before.
func bellOf(flag, config string) tui.Bell {
	name := flag
	if name == "" {
		name = config
	}
	if name == "" {
		name = metrics.DefaultBell
	}
	b, _ := tui.ParseBell(name)
	return b
}

// bellTerminal is how the terminal takes a notification: OSC 777 for the
// terminals that read that one (urxvt, foot, VTE's: GNOME Terminal,
// Tilix), OSC 9 for the others (iTerm2, WezTerm, Windows Terminal,
// Ghostty, kitty); wrapped for tmux's passthrough inside tmux.
func bellTerminal(getenv func(string) string) tui.BellTerminal {
	term := getenv("TERM")
	return tui.BellTerminal{
		OSC777: getenv("VTE_VERSION") != "" || strings.HasPrefix(term, "rxvt") || strings.HasPrefix(term, "foot"),
		Tmux:   getenv("TMUX") != "",
	}
}
