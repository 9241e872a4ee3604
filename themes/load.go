package themes

import (
	"errors"
	"fmt"
	"image/color"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"charm.land/lipgloss/v2"
	yaml "go.yaml.in/yaml/v3"
)

// Env is what Load reads from outside: the environment, the --ascii flag and
// the terminal's answer about its background.
type Env struct {
	// Getenv reads an environment variable; nil means os.Getenv.
	Getenv func(string) string
	// ASCII is set by --ascii; a locale that is not UTF-8 has the same effect.
	ASCII bool
	// DarkBackground is the terminal's answer to the background-colour query,
	// nil when it did not answer.
	DarkBackground *bool
}

func (e Env) getenv(k string) string {
	if e.Getenv == nil {
		return os.Getenv(k)
	}
	return e.Getenv(k)
}

// UseASCII reports whether symbols must be ASCII: --ascii was given or the
// locale is not UTF-8.
func (e Env) UseASCII() bool { return e.ASCII || !LocaleIsUTF8(e.getenv) }

// Dir is the directory user themes are read from:
// $XDG_CONFIG_HOME/roost/themes, or ~/.config/roost/themes when
// XDG_CONFIG_HOME is unset or relative (the XDG spec says to ignore a
// relative one). It is empty when there is neither that nor HOME.
func (e Env) Dir() string {
	base := e.getenv("XDG_CONFIG_HOME")
	if !filepath.IsAbs(base) {
		home := e.getenv("HOME")
		if home == "" {
			return ""
		}
		base = filepath.Join(home, ".config")
	}
	return filepath.Join(base, "roost", "themes")
}

// Level says how a Notice should be shown.
type Level int

const (
	// Info reports a choice made for the user, such as NO_COLOR selecting mono.
	Info Level = iota
	// Warning reports that the requested theme could not be used.
	Warning
)

// Notice is a message for the status line about how the theme was chosen.
// Its text names the file and line at fault and the fix.
type Notice struct {
	Level Level
	Text  string
}

func (n Notice) String() string { return n.Text }

// Load returns the theme called name, drawn with the symbols env calls for,
// and notices for the user. It never fails: when the theme cannot be used it
// returns the default theme and says why.
//
// An empty name means the default (Default). A non-empty NO_COLOR selects
// mono whatever name says. Built-in names take precedence; any other name is
// read from Env.Dir()/<name>.yaml, which may inherit a built-in and override
// its roles:
//
//	inherit: dark          # optional; the default theme when omitted
//	colors:
//	  canary: "#ff8700"    # hex must be quoted: # starts a YAML comment
//	  stable: 33           # an ANSI colour number 0-255
//	  warn: bright-yellow  # a basic colour name
//	  border: default      # no colour: the terminal's default
func Load(name string, env Env) (Theme, []Notice) {
	sym := SymbolsFor(env.UseASCII())
	fallback := Default(env.DarkBackground).WithSymbols(sym)

	if env.getenv("NO_COLOR") != "" {
		text := "NO_COLOR is set: using the mono theme"
		if name != "" && name != "mono" {
			text += fmt.Sprintf(" instead of %q; unset NO_COLOR to use it", name)
		}
		return build("mono", builtins["mono"], sym), []Notice{{Level: Info, Text: text}}
	}
	if name == "" {
		return fallback, nil
	}
	if p, ok := builtins[name]; ok {
		return build(name, p, sym), nil
	}
	warn := func(format string, args ...any) []Notice {
		text := fmt.Sprintf(format, args...) + "; using the " + fallback.Name + " theme"
		return []Notice{{Level: Warning, Text: text}}
	}
	if !validName.MatchString(name) {
		return fallback, warn("theme %q: a theme name has only letters, digits, - and _; available: %s",
			name, strings.Join(Names(env), ", "))
	}
	dir := env.Dir()
	if dir == "" {
		return fallback, warn("theme %q is not built in, and user themes cannot be found because neither XDG_CONFIG_HOME (absolute) nor HOME is set; available: %s",
			name, strings.Join(BuiltinNames(), ", "))
	}
	path := filepath.Join(dir, name+".yaml")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fallback, warn("theme %q: no built-in theme and no file %s; available: %s",
			name, path, strings.Join(Names(env), ", "))
	}
	if err != nil {
		return fallback, warn("theme file %s cannot be read (%v); make it a readable file", path, err)
	}

	f, problems := parseThemeFile(data)
	base := fallback.palette
	if f.inherit != "" {
		p, ok := builtins[f.inherit]
		if ok {
			base = p
		} else {
			problems = append(problems, problem{f.inheritLine, fmt.Sprintf(
				"inherit %q is not a built-in theme; use one of %s", f.inherit, strings.Join(BuiltinNames(), ", "))})
		}
	}
	if len(problems) > 0 {
		notices := make([]Notice, 0, len(problems))
		for _, p := range problems {
			where := path
			if p.line > 0 {
				where = fmt.Sprintf("%s line %d", path, p.line)
			}
			notices = append(notices, warn("theme file %s: %s", where, p.text)...)
		}
		return fallback, notices
	}
	return build(name, base.with(f.colors), sym), nil
}

// Names lists the themes --theme accepts: the built-ins, then the user
// themes found in Env.Dir(), sorted.
func Names(env Env) []string {
	names := BuiltinNames()
	dir := env.Dir()
	if dir == "" {
		return names
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return names // no directory simply means no user themes
	}
	var user []string
	for _, e := range entries {
		n, ok := strings.CutSuffix(e.Name(), ".yaml")
		if ok && !e.IsDir() && validName.MatchString(n) && !slices.Contains(names, n) {
			user = append(user, n)
		}
	}
	slices.Sort(user)
	return append(names, user...)
}

