package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// syncBuffer is written by the controller's goroutines while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestControllerNeedsTheCRD(t *testing.T) {
	c := newCluster(nil)
	_, errOut, code := c.run(t, "controller", "--metrics-addr", "")
	if code != 1 || !strings.Contains(errOut, "install the CRD with `roost install`") {
		t.Errorf("code %d %q", code, errOut)
	}
	_, errOut, code = c.run(t, "controller", "--workers", "0")
	if code != 1 || !strings.Contains(errOut, "--workers 0") {
		t.Errorf("code %d %q", code, errOut)
	}
}

func TestControllerLeadsServesAndStops(t *testing.T) {
	c := newCluster([]*unstructured.Unstructured{ro{ns: "shop", name: "checkout", phase: "Progressing"}.object()})
	c.kube.Resources = []*metav1.APIResourceList{{GroupVersion: "argoproj.io/v1alpha1", APIResources: []metav1.APIResource{{Name: "rollouts", Namespaced: true, Kind: "Rollout"}}}}
	var out, errOut syncBuffer
	a := newApp(&out, &errOut)
	a.connect = func() (*clients, error) {
		return &clients{Kube: c.kube, Dynamic: c.dyn, Namespace: "shop", User: "kube-user"}, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int)
	go func() {
		done <- execute(ctx, a, []string{"controller", "--metrics-addr", "127.0.0.1:0",
			"--lease-duration", "2s", "--renew-deadline", "1500ms", "--retry-period", "200ms"})
	}()
	addr := regexp.MustCompile(`serving /healthz and /metrics on (http://[0-9.:]+)`)
	var base string
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(errOut.String(), "leader: you (") || base == "" {
		if time.Now().After(deadline) {
			t.Fatalf("controller did not start leading:\n%s", errOut.String())
		}
		if m := addr.FindStringSubmatch(errOut.String()); m != nil {
			base = m[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	for path, want := range map[string]string{"/healthz": "ok\n", "/metrics": "go_goroutines"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("%s: %d %q", path, resp.StatusCode, body)
		}
	}
	lease, err := c.kube.CoordinationV1().Leases("shop").Get(context.Background(), "roost-controller", metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil || !strings.Contains(*lease.Spec.HolderIdentity, "@") {
		t.Errorf("lease = %+v, %v", lease, err)
	}

	// SIGTERM cancels the context: roost releases the Lease and exits 0.
	cancel()
	select {
	case code := <-done:
		if code != 0 || !strings.Contains(errOut.String(), "roost controller stopped") {
			t.Errorf("code %d\n%s", code, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("controller did not stop")
	}
	lease, err = c.kube.CoordinationV1().Leases("shop").Get(context.Background(), "roost-controller", metav1.GetOptions{})
	if err != nil || (lease.Spec.HolderIdentity != nil && *lease.Spec.HolderIdentity != "") {
		t.Errorf("lease not released: %+v %v", lease.Spec, err)
	}
}

// TestDiscoveryAskedOnce: the three start-up checks of argoproj.io/v1alpha1
// (Rollouts, AnalysisRuns, Argo CD's Applications) ask the cluster once.
func TestDiscoveryAskedOnce(t *testing.T) {
	c := newCluster(nil)
	c.kube.Resources = []*metav1.APIResourceList{{GroupVersion: "argoproj.io/v1alpha1", APIResources: []metav1.APIResource{
		{Name: "rollouts", Namespaced: true, Kind: "Rollout"}, {Name: "analysisruns", Namespaced: true, Kind: "AnalysisRun"}}}}
	cl := &clients{Kube: c.kube, Dynamic: c.dyn, Namespace: "shop"}
	if err := checkCRD(cl); err != nil {
		t.Fatal(err)
	}
	if !analysisRunsServed(cl) {
		t.Error("AnalysisRuns are served, but not found")
	}
	if applicationsServed(cl.Kube) {
		t.Error("Applications are not served, but found")
	}
	asked := 0
	for _, a := range c.kube.Actions() {
		if a.GetVerb() == "get" && a.GetResource().Resource == "resource" {
			asked++
		}
	}
	if asked != 1 {
		t.Errorf("argoproj.io/v1alpha1 discovered %d times, want once (%v)", asked, c.kube.Actions())
	}
}
