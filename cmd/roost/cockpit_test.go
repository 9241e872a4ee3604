package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/roost-dev/roost/internal/demo"
)

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
