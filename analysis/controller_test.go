package analysis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// ctlT0 is when the controller's clock starts.
var ctlT0 = time.Date(2026, 12, 6, 11, 0, 0, 0, time.UTC)

// stubProvider is a Provider whose answers the test decides; it keeps the
// metrics it was asked to measure, arguments substituted.
type stubProvider struct {
	mu     sync.Mutex
	asked  []v1alpha1.Metric
	answer func(m v1alpha1.Metric) Reading
}

func (s *stubProvider) Measure(_ context.Context, _ *v1alpha1.AnalysisRun, m v1alpha1.Metric, _ time.Time) Reading {
	s.mu.Lock()
	s.asked = append(s.asked, m)
	s.mu.Unlock()
	return s.answer(m)
}

func (s *stubProvider) calls() []v1alpha1.Metric {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]v1alpha1.Metric(nil), s.asked...)
}

// ctl is a RunController over a fake dynamic client, with an informer whose
// indexer the test feeds (observe) as the watch would, a fake clock, and a
// stub web provider.
type ctl struct {
	t    *testing.T
	dyn  *dynamicfake.FakeDynamicClient
	kube *kubefake.Clientset
	inf  cache.SharedIndexInformer
	clk  *clocktesting.FakeClock
	web  *stubProvider
	rec  *record.FakeRecorder
	c    *RunController
	name string
	rv   int
}

type ctlOptions struct {
	kubeObjs []runtime.Object
	noKube   bool
	noWeb    bool
}

func newCtl(t *testing.T, run *v1alpha1.AnalysisRun, o ctlOptions) *ctl {
	t.Helper()
	run.Namespace, run.ResourceVersion = "shop", "1"
	if run.UID == "" {
		run.UID = types.UID("uid-" + run.Name)
	}
	u, err := v1alpha1.AnalysisRunToUnstructured(run)
	if err != nil {
		t.Fatal(err)
	}
	return newCtlUnstructured(t, u, o)
}

func newCtlUnstructured(t *testing.T, u *unstructured.Unstructured, o ctlOptions) *ctl {
	t.Helper()
	h := &ctl{t: t, name: u.GetName(), rv: 1, clk: clocktesting.NewFakeClock(ctlT0), rec: record.NewFakeRecorder(100)}
	h.dyn = dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{v1alpha1.AnalysisRunGVR: "AnalysisRunList"}, u.DeepCopy())
	h.kube = kubefake.NewClientset(o.kubeObjs...)
	runs := h.dyn.Resource(v1alpha1.AnalysisRunGVR)
	h.inf = cache.NewSharedIndexInformer(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			return runs.Namespace(metav1.NamespaceAll).List(ctx, opts)
		},
		WatchFuncWithContext: runs.Namespace(metav1.NamespaceAll).Watch,
	}, &unstructured.Unstructured{}, 0, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	if err := h.inf.GetIndexer().Add(u.DeepCopy()); err != nil {
		t.Fatal(err)
	}
	h.web = &stubProvider{answer: func(v1alpha1.Metric) Reading { return num(0.01) }}
	cfg := ControllerConfig{Dynamic: h.dyn, Informer: h.inf, Clock: h.clk, Recorder: h.rec, Providers: Providers{Web: h.web}}
	if !o.noKube {
		cfg.Kube = h.kube
	}
	if o.noWeb {
		cfg.Providers = Providers{}
	}
	c, err := NewRunController(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.queue.ShutDown)
	h.c = c
	h.dyn.ClearActions()
	return h
}

// sync takes one pass and returns the writes it made.
func (h *ctl) sync() []k8stesting.Action {
	h.t.Helper()
	h.dyn.ClearActions()
	if err := h.c.SyncOnce(context.Background(), "shop", h.name); err != nil {
		h.t.Fatalf("SyncOnce: %v", err)
	}
	var writes []k8stesting.Action
	for _, a := range h.dyn.Actions() {
		if a.GetVerb() != "get" && a.GetVerb() != "list" && a.GetVerb() != "watch" {
			writes = append(writes, a)
		}
	}
	return writes
}