// validName keeps a theme name from reaching outside the themes directory.
var validName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// themeFile is a parsed user theme. A nil colour means "no colour".
type themeFile struct {
	inherit     string
	inheritLine int
	colors      map[Role]color.Color
}

// problem is one fault in a theme file, at a line (0 when unknown).
type problem struct {
	line int
	text string
}

// parseThemeFile reads a theme file and reports every fault it finds, with
// its line, so that one round of fixes is enough.
func parseThemeFile(data []byte) (themeFile, []problem) {
	f := themeFile{colors: map[Role]color.Color{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		p := yamlProblem(err)
		if strings.Contains(string(data), "\t") {
			p.text += " (indent with spaces: YAML does not allow tabs)"
		}
		return f, []problem{p}
	}
	if len(doc.Content) == 0 {
		return f, nil // an empty file is the inherited theme unchanged
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return f, []problem{{root.Line, `a theme file is a mapping with the keys "inherit" and "colors"`}}
	}
	var problems []problem
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, val := root.Content[i], root.Content[i+1]
		switch key.Value {
		case "inherit":
			if val.Kind != yaml.ScalarNode || val.Value == "" {
				problems = append(problems, problem{val.Line, fmt.Sprintf(
					"inherit must name a built-in theme: one of %s", strings.Join(BuiltinNames(), ", "))})
				continue
			}
			f.inherit, f.inheritLine = val.Value, val.Line
		case "colors", "colours":
			problems = append(problems, parseColors(val, f.colors)...)
		default:
			problems = append(problems, problem{key.Line, fmt.Sprintf(
				`unknown key %q; a theme file has only "inherit" and "colors"`, key.Value)})
		}
	}
	return f, problems
}

// yamlProblem turns a YAML syntax error ("yaml: line 3: could not find
// expected ':'") into a problem at that line.
func yamlProblem(err error) problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	var p problem
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, text, ok := strings.Cut(rest, ": "); ok {
			if line, err := strconv.Atoi(n); err == nil {
				p.line, msg = line, text
			}
		}
	}
	p.text = "YAML syntax error: " + msg + "; fix the YAML syntax"
	return p
}

func parseColors(node *yaml.Node, into map[Role]color.Color) []problem {
	if node.Kind != yaml.MappingNode {
		return []problem{{node.Line, `"colors" must map role names to colours, e.g. canary: "#ff8700"`}}
	}
	var problems []problem
	for i := 0; i+1 < len(node.Content); i += 2 {
		key, val := node.Content[i], node.Content[i+1]
		role := Role(key.Value)
		if !knownRole(role) {
			problems = append(problems, problem{key.Line, fmt.Sprintf(
				"unknown role %q; the roles are %s", key.Value, roleList())})
			continue
		}
		c, err := parseColor(val)
		if err != nil {
			problems = append(problems, problem{val.Line, fmt.Sprintf("role %q: %v", role, err)})
			continue
		}
		into[role] = c
	}
	return problems
}

func roleList() string {
	names := make([]string, len(allRoles))
	for i, r := range allRoles {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}

const colorFormats = `use "#rrggbb" (quoted), an ANSI colour number 0-255, a basic colour name such as red or bright-blue, or default for none`

// parseColor reads a colour value of a theme file. It returns nil, no error
// for "default" (the terminal's own colour).
func parseColor(n *yaml.Node) (color.Color, error) {
	if n.Kind != yaml.ScalarNode {
		return nil, fmt.Errorf("a colour is a single value; %s", colorFormats)
	}
	v := strings.TrimSpace(n.Value)
	switch {
	case v == "" && n.Tag == "!!null":
		// The usual cause: an unquoted #rrggbb, which YAML reads as a comment.
		return nil, fmt.Errorf(`no colour given; quote hex colours ("#ff8700"), since # starts a YAML comment`)
	case strings.HasPrefix(v, "#"):
		if isHex(v[1:]) && (len(v) == 7 || len(v) == 4) {
			return lipgloss.Color(v), nil
		}
	case isDigits(v):
		if i, err := strconv.Atoi(v); err == nil && i <= 255 {
			return lipgloss.Color(strconv.Itoa(i)), nil
		}
		return nil, fmt.Errorf("colour %s is not an ANSI colour number; %s", v, colorFormats)
	default:
		key := strings.NewReplacer("-", "", "_", "", " ", "").Replace(strings.ToLower(v))
		if key == "default" || key == "none" {
			return nil, nil
		}
		if c, ok := namedColors[key]; ok {
			return c, nil
		}
	}
	return nil, fmt.Errorf("colour %q is not a colour; %s", v, colorFormats)
}

func isHex(s string) bool {
	return s != "" && strings.Trim(s, "0123456789abcdefABCDEF") == ""
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// namedColors are the sixteen basic ANSI colours, whose exact shade the
// terminal decides.
var namedColors = map[string]color.Color{
	"black": lipgloss.Black, "red": lipgloss.Red, "green": lipgloss.Green, "yellow": lipgloss.Yellow,
	"blue": lipgloss.Blue, "magenta": lipgloss.Magenta, "cyan": lipgloss.Cyan, "white": lipgloss.White,
	"brightblack": lipgloss.BrightBlack, "gray": lipgloss.BrightBlack, "grey": lipgloss.BrightBlack,
	"brightred": lipgloss.BrightRed, "brightgreen": lipgloss.BrightGreen, "brightyellow": lipgloss.BrightYellow,
	"brightblue": lipgloss.BrightBlue, "brightmagenta": lipgloss.BrightMagenta, "brightcyan": lipgloss.BrightCyan,
	"brightwhite": lipgloss.BrightWhite,
}
