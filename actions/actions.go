package actions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"

	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/watch"
)

// ActorAnnotation is set on the Events that actions record, so that readers can
// show who acted without parsing the message.
const ActorAnnotation = watch.ActorAnnotation

// Event reasons recorded by actions. They describe a request by a person; the
// reconciler records its own Events when it carries the request out.
const (
	EventPromoted     = "RolloutPromoted"
	EventPromotedFull = "RolloutPromotedFull"
	EventAborted      = "RolloutAbortRequested"
	EventRetried      = "RolloutRetried"
	EventPaused       = "RolloutPausedByUser"
	EventResumed      = "RolloutResumedByUser"
	EventRestarted    = "RolloutRestartRequested"
	EventUndone       = "RolloutUndone"
)

// Actions sends the patches that `kubectl argo rollouts` sends, so that roost's
// commands and keys act the same on rollouts stepped by roost or by Argo
// Rollouts, and records each one as an Event naming the person who acted.
// Where roost sends something else, the README says where and why
// ("Where roost's actions differ from kubectl argo rollouts").
type Actions struct {
	dynamic dynamic.Interface
	kube    kubernetes.Interface
	actor   string
	clock   clock.PassiveClock
}

// NewActions builds Actions acting as actor (see WhoAmI).
func NewActions(dyn dynamic.Interface, kube kubernetes.Interface, actor string) *Actions {
	if actor == "" {
		actor = "unknown user"
	}
	return &Actions{dynamic: dyn, kube: kube, actor: actor, clock: clock.RealClock{}}
}

// WithClock replaces the clock used for restartAt and Event times (tests).
func (a *Actions) WithClock(c clock.PassiveClock) *Actions {
	a.clock = c
	return a
}

// Actor is the name recorded on Events.
func (a *Actions) Actor() string { return a.actor }

// Result says what an action did. Skipped is true when the rollout was already
// in the wanted state and nothing was sent.
type Result struct {
	Skipped bool
	// Summary is one line for a person, e.g. "promoted: pause at step 2/5 released".
	Summary string
	// Warning is set when the action succeeded but something on the side failed
	// (the Event could not be recorded).
	Warning string
}

func (r Result) String() string {
	if r.Warning != "" {
		return r.Summary + " (" + r.Warning + ")"
	}
	return r.Summary
}

func done(format string, args ...any) Result {
	return Result{Summary: fmt.Sprintf(format, args...)}
}

func skipped(format string, args ...any) Result {
	return Result{Skipped: true, Summary: "skipped: " + fmt.Sprintf(format, args...)}
}

// The bodies `kubectl argo rollouts` v1.9 sends, byte for byte, spacing
// included: an audit log, an admission webhook or a diff of the two tools'
// requests sees the same bytes. patchSkipStep is the plugin's own body for
// promoting past an Inconclusive analysis step; roost also sends it to skip a
// step the rollout is not paused at (see Promote).
const (
	patchPause              = `{"spec":{"paused":true}}`
	patchUnpause            = `{"spec":{"paused":false}}`
	patchClearPause         = `{"status":{"pauseConditions":null}}`
	patchUnpauseClearPause  = `{"spec":{"paused":false},"status":{"pauseConditions":null}}`
	patchSkipStep           = `{"status":{"pauseConditions":null, "controllerPause":false, "currentStepIndex":%d}}`
	patchUnpauseSkipStep    = `{"spec":{"paused":false},"status":{"pauseConditions":null, "controllerPause":false, "currentStepIndex":%d}}`
	patchPromoteFull        = `{"status":{"promoteFull":true}}`
	patchUnpausePromoteFull = `{"spec":{"paused":false},"status":{"promoteFull":true}}`
	patchAbort              = `{"status":{"abort":true}}`
	patchRetry              = `{"status":{"abort":false}}`
	patchRestart            = "{\n\t\"spec\": {\n\t\t\"restartAt\": \"%s\"\n\t}\n}"
)

// writes is what one action sends, in the plugin's order: status as a merge
// patch to the /status subresource, then spec as a merge patch to the
// Rollout. A cluster whose Rollout CRD has no status subresource (Argo
// Rollouts before v0.10) answers the first with 404; fallback then goes to
// the Rollout in place of spec, carrying both. An empty body is not sent.
type writes struct {
	status, fallback, spec string
}

