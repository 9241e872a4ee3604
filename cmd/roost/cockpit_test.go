package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/roost-dev/roost/internal/demo"
	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/watch"
)

// The cockpit starts grouped as cockpit.grouping says, and v remembers a
// new grouping in the file the configuration came from, keeping the rest.
func TestCockpitGroupingFromTheConfiguration(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	const file = "# the on-call's settings\ncockpit:\n  bell: off\n  grouping: project\ndatadog:\n  site: datadoghq.eu\n"
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := metrics.Load(path, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	g, save := cockpitGrouping(cfg, &cockpitOptions{config: path})
	if g != watch.GroupProject {
		t.Errorf("cockpit.grouping project: the cockpit starts with %q", g)
	}
	if err := save(watch.GroupApplication); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	for _, want := range []string{"# the on-call's settings", "bell: off", "grouping: application", "site: datadoghq.eu"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("after v the file lacks %q:\n%s", want, got)
		}
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("the file's mode became %v", st.Mode().Perm())
	}
	// A grouping the caller sets (the demo may) wins at start.
	if g, _ := cockpitGrouping(cfg, &cockpitOptions{config: path, grouping: watch.GroupNone}); g != watch.GroupNone {
		t.Errorf("o.grouping none: the cockpit starts with %q", g)
	}

	// No file yet: nothing is written until v, then the default file is.
	xdg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", xdg)
	cfg, _ = metrics.Load("", os.Getenv)
	g, save = cockpitGrouping(cfg, &cockpitOptions{})
	want := filepath.Join(xdg, "roost", "config.yaml")
	if _, err := os.Stat(want); g != watch.GroupNone || !os.IsNotExist(err) {
		t.Fatalf("without a file: grouping %q, %s stat %v; want none and no file", g, want, err)
	}
	if err := save(watch.GroupProject); err != nil {
		t.Fatal(err)
	}
	if c, err := metrics.Load("", os.Getenv); err != nil || c.Cockpit.Grouping != "project" || c.File != want {
		t.Errorf("after v: %s grouping %q (%v)", c.File, c.Cockpit.Grouping, err)
	}
}

// demoWithConfig builds the demo's cockpit with file as the person's
// configuration ($XDG_CONFIG_HOME/roost/config.yaml, returned), and
// --argocd-context prod-mgmt-flag; asked records the kube contexts roost
// reached for.
func demoWithConfig(t *testing.T, file string) (ck *cockpit, path string, asked *[]string) {
	t.Helper()
	xdg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", xdg)
	path = filepath.Join(xdg, "roost", "config.yaml")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := demo.New(demo.Options{Speed: 10, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	a := newApp(&bytes.Buffer{}, &bytes.Buffer{})
	a.argoContext = "prod-mgmt-flag"
	asked = &[]string{}
	a.contextClientsFor = func(name string) (kubernetes.Interface, dynamic.Interface, error) {
		*asked = append(*asked, name)
		return nil, nil, os.ErrPermission
	}
	c, co := a.demoCockpit(w, &demoOptions{theme: "mono"})
	ck, err = a.buildCockpit(ctx, c, co, demo.ContextName)
	if err != nil {
		t.Fatal(err)
	}
	return ck, path, asked
}

// The demo reads Argo CD in its simulated cluster only, whatever
// --argocd-context or argocd.context name: nothing it does reaches a real
// cluster.
func TestDemoReadsArgoCDInItsOwnCluster(t *testing.T) {
	ck, _, asked := demoWithConfig(t, "argocd:\n  context: prod-mgmt\n")
	if len(*asked) > 0 {
		t.Errorf("the demo reached for kube contexts %q", *asked)
	}
	for _, n := range ck.opts.Notices {
		if strings.Contains(n.Text, "prod-mgmt") {
			t.Errorf("the demo speaks of the real Argo CD context: %s", n.Text)
		}
	}
}

// The demo starts grouped as the person's configuration says, and writes
// the file only when v is pressed.
func TestDemoGroupingWritesOnlyOnV(t *testing.T) {
	const file = "cockpit:\n  grouping: application\n"
	ck, path, _ := demoWithConfig(t, file)
	if ck.opts.Grouping != watch.GroupApplication || ck.opts.SaveGrouping == nil {
		t.Errorf("the demo starts with grouping %q (save %v); want the configuration's application", ck.opts.Grouping, ck.opts.SaveGrouping != nil)
	}
	if got, _ := os.ReadFile(path); string(got) != file {
		t.Errorf("building the demo's cockpit changed the configuration:\n%s", got)
	}
	if err := ck.opts.SaveGrouping(watch.GroupProject); err != nil {
		t.Fatal(err)
	}
	if c, err := metrics.Load("", os.Getenv); err != nil || c.Cockpit.Grouping != "project" {
		t.Errorf("after v in the demo: grouping %q (%v)", c.Cockpit.Grouping, err)
	}
}

// TestDashboardStopped: quitting and interrupts end roost with no error; a
// panic the dashboard recovered is an error (roost exits 1) that says it
// was a bug and what to do, never a quiet exit 0 that looks like a quit;
// any other failure is named.
func TestDashboardStopped(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string // "" for no error
	}{
		{"quit", nil, ""},
		{"interrupted", fmt.Errorf("%w: %w", tea.ErrProgramKilled, context.Canceled), ""},
		{"killed", tea.ErrProgramKilled, ""},
		{"panicked", fmt.Errorf("%w: %w", tea.ErrProgramKilled, tea.ErrProgramPanic),
			"roost stopped on a bug: the report above says where. The canaries stay where they are, and another roost or roost controller can step them now. Start roost again, and report the bug with the lines above"},
		{"terminal", errors.New("open /dev/tty: no such device"), "the dashboard stopped: open /dev/tty: no such device"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := dashboardStopped(tc.err)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("dashboardStopped(%v) = %v, want no error", tc.err, err)
			case tc.want != "" && (err == nil || err.Error() != tc.want):
				t.Errorf("dashboardStopped(%v) = %v, want %q", tc.err, err, tc.want)
			}
		})
	}
}
