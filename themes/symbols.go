package themes

import (
	"strings"

	"charm.land/lipgloss/v2"
)

// Symbols are the glyphs that carry meaning on their own, so that nothing
// depends on colour: stable vs canary, rollout phases, step states. Every
// symbol except Ellipsis is one terminal cell wide, so columns line up in
// both sets.
type Symbols struct {
	Stable string // marks the stable ReplicaSet, its pods and its side of the bar
	Canary string // marks the canary ReplicaSet, its pods and its side of the bar

	Healthy     string
	Progressing string
	Paused      string
	Degraded    string
	Unknown     string // a phase roost does not know or has not seen yet

	StepDone    string
	StepCurrent string
	StepPending string

	Cursor string // in front of the cursor row
	Marked string // in front of a row marked for a batch action

	BarStable string // one cell of stable pods in the pods bar
	BarCanary string // one cell of canary pods: a different texture, not only a different colour
	BarEmpty  string // one cell of pods not ready

	Ellipsis string // ends truncated text
	More     string // "↓ 3 more" under a list cut short

	// Spark holds eight one-cell levels, lowest first, for sparklines; a
	// point with no data is drawn as a space, never as the lowest level.
	Spark string
	Times string // "×" of a ratio, as in 2.1×
	Dot   string // separates items on one line
	New   string // marks an error the stable release never had

	Border      lipgloss.Border // panels
	FocusBorder lipgloss.Border // the focused panel
}

var unicodeSymbols = Symbols{
	Stable: "●", Canary: "◆",
	Healthy: "✓", Progressing: "↻", Paused: "‖", Degraded: "✗", Unknown: "?",
	StepDone: "✓", StepCurrent: "▸", StepPending: "○",
	Cursor: "▌", Marked: "✱",
	BarStable: "█", BarCanary: "▒", BarEmpty: "░",
	Ellipsis:    "…",
	More:        "↓",
	Spark:       "▁▂▃▄▅▆▇█",
	Times:       "×",
	Dot:         "·",
	New:         "★",
	Border:      lipgloss.RoundedBorder(),
	FocusBorder: lipgloss.ThickBorder(),
}

// asciiSymbols keep stable and canary apart by letter (S, C) and draw the
// focused panel with = instead of a thicker line.
var asciiSymbols = Symbols{
	Stable: "S", Canary: "C",
	Healthy: "+", Progressing: ">", Paused: "=", Degraded: "!", Unknown: "?",
	StepDone: "x", StepCurrent: ">", StepPending: ".",
	Cursor: ">", Marked: "*",
	BarStable: "=", BarCanary: "#", BarEmpty: ".",
	Ellipsis:    "...",
	More:        "v",
	Spark:       ".:-=+*#@",
	Times:       "x",
	Dot:         "|",
	New:         "!",
	Border:      lipgloss.ASCIIBorder(),
	FocusBorder: asciiFocusBorder,
}

var asciiFocusBorder = lipgloss.Border{
	Top: "=", Bottom: "=", Left: "|", Right: "|",
	TopLeft: "+", TopRight: "+", BottomLeft: "+", BottomRight: "+",
	MiddleLeft: "+", MiddleRight: "+", Middle: "+", MiddleTop: "+", MiddleBottom: "+",
}

// SymbolsFor returns the ASCII symbols when ascii is true (--ascii, or a
// locale that is not UTF-8) and the Unicode ones otherwise.
func SymbolsFor(ascii bool) Symbols {
	if ascii {
		return asciiSymbols
	}
	return unicodeSymbols
}

// LocaleIsUTF8 reports whether the locale, read with getenv, uses UTF-8.
// The first non-empty of LC_ALL, LC_CTYPE and LANG decides, as in POSIX; when
// all are empty the locale is "C", which is ASCII.
func LocaleIsUTF8(getenv func(string) string) bool {
	for _, k := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		v := getenv(k)
		if v == "" {
			continue
		}
		v = strings.ToLower(v)
		return strings.Contains(v, "utf-8") || strings.Contains(v, "utf8")
	}
	return false
}
