package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/yaml"

	"github.com/roost-dev/roost/actions"
	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/watch"
)

type getOptions struct {
	output   string
	selector string
	config   string
	pick     appPick
	now      func() time.Time
}

func newGetCommand(a *app) *cobra.Command {
	o := &getOptions{now: a.now}
	cmd := &cobra.Command{
		Use:   "get [NAME | analysisruns | rollout NAME | --app NAME | --project NAME]",
		Short: "List rollouts, or show one in detail; list AnalysisRuns",
		Long: `List the rollouts of the namespace (-n, or every namespace with -A): phase, step,
desired/actual canary weight, pause countdown, canary and stable pods ready/total.

With NAME, show one rollout in detail: phase and message, why it was aborted, its
steps, its stable and canary ReplicaSets with pods by role, its latest Events
with who acted, and its canary's evidence: the configured Datadog metrics of
canary and stable side by side, and the Bugsnag errors of the canary release
stage (see --config).

Without a traffic router a canary's weight is a pod ratio: "actual" is the canary's
available pods over all available pods.

--app NAME lists the rollouts Argo CD's Application deploys (from their tracking
marks), --project NAME those of every Application in an AppProject (which needs Argo
CD's Applications readable: here, or in the cluster --argocd-context names); -l
narrows them further. -o wide adds each rollout's APP and PROJECT, -o json|yaml its
Application, and "roost get NAME" an Application line: project, sync, health and
whether Argo CD auto-syncs it with self-heal.

A rollout's AnalysisRuns are shown with it: each metric's phase, counts against its
limits, last values, condition and query, and why a finished run decided as it did.
"roost get analysisruns" (or "ar") lists the AnalysisRuns of the namespace: name,
rollout, kind, phase, metrics successful/failed/inconclusive, age. A rollout named
like that is shown with "roost get rollout NAME".`,
		Example: `  roost get -A
  roost get -n shop checkout
  roost get -l team=payments -o wide
  roost get --project shop -A -o wide
  roost get checkout -o json
  roost get analysisruns -A`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 2 && rolloutWords[strings.ToLower(args[0])] {
				return nil
			}
			if len(args) > 1 {
				return fmt.Errorf("roost get shows one rollout NAME or lists them all; got %d names (pick them with -l SELECTOR instead)", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := selectorOK(o.selector); err != nil {
				return err
			}
			switch o.output {
			case "", "wide", "json", "yaml":
			default:
				return fmt.Errorf("unknown output format %q; use -o wide, -o json or -o yaml", o.output)
			}
			if err := o.pick.check(); err != nil {
				return err
			}
			names, err := a.contexts(o.config)
			if err != nil {
				return err
			}
			switch {
			case len(args) == 2:
				args = args[1:]
			case len(args) == 1 && analysisRunWords[strings.ToLower(args[0])]:
				if o.pick.set() {
					return fmt.Errorf("%s picks rollouts, not AnalysisRuns; list a rollout's runs with `roost get NAME`", o.pick)
				}
				if names != nil {
					return fmt.Errorf("roost get analysisruns reads one cluster: give one --context NAME")
				}
				c, err := a.connect()
				if err != nil {
					return err
				}
				return a.getAnalysisRuns(cmd.Context(), c, o)
			}
			if len(args) == 1 && o.pick.set() {
				return fmt.Errorf("%s picks the rollouts by Argo CD; give a rollout NAME or %s, not both", o.pick, o.pick)
			}
			if len(args) == 1 && a.allNamespaces {
				return errNeedsOneNamespace
			}
			if names != nil {
				name := ""
				if len(args) == 1 {
					name = args[0]
				}
				return a.getListMany(cmd.Context(), names, o, name)
			}
			c, err := a.connect()
			if err != nil {
				return err
			}
			if len(args) == 1 {
				return a.getOne(cmd.Context(), c, o, args[0])
			}
			return a.getList(cmd.Context(), c, o)
		},
	}
	takesManyContexts(a, cmd, `The exit code is then 1.
A rollout NAME is shown as its line in each cluster; its detail needs one
--context.`)
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "output format: wide, json or yaml")
	cmd.Flags().StringVarP(&o.selector, "selector", "l", "", "only rollouts with these labels (e.g. team=payments)")
	cmd.Flags().StringVar(&o.config, "config", "", "configuration file: the metrics and errors of one rollout, and where Argo CD is (default $XDG_CONFIG_HOME/roost/config.yaml)")
	o.pick.addFlags(cmd.Flags())
	return cmd
}

