package themes

import (
	"reflect"
	"testing"

	"charm.land/lipgloss/v2"
)

func TestSymbols(t *testing.T) {
	for _, ascii := range []bool{false, true} {
		s := SymbolsFor(ascii)
		v := reflect.ValueOf(s)
		for i := 0; i < v.NumField(); i++ {
			name := v.Type().Field(i).Name
			str, ok := v.Field(i).Interface().(string)
			if !ok {
				continue
			}
			if str == "" {
				t.Errorf("ascii=%v: %s is empty", ascii, name)
			}
			if ascii && !isASCII(str) {
				t.Errorf("ASCII symbols: %s = %q is not ASCII", name, str)
			}
			if name == "Spark" {
				levels := []rune(str)
				if len(levels) != 8 {
					t.Errorf("ascii=%v: Spark has %d levels, want 8", ascii, len(levels))
				}
				for _, l := range levels {
					if lipgloss.Width(string(l)) != 1 {
						t.Errorf("ascii=%v: Spark level %q is %d cells wide, want 1", ascii, l, lipgloss.Width(string(l)))
					}
				}
				continue
			}
			// Columns line up only if every symbol is one cell wide.
			if name != "Ellipsis" && lipgloss.Width(str) != 1 {
				t.Errorf("ascii=%v: %s = %q is %d cells wide, want 1", ascii, name, str, lipgloss.Width(str))
			}
		}
		if ascii {
			for _, b := range []lipgloss.Border{s.Border, s.FocusBorder} {
				if bs := b.Top + b.Bottom + b.Left + b.Right + b.TopLeft + b.TopRight + b.BottomLeft + b.BottomRight; !isASCII(bs) {
					t.Errorf("ASCII border %q is not ASCII", bs)
				}
			}
		}
		if s.Border == s.FocusBorder {
			t.Errorf("ascii=%v: the focused panel border looks like any other", ascii)
		}
		// Symbols that sit in the same column must tell their meaning apart.
		for group, syms := range map[string][]string{
			"roles":  {s.Stable, s.Canary},
			"phases": {s.Healthy, s.Progressing, s.Paused, s.Degraded, s.Unknown},
			"steps":  {s.StepDone, s.StepCurrent, s.StepPending},
			"bar":    {s.BarStable, s.BarCanary, s.BarEmpty},
			"row":    {s.Cursor, s.Marked},
		} {
			seen := map[string]bool{}
			for _, x := range syms {
				if seen[x] {
					t.Errorf("ascii=%v: %s symbols repeat %q: %q", ascii, group, x, syms)
				}
				seen[x] = true
			}
		}
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func TestLocaleIsUTF8(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want bool
	}{
		{"nothing set is the C locale", nil, false},
		{"LANG UTF-8", map[string]string{"LANG": "en_US.UTF-8"}, true},
		{"LANG utf8 lower case", map[string]string{"LANG": "de_DE.utf8"}, true},
		{"C.UTF-8", map[string]string{"LANG": "C.UTF-8"}, true},
		{"LANG C", map[string]string{"LANG": "C"}, false},
		{"LANG POSIX", map[string]string{"LANG": "POSIX"}, false},
		{"Latin-1", map[string]string{"LANG": "en_US.ISO-8859-1"}, false},
		{"LC_ALL wins over LANG", map[string]string{"LC_ALL": "C", "LANG": "en_US.UTF-8"}, false},
		{"LC_ALL UTF-8 wins over LANG C", map[string]string{"LC_ALL": "en_GB.UTF-8", "LANG": "C"}, true},
		{"LC_CTYPE wins over LANG", map[string]string{"LC_CTYPE": "en_US.UTF-8", "LANG": "C"}, true},
		{"LC_ALL wins over LC_CTYPE", map[string]string{"LC_ALL": "POSIX", "LC_CTYPE": "en_US.UTF-8"}, false},
		{"modifier after the codeset", map[string]string{"LANG": "sr_RS.UTF-8@latin"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LocaleIsUTF8(mapEnv(tt.env)); got != tt.want {
				t.Errorf("LocaleIsUTF8(%v) = %v, want %v", tt.env, got, tt.want)
			}
		})
	}
}

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}
