package analysis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// ControllerConfig wires a RunController.
type ControllerConfig struct {
	Dynamic dynamic.Interface
	// Kube reads the Secrets that secretKeyRef arguments name.
	Kube kubernetes.Interface
	// Informer is the AnalysisRun informer (watch.Watcher.AnalysisRunInformer);
	// its owner starts it.
	Informer  cache.SharedIndexInformer
	Providers Providers
	Clock     clock.WithTicker
	// Recorder records the runs' Events; nil records none.
	Recorder record.EventRecorder
	// MeasureTimeout bounds one measurement (30 s when 0).
	MeasureTimeout time.Duration
}

// RunController measures AnalysisRuns: for each run, the due metrics are
// measured (in parallel), assessed by Argo's rules, and the status written
// in one patch; the run is then looked at again when its next measurement
// is due (a timed requeue, never a polling loop). It runs only in the roost
// that reconciles, under the same lease.
type RunController struct {
	runs      dynamic.NamespaceableResourceInterface
	kube      kubernetes.Interface
	informer  cache.SharedIndexInformer
	providers Providers
	clock     clock.WithTicker
	recorder  record.EventRecorder
	timeout   time.Duration
	queue     workqueue.TypedRateLimitingInterface[cache.ObjectName]

	// written remembers, per run, the resourceVersion a status write was
	// based on: until the informer shows a newer one, a pass would work on
	// what was already measured, so it waits instead.
	mu      sync.Mutex
	written map[cache.ObjectName]string

	registration cache.ResourceEventHandlerRegistration
}

// NewRunController builds a RunController; Run starts its workers.
func NewRunController(cfg ControllerConfig) (*RunController, error) {
	if cfg.Dynamic == nil || cfg.Informer == nil {
		return nil, errors.New("analysis: ControllerConfig needs Dynamic and Informer")
	}
	clk := cfg.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	timeout := cfg.MeasureTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	c := &RunController{
		runs:      cfg.Dynamic.Resource(v1alpha1.AnalysisRunGVR),
		kube:      cfg.Kube,
		informer:  cfg.Informer,
		providers: cfg.Providers,
		clock:     clk,
		recorder:  cfg.Recorder,
		timeout:   timeout,
		written:   map[cache.ObjectName]string{},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.DefaultTypedControllerRateLimiter[cache.ObjectName](),
			workqueue.TypedRateLimitingQueueConfig[cache.ObjectName]{Name: "analysisruns", Clock: clk},
		),
	}
	enqueue := func(obj any) {
		if name, err := cache.DeletionHandlingObjectToName(obj); err == nil {
			c.queue.Add(name)
		}
	}
	reg, err := cfg.Informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue,
		UpdateFunc: func(old, cur any) {
			o, ok1 := old.(metav1.Object)
			n, ok2 := cur.(metav1.Object)
			if ok1 && ok2 && o.GetResourceVersion() == n.GetResourceVersion() {
				return
			}
			enqueue(cur)
		},
		DeleteFunc: func(obj any) {
			if name, err := cache.DeletionHandlingObjectToName(obj); err == nil {
				c.mu.Lock()
				delete(c.written, name)
				c.mu.Unlock()
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("analysis: run handler: %w", err)
	}
	c.registration = reg
	return c, nil
}

// Run works until ctx is done, then detaches from the informer.
func (c *RunController) Run(ctx context.Context, workers int) error {
	defer utilruntime.HandleCrash()
	defer func() { _ = c.informer.RemoveEventHandler(c.registration) }()
	if !cache.WaitForCacheSync(ctx.Done(), c.informer.HasSynced) {
		c.queue.ShutDown()
		if ctx.Err() != nil {
			return nil
		}
		return errors.New("analysis: AnalysisRun cache did not sync")
	}
	if workers < 1 {
		workers = 1
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wait.UntilWithContext(ctx, func(ctx context.Context) {
				for c.next(ctx) {
				}
			}, time.Second)
		}()
	}
	<-ctx.Done()
	c.queue.ShutDown()
	wg.Wait()
	return nil
}