func decodeRollout(u *unstructured.Unstructured) *v1alpha1.Rollout {
	// Unsupported spec fields leave the rest decoded; the reconciler reports
	// them as InvalidSpec, which the view shows.
	ro, _ := v1alpha1.FromUnstructured(u)
	return ro
}

func (a *app) getList(ctx context.Context, c *clients, o *getOptions) error {
	l, err := a.listRollouts(ctx, c, o, "", func(w string) { fmt.Fprintln(a.errOut, "warning:", w) })
	if err != nil {
		return err
	}
	views := l.views
	switch o.output {
	case "json", "yaml":
		if views == nil {
			views = []watch.Rollout{}
		}
		return printStructured(a.out, o.output, views)
	}
	if len(views) == 0 && o.pick.set() {
		fmt.Fprintln(a.errOut, l.argo.noneMatched(o.pick, l.ns, "list"))
		return nil
	}
	if len(views) == 0 {
		fmt.Fprintf(a.errOut, "No rollouts found in %s.\n", namespaceWords(l.ns))
		return nil
	}
	printTable(a.out, nil, views, a.allNamespaces, o.output == "wide", l.argo.argo.ArgoNamespace)
	return nil
}

// namespaceWords names namespace ns in a sentence; "" is every namespace.
func namespaceWords(ns string) string {
	if ns == "" {
		return "any namespace"
	}
	return "namespace " + ns
}

// listed are the rollouts get lists in one cluster.
type listed struct {
	// ns is the namespace looked in, "" for all.
	ns    string
	argo  *argoRead
	views []watch.Rollout
	// warnings are about how Argo CD was read (when warn was nil).
	warnings []string
}

// listRollouts reads the rollouts of the cluster of c that o picks (only
// the one called name, when given), sorted by namespace and name. warn
// says each warning as it comes; nil keeps them in the result.
func (a *app) listRollouts(ctx context.Context, c *clients, o *getOptions, name string, warn func(string)) (listed, error) {
	l := listed{ns: c.namespace(a.allNamespaces)}
	l.argo = a.readArgoCD(ctx, c, a.argoConfig(o.config))
	if err := l.argo.needApplications(o.pick); err != nil {
		return l, err
	}
	for _, w := range l.argo.warnings() {
		if warn != nil {
			warn(w)
		} else {
			l.warnings = append(l.warnings, w)
		}
	}
	picked, err := a.pickRollouts(ctx, c, l.ns, o.selector, o.pick, l.argo)
	if err != nil {
		return l, err
	}
	if name != "" {
		var one []pickedRollout
		for _, p := range picked {
			if p.obj.GetName() == name {
				one = append(one, p)
			}
		}
		if len(one) == 0 {
			return l, fmt.Errorf("no rollout %s in namespace %s; list the rollouts there with `roost get --context %s -n %s`", name, l.ns, c.Context, l.ns)
		}
		picked = one
	}
	// ReplicaSets are listed only in the namespaces that have rollouts, so a
	// cluster-wide `get -A` stays cheap on a big cluster.
	rsByNS := map[string][]*appsv1.ReplicaSet{}
	for _, p := range picked {
		ro := decodeRollout(p.obj)
		if _, ok := rsByNS[ro.Namespace]; !ok {
			rss, err := c.Kube.AppsV1().ReplicaSets(ro.Namespace).List(ctx, metav1.ListOptions{})
			if err != nil {
				return l, fmt.Errorf("listing ReplicaSets in namespace %s: %w", ro.Namespace, err)
			}
			rsByNS[ro.Namespace] = ptrs(rss.Items)
		}
		v := watch.Snapshot(ro, rsByNS[ro.Namespace], nil, nil, o.now())
		v.App = p.app
		l.views = append(l.views, v)
	}
	sort.Slice(l.views, func(i, j int) bool {
		if l.views[i].Namespace != l.views[j].Namespace {
			return l.views[i].Namespace < l.views[j].Namespace
		}
		return l.views[i].Name < l.views[j].Name
	})
	return l, nil
}

// clusterRollout is one line of get across clusters: the rollout and the
// kube context of its cluster.
type clusterRollout struct {
	Cluster string
	watch.Rollout
}

