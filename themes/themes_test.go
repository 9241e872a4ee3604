package themes

import (
	"flag"
	"image/color"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"charm.land/lipgloss/v2"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// styles returns every lipgloss.Style field of a theme by field name, so a
// style added later is checked without editing the tests.
func styles(t Theme) map[string]lipgloss.Style {
	out := map[string]lipgloss.Style{}
	v := reflect.ValueOf(t)
	for i := 0; i < v.NumField(); i++ {
		if !v.Type().Field(i).IsExported() {
			continue
		}
		if s, ok := v.Field(i).Interface().(lipgloss.Style); ok {
			out[v.Type().Field(i).Name] = s
		}
	}
	return out
}

func isNoColor(c color.Color) bool {
	_, ok := c.(lipgloss.NoColor)
	return c == nil || ok
}

func TestBuiltinThemes(t *testing.T) {
	all := Roles()
	tests := []struct {
		name      string
		uncolored []Role // roles the theme leaves to the terminal on purpose
	}{
		{name: "dark"},
		{name: "light"},
		{name: "colorblind"},
		{name: "high-contrast", uncolored: []Role{
			RoleText, RoleMuted, RoleBorder, RoleSelectedFg, RoleSelectedBg, RoleStatusBarFg, RoleStatusBarBg}},
		{name: "mono", uncolored: all},
	}
	if len(tests) != len(BuiltinNames()) {
		t.Fatalf("test covers %d themes, BuiltinNames lists %d", len(tests), len(BuiltinNames()))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th, ok := Builtin(tt.name)
			if !ok {
				t.Fatalf("Builtin(%q) not found", tt.name)
			}
			if th.Name != tt.name {
				t.Errorf("Name = %q, want %q", th.Name, tt.name)
			}
			for _, r := range all {
				c := th.Color(r)
				if want := !slices.Contains(tt.uncolored, r); want != !isNoColor(c) {
					t.Errorf("role %s: colour %v, want set=%v", r, c, want)
				}
			}
			for r := range builtins[tt.name] {
				if !knownRole(r) {
					t.Errorf("palette sets unknown role %q", r)
				}
			}
			// Stable and canary must differ by symbol and by style, in every
			// theme, and by colour wherever the theme has colour.
			if th.Symbols.Stable == th.Symbols.Canary {
				t.Errorf("stable and canary share the symbol %q", th.Symbols.Stable)
			}
			if th.Stable.Render("x") == th.Canary.Render("x") {
				t.Errorf("stable and canary render alike: %q", th.Stable.Render("x"))
			}
			if !isNoColor(th.Color(RoleStable)) && reflect.DeepEqual(th.Color(RoleStable), th.Color(RoleCanary)) {
				t.Errorf("stable and canary share the colour %v", th.Color(RoleStable))
			}
			// The cursor row and the status line must stand out without colour too.
			for _, s := range []struct {
				what string
				st   lipgloss.Style
			}{{"Selected", th.Selected}, {"StatusBar", th.StatusBar}} {
				if isNoColor(s.st.GetBackground()) && !s.st.GetReverse() {
					t.Errorf("%s has neither a background nor reverse video", s.what)
				}
			}
			if th.Degraded.Render("x") == th.Healthy.Render("x") {
				t.Errorf("Degraded and Healthy render alike")
			}
		})
	}
}

func TestBuiltinUnknown(t *testing.T) {
	if _, ok := Builtin("nope"); ok {
		t.Error(`Builtin("nope") found a theme`)
	}
}

func TestMonoHasNoColour(t *testing.T) {
	if dark, _ := Builtin("dark"); len(colourCodes(dark.Preview())) == 0 {
		t.Fatal("colourCodes finds no colour in the dark preview; the check below would prove nothing")
	}
	for _, ascii := range []bool{false, true} {
		th, _ := Builtin("mono")
		th = th.WithSymbols(SymbolsFor(ascii))
		all := styles(th)
		if len(all) < 18 {
			t.Fatalf("styles found only %d styles in Theme: %v", len(all), all)
		}
		for name, s := range all {
			for what, c := range map[string]color.Color{
				"foreground": s.GetForeground(), "background": s.GetBackground(),
				"border": s.GetBorderTopForeground(),
			} {
				if !isNoColor(c) {
					t.Errorf("mono %s has %s colour %v", name, what, c)
				}
			}
		}
		for _, code := range colourCodes(th.Preview()) {
			t.Errorf("mono preview (ascii=%v) contains the colour code %s", ascii, code)
		}
	}
}

var sgr = regexp.MustCompile(`\x1b\[([0-9;:]*)m`)

// colourCodes returns the SGR parameters of s that set a colour: 30-38,
// 40-48, 90-97 and 100-107 (38 and 48 carry 256 and true colours).
func colourCodes(s string) []string {
	var out []string
	for _, m := range sgr.FindAllStringSubmatch(s, -1) {
		for _, p := range strings.FieldsFunc(m[1], func(r rune) bool { return r == ';' || r == ':' }) {
			n, _ := strconv.Atoi(p)
			if (n >= 30 && n <= 38) || (n >= 40 && n <= 48) || (n >= 90 && n <= 97) || (n >= 100 && n <= 107) {
				out = append(out, m[0][1:])
				break
			}
		}
	}
	return out
}

func TestDefault(t *testing.T) {
	dark, light := true, false
	tests := []struct {
		name string
		bg   *bool
		want string
	}{
		{"no reply from the terminal", nil, "dark"},
		{"dark background", &dark, "dark"},
		{"light background", &light, "light"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Default(tt.bg).Name; got != tt.want {
				t.Errorf("Default = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPhase(t *testing.T) {
	th, _ := Builtin("dark")
	tests := []struct {
		phase string
		style lipgloss.Style
		sym   string
	}{
		{"Healthy", th.Healthy, "✓"},
		{"Progressing", th.Progressing, "↻"},
		{"Paused", th.Paused, "‖"},
		{"Degraded", th.Degraded, "✗"},
		{"", th.Muted, "?"},
		{"Unknown", th.Muted, "?"},
	}
	for _, tt := range tests {
		st, sym := th.Phase(tt.phase)
		if sym != tt.sym || st.Render("x") != tt.style.Render("x") {
			t.Errorf("Phase(%q) = %q %q, want %q %q", tt.phase, st.Render("x"), sym, tt.style.Render("x"), tt.sym)
		}
	}
}

// TestPreviewGolden pins the look of every built-in theme, with Unicode and
// ASCII symbols. Run with -update to rewrite testdata/*.golden.
func TestPreviewGolden(t *testing.T) {
	for _, name := range BuiltinNames() {
		for _, ascii := range []bool{false, true} {
			file := name
			if ascii {
				file += "-ascii"
			}
			t.Run(file, func(t *testing.T) {
				th, _ := Builtin(name)
				got := th.WithSymbols(SymbolsFor(ascii)).Preview() + "\n"
				path := filepath.Join("testdata", file+".golden")
				if *update {
					if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test ./themes/ -update to create it)", err)
				}
				if got != string(want) {
					t.Errorf("preview of %s differs from %s (run with -update if intended)\ngot:\n%s\nwant:\n%s", file, path, got, want)
				}
			})
		}
	}
}
