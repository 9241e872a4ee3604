//go:build e2e

// Package e2e runs roost against a real control plane (etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and kwok, see internal/cluster):
// one cluster per test binary run, one namespace per test. Run with
// `make e2e` (go test -tags e2e ./test/e2e/). ROOST_E2E_KEEP=1 keeps the
// cluster's folder (logs, kubeconfig) after the run.
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/roost-dev/roost/deploy"
	"github.com/roost-dev/roost/internal/cluster"
)

// env is the cluster every test shares; tests keep to their own namespace.
var env *cluster.Cluster

// binaries are the control plane's, for a second cluster.
var binaries cluster.Binaries

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	// Interrupts (Ctrl-C, CI cancelling the job) must still stop the cluster:
	// m.Run would not return, so the handler stops it and exits itself.
	// A SIGKILL cannot be caught; the components' parent-death signal covers it.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	begin := time.Now()
	bins, err := cluster.EnsureBinaries(ctx, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	built := time.Since(begin)
	c, err := cluster.Start(ctx, cluster.Options{Binaries: bins, Log: os.Stderr, KeepDir: os.Getenv("ROOST_E2E_KEEP") != ""})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	env, binaries = c, bins
	stopped := make(chan struct{})
	defer func() {
		close(stopped)
		stopSecondCluster()
		if err := c.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: stop cluster:", err)
		}
	}()
	go func() {
		select {
		case sig := <-sigs:
			fmt.Fprintf(os.Stderr, "e2e: %v: stopping the cluster\n", sig)
			stopSecondCluster()
			_ = c.Stop()
			os.Exit(130)
		case <-stopped:
		}
	}()
	fmt.Fprintf(os.Stderr, "e2e: binaries ready in %s, cluster started in %s\n",
		built.Round(10*time.Millisecond), (time.Since(begin) - built).Round(10*time.Millisecond))

	if err := deploy.Install(ctx, c.RESTConfig(), os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	code := m.Run()
	reportRSS(c)
	if code != 0 {
		c.Keep()
		fmt.Fprintf(os.Stderr, "e2e: tests failed; the cluster's logs are kept in %s\n", c.Dir+"/logs")
		if s := second.c; s != nil {
			s.Keep()
			fmt.Fprintf(os.Stderr, "e2e: the second cluster's logs are kept in %s\n", s.Dir+"/logs")
		}
	}
	return code
}

// reportRSS prints each component's memory after the suite, for the
// README's figures.
func reportRSS(c *cluster.Cluster) {
	rss := c.RSS()
	names := make([]string, 0, len(rss))
	var total int64
	for n, b := range rss {
		names = append(names, n)
		total += b
	}
	sort.Strings(names)
	line := "e2e: cluster RSS after the suite:"
	for _, n := range names {
		line += fmt.Sprintf(" %s %d MB,", n, rss[n]>>20)
	}
	fmt.Fprintf(os.Stderr, "%s total %d MB\n", line, total>>20)
}
