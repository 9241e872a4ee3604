package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/watch"
)

// The API request rate roost allows itself.
const (
	clientQPS   = 50
	clientBurst = 100
)

// clusterCommands are subcommands that only need kubectl's connection flags.
// A command file adds itself here with one line.
var clusterCommands = []func(*genericclioptions.ConfigFlags) *cobra.Command{}

// appCommands are the subcommands built on the shared app.
var appCommands = []func(*app) *cobra.Command{
	newGetCommand,
	newPromoteCommand,
	newAbortCommand,
	newRetryCommand,
	newPauseCommand,
	newResumeCommand,
	newRestartCommand,
	newUndoCommand,
	newTerminateCommand,
	newWaitCommand,
	newControllerCommand,
	newVersionCommand,
	newDemoCommand,
}

// clients are what a command talks to the cluster with.
type clients struct {
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
	// Pods reads the pods' watches straight into what roost keeps; nil
	// with fake clients, whose pods are read through Kube.
	Pods *watch.PodClient
	// Config is nil in tests with fake clients.
	Config *rest.Config
	// Namespace is -n, else the kubeconfig context's, else "default".
	Namespace string
	// User is the kubeconfig user name, used when the API server cannot say who
	// we are.
	User string
	// Context is the kubeconfig context's name, for the dashboard's header.
	Context string
}

// app holds what every subcommand shares: kubectl's flags, -A, the output
// streams and how to build clients (replaced in tests by fake clientsets).
type app struct {
	flags         *genericclioptions.ConfigFlags
	allNamespaces bool
	out, errOut   io.Writer
	connect       func() (*clients, error)
	// logFile is where klog writes ("" when logs are dropped); --log-file
	// changes it through setLogFile (nil in tests).
	logFile    string
	logFlag    string
	setLogFile func(path string) error
	// now is the clock for ages and countdowns (tests fix it).
	now func() time.Time
	// started is when the process began, for start-up figures.
	started time.Time
	// argoContext is --argocd-context: the kube context of the cluster
	// where Argo CD keeps its Applications. contextClientsFor replaces
	// building its clients in tests.
	argoContext       string
	contextClientsFor func(name string) (kubernetes.Interface, dynamic.Interface, error)
	// firstFrame is told when the cockpit's first complete frame is on
	// screen (the profile's window opens from there); nil in tests.
	firstFrame func()

	// allContexts is --all-contexts. kubeContexts lists the kubeconfig's
	// contexts, connectContext builds the clients of one of them, reach
	// makes the first call to its cluster (within reachTimeout); tests
	// replace them.
	allContexts    bool
	kubeContexts   func() ([]string, error)
	connectContext func(name string) (*clients, error)
	reach          func(context.Context, *clients) error
	reachTimeout   time.Duration

	// configs are the configuration files read, by --config path, so that
	// each is read (and a broken one warned about) once per command.
	configMu sync.Mutex
	configs  map[string]metrics.Config
}

// errNeedsOneNamespace is what a command acting on one named rollout says to -A.
var errNeedsOneNamespace = errors.New("a rollout NAME needs one namespace: drop -A and give -n NAMESPACE")

func newApp(out, errOut io.Writer) *app {
	a := &app{flags: genericclioptions.NewConfigFlags(true), out: out, errOut: errOut, now: time.Now, started: time.Now()}
	a.connect = a.realClients
	a.kubeContexts = a.kubeconfigContexts
	a.connectContext = func(name string) (*clients, error) { return a.realClientsOf(a.flagsFor(name)) }
	a.reach = a.reachCluster
	a.reachTimeout = defaultReachTimeout
	return a
}

// config is the configuration file at path (--config; "" for the default
// file), read once per command; a broken file is warned about once and its
// defaults used.
func (a *app) config(path string) metrics.Config { return a.readConfig(path, true) }

// readConfig is config, warning of a broken file only when warn is set
// (the cockpit says it in its status line instead).
func (a *app) readConfig(path string, warn bool) metrics.Config {
	a.configMu.Lock()
	defer a.configMu.Unlock()
	if cfg, ok := a.configs[path]; ok {
		return cfg
	}
	cfg, err := metrics.Load(path, os.Getenv)
	if err != nil && warn {
		fmt.Fprintln(a.errOut, "warning:", err)
	}
	if a.configs == nil {
		a.configs = map[string]metrics.Config{}
	}
	a.configs[path] = cfg
	return cfg
}