// rolloutState is what the actions need to know about a rollout. It is read
// from the unstructured object rather than decoded into the typed Rollout, so
// that actions also work on rollouts using fields roost does not support.
type rolloutState struct {
	obj            *unstructured.Unstructured
	paused         bool
	steps          int
	stepIndex      *int64
	pauseConds     int
	abort          bool
	promoteFull    bool
	currentPodHash string
	stableRS       string
	// controllerPause and stepAnalysis (the current step run's phase) tell
	// a canary held on an Inconclusive analysis step.
	controllerPause bool
	stepAnalysis    string
}

func readState(u *unstructured.Unstructured) rolloutState {
	s := rolloutState{obj: u}
	s.paused, _, _ = unstructured.NestedBool(u.Object, "spec", "paused")
	steps, _, _ := unstructured.NestedSlice(u.Object, "spec", "strategy", "canary", "steps")
	s.steps = len(steps)
	if i, ok, _ := unstructured.NestedInt64(u.Object, "status", "currentStepIndex"); ok {
		s.stepIndex = &i
	}
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "pauseConditions")
	s.pauseConds = len(conds)
	s.abort, _, _ = unstructured.NestedBool(u.Object, "status", "abort")
	s.promoteFull, _, _ = unstructured.NestedBool(u.Object, "status", "promoteFull")
	s.currentPodHash, _, _ = unstructured.NestedString(u.Object, "status", "currentPodHash")
	s.stableRS, _, _ = unstructured.NestedString(u.Object, "status", "stableRS")
	s.controllerPause, _, _ = unstructured.NestedBool(u.Object, "status", "controllerPause")
	s.stepAnalysis, _, _ = unstructured.NestedString(u.Object, "status", "canary", "currentStepAnalysisRunStatus", "status")
	return s
}

func (s rolloutState) index() int64 {
	if s.stepIndex == nil {
		return 0
	}
	return *s.stepIndex
}

// fullyPromoted is true when the current template is the stable one: there is
// nothing left to promote.
func (s rolloutState) fullyPromoted() bool {
	return s.currentPodHash != "" && s.currentPodHash == s.stableRS
}

// heldInconclusive is true when the canary is held on an Inconclusive
// analysis step: the one state where the plugin's promote skips the step
// instead of only releasing the pause.
func (s rolloutState) heldInconclusive() bool {
	return s.pauseConds > 0 && s.controllerPause && s.stepAnalysis == "Inconclusive"
}

// nextStep is the step index after the current one, capped at the number of
// steps, as the plugin counts it.
func (s rolloutState) nextStep() int64 {
	return min(s.index()+1, int64(s.steps))
}

// Promote releases the pause the rollout waits at, or, when it waits at none,
// skips to the next step, as `kubectl argo rollouts promote` does. It refuses
// an aborted rollout: the plugin's patch would move currentStepIndex, which
// both controllers put back to 0 while the rollout stays aborted, so the
// promote would report success and change nothing.
func (a *Actions) Promote(ctx context.Context, ns, name string) (Result, error) {
	s, err := a.get(ctx, ns, name)
	if err != nil {
		return Result{}, err
	}
	if s.abort {
		return Result{}, fmt.Errorf("rollout %s/%s is aborted; retry it first with `roost retry %s -n %s`", ns, name, name, ns)
	}
	var w writes
	if s.paused {
		w.spec = patchUnpause
	}
	var detail string
	switch {
	case s.heldInconclusive():
		next := s.nextStep()
		w.status = fmt.Sprintf(patchSkipStep, next)
		w.fallback = fmt.Sprintf(patchUnpauseSkipStep, next)
		detail = fmt.Sprintf("Inconclusive analysis at step %d/%d accepted, now at step %d/%d", s.index()+1, s.steps, min(next+1, int64(s.steps)), s.steps)
	case s.pauseConds > 0:
		w.status = patchClearPause
		w.fallback = patchUnpauseClearPause
		detail = fmt.Sprintf("pause at step %d/%d released", s.index()+1, s.steps)
	case s.fullyPromoted() || s.steps == 0 || s.index() >= int64(s.steps):
		// The plugin's status patch here would change nothing.
		if w.spec == "" {
			if s.fullyPromoted() {
				return skipped("already fully promoted"), nil
			}
			return skipped("no step left to promote; the rollout finishes on its own (or use `roost promote --full`)"), nil
		}
		detail = "manual pause lifted"
	default:
		// The plugin sends {"pauseConditions":null, "currentStepIndex":N+1}.
		// roost also clears controllerPause: left true with no pause
		// condition, it tells both controllers that the pause at the new
		// step was already released, so two promotes sent before the
		// controller acts (two people, or a key pressed twice) would skip
		// that pause too.
		next := s.nextStep()
		w.status = fmt.Sprintf(patchSkipStep, next)
		w.fallback = fmt.Sprintf(patchUnpauseSkipStep, next)
		if next == int64(s.steps) {
			detail = fmt.Sprintf("step %d/%d skipped, all steps done", s.index()+1, s.steps)
		} else {
			detail = fmt.Sprintf("step %d/%d skipped, now at step %d/%d", s.index()+1, s.steps, next+1, s.steps)
		}
	}
	if w.spec != "" && w.status != "" {
		detail += ", manual pause lifted"
	}
	if err := a.apply(ctx, ns, name, w); err != nil {
		return Result{}, err
	}
	return a.record(ctx, s.obj, EventPromoted, "promoted by "+a.actor+": "+detail, done("promoted: %s", detail)), nil
}

