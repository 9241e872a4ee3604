package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/controller"
	"github.com/roost-dev/roost/election"
	"github.com/roost-dev/roost/metrics"
)

type controllerOptions struct {
	workers        int
	metricsAddr    string
	selector       string
	resync         time.Duration
	leaseNamespace string
	leaseName      string
	leaseDuration  time.Duration
	renewDeadline  time.Duration
	retryPeriod    time.Duration
	config         string
}

func newControllerCommand(a *app) *cobra.Command {
	o := &controllerOptions{}
	cmd := &cobra.Command{
		Use:   "controller",
		Short: "Run the reconciler headless, leader-elected (for in-cluster use)",
		Long: `Run roost's reconciler without the dashboard, so canaries keep stepping when nobody
has a terminal open. It reconciles the Rollouts of the namespace (-n, or every
namespace with -A), optionally only those matching -l.

Of several roost processes exactly one reconciles: they campaign for the Lease
roost-controller (coordination.k8s.io) in --lease-namespace; when the leader dies
another takes over within --lease-duration, at once when it quits cleanly.

It never steps a canary beside a live Argo Rollouts controller: while one is seen
(its Lease, its running pods, or status writes to Rollouts by another field manager
in the last 30s) it does not campaign, and a leader that sees one appear stops
within seconds and releases the Lease.

AnalysisRuns of the Rollouts' analysis are measured here too (Datadog and web
metrics). For canaries without analysis, roost's judge compares canary and
stable on Datadog and, after judge.rounds failing rounds in a row, holds the
canary (judge.gate: hold, the default), aborts it (abort) or only reports (off);
--config names the file with the datadog and judge sections, and a Rollout's
annotations rollouts.roost.dev/judge-gate and judge-gate-rounds override it.

/healthz and Prometheus /metrics are served on --metrics-addr (loopback by default;
empty disables). SIGTERM or SIGINT stops it cleanly and releases the Lease.`,
		Example: `  roost controller -A
  roost controller -n shop --workers 4 --metrics-addr :8090`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := selectorOK(o.selector); err != nil {
				return err
			}
			if o.workers < 1 {
				return fmt.Errorf("--workers %d: need at least 1", o.workers)
			}
			c, err := a.connect()
			if err != nil {
				return err
			}
			return a.runController(cmd.Context(), c, o)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.workers, "workers", 2, "rollouts reconciled in parallel")
	f.StringVar(&o.metricsAddr, "metrics-addr", "127.0.0.1:8090", "address for /healthz and /metrics; empty disables")
	f.StringVarP(&o.selector, "selector", "l", "", "only reconcile rollouts with these labels")
	f.DurationVar(&o.resync, "resync", 10*time.Minute, "informer resync period (0 disables)")
	f.StringVar(&o.leaseNamespace, "lease-namespace", "", "namespace of the Lease (default: the namespace roost is scoped to; kube-system with -A)")
	f.StringVar(&o.leaseName, "lease-name", election.DefaultLeaseName, "name of the Lease")
	f.DurationVar(&o.leaseDuration, "lease-duration", election.DefaultLeaseDuration, "how long followers wait before taking over from a silent leader")
	f.DurationVar(&o.renewDeadline, "renew-deadline", election.DefaultRenewDeadline, "how long the leader retries renewing before giving up leadership")
	f.DurationVar(&o.retryPeriod, "retry-period", election.DefaultRetryPeriod, "how often candidates try to acquire or renew the Lease")
	f.StringVar(&o.config, "config", "", "metrics and judge configuration file (default $XDG_CONFIG_HOME/roost/config.yaml)")
	return cmd
}

// checkCRD fails early, with the fix, when the cluster does not serve Rollouts.
func checkCRD(c *clients) error {
	gv := v1alpha1.SchemeGroupVersion.String()
	served, err := servedResources(c.Kube, gv)
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("the cluster has no Rollout resource (%s); install the CRD with `roost install`", v1alpha1.RolloutGVR.GroupResource())
	}
	if err != nil {
		return fmt.Errorf("asking the cluster whether it serves %s: %w", gv, err)
	}
	if served[v1alpha1.Resource] {
		return nil
	}
	return fmt.Errorf("the cluster serves %s but not rollouts; install the Rollout CRD with `roost install`", gv)
}

// discovered holds, per client and group version, the resources the
// cluster served when first asked: the Rollout, AnalysisRun and Argo CD
// Application checks at start all ask about argoproj.io/v1alpha1, and each
// question is a round trip before the first frame. A cockpit over several
// clusters connects again with new clients, so only the last few are kept.
var discovered struct {
	mu     sync.Mutex
	served map[discoveryKey]map[string]bool
}

type discoveryKey struct {
	kube kubernetes.Interface
	gv   string
}

// servedResources lists the resources the cluster serves in gv, asking it
// once per client (a failure is not remembered).
func servedResources(kube kubernetes.Interface, gv string) (map[string]bool, error) {
	k := discoveryKey{kube, gv}
	discovered.mu.Lock()
	served, ok := discovered.served[k]
	discovered.mu.Unlock()
	if ok {
		return served, nil
	}
	list, err := kube.Discovery().ServerResourcesForGroupVersion(gv)
	if err != nil {
		return nil, err
	}
	served = make(map[string]bool, len(list.APIResources))
	for _, r := range list.APIResources {
		served[r.Name] = true
	}
	discovered.mu.Lock()
	defer discovered.mu.Unlock()
	if discovered.served == nil || len(discovered.served) >= 16 {
		discovered.served = map[discoveryKey]map[string]bool{}
	}
	discovered.served[k] = served
	return served, nil
}