// getListMany is get across the clusters of names: one line per cluster
// and rollout, in the order of the contexts, then as in one cluster. A
// cluster that cannot be read gets a line of its own on stderr, and the
// exit code 1; the others are listed.
func (a *app) getListMany(ctx context.Context, names []string, o *getOptions, name string) error {
	a.config(o.config)
	runs := eachCluster(ctx, a, names, func(ctx context.Context, c *clients) (listed, error) {
		return a.listRollouts(ctx, c, o, name, nil)
	})
	var rows []clusterRollout
	var views []watch.Rollout
	var clusters []string
	argoNamespace := ""
	for _, r := range runs {
		if !reportRun(a.errOut, r.Context, r.Err, r.Value.warnings) {
			continue
		}
		if len(r.Value.views) == 0 && o.pick.set() {
			fmt.Fprintf(a.errOut, "%s: %s\n", r.Context, r.Value.argo.noneMatched(o.pick, r.Value.ns, "list"))
		}
		argoNamespace = r.Value.argo.argo.ArgoNamespace
		for _, v := range r.Value.views {
			rows = append(rows, clusterRollout{Cluster: r.Context, Rollout: v})
			views = append(views, v)
			clusters = append(clusters, r.Context)
		}
	}
	lost := lostClusters(runs)
	switch {
	case o.output == "json" || o.output == "yaml":
		if rows == nil {
			rows = []clusterRollout{}
		}
		if err := printStructured(a.out, o.output, rows); err != nil {
			return err
		}
	case len(rows) == 0 && !o.pick.set() && len(lost) < len(runs):
		fmt.Fprintf(a.errOut, "No rollouts found in %s in contexts %s.\n", a.namespaceOfContexts(), strings.Join(names, ", "))
	case len(rows) > 0:
		printTable(a.out, clusters, views, a.allNamespaces, o.output == "wide", argoNamespace)
	}
	if len(lost) > 0 {
		return &exitError{code: 1, err: lostError(lost, len(runs))}
	}
	return nil
}

// namespaceOfContexts names where get looked across clusters: -n, every
// namespace, or each context's own.
func (a *app) namespaceOfContexts() string {
	switch {
	case a.allNamespaces:
		return "any namespace"
	case a.flags.Namespace != nil && *a.flags.Namespace != "":
		return "namespace " + *a.flags.Namespace
	}
	return "each context's namespace"
}

func ptrs[T any](items []T) []*T {
	out := make([]*T, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}

func (a *app) getOne(ctx context.Context, c *clients, o *getOptions, name string) error {
	ns := c.Namespace
	u, err := c.Dynamic.Resource(v1alpha1.RolloutGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return actions.RolloutError(ns, name, err)
	}
	ro := decodeRollout(u)
	rss, err := c.Kube.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("rollout %s/%s: listing its ReplicaSets: %w", ns, name, err)
	}
	podOpts := metav1.ListOptions{}
	if ro.Spec.Selector != nil {
		if sel, err := metav1.LabelSelectorAsSelector(ro.Spec.Selector); err == nil {
			podOpts.LabelSelector = sel.String()
		}
	}
	pods, err := c.Kube.CoreV1().Pods(ns).List(ctx, podOpts)
	if err != nil {
		return fmt.Errorf("rollout %s/%s: listing its pods: %w", ns, name, err)
	}
	evOpts := metav1.ListOptions{FieldSelector: fields.AndSelectors(
		fields.OneTermEqualSelector("involvedObject.kind", v1alpha1.Kind),
		fields.OneTermEqualSelector("involvedObject.name", name),
	).String()}
	events, err := c.Kube.CoreV1().Events(ns).List(ctx, evOpts)
	if err != nil {
		return fmt.Errorf("rollout %s/%s: listing its events: %w", ns, name, err)
	}
	v := watch.Snapshot(ro, ptrs(rss.Items), watch.PodsOf(pods.Items), ptrs(events.Items), o.now())
	runs, err := listRuns(ctx, c, ns)
	if err != nil {
		fmt.Fprintln(a.errOut, "warning:", err)
	}
	v.Analysis = watch.AnalysisOf(ro, runs, o.now())
	cfg := a.config(o.config)
	argo := a.readArgoCD(ctx, c, cfg.ArgoCD)
	for _, w := range argo.warnings() {
		fmt.Fprintln(a.errOut, "warning:", w)
	}
	v.App = argo.appOf(ro.Namespace, ro.Name, ro.Annotations, ro.Labels)
	ev := a.fetchEvidence(ctx, c, cfg, &v)
	switch o.output {
	case "json", "yaml":
		return printStructured(a.out, o.output, struct {
			watch.Rollout
			Evidence metrics.Evidence `json:"evidence"`
		}{v, ev})
	}
	printDetail(a.out, v, o.now())
	printAnalysis(a.out, v, o.now())
	printEvidence(a.out, ev, o.now())
	return nil
}

