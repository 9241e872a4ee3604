package themes

import (
	"image/color"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"charm.land/lipgloss/v2"
)

// userThemes writes theme files into a fresh config directory and returns
// an environment that points XDG_CONFIG_HOME at it, in a UTF-8 locale.
func userThemes(t *testing.T, files map[string]string) (Env, string) {
	t.Helper()
	config := t.TempDir()
	dir := filepath.Join(config, "roost", "themes")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return Env{Getenv: mapEnv(map[string]string{"XDG_CONFIG_HOME": config, "LANG": "en_US.UTF-8"})}, dir
}

func TestLoadBuiltins(t *testing.T) {
	env := Env{Getenv: mapEnv(map[string]string{"LANG": "en_US.UTF-8"})}
	for _, name := range BuiltinNames() {
		th, notices := Load(name, env)
		if th.Name != name || len(notices) != 0 {
			t.Errorf("Load(%q) = %q, %v; want the built-in and no notice", name, th.Name, notices)
		}
	}
	if th, notices := Load("", env); th.Name != "dark" || len(notices) != 0 {
		t.Errorf(`Load("") = %q, %v; want dark and no notice`, th.Name, notices)
	}
	light := false
	env.DarkBackground = &light
	if th, _ := Load("", env); th.Name != "light" {
		t.Errorf(`Load("") on a light background = %q, want light`, th.Name)
	}
}

