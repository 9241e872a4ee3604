// Package themes owns every colour roost puts on a terminal: the named colour
// roles, the built-in themes (dark, light, high-contrast, colorblind, mono),
// the symbols that carry meaning without colour (stable vs canary, rollout
// phases, step states), and the loading of user themes from
// $XDG_CONFIG_HOME/roost/themes/<name>.yaml.
//
// No other package in roost holds a colour literal: the TUI renders with the
// ready lipgloss styles of a Theme and the strings of its Symbols. Meaning never
// rests on hue alone: stable and canary differ in symbol and weight as well as
// colour, and the mono theme (chosen whenever NO_COLOR is set) uses bold,
// underline and reverse only.
package themes
