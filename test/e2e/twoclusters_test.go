//go:build e2e

package e2e

// A second control plane for the tests across clusters: started by the
// first test that asks for it (about 1.5 GB more, so only then), stopped
// with the first by TestMain, and a kubeconfig with both as contexts.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/roost-dev/roost/deploy"
	"github.com/roost-dev/roost/internal/cluster"
)

// The two clusters' contexts in twoClusters' kubeconfig: env, then the
// second.
const (
	contextA = "roost-a"
	contextB = "roost-b"
)

// second is the second cluster, once started.
var second struct {
	once sync.Once
	c    *cluster.Cluster
	// kubeconfig has both clusters: contextA (env, current) and contextB.
	kubeconfig string
	err        error
	mu         sync.Mutex
}

// twoClusters starts the second cluster on first use and returns it with
// the kubeconfig of both.
func twoClusters(t testing.TB) (*cluster.Cluster, string) {
	t.Helper()
	second.once.Do(func() {
		began := time.Now()
		ctx := context.Background()
		c, err := cluster.Start(ctx, cluster.Options{Binaries: binaries, Log: os.Stderr, KeepDir: os.Getenv("ROOST_E2E_KEEP") != ""})
		if err != nil {
			second.err = fmt.Errorf("second cluster: %w", err)
			return
		}
		second.mu.Lock()
		second.c = c
		second.mu.Unlock()
		if err := deploy.Install(ctx, c.RESTConfig(), os.Stderr); err != nil {
			second.err = fmt.Errorf("second cluster: %w", err)
			return
		}
		second.kubeconfig, second.err = mergeKubeconfigs(filepath.Join(env.Dir, "two-clusters.kubeconfig"), map[string]string{contextA: env.Kubeconfig, contextB: c.Kubeconfig})
		fmt.Fprintf(os.Stderr, "e2e: second cluster ready in %s\n", time.Since(began).Round(10*time.Millisecond))
	})
	if second.err != nil {
		t.Fatal(second.err)
	}
	return second.c, second.kubeconfig
}

// stopSecondCluster stops the second cluster if it was started.
func stopSecondCluster() {
	second.mu.Lock()
	c := second.c
	second.mu.Unlock()
	if c == nil {
		return
	}
	if err := c.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: stop the second cluster:", err)
	}
}

// mergeKubeconfigs writes to path a kubeconfig whose contexts are the keys
// of files, each the current context of its file; the first in sort order
// is current.
func mergeKubeconfigs(path string, files map[string]string) (string, error) {
	out := clientcmdapi.NewConfig()
	for name, file := range files {
		cfg, err := clientcmd.LoadFromFile(file)
		if err != nil {
			return "", err
		}
		cur := cfg.Contexts[cfg.CurrentContext]
		if cur == nil {
			return "", fmt.Errorf("kubeconfig %s has no current context", file)
		}
		out.Clusters[name] = cfg.Clusters[cur.Cluster]
		out.AuthInfos[name] = cfg.AuthInfos[cur.AuthInfo]
		out.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name, Namespace: cur.Namespace}
		if out.CurrentContext == "" || name < out.CurrentContext {
			out.CurrentContext = name
		}
	}
	return path, clientcmd.WriteToFile(*out, path)
}

// sameNamespace creates namespace ns in c too (deleted when the test ends).
func sameNamespace(t testing.TB, c *cluster.Cluster, ns string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.Client().CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s in the second cluster: %v", ns, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.Client().CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
			t.Errorf("delete namespace %s in the second cluster: %v", ns, err)
		}
	})
}

// dynamicOf is a dynamic client of c.
func dynamicOf(t testing.TB, c *cluster.Cluster) dynamic.Interface {
	t.Helper()
	d, err := dynamic.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	return d
}
