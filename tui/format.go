package tui

import (
	"fmt"
	"strings"
	"time"

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
	if ansi.StringWidth(s) > width {
		s = ansi.Truncate(s, width, tail)
	}
	if pad := width - ansi.StringWidth(s); pad > 0 {
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
func cells(s string) int { return ansi.StringWidth(s) }
