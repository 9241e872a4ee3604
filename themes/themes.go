package themes

import (
	"image/color"
	"slices"

	"charm.land/lipgloss/v2"
)

// Role names one colour slot of a theme. User theme files set colours by
// these names (see Roles).
type Role string

// The colour roles. A theme may leave a role without colour; the style built
// from it then falls back to an attribute (bold, underline or reverse) where
// the role must stand out.
const (
	RoleText        Role = "text"        // ordinary text
	RoleMuted       Role = "muted"       // secondary text: ages, namespaces, help descriptions
	RoleBorder      Role = "border"      // panel borders
	RoleAccent      Role = "accent"      // titles, focused panel border, help keys, marks
	RoleSelectedFg  Role = "selectedFg"  // text of the cursor row
	RoleSelectedBg  Role = "selectedBg"  // background of the cursor row; none means reverse video
	RoleOK          Role = "ok"          // an action succeeded
	RoleWarn        Role = "warn"        // attention, not yet failure
	RoleBad         Role = "bad"         // an error or failed action
	RoleStable      Role = "stable"      // the stable ReplicaSet and its pods
	RoleCanary      Role = "canary"      // the canary ReplicaSet and its pods
	RoleHealthy     Role = "healthy"     // rollout phase Healthy
	RoleProgressing Role = "progressing" // rollout phase Progressing
	RolePaused      Role = "paused"      // rollout phase Paused
	RoleDegraded    Role = "degraded"    // rollout phase Degraded
	RoleStatusBarFg Role = "statusBarFg" // text of the status line
	RoleStatusBarBg Role = "statusBarBg" // background of the status line; none means reverse video
)

var allRoles = []Role{
	RoleText, RoleMuted, RoleBorder, RoleAccent, RoleSelectedFg, RoleSelectedBg,
	RoleOK, RoleWarn, RoleBad, RoleStable, RoleCanary,
	RoleHealthy, RoleProgressing, RolePaused, RoleDegraded,
	RoleStatusBarFg, RoleStatusBarBg,
}

// Roles returns every colour role in a fixed order.
func Roles() []Role { return slices.Clone(allRoles) }

func knownRole(r Role) bool { return slices.Contains(allRoles, r) }

// palette maps roles to colours. A role missing from the palette has no
// colour at all (the terminal's default).
type palette map[Role]color.Color

func (p palette) with(overrides map[Role]color.Color) palette {
	out := make(palette, len(p)+len(overrides))
	for r, c := range p {
		out[r] = c
	}
	for r, c := range overrides {
		if c == nil {
			delete(out, r)
			continue
		}
		out[r] = c
	}
	return out
}

// Theme is a ready-to-render set of styles. The TUI uses these styles and
// Symbols and never constructs a colour itself.
type Theme struct {
	// Name is the theme's name as given to --theme.
	Name string
	// Symbols are the glyphs that carry meaning without colour.
	Symbols Symbols

	Text  lipgloss.Style // ordinary text
	Muted lipgloss.Style // secondary text
	Title lipgloss.Style // panel and screen titles
	Key   lipgloss.Style // key names in help and the footer

	Panel        lipgloss.Style // a bordered box
	FocusedPanel lipgloss.Style // the box that has focus: a heavier border, not only another colour

	Selected lipgloss.Style // the cursor row
	Marked   lipgloss.Style // rows marked for a batch action (with Symbols.Marked)

	OK   lipgloss.Style
	Warn lipgloss.Style
	Bad  lipgloss.Style

	Stable lipgloss.Style // with Symbols.Stable
	Canary lipgloss.Style // with Symbols.Canary; bold, so it differs from stable without colour

	Healthy     lipgloss.Style
	Progressing lipgloss.Style
	Paused      lipgloss.Style
	Degraded    lipgloss.Style

	StatusBar lipgloss.Style // the status line under the screen

	palette palette
}