// newRootCommand builds the whole command tree.
func newRootCommand(a *app) *cobra.Command {
	co := &cockpitOptions{}
	root := &cobra.Command{
		Use:   "roost",
		Short: "A terminal cockpit for canary releases on Kubernetes (Argo Rollouts' Rollout API)",
		Long: `roost steps canary releases written as Argo Rollouts Rollouts (argoproj.io/v1alpha1,
basic canary) and lets an on-call engineer see and act on them from a terminal:
promote, abort with a reason, retry, pause, resume, restart, undo, and wait in scripts.

Without a command, roost opens the cockpit: every rollout in scope, those that
need a human first, with their steps, pods, metrics and errors, and keys to
promote (p), promote fully (P), abort (a) and retry (r), each confirmed with y/n.
"?" lists every key.

Actions send the same patches as "kubectl argo rollouts", so roost works on rollouts
stepped by roost's own controller or by Argo Rollouts. Each action is recorded as a
Kubernetes Event on the Rollout naming who acted.`,
		Example: `  roost -n shop                 # the cockpit for one namespace
  roost -A -l team=payments     # every payments rollout, everywhere
  roost --readonly --theme colorblind
  roost --context prod-tokyo,prod-osaka -n shop   # one cockpit over two clusters
  roost get -A                  # the same, as a table`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			msg := fmt.Sprintf("unknown command %q", args[0])
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += fmt.Sprintf(" (did you mean %q?)", s[0])
			}
			return errors.New(msg + "; run `roost --help` to list commands")
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := co.check(); err != nil {
				return err
			}
			// The cockpit says a broken configuration in its status line:
			// reading its clusters warns of nothing on stderr.
			a.readConfig(co.config, false)
			names, err := a.contexts(co.config)
			if err != nil {
				return err
			}
			if len(names) > 1 {
				return a.runClusters(cmd.Context(), co, names)
			}
			c, err := a.connect()
			if err != nil {
				return err
			}
			return a.runCockpit(cmd.Context(), c, co, c.Context)
		},
	}
	co.addFlags(root)
	// The cockpit takes several contexts too (cockpits.go).
	root.Annotations = map[string]string{manyContexts: "yes"}
	root.Flags().BoolVar(&a.allContexts, "all-contexts", false, "watch every context of the kubeconfig in one cockpit (instead of --context a,b,c)")
	root.SuggestionsMinimumDistance = 2
	root.SetOut(a.out)
	root.SetErr(a.errOut)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w; see `%s --help`", err, c.CommandPath())
	})
	a.flags.AddFlags(root.PersistentFlags())
	root.PersistentFlags().Lookup("context").Usage = "kube context to use: its `NAME` (default: the kubeconfig's current one); " + manyContextCommands + " take several, as a,b,c"
	if v := klogFlags.Lookup("v"); v != nil {
		root.PersistentFlags().AddGoFlag(v)
		// The backquoted word is the value's name in --help: "-v, --v level".
		root.PersistentFlags().Lookup("v").Usage = "log `level`, 0 to 10: how much roost writes to its log file (roost version names the file; logs never go to the terminal). Not the version: that is roost version"
	}
	root.PersistentFlags().StringVar(&a.logFlag, "log-file", "", "write roost's logs here instead of $XDG_STATE_HOME/roost/roost.log; - is stderr (for roost controller in a pod)")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if err := a.oneContextOnly(cmd); err != nil {
			return err
		}
		if a.logFlag == "" || a.setLogFile == nil {
			return nil
		}
		if err := a.setLogFile(a.logFlag); err != nil {
			return fmt.Errorf("--log-file %s: %w; give a writable path, or - for stderr", a.logFlag, err)
		}
		a.logFile = a.logFlag
		if a.logFlag == "-" {
			a.logFile = "stderr"
		}
		return nil
	}
	root.PersistentFlags().BoolVarP(&a.allNamespaces, "all-namespaces", "A", false, "act on rollouts of every namespace (-n is then ignored)")
	root.PersistentFlags().StringVar(&a.argoContext, "argocd-context", "", "kube `context` of the cluster where Argo CD keeps its Applications, when not the one watched (overrides argocd.context in the configuration): their projects, sync and self-heal")
	for _, c := range appCommands {
		root.AddCommand(c(a))
	}
	for _, c := range clusterCommands {
		root.AddCommand(c(a.flags))
	}
	return root
}

// namespace is where commands look: "" (all) with -A.
func (c *clients) namespace(all bool) string {
	if all {
		return ""
	}
	return c.Namespace
}

func (a *app) realClients() (*clients, error) {
	return a.realClientsOf(a.flags)
}