func (c *RunController) next(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	if err := c.SyncOnce(ctx, key.Namespace, key.Name); err != nil {
		if !apierrors.IsConflict(err) {
			utilruntime.HandleErrorWithContext(ctx, err, "syncing analysis run", "analysisrun", key.String())
		}
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	return true
}

// SyncOnce takes one pass over one run from the informer's cache.
func (c *RunController) SyncOnce(ctx context.Context, namespace, name string) (err error) {
	key := cache.ObjectName{Namespace: namespace, Name: name}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("analysisrun %s: sync panicked: %v", key, p)
		}
	}()
	obj, exists, err := c.informer.GetIndexer().GetByKey(key.String())
	if err != nil {
		return fmt.Errorf("analysisrun %s: read from cache: %w", key, err)
	}
	if !exists {
		return nil
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok || u.GetDeletionTimestamp() != nil {
		return nil
	}
	c.mu.Lock()
	based, waiting := c.written[key]
	c.mu.Unlock()
	if waiting && based == u.GetResourceVersion() {
		// The cache has not shown our last write yet.
		c.queue.AddAfter(key, 200*time.Millisecond)
		return nil
	}
	run, errs := v1alpha1.AnalysisRunFromUnstructured(u)
	now := c.clock.Now()
	st := run.Status.DeepCopy()
	if st.Phase.Completed() {
		return c.expire(ctx, run, now)
	}
	if len(errs) > 0 {
		Fail(st, "Analysis spec invalid: "+v1alpha1.AnalysisProblems(v1alpha1.AnalysisRunKind, run, errs).Error(), now)
		return c.write(ctx, run, st)
	}
	args, secrets, err := c.args(ctx, run)
	if err != nil {
		Fail(st, "Unable to resolve metric arguments: "+err.Error(), now)
		return c.write(ctx, run, st)
	}
	plan, err := PlanRun(run, args)
	if err != nil {
		Fail(st, mask(err.Error(), secrets), now)
		return c.write(ctx, run, st)
	}
	before := statusJSON(st)
	plan.Start(st, now)
	due, _ := plan.Due(st, now)
	readings := c.measure(ctx, plan, run, due)
	next, _ := plan.Apply(st, readings, c.clock.Now())
	for i := range st.MetricResults {
		for j := range st.MetricResults[i].Measurements {
			m := &st.MetricResults[i].Measurements[j]
			m.Message = mask(m.Message, secrets)
		}
		st.MetricResults[i].Message = mask(st.MetricResults[i].Message, secrets)
	}
	st.Message = mask(st.Message, secrets)
	if statusJSON(st) != before {
		if err := c.write(ctx, run, st); err != nil {
			return err
		}
	}
	if !next.IsZero() {
		c.queue.AddAfter(key, max(next.Sub(c.clock.Now()), time.Millisecond))
	}
	return nil
}