// PromoteFull skips every remaining step and pause: the canary goes to 100% and
// becomes stable. Unlike the plugin's, it also lifts a manual pause: left in
// place, spec.paused keeps the rollout Paused, and roost's reconciler does not
// make a paused canary stable: the opposite of what was asked.
func (a *Actions) PromoteFull(ctx context.Context, ns, name string) (Result, error) {
	s, err := a.get(ctx, ns, name)
	if err != nil {
		return Result{}, err
	}
	var w writes
	if s.paused {
		w.spec = patchUnpause
	}
	detail := "remaining steps skipped"
	switch {
	case s.currentPodHash == s.stableRS && w.spec == "":
		// The plugin sends nothing either.
		if s.currentPodHash == "" {
			return skipped("no status yet: no controller has picked the rollout up"), nil
		}
		return skipped("already fully promoted"), nil
	case s.currentPodHash == s.stableRS:
		detail = "already stable; manual pause lifted"
	case s.promoteFull && w.spec == "":
		return skipped("full promotion already requested"), nil
	case s.promoteFull:
		detail = "full promotion already requested; manual pause lifted"
	default:
		w.status = patchPromoteFull
		w.fallback = patchPromoteFull
		if s.paused {
			w.fallback = patchUnpausePromoteFull
		}
	}
	if err := a.apply(ctx, ns, name, w); err != nil {
		return Result{}, err
	}
	return a.record(ctx, s.obj, EventPromotedFull, "fully promoted by "+a.actor+": "+detail, done("fully promoted: %s", detail)), nil
}

// Abort sends the canary back to 0%: stable takes every replica. reason is kept
// in an annotation so that the controller puts it in the abort message and
// everyone sees why.
func (a *Actions) Abort(ctx context.Context, ns, name, reason string) (Result, error) {
	s, err := a.get(ctx, ns, name)
	if err != nil {
		return Result{}, err
	}
	if s.abort {
		return skipped("already aborted"), nil
	}
	reason = strings.TrimSpace(reason)
	_, hasReason := s.obj.GetAnnotations()[v1alpha1.AbortReasonAnnotation]
	// The reason goes first, so the controller reads it when it handles the abort.
	if reason != "" || hasReason {
		var value any
		if reason != "" {
			value = reason
		}
		md := map[string]any{"metadata": map[string]any{"annotations": map[string]any{v1alpha1.AbortReasonAnnotation: value}}}
		if err := a.send(ctx, ns, name, types.MergePatchType, encodePatch(md), ""); err != nil {
			return Result{}, err
		}
	}
	if err := a.apply(ctx, ns, name, writes{status: patchAbort, fallback: patchAbort}); err != nil {
		return Result{}, err
	}
	summary := "aborted: canary scaling to 0, stable to all replicas"
	msg := "aborted by " + a.actor
	if reason != "" {
		msg += ": " + reason
		summary += " (reason: " + reason + ")"
	}
	return a.record(ctx, s.obj, EventAborted, msg, done("%s", summary)), nil
}