// realClientsOf builds the clients kubectl's flags f point at.
func (a *app) realClientsOf(f *genericclioptions.ConfigFlags) (*clients, error) {
	loader := f.ToRawKubeConfigLoader()
	raw, rawErr := loader.RawConfig()
	inCluster := os.Getenv("KUBERNETES_SERVICE_HOST") != ""
	noServerFlag := f.APIServer == nil || *f.APIServer == ""
	if rawErr == nil && len(raw.Clusters) == 0 && noServerFlag && !inCluster {
		// client-go would fall back to http://localhost:8080; say what happened instead.
		return nil, a.noClusterError(f, clientcmd.ErrEmptyConfig, rawErr)
	}
	cfg, err := f.ToRESTConfig()
	if err != nil {
		return nil, a.noClusterError(f, err, rawErr)
	}
	cfg.WarningHandler = rest.NoWarnings{}
	// Writes carry the binary's name (roost…) as their field manager, which
	// is how a roost tells its own status writes from another controller's;
	// ROOST_FIELD_MANAGER gives another (tests pose as Argo with it).
	if m := os.Getenv("ROOST_FIELD_MANAGER"); m != "" {
		cfg.UserAgent = m + "/" + rest.DefaultKubernetesUserAgent()
	}
	// client-go's default of 5 requests a second (burst 10) throttles a
	// reconciler stepping hundreds of canaries; Argo Rollouts' controller
	// allows 40/80.
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = clientQPS, clientBurst
	}
	ns, _, err := loader.Namespace()
	if err != nil {
		return nil, fmt.Errorf("reading the namespace from kubeconfig %s: %w; give one with -n NAMESPACE", a.kubeconfigFiles(), err)
	}
	kube, err := newKubeClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("building a Kubernetes client for %s: %w", cfg.Host, err)
	}
	dyn, err := watch.NewDynamicClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("building a Kubernetes client for %s: %w", cfg.Host, err)
	}
	pods, err := watch.NewPodClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("building a Kubernetes client for %s: %w", cfg.Host, err)
	}
	user := ""
	ctxName := raw.CurrentContext
	if f.Context != nil && *f.Context != "" {
		ctxName = *f.Context
	}
	if c, ok := raw.Contexts[ctxName]; ok {
		user = c.AuthInfo
	}
	if f.AuthInfoName != nil && *f.AuthInfoName != "" {
		user = *f.AuthInfoName
	}
	return &clients{Kube: kube, Dynamic: dyn, Pods: pods, Config: cfg, Namespace: ns, User: user, Context: ctxName}, nil
}

// newKubeClient builds the typed client of cfg, speaking protobuf
// (watch.ProtobufConfig). The dynamic client, for custom resources, keeps
// JSON.
func newKubeClient(cfg *rest.Config) (*kubernetes.Clientset, error) {
	return kubernetes.NewForConfig(watch.ProtobufConfig(cfg))
}

// kubeconfigFiles names the kubeconfig files roost read, the way kubectl
// chooses them: --kubeconfig, else $KUBECONFIG, else ~/.kube/config.
func (a *app) kubeconfigFiles() string {
	if a.flags.KubeConfig != nil && *a.flags.KubeConfig != "" {
		return *a.flags.KubeConfig + " (from --kubeconfig)"
	}
	if env := os.Getenv(clientcmd.RecommendedConfigPathEnvVar); env != "" {
		return strings.Join(filepath.SplitList(env), ", ") + " (from $KUBECONFIG)"
	}
	return clientcmd.RecommendedHomeFile
}

func (a *app) noClusterError(f *genericclioptions.ConfigFlags, err, rawErr error) error {
	if clientcmd.IsEmptyConfig(err) || clientcmd.IsEmptyConfig(rawErr) {
		return fmt.Errorf("no cluster to talk to: read kubeconfig %s and found no cluster; point roost at one with --kubeconfig FILE, --context NAME or $KUBECONFIG", a.kubeconfigFiles())
	}
	if f.Context != nil && *f.Context != "" {
		return fmt.Errorf("kubeconfig %s, context %q: %w; list contexts with `kubectl config get-contexts`", a.kubeconfigFiles(), *f.Context, err)
	}
	return fmt.Errorf("kubeconfig %s: %w; fix it, or point roost elsewhere with --kubeconfig FILE or --context NAME", a.kubeconfigFiles(), err)
}

// listError explains a failure to list rollouts.
func listError(ns string, err error) error {
	where := "namespace " + ns
	if ns == "" {
		where = "any namespace"
	}
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("the cluster has no Rollout resource (%s); install the CRD with `roost install`", v1alpha1.RolloutGVR.GroupResource())
	case apierrors.IsForbidden(err):
		return fmt.Errorf("not allowed to list rollouts in %s: %w; ask for RBAC to list rollouts.argoproj.io, or pick a namespace you can see with -n", where, err)
	case !isAPIStatus(err):
		return fmt.Errorf("listing rollouts in %s: %w; check that the cluster is reachable with `kubectl cluster-info`", where, err)
	}
	return fmt.Errorf("listing rollouts in %s: %w", where, err)
}

func isAPIStatus(err error) bool {
	var s apierrors.APIStatus
	return errors.As(err, &s)
}

// exitError ends roost with a chosen exit code; its message is already shown
// when silent is set.
type exitError struct {
	code   int
	err    error
	silent bool
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit code %d", e.code)
	}
	return e.err.Error()
}

// execute runs roost with args and returns the process exit code, writing any
// error to errOut.
func execute(ctx context.Context, a *app, args []string) int {
	root := newRootCommand(a)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if !ee.silent {
			fmt.Fprintln(a.errOut, "error:", ee.Error())
		}
		return ee.code
	}
	fmt.Fprintln(a.errOut, "error:", err)
	return 1
}