// observe shows the informer the run as stored, with the newer
// resourceVersion the API server would have given it.
func (h *ctl) observe() {
	h.t.Helper()
	runs := h.dyn.Resource(v1alpha1.AnalysisRunGVR).Namespace("shop")
	u, err := runs.Get(context.Background(), h.name, metav1.GetOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	h.rv++
	u.SetResourceVersion(strconv.Itoa(h.rv))
	if _, err := runs.Update(context.Background(), u, metav1.UpdateOptions{}); err != nil {
		h.t.Fatal(err)
	}
	if err := h.inf.GetIndexer().Update(u); err != nil {
		h.t.Fatal(err)
	}
}

// stored is the run as the fake API server holds it.
func (h *ctl) stored() *v1alpha1.AnalysisRun {
	h.t.Helper()
	u, err := h.dyn.Resource(v1alpha1.AnalysisRunGVR).Namespace("shop").Get(context.Background(), h.name, metav1.GetOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	r, errs := v1alpha1.AnalysisRunFromUnstructured(u)
	if len(errs) > 0 && !r.Status.Phase.Completed() {
		h.t.Fatalf("stored run does not decode: %v", errs)
	}
	return r
}

// events drains the recorded events.
func (h *ctl) events() []string {
	var out []string
	for {
		select {
		case e := <-h.rec.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

// queued waits (a real goroutine moves it) until the run is in the queue.
func (h *ctl) queued() bool {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if h.c.queue.Len() > 0 {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return false
}

// statusPatch is a status write as it was sent.
type statusPatch struct {
	Metadata struct {
		ResourceVersion string `json:"resourceVersion"`
	} `json:"metadata"`
	Status v1alpha1.AnalysisRunStatus `json:"status"`
	raw    string
}

// onePatch checks that writes is exactly one merge patch of the run's
// status based on resourceVersion rv, and decodes it.
func onePatch(t *testing.T, writes []k8stesting.Action, rv string) statusPatch {
	t.Helper()
	if len(writes) != 1 {
		t.Fatalf("%d writes, want one status patch: %v", len(writes), writes)
	}
	pa, ok := writes[0].(k8stesting.PatchAction)
	if !ok || pa.GetVerb() != "patch" || pa.GetResource() != v1alpha1.AnalysisRunGVR || pa.GetSubresource() != "" {
		t.Fatalf("write %v, want a patch of the analysisrun", writes[0])
	}
	if pa.GetPatchType() != types.MergePatchType {
		t.Errorf("patch type %s, want a merge patch", pa.GetPatchType())
	}
	var p statusPatch
	if err := json.Unmarshal(pa.GetPatch(), &p); err != nil {
		t.Fatalf("patch %s: %v", pa.GetPatch(), err)
	}
	p.raw = string(pa.GetPatch())
	if p.Metadata.ResourceVersion != rv {
		t.Errorf("patch precondition resourceVersion %q, want %q (%s)", p.Metadata.ResourceVersion, rv, p.raw)
	}
	var keys map[string]json.RawMessage
	_ = json.Unmarshal(pa.GetPatch(), &keys)
	if len(keys) != 2 {
		t.Errorf("the patch writes more than metadata.resourceVersion and status: %s", p.raw)
	}
	return p
}

func ctlRun(name string, metrics ...v1alpha1.Metric) *v1alpha1.AnalysisRun {
	return &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.AnalysisRunSpec{Metrics: metrics}}
}

func TestRunControllerOneWritePerPass(t *testing.T) {
	h := newCtl(t, ctlRun("checkout-1",
		lm("error-rate", interval("1m"), count(2), success("result < 0.05")),
		lm("latency", interval("1m"), count(2), success("result < 0.5")),
	), ctlOptions{})

	// Both metrics are due: measured, and written in one patch.
	p := onePatch(t, h.sync(), "1")
	st := p.Status
	if st.Phase != running || st.StartedAt == nil || !st.StartedAt.Time.Equal(ctlT0) || st.CompletedAt != nil {
		t.Errorf("after the first pass: %s started %v completed %v", st.Phase, st.StartedAt, st.CompletedAt)
	}
	if len(st.MetricResults) != 2 || len(st.MetricResults[0].Measurements) != 1 || len(st.MetricResults[1].Measurements) != 1 {
		t.Fatalf("after the first pass: %+v", st.MetricResults)
	}
	if n := len(h.web.calls()); n != 2 {
		t.Errorf("%d measurements taken, want 2", n)
	}

	// The cache still shows what the write was based on: the pass waits.
	if w := h.sync(); len(w) != 0 {
		t.Errorf("a pass over a stale cache wrote %v", w)
	}
	if n := len(h.web.calls()); n != 2 {
		t.Errorf("a pass over a stale cache measured again (%d measurements)", n)
	}

	// The write shows up; nothing is due yet: no write.
	h.observe()
	if w := h.sync(); len(w) != 0 {
		t.Errorf("a pass with nothing due wrote %v", w)
	}

	// A minute later both are due again: one patch, based on the newer version.
	h.clk.SetTime(ctlT0.Add(61 * time.Second))
	p = onePatch(t, h.sync(), "2")
	st = p.Status
	if st.Phase != successful || st.CompletedAt == nil || !st.CompletedAt.Time.Equal(ctlT0.Add(61*time.Second)) {
		t.Errorf("after the second measurements: %s completed %v", st.Phase, st.CompletedAt)
	}
	for _, r := range st.MetricResults {
		if r.Phase != successful || r.Count != 2 || len(r.Measurements) != 2 {
			t.Errorf("%s: %s count %d, %d measurements", r.Name, r.Phase, r.Count, len(r.Measurements))
		}
	}
	if got := h.stored().Status; got.Phase != successful || got.RunSummary != (v1alpha1.RunSummary{Count: 2, Successful: 2}) {
		t.Errorf("stored status %s %+v", got.Phase, got.RunSummary)
	}
	events := strings.Join(h.events(), "\n")
	for _, want := range []string{
		"Normal MetricSuccessful Metric 'error-rate' Completed. Result: Successful",
		"Normal MetricSuccessful Metric 'latency' Completed. Result: Successful",
		"Normal AnalysisRunSuccessful Analysis Completed. Result: Successful",
	} {
		if !strings.Contains(events, want) {
			t.Errorf("no event %q in\n%s", want, events)
		}
	}

	// Completed, without a ttlStrategy: never touched again.
	h.observe()
	h.clk.SetTime(ctlT0.Add(time.Hour))
	if w := h.sync(); len(w) != 0 {
		t.Errorf("a completed run was written: %v", w)
	}
	if n := len(h.web.calls()); n != 4 {
		t.Errorf("%d measurements, want 4", n)
	}
}

func TestRunControllerSecretArgs(t *testing.T) {
	const secret = "s3cr3t-t0ken"
	run := ctlRun("checkout-2", lm("error-rate", consecutiveErrorLimit(0), func(m *v1alpha1.Metric) {
		m.Provider.Web.URL = "https://metrics.example.test/q?service={{args.service}}&token={{args.token}}"
	}))
	run.Spec.Args = []v1alpha1.Argument{
		{Name: "service", Value: ptr.To("checkout")},
		{Name: "token", ValueFrom: &v1alpha1.ArgumentValueFrom{SecretKeyRef: &v1alpha1.SecretKeyRef{Name: "creds", Key: "token"}}},
	}
	h := newCtl(t, run, ctlOptions{kubeObjs: []runtime.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "creds"}, Data: map[string][]byte{"token": []byte(secret)}},
	}})
	h.web.answer = func(m v1alpha1.Metric) Reading {
		return Reading{Err: fmt.Errorf("GET %s: 401 Unauthorized", m.Provider.Web.URL)}
	}

	p := onePatch(t, h.sync(), "1")
	asked := h.web.calls()
	if len(asked) != 1 || asked[0].Provider.Web.URL != "https://metrics.example.test/q?service=checkout&token="+secret {
		t.Fatalf("the provider was asked %+v, want the secret substituted", asked)
	}
	if strings.Contains(p.raw, secret) {
		t.Errorf("the status write shows the secret: %s", p.raw)
	}
	st := p.Status
	wantMsg := "GET https://metrics.example.test/q?service=checkout&token=*****: 401 Unauthorized"
	if m := st.MetricResults[0].Measurements[0]; m.Phase != errored || m.Message != wantMsg {
		t.Errorf("measurement %s %q, want Error %q", m.Phase, m.Message, wantMsg)
	}
	if st.Phase != errored || !strings.Contains(st.Message, `"Error Message: `+wantMsg+`"`) {
		t.Errorf("run %s %q", st.Phase, st.Message)
	}
	for _, e := range h.events() {
		if strings.Contains(e, secret) {
			t.Errorf("an event shows the secret: %s", e)
		}
	}
	// The run keeps the reference, never the value.
	if got := h.stored().Spec.Args[1]; got.Value != nil || got.ValueFrom == nil {
		t.Errorf("the run's secret argument was rewritten: %+v", got)
	}
}

func TestRunControllerRunCannotMeasure(t *testing.T) {
	secretArg := v1alpha1.Argument{Name: "token", ValueFrom: &v1alpha1.ArgumentValueFrom{SecretKeyRef: &v1alpha1.SecretKeyRef{Name: "creds", Key: "token"}}}
	usesToken := func(m *v1alpha1.Metric) { m.Provider.Web.URL = "https://metrics.example.test/q?token={{args.token}}" }
	tests := []struct {
		name    string
		args    []v1alpha1.Argument
		metric  func(*v1alpha1.Metric)
		opts    ctlOptions
		forbid  bool
		message string
	}{
		{"the Secret is missing", []v1alpha1.Argument{secretArg}, usesToken, ctlOptions{},
			false, `Unable to resolve metric arguments: args.token: secret shop/creds not found; create it with the key "token"`},
		{"the Secret lacks the key", []v1alpha1.Argument{secretArg}, usesToken, ctlOptions{kubeObjs: []runtime.Object{
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "creds"}, Data: map[string][]byte{"other": []byte("x")}},
		}}, false, `Unable to resolve metric arguments: args.token: secret shop/creds has no key "token"; add it`},
		{"roost may not read the Secret", []v1alpha1.Argument{secretArg}, usesToken, ctlOptions{},
			true, "Unable to resolve metric arguments: args.token: roost may not read secret shop/creds; grant it get on secrets in shop"},
		{"roost has no cluster client", []v1alpha1.Argument{secretArg}, usesToken, ctlOptions{noKube: true},
			false, "Unable to resolve metric arguments: args.token: roost has no cluster client to read secret shop/creds"},
		{"an argument without a value", []v1alpha1.Argument{{Name: "token"}}, usesToken, ctlOptions{},
			false, "Unable to resolve metric arguments: args.token was not resolved; pass it in the Rollout's analysis args or give it a value in the template"},
		{"a fieldRef left for the Rollout", []v1alpha1.Argument{{Name: "token", ValueFrom: &v1alpha1.ArgumentValueFrom{FieldRef: &v1alpha1.FieldRef{FieldPath: "metadata.name"}}}}, usesToken, ctlOptions{},
			false, `Unable to resolve metric arguments: args.token: valueFrom.fieldRef "metadata.name" is resolved by the Rollout that creates the run; give the run a value`},
		{"a placeholder no argument fills", nil, usesToken, ctlOptions{},
			false, `Unable to resolve metric arguments: metric "error-rate": failed to resolve {{args.token}}`},
		{"an argument that makes the spec invalid", []v1alpha1.Argument{{Name: "every", Value: ptr.To("often")}}, interval("{{args.every}}"), ctlOptions{},
			false, `Analysis spec invalid: metric "error-rate": interval: "often" is not a duration`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := ctlRun("checkout-3", lm("error-rate", tt.metric))
			run.Spec.Args = tt.args
			h := newCtl(t, run, tt.opts)
			if tt.forbid {
				h.kube.PrependReactor("get", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "creds", errors.New("no RBAC"))
				})
			}
			st := onePatch(t, h.sync(), "1").Status
			if st.Phase != errored || !strings.HasPrefix(st.Message, tt.message) {
				t.Errorf("run %s %q, want Error %q", st.Phase, st.Message, tt.message)
			}
			if st.StartedAt == nil || st.CompletedAt == nil || !st.CompletedAt.Time.Equal(ctlT0) {
				t.Errorf("startedAt %v completedAt %v, want both at %v", st.StartedAt, st.CompletedAt, ctlT0)
			}
			if n := len(h.web.calls()); n != 0 {
				t.Errorf("a run that cannot measure was measured %d times", n)
			}
			if ev := strings.Join(h.events(), "\n"); !strings.Contains(ev, "Warning AnalysisRunError Analysis Completed. Result: Error: "+tt.message) {
				t.Errorf("events %q", ev)
			}
			// Completed: the next pass leaves it.
			h.observe()
			if w := h.sync(); len(w) != 0 {
				t.Errorf("a run that ended Error was written again: %v", w)
			}
		})
	}
}