// Retry restarts an aborted rollout from its first step.
func (a *Actions) Retry(ctx context.Context, ns, name string) (Result, error) {
	s, err := a.get(ctx, ns, name)
	if err != nil {
		return Result{}, err
	}
	if !s.abort {
		return skipped("not aborted; nothing to retry"), nil
	}
	if err := a.apply(ctx, ns, name, writes{status: patchRetry, fallback: patchRetry}); err != nil {
		return Result{}, err
	}
	// The old reason must not be shown for, or reused by, a later abort.
	if _, ok := s.obj.GetAnnotations()[v1alpha1.AbortReasonAnnotation]; ok {
		md := map[string]any{"metadata": map[string]any{"annotations": map[string]any{v1alpha1.AbortReasonAnnotation: nil}}}
		if err := a.send(ctx, ns, name, types.MergePatchType, encodePatch(md), ""); err != nil {
			return Result{}, err
		}
	}
	return a.record(ctx, s.obj, EventRetried, "retried by "+a.actor, done("retried: restarting from step 1")), nil
}

// Pause holds the rollout where it is (spec.paused) until Resume.
func (a *Actions) Pause(ctx context.Context, ns, name string) (Result, error) {
	s, err := a.get(ctx, ns, name)
	if err != nil {
		return Result{}, err
	}
	if s.paused {
		return skipped("already paused"), nil
	}
	if err := a.apply(ctx, ns, name, writes{spec: patchPause}); err != nil {
		return Result{}, err
	}
	return a.record(ctx, s.obj, EventPaused, "paused by "+a.actor, done("paused: holding at the current step until `roost resume`")), nil
}

// Resume lifts a manual pause (spec.paused). A pause step is released by Promote.
// The plugin v1.9 has no resume: its promote lifts spec.paused and, in the same
// request, releases a pause or skips a step. Resume sends only the spec half
// of that, so lifting a hold never moves the canary past a step.
func (a *Actions) Resume(ctx context.Context, ns, name string) (Result, error) {
	s, err := a.get(ctx, ns, name)
	if err != nil {
		return Result{}, err
	}
	if !s.paused {
		if s.pauseConds > 0 {
			return skipped("not manually paused; it waits at a pause step: release it with `roost promote %s -n %s`", name, ns), nil
		}
		return skipped("not paused"), nil
	}
	if err := a.apply(ctx, ns, name, writes{spec: patchUnpause}); err != nil {
		return Result{}, err
	}
	return a.record(ctx, s.obj, EventResumed, "resumed by "+a.actor, done("resumed: manual pause lifted")), nil
}

// Restart asks the controller to recreate the rollout's pods (spec.restartAt).
func (a *Actions) Restart(ctx context.Context, ns, name string) (Result, error) {
	s, err := a.get(ctx, ns, name)
	if err != nil {
		return Result{}, err
	}
	at := a.clock.Now().UTC().Truncate(time.Second).Format(time.RFC3339)
	if err := a.apply(ctx, ns, name, writes{spec: fmt.Sprintf(patchRestart, at)}); err != nil {
		return Result{}, err
	}
	return a.record(ctx, s.obj, EventRestarted, "restart requested by "+a.actor, done("restart requested at %s: pods are replaced one by one", at)), nil
}