// measure takes the due measurements in parallel, each bounded by the
// measurement timeout.
func (c *RunController) measure(ctx context.Context, plan *Plan, run *v1alpha1.AnalysisRun, due []int) map[int]Measured {
	out := make(map[int]Measured, len(due))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, i := range due {
		m := plan.Metrics[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			started := c.clock.Now()
			var rd Reading
			if p, why := c.providers.For(&m); p == nil {
				rd.Err = fmt.Errorf("metric %q: %s", m.Name, why)
			} else {
				mctx, cancel := context.WithTimeout(ctx, c.timeout)
				rd = safeMeasure(mctx, p, run, m, started)
				cancel()
			}
			mu.Lock()
			out[i] = Measured{Reading: rd, Started: started}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// safeMeasure turns a provider's panic into an Error measurement.
func safeMeasure(ctx context.Context, p Provider, run *v1alpha1.AnalysisRun, m v1alpha1.Metric, now time.Time) (rd Reading) {
	defer func() {
		if r := recover(); r != nil {
			rd = Reading{Err: fmt.Errorf("metric %q: the provider failed: %v", m.Name, r)}
		}
	}()
	return p.Measure(ctx, run, m, now)
}

// args reads the run's argument values: literal ones, and those in Secrets
// of the run's namespace (read at every pass, so a rotated key is used at
// once). It returns the secret values too, so that they are masked.
func (c *RunController) args(ctx context.Context, run *v1alpha1.AnalysisRun) (map[string]string, []string, error) {
	values := map[string]string{}
	var secrets []string
	for _, a := range run.Spec.Args {
		switch {
		case a.Value != nil:
			values[a.Name] = *a.Value
		case a.ValueFrom != nil && a.ValueFrom.SecretKeyRef != nil:
			ref := a.ValueFrom.SecretKeyRef
			if c.kube == nil {
				return nil, nil, fmt.Errorf("args.%s: roost has no cluster client to read secret %s/%s", a.Name, run.Namespace, ref.Name)
			}
			s, err := c.kube.CoreV1().Secrets(run.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err):
				return nil, nil, fmt.Errorf("args.%s: secret %s/%s not found; create it with the key %q", a.Name, run.Namespace, ref.Name, ref.Key)
			case apierrors.IsForbidden(err):
				return nil, nil, fmt.Errorf("args.%s: roost may not read secret %s/%s; grant it get on secrets in %s", a.Name, run.Namespace, ref.Name, run.Namespace)
			case err != nil:
				return nil, nil, fmt.Errorf("args.%s: reading secret %s/%s: %w", a.Name, run.Namespace, ref.Name, err)
			}
			v, ok := s.Data[ref.Key]
			if !ok {
				return nil, nil, fmt.Errorf("args.%s: secret %s/%s has no key %q; add it", a.Name, run.Namespace, ref.Name, ref.Key)
			}
			values[a.Name] = string(v)
			if len(v) > 0 {
				secrets = append(secrets, string(v))
			}
		case a.ValueFrom != nil && a.ValueFrom.FieldRef != nil:
			return nil, nil, fmt.Errorf("args.%s: valueFrom.fieldRef %q is resolved by the Rollout that creates the run; give the run a value", a.Name, a.ValueFrom.FieldRef.FieldPath)
		default:
			return nil, nil, fmt.Errorf("args.%s was not resolved; pass it in the Rollout's analysis args or give it a value in the template", a.Name)
		}
	}
	return values, secrets, nil
}

func mask(s string, secrets []string) string {
	for _, v := range secrets {
		s = strings.ReplaceAll(s, v, "*****")
	}
	return s
}

// write patches the run's status, the whole status as it is now: one write
// per pass, whatever it measured. The resourceVersion it was read at is a
// precondition, so that two writers can never both add a measurement.
func (c *RunController) write(ctx context.Context, run *v1alpha1.AnalysisRun, st *v1alpha1.AnalysisRunStatus) error {
	body := map[string]any{
		"metadata": map[string]any{"resourceVersion": run.ResourceVersion},
		"status":   st,
	}
	patch, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("analysisrun %s/%s: build status patch: %w", run.Namespace, run.Name, err)
	}
	key := cache.ObjectName{Namespace: run.Namespace, Name: run.Name}
	if _, err := c.runs.Namespace(run.Namespace).Patch(ctx, run.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("analysisrun %s: write status: %w", key, err)
	}
	c.mu.Lock()
	c.written[key] = run.ResourceVersion
	c.mu.Unlock()
	c.events(run, &run.Status, st)
	return nil
}

// events records what changed: the run's phase, and each metric's.
func (c *RunController) events(run *v1alpha1.AnalysisRun, old, cur *v1alpha1.AnalysisRunStatus) {
	if c.recorder == nil {
		return
	}
	oldPhase := map[string]v1alpha1.AnalysisPhase{}
	for _, r := range old.MetricResults {
		oldPhase[r.Name] = r.Phase
	}
	for _, r := range cur.MetricResults {
		if r.Phase.Completed() && oldPhase[r.Name] != r.Phase {
			c.recorder.Eventf(run, eventType(r.Phase), "Metric"+string(r.Phase), "Metric '%s' Completed. Result: %s", r.Name, r.Phase)
		}
	}
	if cur.Phase != old.Phase && cur.Phase.Completed() {
		c.recorder.Eventf(run, eventType(cur.Phase), "AnalysisRun"+string(cur.Phase), "Analysis Completed. Result: %s%s", cur.Phase, suffix(cur.Message))
	}
}

func suffix(msg string) string {
	if msg == "" {
		return ""
	}
	return ": " + msg
}

func eventType(p v1alpha1.AnalysisPhase) string {
	if p == v1alpha1.AnalysisPhaseSuccessful {
		return corev1.EventTypeNormal
	}
	return corev1.EventTypeWarning
}

// expire deletes a completed run whose ttlStrategy says so, or asks to look
// again when it will.
func (c *RunController) expire(ctx context.Context, run *v1alpha1.AnalysisRun, now time.Time) error {
	ttl := run.Spec.TTLStrategy
	if ttl == nil || run.Status.CompletedAt == nil {
		return nil
	}
	secs := ttl.SecondsAfterCompletion
	switch run.Status.Phase {
	case v1alpha1.AnalysisPhaseSuccessful:
		if ttl.SecondsAfterSuccess != nil {
			secs = ttl.SecondsAfterSuccess
		}
	case v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseError:
		if ttl.SecondsAfterFailure != nil {
			secs = ttl.SecondsAfterFailure
		}
	}
	if secs == nil {
		return nil
	}
	at := run.Status.CompletedAt.Add(time.Duration(*secs) * time.Second)
	if now.Before(at) {
		c.queue.AddAfter(cache.ObjectName{Namespace: run.Namespace, Name: run.Name}, at.Sub(now))
		return nil
	}
	err := c.runs.Namespace(run.Namespace).Delete(ctx, run.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &run.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("analysisrun %s/%s: delete after its ttlStrategy: %w", run.Namespace, run.Name, err)
	}
	return nil
}