func TestLoadNoColor(t *testing.T) {
	for _, tt := range []struct {
		name, want string // want: text the notice must contain
	}{
		{"", "NO_COLOR is set: using the mono theme"},
		{"mono", "NO_COLOR is set: using the mono theme"},
		{"light", `instead of "light"; unset NO_COLOR to use it`},
		{"ocean", `instead of "ocean"`},
		{"does-not-exist", `instead of "does-not-exist"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env, _ := userThemes(t, map[string]string{"ocean.yaml": "inherit: dark\n"})
			get := env.Getenv
			env.Getenv = func(k string) string {
				if k == "NO_COLOR" {
					return "1"
				}
				return get(k)
			}
			th, notices := Load(tt.name, env)
			if th.Name != "mono" {
				t.Errorf("theme = %q, want mono", th.Name)
			}
			if len(notices) != 1 || notices[0].Level != Info || !strings.Contains(notices[0].Text, tt.want) {
				t.Errorf("notices = %v, want one Info containing %q", notices, tt.want)
			}
			if codes := colourCodes(th.Preview()); len(codes) > 0 {
				t.Errorf("NO_COLOR theme renders colours: %v", codes)
			}
		})
	}
}

// TestLoadProcessEnv covers the nil Getenv: Load reads the real environment.
func TestLoadProcessEnv(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	if th, notices := Load("dark", Env{}); th.Name != "mono" || len(notices) != 1 {
		t.Errorf("Load with NO_COLOR in the process environment = %q, %v; want mono and a notice", th.Name, notices)
	}
}

func TestLoadSymbols(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		ascii bool // --ascii
		want  Symbols
	}{
		{"UTF-8 locale", map[string]string{"LANG": "en_US.UTF-8"}, false, SymbolsFor(false)},
		{"--ascii in a UTF-8 locale", map[string]string{"LANG": "en_US.UTF-8"}, true, SymbolsFor(true)},
		{"C locale", map[string]string{"LANG": "C"}, false, SymbolsFor(true)},
		{"no locale at all", nil, false, SymbolsFor(true)},
		{"NO_COLOR in the C locale", map[string]string{"NO_COLOR": "1"}, false, SymbolsFor(true)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th, _ := Load("dark", Env{Getenv: mapEnv(tt.env), ASCII: tt.ascii})
			if !reflect.DeepEqual(th.Symbols, tt.want) {
				t.Errorf("symbols = %+v, want %+v", th.Symbols, tt.want)
			}
			if th.Panel.GetBorderStyle() != tt.want.Border {
				t.Errorf("panel border does not follow the symbols")
			}
		})
	}
}

func TestLoadUserTheme(t *testing.T) {
	light := false
	base := func(name string) palette { return builtins[name] }
	tests := []struct {
		name  string
		file  string
		bg    *bool
		check map[Role]color.Color // roles and the colour they must have (nil: none)
	}{
		{
			name: "inherit light, override canary",
			file: "inherit: light\ncolors:\n  canary: \"#ff8700\"\n",
			check: map[Role]color.Color{
				RoleCanary: lipgloss.Color("#ff8700"), RoleStable: base("light")[RoleStable], RoleText: base("light")[RoleText],
			},
		},
		{
			name:  "no inherit follows the dark default",
			file:  "colors:\n  stable: 33\n",
			check: map[Role]color.Color{RoleStable: lipgloss.ANSIColor(33), RoleCanary: base("dark")[RoleCanary]},
		},
		{
			name:  "no inherit on a light terminal follows light",
			file:  "colors:\n  stable: 33\n",
			bg:    &light,
			check: map[Role]color.Color{RoleStable: lipgloss.ANSIColor(33), RoleText: base("light")[RoleText]},
		},
		{
			name: "basic names, short hex, British key",
			file: "inherit: colorblind\ncolours:\n  warn: Bright-Yellow\n  bad: red\n  ok: \"#0f0\"\n  muted: grey\n  accent: 7\n",
			check: map[Role]color.Color{
				RoleWarn: lipgloss.BrightYellow, RoleBad: lipgloss.Red, RoleOK: lipgloss.Color("#00ff00"),
				RoleMuted: lipgloss.BrightBlack, RoleAccent: lipgloss.White, RoleStable: base("colorblind")[RoleStable],
			},
		},
		{
			name:  "default removes a colour",
			file:  "inherit: dark\ncolors:\n  selectedBg: default\n  border: none\n",
			check: map[Role]color.Color{RoleSelectedBg: nil, RoleBorder: nil, RoleText: base("dark")[RoleText]},
		},
		{
			name:  "inherit mono and colour only the canary",
			file:  "inherit: mono\ncolors:\n  canary: magenta\n",
			check: map[Role]color.Color{RoleCanary: lipgloss.Magenta, RoleStable: nil, RoleText: nil},
		},
		{
			name:  "an empty file is the default theme",
			file:  "",
			check: map[Role]color.Color{RoleStable: base("dark")[RoleStable]},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _ := userThemes(t, map[string]string{"mine.yaml": tt.file})
			env.DarkBackground = tt.bg
			th, notices := Load("mine", env)
			if len(notices) != 0 {
				t.Fatalf("notices = %v, want none", notices)
			}
			if th.Name != "mine" {
				t.Errorf("Name = %q, want mine", th.Name)
			}
			for r, want := range tt.check {
				if got := th.Color(r); !reflect.DeepEqual(got, want) {
					t.Errorf("role %s = %#v, want %#v", r, got, want)
				}
			}
		})
	}

	t.Run("removing selectedBg falls back to reverse video", func(t *testing.T) {
		env, _ := userThemes(t, map[string]string{"mine.yaml": "colors:\n  selectedBg: default\n"})
		th, _ := Load("mine", env)
		if !th.Selected.GetReverse() {
			t.Error("Selected has no background and no reverse video")
		}
	})

	for _, xdg := range []string{"", "relative/config"} {
		t.Run("HOME/.config when XDG_CONFIG_HOME is "+strconv.Quote(xdg), func(t *testing.T) {
			home := t.TempDir()
			dir := filepath.Join(home, ".config", "roost", "themes")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "mine.yaml"), []byte("colors:\n  canary: red\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			th, notices := Load("mine", Env{Getenv: mapEnv(map[string]string{"HOME": home, "XDG_CONFIG_HOME": xdg})})
			if th.Name != "mine" || len(notices) != 0 || th.Color(RoleCanary) != lipgloss.Red {
				t.Errorf("Load = %q canary %v, %v; want mine with a red canary", th.Name, th.Color(RoleCanary), notices)
			}
		})
	}
}

func TestNames(t *testing.T) {
	env, dir := userThemes(t, map[string]string{
		"zebra.yaml": "", "ocean.yaml": "", "dark.yaml": "", "notes.txt": "", "bad name.yaml": "",
	})
	if err := os.Mkdir(filepath.Join(dir, "sub.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	want := []string{"dark", "light", "high-contrast", "colorblind", "mono", "ocean", "zebra"}
	if got := Names(env); !reflect.DeepEqual(got, want) {
		t.Errorf("Names = %v, want %v", got, want)
	}
	if got := Names(Env{Getenv: mapEnv(map[string]string{"XDG_CONFIG_HOME": "relative/dir"})}); !reflect.DeepEqual(got, BuiltinNames()) {
		t.Errorf("Names with a relative XDG_CONFIG_HOME and no HOME = %v, want the built-ins", got)
	}
	if got := Names(Env{Getenv: mapEnv(nil)}); !reflect.DeepEqual(got, BuiltinNames()) {
		t.Errorf("Names without a config dir = %v, want the built-ins", got)
	}
}

// TestLoadBadFiles: whatever is wrong, Load returns the default theme and
// notices that name the file, the line or role at fault, and the fix.
func TestLoadBadFiles(t *testing.T) {
	tests := []struct {
		name  string
		theme string            // --theme value
		file  string            // contents of <theme>.yaml; "" with dir set means a directory
		dir   bool              // <theme>.yaml is a directory, so it cannot be read
		env   map[string]string // replaces the environment when set
		want  [][]string        // per notice, the fragments it must contain
	}{
		{
			name:  "missing file",
			theme: "nosuch",
			want: [][]string{{`theme "nosuch": no built-in theme and no file `, "nosuch.yaml",
				"available: dark, light, high-contrast, colorblind, mono, ocean"}},
		},
		{
			name:  "unreadable file",
			theme: "broken",
			dir:   true,
			want:  [][]string{{"broken.yaml cannot be read", "is a directory", "make it a readable file"}},
		},
		{
			name:  "bad YAML",
			theme: "broken",
			file:  "colors:\n  canary: red\n stable: blue\n",
			// yaml.v3 reports the line where the broken mapping starts.
			want: [][]string{{"broken.yaml line 2", "YAML syntax error: did not find expected key", "fix the YAML syntax"}},
		},
		{
			name:  "YAML indented with a tab",
			theme: "broken",
			file:  "colors:\n\tcanary: red\n",
			want:  [][]string{{"broken.yaml line 2", "YAML syntax error", "indent with spaces"}},
		},
		{
			name:  "unknown role",
			theme: "broken",
			file:  "inherit: dark\ncolors:\n  canery: red\n",
			want:  [][]string{{"broken.yaml line 3", `unknown role "canery"`, "the roles are text, muted, border"}},
		},
		{
			name:  "bad colour",
			theme: "broken",
			file:  "colors:\n  canary: \"#ff88\"\n",
			want:  [][]string{{"broken.yaml line 2", `role "canary"`, `colour "#ff88" is not a colour`, `use "#rrggbb"`}},
		},
		{
			name:  "unquoted hex colour read as a YAML comment",
			theme: "broken",
			file:  "colors:\n  canary: #ff8800\n",
			want:  [][]string{{"broken.yaml line 2", `role "canary"`, "quote hex colours"}},
		},
		{
			name:  "ANSI number out of range",
			theme: "broken",
			file:  "colors:\n  stable: 300\n",
			want:  [][]string{{"broken.yaml line 2", `role "stable"`, "300 is not an ANSI colour number", "0-255"}},
		},
		{
			name:  "unknown colour name",
			theme: "broken",
			file:  "colors:\n  stable: teal\n",
			want:  [][]string{{"broken.yaml line 2", `colour "teal" is not a colour`, "basic colour name"}},
		},
		{
			name:  "colour given as a list",
			theme: "broken",
			file:  "colors:\n  stable: [1, 2]\n",
			want:  [][]string{{"broken.yaml line 2", "a colour is a single value"}},
		},
		{
			name:  "unknown inherit",
			theme: "broken",
			file:  "inherit: drak\n",
			want:  [][]string{{"broken.yaml line 1", `inherit "drak" is not a built-in theme`, "use one of dark, light, high-contrast, colorblind, mono"}},
		},
		{
			name:  "inherit a user theme",
			theme: "broken",
			file:  "inherit: ocean\n",
			want:  [][]string{{"broken.yaml line 1", `inherit "ocean" is not a built-in theme`}},
		},
		{
			name:  "inherit is a list",
			theme: "broken",
			file:  "inherit: [dark]\n",
			want:  [][]string{{"broken.yaml line 1", "inherit must name a built-in theme: one of dark, light"}},
		},
		{
			name:  "unknown top-level key",
			theme: "broken",
			file:  "inherit: dark\npalette:\n  canary: red\n",
			want:  [][]string{{"broken.yaml line 2", `unknown key "palette"`, `only "inherit" and "colors"`}},
		},
		{
			name:  "not a mapping",
			theme: "broken",
			file:  "- dark\n- light\n",
			want:  [][]string{{"broken.yaml line 1", "a theme file is a mapping"}},
		},
		{
			name:  "colors not a mapping",
			theme: "broken",
			file:  "colors: red\n",
			want:  [][]string{{"broken.yaml line 1", `"colors" must map role names to colours`}},
		},
		{
			name:  "every fault is reported at once",
			theme: "broken",
			file:  "inherit: drak\ncolors:\n  canery: red\n  stable: \"#12\"\n",
			want: [][]string{
				{"line 3", `unknown role "canery"`},
				{"line 4", `role "stable"`},
				{"line 1", `inherit "drak"`},
			},
		},
		{
			name:  "a name that would leave the themes directory",
			theme: "../../etc/passwd",
			want:  [][]string{{`theme "../../etc/passwd"`, "only letters, digits, - and _", "available: dark"}},
		},
		{
			name:  "no XDG_CONFIG_HOME and no HOME",
			theme: "ocean",
			env:   map[string]string{"LANG": "en_US.UTF-8"},
			want:  [][]string{{`theme "ocean" is not built in`, "neither XDG_CONFIG_HOME (absolute) nor HOME is set", "available: dark, light"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"ocean.yaml": "inherit: dark\n"}
			if tt.theme == "broken" && !tt.dir {
				files["broken.yaml"] = tt.file
			}
			env, dir := userThemes(t, files)
			if tt.dir {
				if err := os.Mkdir(filepath.Join(dir, tt.theme+".yaml"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if tt.env != nil {
				env.Getenv = mapEnv(tt.env)
			}
			th, notices := Load(tt.theme, env)
			if want := Default(nil); th.Name != want.Name || th.Stable.Render("x") != want.Stable.Render("x") {
				t.Errorf("theme = %q, want the default %q", th.Name, want.Name)
			}
			if len(notices) != len(tt.want) {
				t.Fatalf("got %d notices, want %d:\n%s", len(notices), len(tt.want), noticeText(notices))
			}
			for i, n := range notices {
				if n.Level != Warning {
					t.Errorf("notice %d level = %v, want Warning", i, n.Level)
				}
				for _, frag := range append(tt.want[i], "; using the dark theme") {
					if !strings.Contains(n.Text, frag) {
						t.Errorf("notice %d lacks %q:\n%s", i, frag, n.Text)
					}
				}
			}
		})
	}

	t.Run("the fallback follows a light background", func(t *testing.T) {
		env, _ := userThemes(t, map[string]string{"broken.yaml": "inherit: drak\n"})
		light := false
		env.DarkBackground = &light
		th, notices := Load("broken", env)
		if th.Name != "light" || len(notices) != 1 || !strings.HasSuffix(notices[0].Text, "; using the light theme") {
			t.Errorf("Load = %q, %v; want light and a notice saying so", th.Name, notices)
		}
	})
}

func noticeText(ns []Notice) string {
	var b strings.Builder
	for _, n := range ns {
		b.WriteString(n.String() + "\n")
	}
	return b.String()
}
