package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/roost-dev/roost/actions"
	"github.com/roost-dev/roost/analysis"
	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/tui"
	"github.com/roost-dev/roost/watch"
)

// analysisRunWords name AnalysisRuns in `roost get` and `roost terminate`,
// as kubectl and the plugin spell them.
var analysisRunWords = map[string]bool{"analysisrun": true, "analysisruns": true, "ar": true}

// rolloutWords name Rollouts in `roost get rollout NAME`, for a rollout
// whose name is one of analysisRunWords.
var rolloutWords = map[string]bool{"rollout": true, "rollouts": true, "ro": true}

// listRuns lists the AnalysisRuns of ns ("" for all); a cluster without the
// resource has none.
func listRuns(ctx context.Context, c *clients, ns string) ([]*unstructured.Unstructured, error) {
	list, err := c.Dynamic.Resource(v1alpha1.AnalysisRunGVR).Namespace(ns).List(ctx, metav1.ListOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case apierrors.IsForbidden(err):
		return nil, fmt.Errorf("not allowed to list analysisruns in %s: %w; ask for the roost-dashboard ClusterRole", nsText(ns), err)
	case err != nil:
		return nil, fmt.Errorf("listing analysisruns in %s: %w", nsText(ns), err)
	}
	return ptrs(list.Items), nil
}

// analysisRunRow is one line of `roost get analysisruns`.
type analysisRunRow struct {
	Namespace string
	Rollout   string
	watch.AnalysisRun
}

func (a *app) getAnalysisRuns(ctx context.Context, c *clients, o *getOptions) error {
	ns := c.namespace(a.allNamespaces)
	runs, err := listRuns(ctx, c, ns)
	if err != nil {
		return err
	}
	now := o.now()
	rows := make([]analysisRunRow, 0, len(runs))
	for _, u := range runs {
		owner := ""
		for _, ref := range u.GetOwnerReferences() {
			if ref.Kind == v1alpha1.Kind {
				owner = ref.Name
				break
			}
		}
		view := runView(u, now)
		rows = append(rows, analysisRunRow{Namespace: u.GetNamespace(), Rollout: orText(owner, "-"), AnalysisRun: view})
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Namespace != rows[j].Namespace {
			return rows[i].Namespace < rows[j].Namespace
		}
		if !rows[i].Created.Equal(rows[j].Created) {
			return rows[i].Created.After(rows[j].Created)
		}
		return rows[i].Name < rows[j].Name
	})
	switch o.output {
	case "json", "yaml":
		return printStructured(a.out, o.output, rows)
	}
	if len(rows) == 0 {
		fmt.Fprintf(a.errOut, "No AnalysisRuns found in %s.\n", nsText(ns))
		return nil
	}
	tw := tabwriter.NewWriter(a.out, 0, 8, 2, ' ', 0)
	header := []string{"NAME", "ROLLOUT", "KIND", "PHASE", "METRICS ✓/✗/?", "AGE"}
	if a.allNamespaces {
		header = append([]string{"NAMESPACE"}, header...)
	}
	if o.output == "wide" {
		header = append(header, "MESSAGE")
	}
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		ok, failed, inconclusive, _, _ := r.Tally()
		phase := string(r.Phase)
		if r.Terminating && !r.Done() {
			phase += " (terminating)"
		}
		age := "<unknown>"
		if !r.Created.IsZero() {
			age = duration.HumanDuration(now.Sub(r.Created))
		}
		row := []string{r.Name, r.Rollout, orText(r.Where(), "-"), phase, fmt.Sprintf("%d/%d/%d", ok, failed, inconclusive), age}
		if a.allNamespaces {
			row = append([]string{r.Namespace}, row...)
		}
		if o.output == "wide" {
			row = append(row, orText(r.Message, "-"))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// runView reads one run as the cockpit does, whoever owns it: through a
// stand-in Rollout that owns it alone.
func runView(u *unstructured.Unstructured, now time.Time) watch.AnalysisRun {
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: u.GetNamespace(), Name: "-"}}
	c := u.DeepCopy()
	c.SetOwnerReferences([]metav1.OwnerReference{{Kind: v1alpha1.Kind, Name: "-"}})
	return watch.AnalysisOf(ro, []*unstructured.Unstructured{c}, now)[0]
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// printAnalysis is the text form of a rollout's analysis in `roost get NAME`.
func printAnalysis(w io.Writer, v watch.Rollout, now time.Time) {
	if len(v.Analysis) == 0 && !v.HasAnalysis {
		return
	}
	fmt.Fprintln(w, "\nAnalysis:")
	if len(v.Analysis) == 0 {
		fmt.Fprintln(w, "  no AnalysisRun yet")
		return
	}
	for i := range v.Analysis {
		r := &v.Analysis[i]
		current := ""
		if r.Current {
			current = ", current"
		}
		fmt.Fprintf(w, "  %s (%s%s): %s\n", r.Name, r.Where(), current, r.Phase)
		if d := v.AnalysisDecision(r); d != "" {
			fmt.Fprintf(w, "    %s\n", d)
		}
		tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "    METRIC\tPHASE\tMEASURED\tFAILED/LIMIT\tINCONCLUSIVE/LIMIT\tERRORS/LIMIT\tLAST VALUES\tNEXT")
		for _, m := range r.Metrics {
			name := m.Name
			if m.DryRun {
				name += " (dry-run, does not decide)"
			}
			measured := fmt.Sprint(m.Measured)
			if m.Bounded {
				measured += fmt.Sprintf("/%d", m.Count)
			}
			var values []string
			for _, x := range m.Measurements {
				values = append(values, orText(x.Value, "-"))
			}
			if len(values) > 5 {
				values = values[len(values)-5:]
			}
			next := "-"
			switch {
			case m.Measuring:
				next = "measuring"
			case !m.Next.IsZero() && !r.Done():
				next = shortDuration(max(m.Next.Sub(now), 0))
			}
			fmt.Fprintf(tw, "    %s\t%s\t%s\t%d/%d\t%d/%d\t%d/%d\t%s\t%s\n", name, m.Phase, measured,
				m.Failed, m.FailureLimit, m.Inconclusive, m.InconclusiveLimit, m.ConsecutiveError, m.ConsecutiveErrorLimit,
				orText(strings.Join(values, " "), "-"), next)
		}
		_ = tw.Flush()
		for _, m := range r.Metrics {
			var conds []string
			if m.FailureCondition != "" {
				conds = append(conds, "fails when "+m.FailureCondition)
			}
			if m.SuccessCondition != "" {
				conds = append(conds, "passes when "+m.SuccessCondition)
			}
			fmt.Fprintf(w, "    %s: %s; %s: %s\n", m.Name, orText(strings.Join(conds, ", "), "no condition"), orText(m.Provider, "provider"), orText(m.Query, "-"))
		}
	}
}

