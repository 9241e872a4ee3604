package main

// Several clusters at once: --context a,b,c, --all-contexts, or clusters in
// the configuration put several kube contexts in scope of get, promote,
// abort, retry, pause, resume and wait. Each cluster is reached and acted
// on by itself, a few at a time; one that cannot be reached is said in one
// line and never holds up or stops the others. One context is today's
// roost, with today's output.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

const (
	// clustersAtOnce bounds how many clusters a command talks to at the
	// same time.
	clustersAtOnce = 8
	// defaultReachTimeout bounds the first call to each cluster, so that an
	// unreachable one is said after seconds, not after TCP's minutes.
	defaultReachTimeout = 10 * time.Second
	// manyContexts marks, in a command's annotations, the commands that
	// take several contexts.
	manyContexts = "roost.dev/contexts"
)

// manyContextCommands names them, for messages.
const manyContextCommands = "the cockpit, get, promote, abort, retry, pause, resume and wait"

// takesManyContexts adds --all-contexts to cmd and marks it as taking
// several contexts; more is what its help adds of its own.
func takesManyContexts(a *app, cmd *cobra.Command, more string) {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[manyContexts] = "yes"
	cmd.Flags().BoolVar(&a.allContexts, "all-contexts", false, "act in every context of the kubeconfig, one line per cluster and rollout (instead of --context a,b,c)")
	cmd.Long += `

--context a,b,c (or --all-contexts, or clusters: [a, b] in the configuration)
runs it in several clusters at once, each with the other flags' meaning there
(-n, -A, -l, --app, --project, --as…): one line per cluster and rollout, led by
the context's name. A cluster that cannot be reached gets one line saying so,
and the others go on. ` + more
}

// oneContextOnly refuses several contexts for a command that acts in one
// cluster, before anything is done.
func (a *app) oneContextOnly(cmd *cobra.Command) error {
	if cmd.Annotations[manyContexts] != "" || a.flags.Context == nil || !strings.Contains(*a.flags.Context, ",") {
		return nil
	}
	return fmt.Errorf("%s works in one cluster: give one --context NAME (several contexts are taken by %s)", cmd.CommandPath(), manyContextCommands)
}

