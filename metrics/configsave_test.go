package metrics

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadArgoCDAndGrouping(t *testing.T) {
	d := Defaults()
	if d.Cockpit.Grouping != "none" || d.ArgoCD != (ArgoCDConfig{Namespace: "argocd", InstanceLabel: "app.kubernetes.io/instance"}) {
		t.Fatalf("defaults: grouping %q, argocd %+v", d.Cockpit.Grouping, d.ArgoCD)
	}
	c, err := Load(writeFile(t, t.TempDir(), "c.yaml", "cockpit:\n  grouping: Project\nargocd:\n  context: mgmt\n  namespace: gitops\n  instanceLabel: none\n"), envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Cockpit.Grouping != "project" || c.ArgoCD != (ArgoCDConfig{Context: "mgmt", Namespace: "gitops"}) {
		t.Fatalf("read grouping %q, argocd %+v", c.Cockpit.Grouping, c.ArgoCD)
	}
	for text, field := range map[string]string{
		"cockpit:\n  grouping: cluster\n":          "cockpit.grouping",
		"argocd:\n  namespace: Argo_CD\n":          "argocd.namespace",
		"argocd:\n  instanceLabel: 'bad label!'\n": "argocd.instanceLabel",
	} {
		_, err := Load(writeFile(t, t.TempDir(), "c.yaml", text), envOf(nil))
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%q: error %v, want one naming %s", text, err, field)
		}
	}
}

func TestSaveGroupingKeepsTheRestOfTheFile(t *testing.T) {
	dir := t.TempDir()
	text := "# my roost settings\ndatadog:\n  site: datadoghq.eu # EU account\ncockpit:\n  bell: off\n"
	p := writeFile(t, dir, "c.yaml", text)
	if err := SaveGrouping(p, "project"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	for _, want := range []string{"# my roost settings", "site: datadoghq.eu # EU account", "bell: off", "grouping: project"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("after SaveGrouping the file lacks %q:\n%s", want, got)
		}
	}
	if err := SaveGrouping(p, "application"); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p, envOf(nil))
	if err != nil || c.Cockpit.Grouping != "application" || c.Cockpit.Bell != "off" || c.Datadog.Site != "datadoghq.eu" {
		t.Fatalf("reloaded: %+v %+v (%v)", c.Cockpit, c.Datadog.Site, err)
	}
	if n := strings.Count(func() string { b, _ := os.ReadFile(p); return string(b) }(), "grouping:"); n != 1 {
		t.Fatalf("grouping written %d times", n)
	}

	// No file yet: it is created with its folder.
	fresh := filepath.Join(dir, "new", "roost", "config.yaml")
	if err := SaveGrouping(fresh, "application"); err != nil {
		t.Fatal(err)
	}
	if c, err := Load(fresh, envOf(nil)); err != nil || c.Cockpit.Grouping != "application" {
		t.Fatalf("new file: %+v (%v)", c.Cockpit, err)
	}

	// A broken file is left as it was.
	broken := writeFile(t, dir, "broken.yaml", "datadog: [\n")
	if err := SaveGrouping(broken, "project"); err == nil || !strings.Contains(err.Error(), "broken.yaml") {
		t.Fatalf("broken file: %v", err)
	}
	if b, _ := os.ReadFile(broken); string(b) != "datadog: [\n" {
		t.Fatalf("broken file rewritten: %q", b)
	}
}