// Undo puts back the pod template of an earlier revision (0 = the previous
// one), which starts a new canary of that template.
func (a *Actions) Undo(ctx context.Context, ns, name string, toRevision int64) (Result, error) {
	s, err := a.get(ctx, ns, name)
	if err != nil {
		return Result{}, err
	}
	if toRevision < 0 {
		return Result{}, fmt.Errorf("rollout %s/%s: revision %d is negative; give a revision from `roost get %s -n %s`, or 0 for the previous one", ns, name, toRevision, name, ns)
	}
	rss, err := a.kube.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return Result{}, fmt.Errorf("rollout %s/%s: listing its ReplicaSets: %w", ns, name, err)
	}
	type revision struct {
		number int64
		rs     int
	}
	var revs []revision
	for i := range rss.Items {
		rs := &rss.Items[i]
		if !ownedBy(rs.OwnerReferences, s.obj.GetUID()) {
			continue
		}
		n, err := strconv.ParseInt(rs.Annotations[v1alpha1.RevisionAnnotation], 10, 64)
		if err != nil {
			continue
		}
		revs = append(revs, revision{n, i})
	}
	sort.Slice(revs, func(i, j int) bool { return revs[i].number > revs[j].number })
	if len(revs) == 0 {
		return Result{}, fmt.Errorf("rollout %s/%s has no ReplicaSet with a %s annotation; there is no revision to go back to", ns, name, v1alpha1.RevisionAnnotation)
	}
	want := -1
	if toRevision == 0 {
		if len(revs) < 2 {
			return Result{}, fmt.Errorf("rollout %s/%s has only revision %d; there is no previous revision to go back to", ns, name, revs[0].number)
		}
		want = 1
	} else {
		for i, r := range revs {
			if r.number == toRevision {
				want = i
			}
		}
	}
	if want < 0 {
		var have []string
		for _, r := range revs {
			have = append(have, strconv.FormatInt(r.number, 10))
		}
		return Result{}, fmt.Errorf("rollout %s/%s has no revision %d; it has revisions %s", ns, name, toRevision, strings.Join(have, ", "))
	}
	rs := &rss.Items[revs[want].rs]
	tmpl := rs.Spec.Template.DeepCopy()
	delete(tmpl.Labels, v1alpha1.DefaultRolloutUniqueLabelKey)
	// The plugin strips only the hash label. roost also strips the labels and
	// annotations injected from canaryMetadata/stableMetadata (recorded in
	// the ReplicaSet's ephemeral-metadata annotation): they belong to the
	// ReplicaSet's role, not to the template. Both controllers find the
	// ReplicaSet of a template by comparing it with the ReplicaSet's own
	// template once those are set aside, so with them kept the undo makes a
	// new ReplicaSet instead of going back to the old one (for stable, a
	// whole canary instead of a rollback), and e.g. role=stable stays in the
	// template for every later canary's pods.
	var injected v1alpha1.PodTemplateMetadata
	if v, ok := rs.Annotations[v1alpha1.EphemeralMetadataAnnotation]; ok && json.Unmarshal([]byte(v), &injected) == nil {
		for k := range injected.Labels {
			delete(tmpl.Labels, k)
		}
		for k := range injected.Annotations {
			delete(tmpl.Annotations, k)
		}
	}
	if sameTemplate(s.obj, tmpl) {
		return skipped("revision %d is already the current template", revs[want].number), nil
	}
	patch := encodePatch([]map[string]any{{"op": "replace", "path": "/spec/template", "value": tmpl}})
	if err := a.send(ctx, ns, name, types.JSONPatchType, patch, ""); err != nil {
		return Result{}, err
	}
	res := done("rolled back to the template of revision %d (ReplicaSet %s); a new canary starts", revs[want].number, rs.Name)
	return a.record(ctx, s.obj, EventUndone, fmt.Sprintf("rolled back to revision %d by %s", revs[want].number, a.actor), res), nil
}

// sameTemplate is true when the Rollout's template already is tmpl, apart
// from the hash label and the fields the API server defaulted in tmpl: the
// plugin's test for "skipped rollback".
func sameTemplate(ro *unstructured.Unstructured, tmpl *corev1.PodTemplateSpec) bool {
	m, ok, err := unstructured.NestedMap(ro.Object, "spec", "template")
	if !ok || err != nil {
		return false
	}
	var cur corev1.PodTemplateSpec
	if runtime.DefaultUnstructuredConverter.FromUnstructured(m, &cur) != nil {
		return false
	}
	delete(cur.Labels, v1alpha1.DefaultRolloutUniqueLabelKey)
	return apiequality.Semantic.DeepDerivative(&cur, tmpl)
}

func ownedBy(refs []metav1.OwnerReference, uid types.UID) bool {
	for _, r := range refs {
		if r.Controller != nil && *r.Controller && r.UID == uid {
			return true
		}
	}
	return false
}

// Target names one rollout of a batch.
type Target struct {
	Namespace string
	Name      string
}

func (t Target) String() string { return t.Namespace + "/" + t.Name }

// Outcome is what happened to one rollout of a batch.
type Outcome struct {
	Target
	Result Result
	Err    error
}

// ForEach runs fn on every target in order. A failure is recorded in its
// Outcome and never stops the others: in a release window, promoting nine
// rollouts of ten is better than promoting none because the first one failed.
func (a *Actions) ForEach(ctx context.Context, targets []Target, fn func(ctx context.Context, ns, name string) (Result, error)) []Outcome {
	out := make([]Outcome, 0, len(targets))
	for _, t := range targets {
		if err := ctx.Err(); err != nil {
			out = append(out, Outcome{Target: t, Err: fmt.Errorf("rollout %s: not attempted: %w", t, err)})
			continue
		}
		res, err := fn(ctx, t.Namespace, t.Name)
		out = append(out, Outcome{Target: t, Result: res, Err: err})
	}
	return out
}

