package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/charmbracelet/colorprofile"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/tui"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// TestColorProfile: the terminal's colours from TERM, COLORTERM and
// NO_COLOR only; tmux and terminfo are not asked.
func TestColorProfile(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want colorprofile.Profile
	}{
		{map[string]string{"TERM": "xterm"}, colorprofile.ANSI},
		{map[string]string{"TERM": "screen"}, colorprofile.ANSI},
		{map[string]string{"TERM": "screen", "TMUX": "/tmp/tmux-1000/default,1,0"}, colorprofile.ANSI},
		{map[string]string{"TERM": "tmux"}, colorprofile.ANSI},
		{map[string]string{"TERM": "linux"}, colorprofile.ANSI},
		{map[string]string{"TERM": "xterm-256color"}, colorprofile.ANSI256},
		{map[string]string{"TERM": "screen-256color"}, colorprofile.ANSI256},
		{map[string]string{"TERM": "tmux-256color"}, colorprofile.ANSI256},
		{map[string]string{"TERM": "xterm-256color", "COLORTERM": "truecolor"}, colorprofile.TrueColor},
		{map[string]string{"TERM": "xterm", "COLORTERM": "24bit"}, colorprofile.TrueColor},
		{map[string]string{"TERM": "xterm-direct"}, colorprofile.TrueColor},
		{map[string]string{"TERM": "xterm-256color", "COLORTERM": "truecolor", "NO_COLOR": "1"}, colorprofile.Ascii},
		{map[string]string{"TERM": "dumb"}, colorprofile.Ascii},
		{map[string]string{}, colorprofile.Ascii},
	} {
		if got := colorProfile(envOf(c.env)); got != c.want {
			t.Errorf("%v: %v, want %v", c.env, got, c.want)
		}
	}
}

func TestBellOf(t *testing.T) {
	for _, c := range []struct {
		flag, config string
		want         tui.Bell
	}{
		{"", "", tui.BellRing},
		{"", "notify", tui.BellNotify},
		{"", "off", tui.BellOff},
		{"off", "notify", tui.BellOff},
		{"notify", "", tui.BellNotify},
	} {
		if got := bellOf(c.flag, c.config); got != c.want {
			t.Errorf("--bell %q, cockpit.bell %q: %v, want %v", c.flag, c.config, got, c.want)
		}
	}
	for _, c := range []struct {
		env  map[string]string
		want tui.BellTerminal
	}{
		{map[string]string{"TERM": "xterm-256color"}, tui.BellTerminal{}},
		{map[string]string{"TERM": "xterm-256color", "VTE_VERSION": "7600"}, tui.BellTerminal{OSC777: true}},
		{map[string]string{"TERM": "rxvt-unicode-256color"}, tui.BellTerminal{OSC777: true}},
		{map[string]string{"TERM": "foot"}, tui.BellTerminal{OSC777: true}},
		{map[string]string{"TERM": "tmux-256color", "TMUX": "/tmp/tmux-1000/default,1,0"}, tui.BellTerminal{Tmux: true}},
	} {
		if got := bellTerminal(envOf(c.env)); got != c.want {
			t.Errorf("%v: %+v, want %+v", c.env, got, c.want)
		}
	}
}

// TestBellFromTheConfigFile: cockpit.bell in the file reaches the cockpit
// when --bell is not given.
func TestBellFromTheConfigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte("cockpit:\n  bell: off\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv := envOf(map[string]string{"HOME": t.TempDir()})
	cfg, err := metrics.Load(path, getenv)
	if err != nil {
		t.Fatal(err)
	}
	ev := newEvidence(context.Background(), &clients{Kube: kubefake.NewClientset()}, evidenceSources{config: cfg, getenv: getenv})
	if got := bellOf("", ev.bell); got != tui.BellOff {
		t.Errorf("cockpit.bell off in the file: the cockpit's bell is %v", got)
	}
	if got := bellOf("notify", ev.bell); got != tui.BellNotify {
		t.Errorf("--bell notify over the file's off: %v", got)
	}
}
