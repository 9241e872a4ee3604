package tui

import (
	"reflect"
	"testing"

	"charm.land/lipgloss/v2"

	"github.com/roost-dev/roost/themes"
)

// TestInkIsRender: ink draws every style of every built-in theme exactly as
// lipgloss does, for plain, wide, styled and multi-line text, and with
// layout styles it leaves to lipgloss.
func TestInkIsRender(t *testing.T) {
	texts := []string{"a", "paused at 20 %", "✓ 3 ✗ 0 · next in 12s", "日本語", "\x1b[1mbold\x1b[0m inside", "two\nlines", "tab\there", " padded "}
	checked := 0
	for _, name := range themes.BuiltinNames() {
		th, _ := themes.Builtin(name)
		v := reflect.ValueOf(&th).Elem()
		for i := range v.NumField() {
			if !v.Type().Field(i).IsExported() {
				continue
			}
			f, ok := v.Field(i).Addr().Interface().(*lipgloss.Style)
			if !ok {
				continue
			}
			checked++
			for _, s := range texts {
				if got, want := ink(f, s), f.Render(s); got != want {
					t.Errorf("%s.%s on %q: ink %q, Render %q", name, v.Type().Field(i).Name, s, got, want)
				}
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d styles checked", checked)
	}
	for _, name := range themes.BuiltinNames() {
		th, _ := themes.Builtin(name)
		for _, focused := range []bool{false, true} {
			for _, s := range []string{"┏━", "┃", "━━━━┓", "╰──╯"} {
				if got, want := borderPaint(&th, focused).on(s), borderStyle(&th, focused).Render(s); got != want {
					t.Errorf("%s border (focused %v) on %q: paint %q, Render %q", name, focused, s, got, want)
				}
			}
		}
	}
	laid := lipgloss.NewStyle().Foreground(lipgloss.Color("1")).Padding(0, 1).Underline(true)
	if onlyColours(laid) {
		t.Error("a style with padding and underline counts as only colours")
	}
	if got, want := ink(&laid, "x y"), laid.Render("x y"); got != want {
		t.Errorf("a laid-out style: ink %q, Render %q", got, want)
	}
}
