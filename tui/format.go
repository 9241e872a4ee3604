package tui

import (
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

// ageStep is how finely an age under a minute is shown: in 5 s steps an
// age changes a fifth as often as by the second, which is what a cockpit
// over ssh writes while a canary's first minute ticks on every row.
const ageStep = 5 * time.Second

// age is a duration as the overview shows it: 45s (in 5 s steps), 12m, 3h,
// 2d, 40d.
func age(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/ageStep*ageStep/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

// countdown is a remaining time to the second: 9s, 1m30s, 1h02m.
func countdown(d time.Duration) string {
	d = max(d, 0).Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	}
	return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// nextAgeChange is how long until age(d) reads differently: to the next
// 5 s step, minute, hour or day, whichever unit it shows.
func nextAgeChange(d time.Duration) time.Duration {
	unit := 24 * time.Hour
	switch {
	case d < time.Minute:
		unit = ageStep
	case d < time.Hour:
		unit = time.Minute
	case d < 48*time.Hour:
		unit = time.Hour
	}
	return unit - max(d, 0)%unit
}

// nextCountdownChange is how long until countdown(d), which rounds to the
// second and shows seconds under an hour, reads differently.
func nextCountdownChange(d time.Duration) time.Duration {
	if d < time.Hour {
		return time.Second
	}
	return d%time.Minute + time.Second/2
}

// fit truncates s (which may hold ANSI styles) to width cells, ending with
// tail when cut, and pads it with spaces to exactly width.
func fit(s string, width int, tail string) string {
	if width <= 0 {
		return ""
	}
	w := cells(s)
	if w > width {
		s = ansi.Truncate(s, width, tail)
		w = cells(s)
	}
	if pad := width - w; pad > 0 {
		s += strings.Repeat(" ", pad)
	}
	return s
}

// fitMiddle cuts plain text s to width cells by taking out its middle:
// "arn:aws:eks:…ster/prod-payments-eu-west-1". Names that differ only at
// their ends (clusters, regions) stay apart.
func fitMiddle(s string, width int, tail string) string {
	if cells(s) <= width {
		return s
	}
	keep := width - cells(tail)
	if keep <= 0 {
		return fit(s, width, "")
	}
	head := keep / 3
	r := []rune(s)
	return string(r[:head]) + tail + string(r[len(r)-(keep-head):])
}

// fitLeft is fit aligned to the right: for numbers in columns.
func fitLeft(s string, width int, tail string) string {
	if ansi.StringWidth(s) > width {
		return fit(s, width, tail)
	}
	return strings.Repeat(" ", width-ansi.StringWidth(s)) + s
}

// lines splits a rendered block into exactly height lines of width cells.
func block(s string, width, height int, tail string) []string {
	in := strings.Split(s, "\n")
	out := make([]string, height)
	for i := range out {
		line := ""
		if i < len(in) {
			line = in[i]
		}
		out[i] = fit(line, width, tail)
	}
	return out
}

// wrap breaks plain text into lines of at most width cells, at spaces where
// it can.
func wrap(s string, width int) []string {
	if width <= 0 {
		return nil
	}
	return strings.Split(ansi.Wrap(s, width, " "), "\n")
}

// plural is "1 rollout", "3 rollouts".
func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// cells is how many terminal cells s takes, styles aside.
func cells(s string) int {
	if n, ok := quickWidth(s); ok {
		return n
	}
	return ansi.StringWidth(s)
}

// quickWidth measures, without ansi.StringWidth's grapheme segmentation,
// what the cockpit draws on every frame: printable ASCII, CSI (colours)
// and OSC (links) escapes, and symbols one cell wide standing alone (the
// themes' borders, marks and bars). It reports false for anything else
// (control characters, wide or combining characters, emoji, variation
// selectors), which ansi.StringWidth then measures. A test holds it to
// ansi.StringWidth on every golden screen.
func quickWidth(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c >= 0x20 && c < 0x7f:
			n++
			i++
		case c == 0x1b:
			j, ok := skipEscape(s, i)
			if !ok {
				return 0, false
			}
			i = j
		case c < 0x80:
			return 0, false
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if !narrowSymbol(r) {
				return 0, false
			}
			// A following mark, joiner or variation selector makes one
			// cluster of two runes, whose width only the slow path knows.
			if i+size < len(s) && s[i+size] >= 0x80 {
				next, _ := utf8.DecodeRuneInString(s[i+size:])
				if !narrowSymbol(next) {
					return 0, false
				}
			}
			n++
			i += size
		}
	}
	return n, true
}

// skipEscape returns the index after the CSI or OSC escape at s[i].
func skipEscape(s string, i int) (int, bool) {
	if i+1 >= len(s) {
		return 0, false
	}
	switch s[i+1] {
	case '[':
		j := i + 2
		for j < len(s) && s[j] >= 0x30 && s[j] <= 0x3f {
			j++
		}
		for j < len(s) && s[j] >= 0x20 && s[j] <= 0x2f {
			j++
		}
		if j >= len(s) || s[j] < 0x40 || s[j] > 0x7e {
			return 0, false
		}
		return j + 1, true
	case ']':
		for j := i + 2; j < len(s); j++ {
			switch s[j] {
			case 0x07:
				return j + 1, true
			case 0x1b:
				if j+1 < len(s) && s[j+1] == '\\' {
					return j + 2, true
				}
				return 0, false
			}
		}
	}
	return 0, false
}

// narrowSymbols caches, per rune, whether it is a symbol one cell wide on
// its own: Latin-1 and general punctuation, arrows, mathematical operators,
// box drawing, blocks, geometric shapes and dingbats, each checked once
// with ansi.StringWidth (some of those, such as ◽, are emoji two cells
// wide).
var narrowSymbols sync.Map

func narrowSymbol(r rune) bool {
	if !(r >= 0xa0 && r <= 0x2ff || r >= 0x2010 && r <= 0x2bff) {
		return false
	}
	if v, ok := narrowSymbols.Load(r); ok {
		return v.(bool)
	}
	ok := !unicode.Is(unicode.Mn, r) && !unicode.Is(unicode.Me, r) && ansi.StringWidth(string(r)) == 1
	narrowSymbols.Store(r, ok)
	return ok
}