// newTerminateCommand is `roost terminate analysisrun NAME...`, the
// plugin's command.
func newTerminateCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "terminate analysisrun NAME...",
		Short: "End AnalysisRuns: no more measurements",
		Long: `Terminate AnalysisRuns, as "kubectl argo rollouts terminate analysisrun" does (the
same patch, {"spec":{"terminate":true}}): a run takes no more measurements; the
metrics not yet decided count as Successful, so the run ends Successful ("Run
Terminated") unless a metric already failed. An analysis step whose run ends so
completes, and the canary goes on. A run that already ended is left alone.
Each is recorded as an Event on the Rollout that owns the run, naming who acted.

Exit code: 0 when all succeeded (or had nothing to do), 1 when any failed.`,
		Example: `  roost terminate analysisrun checkout-6f7d8b9c4-7-2 -n shop
  roost terminate ar checkout-6f7d8b9c4-7-2`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) < 2 || !analysisRunWords[strings.ToLower(args[0])] {
				return fmt.Errorf("say what to terminate: `roost terminate analysisrun NAME...` (list them with `roost get analysisruns`)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if a.allNamespaces {
				return fmt.Errorf("analysisrun names need one namespace: drop -A and give -n NAMESPACE")
			}
			c, err := a.connect()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			act := actions.NewActions(c.Dynamic, c.Kube, actions.WhoAmI(ctx, c.Kube, c.User))
			var targets []actions.Target
			seen := map[string]bool{}
			for _, name := range args[1:] {
				if !seen[name] {
					seen[name] = true
					targets = append(targets, actions.Target{Namespace: c.Namespace, Name: name})
				}
			}
			return a.reportOutcomes("analysisrun ", "analysis runs", clusterOutcomes{Outcomes: act.ForEach(ctx, targets, act.TerminateAnalysisRun)})
		},
	}
	return cmd
}

// judgeGateView tells the cockpit what roost's judge gate does with a
// canary: its settings from the Rollout's annotations over the
// configuration's default, and, where this roost runs the gate, the
// failing rounds it counted.
func judgeGateView(g *analysis.Gate, cfg metrics.GateConfig) tui.JudgeGateFunc {
	def := analysis.DefaultGate()
	if m, err := analysis.ParseGateMode(cfg.Gate); err == nil {
		def.Mode = m
	}
	if cfg.Rounds > 0 {
		def.Rounds = cfg.Rounds
	}
	return func(r *watch.Rollout) tui.JudgeGate {
		s, err := analysis.GateSettingsFor(r.Annotations, def)
		out := tui.JudgeGate{Mode: string(s.Mode), Rounds: s.Rounds}
		if err != nil {
			out.Problem = err.Error()
		}
		if g != nil {
			out.Fails, out.Counted = g.Fails(r.Namespace, r.Name)
		}
		return out
	}
}