func TestRunControllerInvalidSpec(t *testing.T) {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": v1alpha1.SchemeGroupVersion.String(),
		"kind":       v1alpha1.AnalysisRunKind,
		"metadata":   map[string]any{"name": "checkout-4", "namespace": "shop", "resourceVersion": "1", "uid": "uid-4"},
		"spec": map[string]any{"metrics": []any{map[string]any{
			"name":     "error-rate",
			"provider": map[string]any{"prometheus": map[string]any{"query": "up"}},
		}}},
	}}
	h := newCtlUnstructured(t, u, ctlOptions{})
	st := onePatch(t, h.sync(), "1").Status
	if st.Phase != errored || !strings.HasPrefix(st.Message, "Analysis spec invalid: analysisrun shop/checkout-4: ") ||
		!strings.Contains(st.Message, "spec.metrics[0].provider.prometheus: ") {
		t.Errorf("run %s %q", st.Phase, st.Message)
	}
	if n := len(h.web.calls()); n != 0 {
		t.Errorf("an invalid run was measured")
	}
}

func TestRunControllerProviderFailures(t *testing.T) {
	tests := []struct {
		name    string
		opts    ctlOptions
		answer  func(v1alpha1.Metric) Reading
		message string
	}{
		{"a provider that panics", ctlOptions{}, func(v1alpha1.Metric) Reading { panic("index out of range") },
			`metric "error-rate": the provider failed: index out of range`},
		{"a provider that errs", ctlOptions{}, func(v1alpha1.Metric) Reading { return readErr("HTTP 502") }, "HTTP 502"},
		{"no provider for the metric", ctlOptions{noWeb: true}, nil, `metric "error-rate": roost runs without the web provider`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newCtl(t, ctlRun("checkout-5", lm("error-rate", success("result < 0.05"))), tt.opts)
			h.web.answer = tt.answer
			st := onePatch(t, h.sync(), "1").Status
			r := st.MetricResults[0]
			if len(r.Measurements) != 1 {
				t.Fatalf("%d measurements, want 1", len(r.Measurements))
			}
			m := r.Measurements[0]
			if m.Phase != errored || m.Message != tt.message || m.Value != "" || m.FinishedAt == nil {
				t.Errorf("measurement %+v, want Error %q", m, tt.message)
			}
			if st.Phase != running || r.Phase != running || r.Error != 1 || r.ConsecutiveError != 1 || r.Count != 0 {
				t.Errorf("run %s, metric %s error %d consecutiveError %d count %d", st.Phase, r.Phase, r.Error, r.ConsecutiveError, r.Count)
			}
			// Retried after 10 s.
			h.observe()
			h.clk.Step(9 * time.Second)
			if w := h.sync(); len(w) != 0 {
				t.Errorf("retried before 10 s: %v", w)
			}
			h.clk.Step(2 * time.Second)
			if !h.queued() {
				t.Errorf("the run was not requeued for its retry")
			}
			if n := len(onePatch(t, h.sync(), strconv.Itoa(h.rv)).Status.MetricResults[0].Measurements); n != 2 {
				t.Errorf("%d measurements after the retry, want 2", n)
			}
		})
	}
}