// printEvidence is the text form of a rollout's metrics and errors.
func printEvidence(w io.Writer, ev metrics.Evidence, now time.Time) {
	fmt.Fprintln(w, "\nMetrics (Datadog, canary vs stable):")
	switch {
	case ev.MetricsOff != "" && len(ev.Metrics) == 0:
		fmt.Fprintln(w, "  off:", ev.MetricsOff)
	case ev.MetricsState.Stale:
		fmt.Fprintln(w, "  stale:", ev.MetricsState.Reason)
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	if len(ev.Metrics) > 0 {
		fmt.Fprintln(tw, "  METRIC\tCANARY\tSTABLE\tRATIO\tVERDICT")
	}
	for _, m := range ev.Metrics {
		if m.Error != "" {
			fmt.Fprintf(tw, "  %s\tquery failed: %s\t\t\t\n", m.Name, m.Error)
			continue
		}
		ratio := "-"
		if r, ok := m.Ratio(); ok {
			ratio = fmt.Sprintf("%.2fx", r)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", m.Name, latestText(m.Canary, m.Unit), latestText(m.Stable, m.Unit), ratio, m.Verdict)
	}
	_ = tw.Flush()
	if ev.Score != "" {
		fmt.Fprintln(w, "  score:", ev.Score)
	}
	fmt.Fprintln(w, "\nErrors (Bugsnag, canary release stage):")
	switch {
	case ev.ErrorsOff != "" && len(ev.Errors) == 0:
		fmt.Fprintln(w, "  off:", ev.ErrorsOff)
		return
	case ev.ErrorsState.Stale:
		fmt.Fprintln(w, "  stale:", ev.ErrorsState.Reason)
	case len(ev.Errors) == 0:
		fmt.Fprintln(w, "  none since the canary began")
		return
	}
	tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  NEW\tCLASS\tMESSAGE\tEVENTS\tUSERS\tFIRST SEEN")
	for _, e := range ev.Errors {
		mark := ""
		if e.New {
			mark = "new"
		}
		first := "-"
		if !e.FirstSeen.IsZero() {
			first = duration.HumanDuration(now.Sub(e.FirstSeen)) + " ago"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%d\t%s\n", mark, e.Class, e.Message, e.Events, e.Users, first)
	}
	_ = tw.Flush()
}

func latestText(s metrics.Series, unit string) string {
	p, ok := s.Latest()
	if !s.Found || !ok {
		return "no data"
	}
	return fmt.Sprintf("%.4g%s", p.Value, unit)
}

func printStructured(w io.Writer, format string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if format == "yaml" {
		if b, err = yaml.JSONToYAML(b); err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// stepColumn is the step the rollout is at, counted from 1 as its Events
// and the cockpit count it: "2/4" during the second step, "4/4 done" after
// the last.
func stepColumn(v watch.Rollout) string {
	if v.StepsTotal == 0 {
		return "-"
	}
	step, done := v.CurrentStep()
	if done {
		return fmt.Sprintf("%d/%d done", step, v.StepsTotal)
	}
	return fmt.Sprintf("%d/%d", step, v.StepsTotal)
}

// pauseColumn is the countdown of a timed pause, "promote" for a pause that
// waits for one, "manual" for spec.paused.
func pauseColumn(v watch.Rollout) string {
	switch {
	case v.PauseRemaining > 0:
		return shortDuration(v.PauseRemaining)
	case v.PauseUntilPromoted:
		return "promote"
	case v.ManuallyPaused:
		return "manual"
	case v.Paused:
		return "0s"
	}
	return "-"
}

func shortDuration(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%ds", int(d.Round(time.Second).Seconds()))
	}
	return duration.HumanDuration(d)
}

func podsColumn(rs *watch.ReplicaSet) string {
	if rs == nil {
		return "-"
	}
	return fmt.Sprintf("%d/%d", rs.Ready, rs.Total)
}

func ageColumn(v watch.Rollout) string {
	if v.Created.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(v.Age)
}

// printTable prints the rollouts' table; wide adds the canary image, the
// Argo CD Application and project (argoNamespace is Argo CD's own, where an
// Application is named without its namespace) and the message. clusters,
// when several are in scope, are the kube contexts of views, one each: a
// leading CLUSTER column.
func printTable(w io.Writer, clusters []string, views []watch.Rollout, allNamespaces, wide bool, argoNamespace string) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	header := []string{"NAME", "PHASE", "STEP", "WEIGHT", "PAUSE", "CANARY", "STABLE", "AGE"}
	if allNamespaces {
		header = append([]string{"NAMESPACE"}, header...)
	}
	if clusters != nil {
		header = append([]string{"CLUSTER"}, header...)
	}
	if wide {
		header = append(header, "CANARY-IMAGE", "APP", "PROJECT", "MESSAGE")
	}
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for i, v := range views {
		row := []string{
			v.Name, string(v.Phase), stepColumn(v),
			fmt.Sprintf("%d/%d", v.DesiredWeight, v.ActualWeight),
			pauseColumn(v), podsColumn(v.Canary), podsColumn(v.Stable), ageColumn(v),
		}
		if allNamespaces {
			row = append([]string{v.Namespace}, row...)
		}
		if clusters != nil {
			row = append([]string{clusters[i]}, row...)
		}
		if wide {
			img := "-"
			if v.Canary != nil && len(v.Canary.Images) > 0 {
				img = strings.Join(v.Canary.Images, ",")
			}
			msg := v.Message
			if v.AbortReason != "" {
				msg = "aborted: " + v.AbortReason
			}
			if msg == "" {
				msg = "-"
			}
			row = append(row, img, appColumn(v, argoNamespace), projectColumn(v), msg)
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	_ = tw.Flush()
}

func printDetail(w io.Writer, v watch.Rollout, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 8, 1, ' ', 0)
	line := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s:\t%s\n", k, fmt.Sprintf(format, args...)) }
	line("Name", "%s", v.Name)
	line("Namespace", "%s", v.Namespace)
	if v.App != nil {
		line("Application", "%s", applicationLine(v.App))
	}
	phase := string(v.Phase)
	if v.Message != "" {
		phase += " - " + v.Message
	}
	line("Phase", "%s", phase)
	if v.Aborted {
		reason := v.AbortReason
		if reason == "" {
			reason = "(none given)"
		}
		line("Abort reason", "%s", reason)
	}
	if v.InvalidSpec != "" {
		line("Invalid spec", "%s", v.InvalidSpec)
	}
	line("Step", "%s", stepColumn(v))
	line("Weight", "desired %d%%, actual %d%% (canary available pods / all available pods)", v.DesiredWeight, v.ActualWeight)
	switch {
	case v.PauseRemaining > 0:
		line("Pause", "%s left", shortDuration(v.PauseRemaining))
	case v.PauseUntilPromoted:
		line("Pause", "waiting for promote: roost promote %s -n %s", v.Name, v.Namespace)
	}
	if v.ManuallyPaused {
		line("Paused", "by hand (spec.paused): roost resume %s -n %s", v.Name, v.Namespace)
	}
	line("Replicas", "%d", v.Replicas)
	line("Age", "%s", ageColumn(v))
	_ = tw.Flush()

	if len(v.Steps) > 0 {
		fmt.Fprintln(w, "\nSteps:")
		for _, s := range v.Steps {
			mark := "   "
			switch s.State {
			case watch.StepDone:
				mark = "ok "
			case watch.StepCurrent:
				mark = "-> "
			}
			fmt.Fprintf(w, "  %s%d. %s\n", mark, s.Number, s.Text)
		}
	}

	fmt.Fprintln(w, "\nReplicaSets:")
	if v.Stable == nil && v.Canary == nil {
		fmt.Fprintln(w, "  (none yet)")
	}
	tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  ROLE\tNAME\tREVISION\tIMAGE\tREADY\tAVAILABLE\tPODS BY ROLE")
	for _, r := range []struct {
		role string
		rs   *watch.ReplicaSet
	}{{"stable", v.Stable}, {"canary", v.Canary}} {
		if r.rs == nil {
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d/%d\t%d\t%s\n", r.role, r.rs.Name, r.rs.Revision, strings.Join(r.rs.Images, ","),
			r.rs.Ready, r.rs.Total, r.rs.Available, rolesText(r.rs.PodsByRole))
	}
	if v.Stable != nil || v.Canary != nil {
		_ = tw.Flush()
	}

	fmt.Fprintln(w, "\nEvents (newest first):")
	if len(v.Events) == 0 {
		fmt.Fprintln(w, "  (none)")
		return
	}
	tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, e := range v.Events {
		age := "<unknown>"
		if !e.Time.IsZero() {
			age = duration.HumanDuration(now.Sub(e.Time)) + " ago"
		}
		who := ""
		if e.Actor != "" && !strings.Contains(e.Message, e.Actor) {
			who = " (by " + e.Actor + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s%s\n", age, e.Type, e.Reason, e.Message, who)
	}
	_ = tw.Flush()
}

func rolesText(m map[string]int) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		name := k
		if name == "" {
			name = "(no role)"
		}
		parts[i] = fmt.Sprintf("%s=%d", name, m[k])
	}
	return strings.Join(parts, " ")
}

// selectorOK checks a -l selector before it reaches the server, for a clear message.
func selectorOK(s string) error {
	if _, err := labels.Parse(s); err != nil {
		return fmt.Errorf("label selector %q: %w; write it as kubectl does, e.g. -l app=checkout,team=payments", s, err)
	}
	return nil
}