// build turns a palette into styles. Where a role that must stand out has no
// colour, an attribute takes its place, which is how mono (an empty palette)
// stays readable.
func build(name string, p palette, sym Symbols) Theme {
	plain := lipgloss.NewStyle()
	has := func(r Role) bool { return p[r] != nil }
	fg := func(r Role) lipgloss.Style {
		if has(r) {
			return plain.Foreground(p[r])
		}
		return plain
	}
	// orElse applies attr only when the role has no colour.
	orElse := func(r Role, attr func(lipgloss.Style) lipgloss.Style) lipgloss.Style {
		if has(r) {
			return fg(r)
		}
		return attr(plain)
	}
	underline := func(s lipgloss.Style) lipgloss.Style { return s.Underline(true) }

	t := Theme{Name: name, Symbols: sym, palette: p}
	t.Text = fg(RoleText)
	t.Muted = fg(RoleMuted)
	t.Title = fg(RoleAccent).Bold(true)
	t.Key = fg(RoleAccent).Bold(true)

	t.Panel = plain.Border(sym.Border)
	if has(RoleBorder) {
		t.Panel = t.Panel.BorderForeground(p[RoleBorder])
	}
	t.FocusedPanel = plain.Border(sym.FocusBorder)
	if has(RoleAccent) {
		t.FocusedPanel = t.FocusedPanel.BorderForeground(p[RoleAccent])
	}

	if has(RoleSelectedBg) {
		t.Selected = fg(RoleSelectedFg).Background(p[RoleSelectedBg])
	} else {
		t.Selected = fg(RoleSelectedFg).Reverse(true)
	}
	t.Marked = fg(RoleAccent).Bold(true)

	t.OK = fg(RoleOK)
	t.Warn = orElse(RoleWarn, underline)
	t.Bad = fg(RoleBad).Bold(true)

	t.Stable = fg(RoleStable)
	t.Canary = fg(RoleCanary).Bold(true)

	t.Healthy = fg(RoleHealthy)
	t.Progressing = fg(RoleProgressing)
	t.Paused = orElse(RolePaused, underline)
	t.Degraded = orElse(RoleDegraded, underline).Bold(true)

	if has(RoleStatusBarBg) {
		t.StatusBar = fg(RoleStatusBarFg).Background(p[RoleStatusBarBg])
	} else {
		t.StatusBar = fg(RoleStatusBarFg).Reverse(true)
	}
	return t
}

// WithSymbols returns the theme drawn with other symbols, for example the
// ASCII set after --ascii. Panel borders follow the symbols.
func (t Theme) WithSymbols(s Symbols) Theme { return build(t.Name, t.palette, s) }

// Color returns the colour a role has in this theme, or nil when it has none.
// It exists for components that blend or measure colours (a gradient bar);
// plain rendering should use the styles.
func (t Theme) Color(r Role) color.Color { return t.palette[r] }

// Phase returns the style and symbol for a rollout phase as the API spells it
// (Healthy, Progressing, Paused, Degraded). Any other value, including the
// empty phase of a rollout not yet reconciled, is shown muted with
// Symbols.Unknown.
func (t Theme) Phase(phase string) (lipgloss.Style, string) {
	switch phase {
	case "Healthy":
		return t.Healthy, t.Symbols.Healthy
	case "Progressing":
		return t.Progressing, t.Symbols.Progressing
	case "Paused":
		return t.Paused, t.Symbols.Paused
	case "Degraded":
		return t.Degraded, t.Symbols.Degraded
	}
	return t.Muted, t.Symbols.Unknown
}

// Default is the theme used when --theme is not given: dark unless the
// terminal answered the background-colour query with a light colour.
// hasDarkBackground is nil when the terminal did not answer (tmux and many
// ssh setups), and then the theme is dark.
func Default(hasDarkBackground *bool) Theme {
	name := "dark"
	if hasDarkBackground != nil && !*hasDarkBackground {
		name = "light"
	}
	return build(name, builtins[name], SymbolsFor(false))
}

// Builtin returns a built-in theme by name, drawn with Unicode symbols.
func Builtin(name string) (Theme, bool) {
	p, ok := builtins[name]
	if !ok {
		return Theme{}, false
	}
	return build(name, p, SymbolsFor(false)), true
}

// BuiltinNames lists the built-in themes, default first.
func BuiltinNames() []string { return slices.Clone(builtinNames) }
