//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/analysis"
	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/controller"
	"github.com/roost-dev/roost/internal/datadogserver"
	"github.com/roost-dev/roost/internal/rollouttest"
	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/metrics/datadog"
	"github.com/roost-dev/roost/metrics/judge"
)

const (
	ddAPIKey = "e2e-api-key-0123456789abcdef0123"
	ddAppKey = "e2e-app-key-0123456789abcdef0123456789ab"
)

// ddWorld is Datadog for a test: the in-repo server on a loopback port, fed
// every 500 ms with each service's hits and errors per role at the error
// rates set.
type ddWorld struct {
	srv  *datadogserver.Server
	http *httptest.Server
	// rates are error rates per "service/role".
	rates map[string]float64
}

func newDDWorld(t testing.TB, rates map[string]float64) *ddWorld {
	t.Helper()
	w := &ddWorld{srv: datadogserver.New(datadogserver.Options{
		APIKey: ddAPIKey, AppKey: ddAppKey,
		RateLimit: datadogserver.RateLimit{Limit: 100_000, Period: time.Hour},
	}), rates: rates}
	w.http = httptest.NewServer(w.srv.Handler())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		// Some history, so that every query window has points at once.
		for at := time.Now().Add(-2 * time.Minute); at.Before(time.Now()); at = at.Add(time.Second) {
			w.feed(at)
		}
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				w.feed(now)
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		w.http.Close()
	})
	return w
}

func (w *ddWorld) feed(at time.Time) {
	const hits = 100.0
	for key, rate := range w.rates {
		svc, role, _ := strings.Cut(key, "/")
		tags := []string{"service:" + svc, "kube_role:" + role}
		w.srv.Add("trace."+metrics.DefaultOperation+".hits", tags, at, hits)
		w.srv.Add("trace."+metrics.DefaultOperation+".errors", tags, at, hits*rate)
	}
}

// runGatedReconciler runs the reconciler with roost's judge as a gate over
// a poller of w, as `roost controller` does.
func runGatedReconciler(t *testing.T, ns string, w *ddWorld) {
	t.Helper()
	cfg := metrics.Defaults()
	cfg.Datadog.Interval = 5 * time.Second
	cfg.Datadog.Metrics = cfg.Datadog.Metrics[1:2] // the error rate
	cfg.Overview = "error_rate"
	dd, err := datadog.New(datadog.Options{Credentials: datadog.Credentials{APIKey: ddAPIKey, AppKey: ddAppKey, Address: w.http.URL}})
	if err != nil {
		t.Fatal(err)
	}
	poller, err := metrics.NewPoller(metrics.PollerOptions{Config: cfg, Metrics: dd, ErrorsOff: "not in this test", Judge: judge.Judge{}})
	if err != nil {
		t.Fatal(err)
	}
	gate := analysis.NewGate(analysis.GateOptions{Evidence: poller, Targets: poller.SetTargets})
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, name := range []string{"held", "aborted", "good"} {
			ev, ok := poller.Evidence(ns, name)
			b, _ := json.Marshal(ev)
			t.Logf("evidence of %s (%v): %s", name, ok, b)
		}
	})
	runController(t, controller.Config{Kube: env.Client(), Dynamic: dynamicClient(t), Namespace: ns, AnalysisRuns: true, Gate: gate}, poller.Run)
}

// gatedRollout is a canary of service app that steps 20 % → 60 % through
// timed pauses: with nobody at the keys, only the gate can stop it.
func gatedRollout(ns, app string, annotations map[string]string) *v1alpha1.Rollout {
	ro := kwokRollout(ns, app).Replicas(5).Image("registry.example/"+app+":v1").Steps(
		rollouttest.SetWeight(20), rollouttest.PauseFor("25s"), rollouttest.SetWeight(60), rollouttest.PauseFor("25s"),
	).Rollout()
	ro.Annotations = map[string]string{metrics.AnnotationService: app}
	for k, v := range annotations {
		ro.Annotations[k] = v
	}
	return ro
}

