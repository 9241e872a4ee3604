package themes

import "charm.land/lipgloss/v2"

// builtinNames is the order built-ins are listed in notices and help.
var builtinNames = []string{"dark", "light", "high-contrast", "colorblind", "mono"}

// The built-in palettes. These are the only colour literals in roost.
// Hex colours are downsampled by the renderer to what the terminal supports
// (256 colours under TERM=screen-256color or tmux-256color).
var builtins = map[string]palette{
	// dark is tuned for a dark terminal background. Stable is blue, canary
	// violet, so canary is not confused with the amber of a warning.
	"dark": {
		RoleText:        lipgloss.Color("#e4e4e4"),
		RoleMuted:       lipgloss.Color("#8a8a8a"),
		RoleBorder:      lipgloss.Color("#5f5f5f"),
		RoleAccent:      lipgloss.Color("#87afff"),
		RoleSelectedFg:  lipgloss.Color("#ffffff"),
		RoleSelectedBg:  lipgloss.Color("#3a3a5f"),
		RoleOK:          lipgloss.Color("#5fd787"),
		RoleWarn:        lipgloss.Color("#ffd75f"),
		RoleBad:         lipgloss.Color("#ff5f5f"),
		RoleStable:      lipgloss.Color("#5fafff"),
		RoleCanary:      lipgloss.Color("#d787ff"),
		RoleHealthy:     lipgloss.Color("#5fd787"),
		RoleProgressing: lipgloss.Color("#5fd7d7"),
		RolePaused:      lipgloss.Color("#ffd75f"),
		RoleDegraded:    lipgloss.Color("#ff5f5f"),
		RoleStatusBarFg: lipgloss.Color("#e4e4e4"),
		RoleStatusBarBg: lipgloss.Color("#303030"),
	},
	// light is tuned for a light background: darker, more saturated hues.
	"light": {
		RoleText:        lipgloss.Color("#1c1c1c"),
		RoleMuted:       lipgloss.Color("#6c6c6c"),
		RoleBorder:      lipgloss.Color("#a8a8a8"),
		RoleAccent:      lipgloss.Color("#005fd7"),
		RoleSelectedFg:  lipgloss.Color("#000000"),
		RoleSelectedBg:  lipgloss.Color("#d7e3ff"),
		RoleOK:          lipgloss.Color("#008700"),
		RoleWarn:        lipgloss.Color("#af5f00"),
		RoleBad:         lipgloss.Color("#d70000"),
		RoleStable:      lipgloss.Color("#005faf"),
		RoleCanary:      lipgloss.Color("#8700af"),
		RoleHealthy:     lipgloss.Color("#008700"),
		RoleProgressing: lipgloss.Color("#00878a"),
		RolePaused:      lipgloss.Color("#af5f00"),
		RoleDegraded:    lipgloss.Color("#d70000"),
		RoleStatusBarFg: lipgloss.Color("#1c1c1c"),
		RoleStatusBarBg: lipgloss.Color("#e4e4e4"),
	},
	// high-contrast uses the terminal's own default foreground for text and
	// borders and its bright basic colours for meaning, so a terminal
	// configured for high contrast keeps its palette. Selection and the
	// status line are reverse video (no background role), the strongest
	// contrast any terminal has. It assumes a dark background.
	"high-contrast": {
		RoleAccent:      lipgloss.BrightCyan,
		RoleOK:          lipgloss.BrightGreen,
		RoleWarn:        lipgloss.BrightYellow,
		RoleBad:         lipgloss.BrightRed,
		RoleStable:      lipgloss.BrightCyan,
		RoleCanary:      lipgloss.BrightMagenta,
		RoleHealthy:     lipgloss.BrightGreen,
		RoleProgressing: lipgloss.BrightBlue,
		RolePaused:      lipgloss.BrightYellow,
		RoleDegraded:    lipgloss.BrightRed,
	},
	// colorblind uses the Okabe-Ito palette, which stays distinct under the
	// common colour-vision deficiencies: sky blue for stable, orange for
	// canary, bluish green / yellow / vermillion for good / attention / bad.
	// Stable and canary differ by symbol and weight too.
	"colorblind": {
		RoleText:        lipgloss.Color("#e4e4e4"),
		RoleMuted:       lipgloss.Color("#9e9e9e"),
		RoleBorder:      lipgloss.Color("#6c6c6c"),
		RoleAccent:      lipgloss.Color("#cc79a7"),
		RoleSelectedFg:  lipgloss.Color("#000000"),
		RoleSelectedBg:  lipgloss.Color("#56b4e9"),
		RoleOK:          lipgloss.Color("#009e73"),
		RoleWarn:        lipgloss.Color("#f0e442"),
		RoleBad:         lipgloss.Color("#d55e00"),
		RoleStable:      lipgloss.Color("#56b4e9"),
		RoleCanary:      lipgloss.Color("#e69f00"),
		RoleHealthy:     lipgloss.Color("#009e73"),
		RoleProgressing: lipgloss.Color("#cc79a7"),
		RolePaused:      lipgloss.Color("#f0e442"),
		RoleDegraded:    lipgloss.Color("#d55e00"),
		RoleStatusBarFg: lipgloss.Color("#e4e4e4"),
		RoleStatusBarBg: lipgloss.Color("#303030"),
	},
	// mono has no colour at all: emphasis comes from bold, underline and
	// reverse video only (see build). NO_COLOR selects it.
	"mono": {},
}