func (a *Actions) get(ctx context.Context, ns, name string) (rolloutState, error) {
	u, err := a.dynamic.Resource(v1alpha1.RolloutGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return rolloutState{}, RolloutError(ns, name, err)
	}
	st := readState(u)
	if err := checkExpect(ctx, ns, name, st); err != nil {
		return rolloutState{}, err
	}
	return st, nil
}

// RolloutError turns an API error about a rollout into one that says what to do.
func RolloutError(ns, name string, err error) error {
	var status apierrors.APIStatus
	switch {
	case apierrors.IsNotFound(err) && errors.As(err, &status) && status.Status().Details != nil && status.Status().Details.Name == name:
		return fmt.Errorf("rollout %s not found in namespace %s; list rollouts with `roost get -A`", name, ns)
	case apierrors.IsNotFound(err):
		return fmt.Errorf("rollout %s/%s: the cluster has no Rollout resource (%s); install the CRD with `roost install`: %w", ns, name, v1alpha1.RolloutGVR.GroupResource(), err)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("rollout %s/%s: forbidden; ask for RBAC to get and patch rollouts (and rollouts/status) in namespace %s: %w", ns, name, ns, err)
	case apierrors.IsConflict(err):
		return fmt.Errorf("rollout %s/%s changed while acting on it; run the command again: %w", ns, name, err)
	}
	return fmt.Errorf("rollout %s/%s: %w", ns, name, err)
}

// apply sends w: the status body to /status, then the spec body to the
// Rollout, or, when the Rollout CRD has no status subresource (404), the
// fallback body to the Rollout instead, as kubectl argo rollouts does.
func (a *Actions) apply(ctx context.Context, ns, name string, w writes) error {
	spec := w.spec
	if w.status != "" {
		err := a.send(ctx, ns, name, types.MergePatchType, []byte(w.status), "status")
		switch {
		case isNotFound(err):
			spec = w.fallback
		case err != nil:
			return err
		}
	}
	if spec == "" {
		return nil
	}
	return a.send(ctx, ns, name, types.MergePatchType, []byte(spec), "")
}

// isNotFound matches the error send wraps, keeping the API status for callers.
func isNotFound(err error) bool {
	var nf *sendError
	return errors.As(err, &nf) && apierrors.IsNotFound(nf.err)
}

type sendError struct {
	msg string
	err error
}

func (e *sendError) Error() string { return e.msg }
func (e *sendError) Unwrap() error { return e.err }

func (a *Actions) send(ctx context.Context, ns, name string, pt types.PatchType, body []byte, subresource string) error {
	var subs []string
	if subresource != "" {
		subs = []string{subresource}
	}
	_, err := a.dynamic.Resource(v1alpha1.RolloutGVR).Namespace(ns).Patch(ctx, name, pt, body, metav1.PatchOptions{}, subs...)
	if err != nil {
		return &sendError{msg: RolloutError(ns, name, err).Error(), err: err}
	}
	return nil
}

// record creates an Event on the rollout (or, for a run no Rollout owns, on
// the AnalysisRun); msg names the actor. The action
// already happened, so a failure only adds a warning to the result.
func (a *Actions) record(ctx context.Context, ro *unstructured.Unstructured, reason, msg string, res Result) Result {
	now := a.clock.Now()
	kind := ro.GetKind()
	if kind == "" {
		kind = v1alpha1.Kind
	}
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{
			Name:        fmt.Sprintf("%s.%x", ro.GetName(), now.UnixNano()),
			Namespace:   ro.GetNamespace(),
			Annotations: map[string]string{ActorAnnotation: a.actor},
		},
		InvolvedObject: corev1.ObjectReference{
			APIVersion:      v1alpha1.SchemeGroupVersion.String(),
			Kind:            kind,
			Namespace:       ro.GetNamespace(),
			Name:            ro.GetName(),
			UID:             ro.GetUID(),
			ResourceVersion: ro.GetResourceVersion(),
		},
		Reason:         reason,
		Message:        msg,
		Type:           corev1.EventTypeNormal,
		Source:         corev1.EventSource{Component: "roost"},
		FirstTimestamp: metav1.NewTime(now),
		LastTimestamp:  metav1.NewTime(now),
		Count:          1,
	}
	if _, err := a.kube.CoreV1().Events(ro.GetNamespace()).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		res.Warning = "event not recorded: " + err.Error()
	}
	return res
}

func encodePatch(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only maps, strings, numbers and API types are marshalled here.
		panic(fmt.Sprintf("encode patch: %v", err))
	}
	return b
}