// TestJudgeGate: a canary at 8× stable's error rate is held by default and
// aborted where its Rollout asks for abort, each with the evidence; a
// canary as good as stable steps on to completion.
func TestJudgeGate(t *testing.T) {
	ns := env.NewNamespace(t)
	w := newDDWorld(t, map[string]float64{
		"held/stable": 0.01, "held/canary": 0.08,
		"aborted/stable": 0.01, "aborted/canary": 0.08,
		"good/stable": 0.01, "good/canary": 0.01,
	})
	runGatedReconciler(t, ns, w)
	ros := map[string]*v1alpha1.Rollout{
		"held":    gatedRollout(ns, "held", map[string]string{analysis.JudgeGateRoundsAnnotation: "2"}),
		"aborted": gatedRollout(ns, "aborted", map[string]string{analysis.JudgeGateAnnotation: "abort", analysis.JudgeGateRoundsAnnotation: "2"}),
		"good":    gatedRollout(ns, "good", map[string]string{analysis.JudgeGateRoundsAnnotation: "2"}),
	}
	hashes := map[string]string{}
	for name, ro := range ros {
		createRollout(t, ro)
		leadWaitRollout(t, 60*time.Second, ns, name, name+" revision 1 Healthy", leadHealthyAt(v1alpha1.PodTemplateHash(&ro.Spec.Template, nil)))
	}
	for name, ro := range ros {
		hashes[name] = leadSetImage(t, ro, "registry.example/"+name+":v2")
	}

	aborted := leadWaitRollout(t, 60*time.Second, ns, "aborted", "the 8× canary aborted by the judge", func(r *v1alpha1.Rollout) bool {
		return r.Status.Abort && r.Status.Phase == v1alpha1.PhaseDegraded
	})
	if !strings.HasPrefix(aborted.Status.Message, "RolloutAborted: Rollout aborted update to revision 2: ") {
		t.Errorf("abort message %q does not start with Argo's words", aborted.Status.Message)
	}
	for _, want := range []string{"aborted by roost's judge", "error rate: canary", "vs stable", "× stable", "rounds in a row"} {
		if !strings.Contains(aborted.Status.Message, want) {
			t.Errorf("abort message %q lacks %q", aborted.Status.Message, want)
		}
	}
	eventually(t, 20*time.Second, "a RolloutAborted Event that names the judge", func(ctx context.Context) (bool, string, error) {
		evs, err := env.Client().CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=aborted"})
		if err != nil {
			return false, "", err
		}
		for _, e := range evs.Items {
			if e.Type == corev1.EventTypeWarning && e.Reason == controller.EventReasonAborted && strings.Contains(e.Message, "roost's judge") {
				return true, e.Message, nil
			}
		}
		return false, "no such Event yet", nil
	})

	held := leadWaitRollout(t, 60*time.Second, ns, "held", "the 8× canary held by the judge", func(r *v1alpha1.Rollout) bool {
		return r.Spec.Paused && r.Status.Phase == v1alpha1.PhasePaused
	})
	mark := held.Annotations[analysis.JudgeHeldAnnotation]
	if !strings.HasPrefix(mark, hashes["held"]+": ") || !strings.Contains(mark, "error rate") {
		t.Errorf("hold annotation %q, want the canary's hash and the evidence", mark)
	}
	heldAt := ptr.Deref(held.Status.CurrentStepIndex, -1)
	if heldAt > 2 {
		t.Errorf("held at step %d: the failing canary passed a timed pause to 60%%", heldAt)
	}

	leadWaitRollout(t, 120*time.Second, ns, "good", "the good canary completed", leadHealthyAt(hashes["good"]))
	good, err := getRollout(context.Background(), t, ns, "good")
	if err != nil {
		t.Fatal(err)
	}
	if good.Spec.Paused || good.Annotations[analysis.JudgeHeldAnnotation] != "" {
		t.Errorf("the good canary was held: paused=%v annotation %q", good.Spec.Paused, good.Annotations[analysis.JudgeHeldAnnotation])
	}

	// Still held: a hold waits for a person, whatever the timed pauses say.
	r, err := getRollout(context.Background(), t, ns, "held")
	if err != nil {
		t.Fatal(err)
	}
	if !r.Spec.Paused || ptr.Deref(r.Status.CurrentStepIndex, -1) != heldAt {
		t.Errorf("the held canary moved on by itself: paused=%v step %d (held at %d)", r.Spec.Paused, ptr.Deref(r.Status.CurrentStepIndex, -1), heldAt)
	}
}