func TestRunControllerTTL(t *testing.T) {
	secs := func(n int32) *int32 { return &n }
	tests := []struct {
		name   string
		phase  v1alpha1.AnalysisPhase
		ttl    *v1alpha1.TTLStrategy
		expiry time.Duration // 0: never deleted
	}{
		{"secondsAfterCompletion", successful, &v1alpha1.TTLStrategy{SecondsAfterCompletion: secs(60)}, time.Minute},
		{"secondsAfterSuccess overrides it for a success", successful, &v1alpha1.TTLStrategy{SecondsAfterCompletion: secs(600), SecondsAfterSuccess: secs(10)}, 10 * time.Second},
		{"secondsAfterFailure for a failure", failed, &v1alpha1.TTLStrategy{SecondsAfterCompletion: secs(600), SecondsAfterSuccess: secs(10), SecondsAfterFailure: secs(30)}, 30 * time.Second},
		{"secondsAfterFailure for an error", errored, &v1alpha1.TTLStrategy{SecondsAfterFailure: secs(30)}, 30 * time.Second},
		{"Inconclusive is neither success nor failure", inconclusive, &v1alpha1.TTLStrategy{SecondsAfterCompletion: secs(120), SecondsAfterFailure: secs(30), SecondsAfterSuccess: secs(10)}, 2 * time.Minute},
		{"a failure with only secondsAfterSuccess is kept", failed, &v1alpha1.TTLStrategy{SecondsAfterSuccess: secs(10)}, 0},
		{"no ttlStrategy: kept", successful, nil, 0},
		{"zero seconds: deleted at once", successful, &v1alpha1.TTLStrategy{SecondsAfterCompletion: secs(0)}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := ctlRun("checkout-6", lm("error-rate"))
			run.Spec.TTLStrategy = tt.ttl
			done := metav1.NewTime(ctlT0)
			run.Status = v1alpha1.AnalysisRunStatus{Phase: tt.phase, StartedAt: &done, CompletedAt: &done,
				MetricResults: []v1alpha1.MetricResult{{Name: "error-rate", Phase: tt.phase}}}
			h := newCtl(t, run, ctlOptions{})
			zero := tt.ttl != nil && tt.ttl.SecondsAfterCompletion != nil && *tt.ttl.SecondsAfterCompletion == 0
			if !zero {
				if w := h.sync(); len(w) != 0 {
					t.Fatalf("a run completed now was written or deleted: %v", w)
				}
			}
			if tt.expiry == 0 && !zero {
				h.clk.SetTime(ctlT0.Add(24 * time.Hour))
				if w := h.sync(); len(w) != 0 {
					t.Errorf("a run to keep was written or deleted: %v", w)
				}
				return
			}
			if !zero {
				if h.c.queue.Len() != 0 {
					t.Errorf("queued before its time")
				}
				h.clk.SetTime(ctlT0.Add(tt.expiry - time.Second))
				if w := h.sync(); len(w) != 0 {
					t.Errorf("deleted a second early: %v", w)
				}
				h.clk.SetTime(ctlT0.Add(tt.expiry))
				if !h.queued() {
					t.Errorf("not requeued for its ttl")
				}
			}
			w := h.sync()
			if len(w) != 1 || w[0].GetVerb() != "delete" {
				t.Fatalf("writes %v, want one delete", w)
			}
			del := w[0].(k8stesting.DeleteAction)
			if pre := del.GetDeleteOptions().Preconditions; del.GetName() != "checkout-6" || pre == nil || pre.UID == nil || *pre.UID != run.UID {
				t.Errorf("delete %s with preconditions %+v, want the run's UID %s", del.GetName(), pre, run.UID)
			}
			if _, err := h.dyn.Resource(v1alpha1.AnalysisRunGVR).Namespace("shop").Get(context.Background(), "checkout-6", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("the run is still there: %v", err)
			}
		})
	}
}