// splitContexts reads --context a,b,c: names in the order given, each once.
func splitContexts(s string) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range strings.Split(s, ",") {
		n = strings.TrimSpace(n)
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// contexts are the kube contexts a command runs in: nil for one cluster
// (--context NAME or the current context, as kubectl picks it), else two
// or more in the order given. configPath is --config where the command has
// it. An unknown name fails here, before anything is done.
func (a *app) contexts(configPath string) ([]string, error) {
	flag := ""
	if a.flags.Context != nil {
		flag = strings.TrimSpace(*a.flags.Context)
	}
	var names []string
	from := "--context"
	switch {
	case a.allContexts && flag != "":
		return nil, errors.New("--context and --all-contexts both pick the clusters: give one of them")
	case a.allContexts:
		known, err := a.kubeContexts()
		if err != nil {
			return nil, err
		}
		if len(known) == 0 {
			return nil, fmt.Errorf("--all-contexts: kubeconfig %s has no contexts; add one (`kubectl config set-context`) or point roost at another file with --kubeconfig FILE", a.kubeconfigFiles())
		}
		names, from = known, "--all-contexts"
	case flag != "":
		names = splitContexts(flag)
		if len(names) == 0 {
			return nil, fmt.Errorf("--context %q names no context: give NAME, or several as a,b,c", flag)
		}
	default:
		cfg := a.config(configPath)
		names, from = cfg.Clusters, "clusters in "+cfg.File
	}
	if len(names) <= 1 {
		if len(names) == 1 && a.flags.Context != nil {
			// One cluster: today's roost, in that context.
			*a.flags.Context = names[0]
		}
		return nil, nil
	}
	known, err := a.kubeContexts()
	if err != nil {
		return nil, err
	}
	has := map[string]bool{}
	for _, k := range known {
		has[k] = true
	}
	var unknown []string
	for _, n := range names {
		if !has[n] {
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 {
		what := "no context " + unknown[0]
		if len(unknown) > 1 {
			what = "no contexts " + strings.Join(unknown, ", ")
		}
		list := "none"
		if len(known) > 0 {
			list = strings.Join(known, ", ")
		}
		return nil, fmt.Errorf("%s: kubeconfig %s has %s; nothing was done. Its contexts are: %s (see `kubectl config get-contexts`)", from, a.kubeconfigFiles(), what, list)
	}
	return names, nil
}

// kubeconfigContexts lists the contexts of the kubeconfig, sorted.
func (a *app) kubeconfigContexts() ([]string, error) {
	raw, err := a.flagsFor("").ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return nil, fmt.Errorf("reading kubeconfig %s: %w; fix it, or point roost elsewhere with --kubeconfig FILE", a.kubeconfigFiles(), err)
	}
	names := make([]string, 0, len(raw.Contexts))
	for n := range raw.Contexts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// flagsFor is kubectl's flags as given, in context name ("" for the
// current one); its client configuration is read afresh, never cached.
func (a *app) flagsFor(name string) *genericclioptions.ConfigFlags {
	f := a.flags
	g := genericclioptions.NewConfigFlags(false)
	g.CacheDir, g.KubeConfig = f.CacheDir, f.KubeConfig
	g.ClusterName, g.AuthInfoName, g.Namespace = f.ClusterName, f.AuthInfoName, f.Namespace
	g.APIServer, g.TLSServerName, g.Insecure = f.APIServer, f.TLSServerName, f.Insecure
	g.CertFile, g.KeyFile, g.CAFile, g.BearerToken = f.CertFile, f.KeyFile, f.CAFile, f.BearerToken
	g.Impersonate, g.ImpersonateUID, g.ImpersonateGroup, g.ImpersonateUserExtra = f.Impersonate, f.ImpersonateUID, f.ImpersonateGroup, f.ImpersonateUserExtra
	g.Username, g.Password, g.Timeout = f.Username, f.Password, f.Timeout
	g.DisableCompression, g.ProxyURL, g.WrapConfigFn = f.DisableCompression, f.ProxyURL, f.WrapConfigFn
	g.Context = &name
	return g
}

// reachCluster is the first call to a cluster, the server's version,
// given up after a.reachTimeout even when something under it does not
// heed its context (a credential plugin that hangs).
func (a *app) reachCluster(ctx context.Context, c *clients) error {
	ctx, cancel := context.WithTimeout(ctx, a.reachTimeout)
	defer cancel()
	answered := make(chan error, 1)
	go func() {
		_, err := c.Kube.Discovery().ServerVersionWithContext(ctx)
		answered <- err
	}()
	select {
	case err := <-answered:
		if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("no answer within %s", a.reachTimeout)
		}
		return err
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("no answer within %s", a.reachTimeout)
		}
		return ctx.Err()
	}
}

// unreachable says that the cluster of context name could not be reached,
// and what to do.
func unreachable(name string, c *clients, err error) error {
	where := ""
	if c != nil && c.Config != nil {
		where = " at " + c.Config.Host
	}
	if isAPIStatus(err) {
		return fmt.Errorf("the cluster%s refused roost's first call: %w; nothing was done there: check the credentials of context %s with `kubectl --context %s auth whoami`", where, err, name, name)
	}
	return fmt.Errorf("unreachable: the cluster%s did not answer: %w; nothing was done there: check it with `kubectl --context %s cluster-info`, or leave %s out of the contexts", where, err, name, name)
}

// clusterRun is what a command did in one cluster.
type clusterRun[T any] struct {
	// Context is the kube context's name.
	Context string
	Value   T
	// Err is why nothing (or not everything) was done there: the cluster
	// could not be reached, or the command failed there as a whole.
	Err error
}

// eachCluster connects to each context, a few at once, checks that its
// cluster answers, and runs fn there. The runs come back in the order of
// names, whatever order they finished in.
func eachCluster[T any](ctx context.Context, a *app, names []string, fn func(context.Context, *clients) (T, error)) []clusterRun[T] {
	out := make([]clusterRun[T], len(names))
	slots := make(chan struct{}, clustersAtOnce)
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			run := &out[i]
			run.Context = name
			c, err := a.connectContext(name)
			if err != nil {
				run.Err = err
				return
			}
			if err := a.reach(ctx, c); err != nil {
				run.Err = unreachable(name, c, err)
				return
			}
			run.Value, run.Err = fn(ctx, c)
		}()
	}
	wg.Wait()
	return out
}

// reportRun writes what went wrong in one cluster's run, each line led by
// its context: the failure that stopped it, or its warnings. It says
// whether the run has a value to use.
func reportRun(errOut io.Writer, context string, err error, warnings []string) bool {
	if err != nil {
		fmt.Fprintf(errOut, "%s: error: %v\n", context, err)
		return false
	}
	for _, w := range warnings {
		fmt.Fprintf(errOut, "%s: warning: %s\n", context, w)
	}
	return true
}

// lostClusters are the contexts whose runs failed as a whole.
func lostClusters[T any](runs []clusterRun[T]) []string {
	var out []string
	for _, r := range runs {
		if r.Err != nil {
			out = append(out, r.Context)
		}
	}
	return out
}

// lostError is the exit of a command whose clusters failed as a whole
// (each already said on its own line).
func lostError(lost []string, of int) error {
	return fmt.Errorf("%d of %d clusters could not be read or acted on (%s); see their lines above", len(lost), of, strings.Join(lost, ", "))
}