func (a *app) runController(ctx context.Context, c *clients, o *controllerOptions) error {
	if err := checkCRD(c); err != nil {
		return err
	}
	ns := c.namespace(a.allNamespaces)
	leaseNS := o.leaseNamespace
	if leaseNS == "" {
		leaseNS = ns
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	// Each leadership term builds a fresh controller; its metrics go to a fresh
	// registry, so that a second term does not collide with the first's.
	base := prometheus.NewRegistry()
	base.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var termMu sync.Mutex
	term := prometheus.NewRegistry()

	leader, err := election.NewLeader(election.LeaderConfig{
		Kube: c.Kube, Namespace: leaseNS, Name: o.leaseName,
		LeaseDuration: o.leaseDuration, RenewDeadline: o.renewDeadline, RetryPeriod: o.retryPeriod,
		OnChange: func(i election.LeaderInfo) {
			fmt.Fprintf(a.errOut, "%s leader: %s\n", time.Now().Format(time.RFC3339), i)
		},
	})
	if err != nil {
		return err
	}

	var srv *http.Server
	if o.metricsAddr != "" {
		ln, err := net.Listen("tcp", o.metricsAddr)
		if err != nil {
			return fmt.Errorf("--metrics-addr %s: %w; pick another address, or --metrics-addr \"\" to serve nothing", o.metricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintln(w, "ok")
		})
		gatherers := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
			termMu.Lock()
			t := term
			termMu.Unlock()
			return prometheus.Gatherers{base, t}.Gather()
		})
		mux.Handle("/metrics", promhttp.HandlerFor(gatherers, promhttp.HandlerOpts{}))
		srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				cancel(fmt.Errorf("serving /metrics on %s: %w", o.metricsAddr, err))
			}
		}()
		fmt.Fprintf(a.errOut, "serving /healthz and /metrics on http://%s\n", ln.Addr())
	}
	where := "namespace " + ns
	if ns == "" {
		where = "every namespace"
	}
	logs := a.logFile
	if logs == "" {
		logs = "dropped; choose a file with --log-file"
	}
	fmt.Fprintf(a.errOut, "roost controller %s for %s; campaigning for lease %s/%s (logs: %s)\n", leader.Identity(), where, leaseNS, o.leaseName, logs)

	runsServed := analysisRunsServed(c)
	if !runsServed {
		fmt.Fprintln(a.errOut, "the cluster has no AnalysisRun resource: Rollouts with analysis are refused until you run `roost install`")
	}
	cfg, cfgErr := metrics.Load(o.config, os.Getenv)
	if cfgErr != nil {
		fmt.Fprintf(a.errOut, "%v\n", cfgErr)
	}
	ev := newEvidence(ctx, c, evidenceSources{config: cfg, getenv: os.Getenv, lookupEnv: os.LookupEnv})
	providers, perr := analysisProviders(c, ns, ev)
	if perr != nil {
		fmt.Fprintln(a.errOut, perr)
	}
	if ev.poller != nil {
		go ev.poller.Run(ctx)
	} else {
		fmt.Fprintf(a.errOut, "roost's judge gate is off: %s\n", ev.metricsOff)
	}
	// roost never steps a canary beside a live Argo Rollouts controller: it
	// campaigns only while none is seen, and yields (releasing the Lease)
	// within seconds of one appearing.
	detector := newDetector(c, ns)
	go detector.Run(ctx)
	report := func(s election.ArgoSeen) {
		logArgo(s)
		switch {
		case !s.Known:
		case s.Live:
			fmt.Fprintf(a.errOut, "%s Argo Rollouts is live (%s): not stepping canaries beside it; the Lease is released\n", time.Now().Format(time.RFC3339), s)
		default:
			fmt.Fprintf(a.errOut, "%s no Argo Rollouts controller is live: campaigning for lease %s/%s\n", time.Now().Format(time.RFC3339), leaseNS, o.leaseName)
		}
	}
	runErr := leader.RunBeside(ctx, detector, report, func(termCtx context.Context) {
		// The gate polls only while this process leads.
		gate := newGate(ev.poller, ev.gate, true)
		if ev.poller != nil {
			defer ev.poller.SetTargets(nil)
		}
		reg := prometheus.NewRegistry()
		termMu.Lock()
		term = reg
		termMu.Unlock()
		ctrl, err := controller.New(controller.Config{
			Kube: c.Kube, Dynamic: c.Dynamic, Pods: c.Pods, Namespace: ns, Selector: o.selector,
			Clock: clock.RealClock{}, Metrics: reg, Resync: o.resync,
			AnalysisRuns: runsServed, Providers: providers, Gate: gate,
		})
		if err != nil {
			cancel(fmt.Errorf("starting the reconciler: %w", err))
			return
		}
		if err := ctrl.Run(termCtx, o.workers); err != nil && termCtx.Err() == nil {
			cancel(fmt.Errorf("reconciler stopped: %w", err))
		}
		klog.InfoS("leadership term ended", "identity", leader.Identity())
	})
	if srv != nil {
		shutdown, done := context.WithTimeout(context.Background(), 5*time.Second)
		_ = srv.Shutdown(shutdown)
		done()
	}
	if runErr != nil {
		return runErr
	}
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	fmt.Fprintln(a.errOut, "roost controller stopped")
	return nil
}
