package controller

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/tools/cache"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// decoded is a Rollout as read from the cache: decoding and validating it is
// most of the cost of a sync that has nothing to do, so it is kept per
// resourceVersion (any write to the object changes that, so a hit is exact).
type decoded struct {
	uid             types.UID
	resourceVersion string
	rollout         *v1alpha1.Rollout
	errs            field.ErrorList
	// podHash and stepHash are the template and step hashes of a valid Rollout;
	// both depend only on this resourceVersion (collisionCount included).
	podHash, stepHash string
	// selector is spec.selector parsed.
	selector labels.Selector
}

type decodeCache struct {
	mu sync.Mutex
	m  map[cache.ObjectName]*decoded
}

func newDecodeCache() *decodeCache {
	return &decodeCache{m: map[cache.ObjectName]*decoded{}}
}

// get returns the decoded form of u; callers DeepCopy the Rollout before
// changing it.
func (d *decodeCache) get(key cache.ObjectName, u *unstructured.Unstructured) *decoded {
	d.mu.Lock()
	hit, ok := d.m[key]
	d.mu.Unlock()
	if ok && hit.uid == u.GetUID() && hit.resourceVersion == u.GetResourceVersion() {
		return hit
	}
	r, errs := v1alpha1.FromUnstructured(u)
	if r.Name == "" {
		r.Name, r.Namespace = key.Name, key.Namespace
	}
	if len(errs) == 0 {
		errs = v1alpha1.Validate(r)
	}
	dec := &decoded{uid: u.GetUID(), resourceVersion: u.GetResourceVersion(), rollout: r, errs: errs}
	if len(errs) == 0 {
		sel, err := metav1.LabelSelectorAsSelector(r.Spec.Selector)
		if err != nil {
			errs = field.ErrorList{field.Invalid(field.NewPath("spec", "selector"), "", err.Error())}
		}
		dec.errs, dec.selector = errs, sel
	}
	if len(errs) == 0 {
		dec.podHash = v1alpha1.PodTemplateHash(&r.Spec.Template, r.Status.CollisionCount)
		dec.stepHash = v1alpha1.StepHash(r.Steps())
	}
	if dec.resourceVersion == "" {
		// Without a resourceVersion a hit could not be told from a stale entry.
		return dec
	}
	d.mu.Lock()
	d.m[key] = dec
	d.mu.Unlock()
	return dec
}

func (d *decodeCache) forget(key cache.ObjectName) {
	d.mu.Lock()
	delete(d.m, key)
	d.mu.Unlock()
}

// syncContext is one sync of one Rollout: what was read, and the status being
// built. r.Status is the new status; old is the one read.
type syncContext struct {
	c   *Controller
	ctx context.Context
	key cache.ObjectName
	now time.Time

	r     *v1alpha1.Rollout
	old   v1alpha1.RolloutStatus
	steps []v1alpha1.CanaryStep

	replicas, surge, unavailable int32
	// newHash is the pod-template hash of spec.template, stepHash the steps'.
	newHash, stepHash string
	selector          labels.Selector

	// newRS is the ReplicaSet of the current template (nil until created),
	// stableRS the one named by status.stableRS when it exists and is not newRS,
	// older every other ReplicaSet of the Rollout, oldest first.
	newRS    *appsv1.ReplicaSet
	stableRS *appsv1.ReplicaSet
	older    []*appsv1.ReplicaSet
	// stableGone is true when status.stableRS names a ReplicaSet that no longer
	// exists: there is nothing to fall back to, so the new one goes to 100%.
	stableGone bool

	// requeueAfter is the earliest instant, as a delay, this Rollout must be
	// looked at again even if nothing changes (timed pause, deadline); 0 = none.
	requeueAfter time.Duration
	// stepRun is the current analysis step's AnalysisRun, if any.
	stepRun *v1alpha1.AnalysisRun
	// pending are Events about the status this sync computed: recorded once
	// the status is written, so that a sync that fails (a conflict) and is
	// retried records them once, not at every attempt.
	pending []pendingEvent
}

// sync reconciles one Rollout.
func (c *Controller) sync(ctx context.Context, key cache.ObjectName) error {
	obj, err := c.rolloutLister.ByNamespace(key.Namespace).Get(key.Name)
	if apierrors.IsNotFound(err) {
		// Deleted: the garbage collector removes its ReplicaSets via owner references.
		c.decoded.forget(key)
		return nil
	}
	if err != nil {
		return fmt.Errorf("rollout %s: read from cache: %w", key, err)
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return fmt.Errorf("rollout %s: cache holds %T, not an unstructured object", key, obj)
	}
	if u.GetDeletionTimestamp() != nil {
		return nil
	}
	if c.cacheBehind(key, u.GetResourceVersion()) {
		c.enqueueAfter(key, staleRetry)
		return nil
	}
	dec := c.decoded.get(key, u)
	s := &syncContext{
		c:   c,
		ctx: ctx,
		key: key,
		now: c.clock.Now(),
		r:   dec.rollout.DeepCopy(),
	}
	dec.rollout.Status.DeepCopyInto(&s.old)
	if len(dec.errs) > 0 {
		return s.syncInvalid(dec.errs)
	}
	s.newHash, s.stepHash, s.selector = dec.podHash, dec.stepHash, dec.selector
	return s.syncValid()
}

// staleRetry is how soon a sync that found the cache behind its own last
// write looks again (the informer is usually a few milliseconds behind).
const staleRetry = 50 * time.Millisecond

// wrote records that a write of key was based on resourceVersion rv.
func (c *Controller) wrote(key cache.ObjectName, rv string) {
	if rv == "" {
		return
	}
	c.staleMu.Lock()
	c.stale[key] = rv
	c.staleMu.Unlock()
}

// cacheBehind says whether the cached Rollout is still the version a write
// of this controller was based on.
func (c *Controller) cacheBehind(key cache.ObjectName, rv string) bool {
	c.staleMu.Lock()
	defer c.staleMu.Unlock()
	based, ok := c.stale[key]
	if !ok {
		return false
	}
	if based == rv {
		return true
	}
	delete(c.stale, key)
	return false
}

// syncInvalid reports a spec roost must not act on. It never touches a
// ReplicaSet or a Pod, and returns nil: retrying cannot fix a spec, and the
// next edit of the Rollout brings it back anyway.
func (s *syncContext) syncInvalid(errs field.ErrorList) error {
	msg := v1alpha1.InvalidSpecMessage(s.r, errs)
	prev := getCondition(&s.old, v1alpha1.InvalidSpec)
	setCondition(&s.r.Status, v1alpha1.RolloutCondition{
		Type: v1alpha1.InvalidSpec, Status: "True", Reason: v1alpha1.ReasonInvalidSpec, Message: msg,
	}, s.now, false)
	s.r.Status.Phase, s.r.Status.Message = calculatePhase(phaseInputOf(s.r, &s.r.Status))
	s.r.Status.ObservedGeneration = strconv.FormatInt(s.r.Generation, 10)
	if err := s.patchStatus(); err != nil {
		return err
	}
	if prev == nil || prev.Status != "True" || prev.Message != msg {
		s.warning(EventReasonInvalidSpec, "%s", msg)
	}
	return nil
}

// syncValid runs the reconcile steps in their fixed order: ReplicaSets, step
// state (reset, abort, promote-full, steps, completion), replica plan, ephemeral
// metadata, writes, history, status.
func (s *syncContext) syncValid() error {
	r := s.r
	st := &r.Status
	s.steps = r.Steps()
	s.replicas = r.GetReplicas()
	canary := r.Spec.Strategy.Canary
	var err error
	s.surge, s.unavailable, err = v1alpha1.ResolveFenceposts(canary.MaxSurge, canary.MaxUnavailable, s.replicas)
	if err != nil {
		// Validate checks both fields; reaching this is a validation gap, so say so.
		return s.syncInvalid(field.ErrorList{field.Invalid(field.NewPath("spec", "strategy", "canary"), "", err.Error())})
	}
	removeCondition(st, v1alpha1.InvalidSpec)

	if err := s.loadReplicaSets(); err != nil {
		return err
	}
	s.resetOnChange()
	s.reconcileAbort()
	if errs := s.reconcileAnalysis(); len(errs) > 0 {
		return s.syncInvalid(errs)
	}
	if wrote, err := s.reconcileGate(); err != nil || wrote {
		return err
	}
	if s.canaryActive() && !st.Abort && !st.PromoteFull && !r.Spec.Paused && !hasPauseReason(st, v1alpha1.PauseReasonInconclusiveAnalysis) {
		s.reconcileStep()
	}
	s.reconcileCompletion()

	plan := s.planReplicas()
	if err := s.applyReplicaSets(plan); err != nil {
		if collided, cerr := s.handleCollision(err); collided {
			return cerr
		}
		return err
	}
	if err := s.cleanupHistory(); err != nil {
		return err
	}
	if err := s.reconcileRestart(); err != nil {
		return err
	}
	s.calculateStatus()
	if err := s.patchStatus(); err != nil {
		return err
	}
	if s.requeueAfter > 0 {
		s.c.enqueueAfter(s.key, s.requeueAfter)
	}
	return nil
}

// requeueIn asks for another sync after d (the earliest request wins).
func (s *syncContext) requeueIn(d time.Duration) {
	if d <= 0 {
		d = time.Millisecond
	}
	if s.requeueAfter == 0 || d < s.requeueAfter {
		s.requeueAfter = d
	}
}

// canaryActive is true while there is a stable ReplicaSet to fall back to and the
// template differs from it: the only time steps, pauses and abort mean anything.
func (s *syncContext) canaryActive() bool {
	return s.stableRS != nil && s.newHash != s.r.Status.StableRS
}

// resetOnChange restarts the steps when the template or the steps changed.
func (s *syncContext) resetOnChange() {
	st := &s.r.Status
	podChanged := st.CurrentPodHash != s.newHash
	if podChanged || st.CurrentStepHash != s.stepHash {
		st.CurrentStepIndex = stepIndex(0, s.steps)
		st.PauseConditions = nil
		st.ControllerPause = false
		if podChanged {
			// A new template is a new release: an abort or promote-full of the
			// previous one does not carry over.
			st.Abort = false
			st.AbortedAt = nil
			st.PromoteFull = false
			clearAbortCondition(st)
		}
		st.CurrentPodHash = s.newHash
		st.CurrentStepHash = s.stepHash
		if s.canaryActive() && len(s.steps) > 0 && s.steps[0].SetWeight != nil {
			s.normal(EventReasonStepReached, "%s", describeStep(s.steps, 0))
		}
		if podChanged && st.StableRS == s.newHash && s.old.CurrentPodHash != "" {
			s.normal(EventReasonRollbackToStable, "Template is the stable one again (%s): skipping all steps", s.newHash)
		}
	}
	if st.StableRS == "" {
		// First deploy: nothing to compare against, so the first template is the
		// stable one at once, as in Argo Rollouts.
		st.StableRS = s.newHash
	}
	if !s.canaryActive() {
		// Nothing to step through: the stable template is current (or the stable
		// ReplicaSet is gone and the new one must take over).
		st.CurrentStepIndex = stepIndex(int32(len(s.steps)), s.steps)
		st.PauseConditions = nil
		st.ControllerPause = false
	}
}

// stepIndex is i as status.currentStepIndex: nil when there are no steps.
func stepIndex(i int32, steps []v1alpha1.CanaryStep) *int32 {
	if len(steps) == 0 {
		return nil
	}
	return &i
}

// currentStep is status.currentStepIndex, 0 when unset; a negative value
// (written by some client) counts as 0.
func currentStep(st *v1alpha1.RolloutStatus) int32 {
	if st.CurrentStepIndex == nil {
		return 0
	}
	return max(*st.CurrentStepIndex, 0)
}

// weight is the canary weight the ReplicaSets move toward now.
func (s *syncContext) weight() int32 {
	st := &s.r.Status
	if !s.canaryActive() {
		return 100
	}
	return desiredWeight(s.steps, currentStep(st), st.PromoteFull, st.Abort)
}

// desiredWeight applies the facts' rule: 100 when promoted fully or done, 0 when
// aborted, else the last setWeight at or before the current step.
func desiredWeight(steps []v1alpha1.CanaryStep, index int32, promoteFull, abort bool) int32 {
	switch {
	case promoteFull:
		return 100
	case abort:
		return 0
	case int(index) >= len(steps):
		return 100
	}
	for i := min(int(index), len(steps)-1); i >= 0; i-- {
		if w := steps[i].SetWeight; w != nil {
			return *w
		}
	}
	return 0
}

// targets is the canary/stable split for the current weight.
func (s *syncContext) targets() (canary, stable int32) {
	if !s.canaryActive() {
		return s.replicas, 0
	}
	return splitCanary(s.replicas, s.weight(), s.surge)
}

// observed is the planner's view of the ReplicaSets as they are now.
func (s *syncContext) observed() scaleInput {
	tc, ts := s.targets()
	in := scaleInput{
		Replicas: s.replicas, Surge: s.surge, Unavailable: s.unavailable,
		CanaryTarget: tc, StableTarget: ts,
		Canary:    stateOf(s.newRS),
		HasStable: s.canaryActive(),
	}
	if in.HasStable {
		in.Stable = stateOf(s.stableRS)
	}
	for _, rs := range s.older {
		in.Older = append(in.Older, stateOf(rs))
	}
	return in
}

func stateOf(rs *appsv1.ReplicaSet) rsState {
	if rs == nil {
		return rsState{}
	}
	return rsState{Spec: replicasOf(rs), Available: rs.Status.AvailableReplicas}
}

func replicasOf(rs *appsv1.ReplicaSet) int32 {
	if rs.Spec.Replicas == nil {
		return 1
	}
	return *rs.Spec.Replicas
}

// reconcileCompletion makes the new ReplicaSet the stable one once the steps are
// done (or skipped by promote-full, or there is no stable to go back to) and it
// has all its pods available.
func (s *syncContext) reconcileCompletion() {
	st := &s.r.Status
	if s.newHash == st.StableRS && s.stableRS == nil && !s.stableGone {
		st.PromoteFull = false
		return
	}
	done := s.stableGone || st.PromoteFull || int(currentStep(st)) >= len(s.steps)
	if !done || st.Abort || s.r.Spec.Paused || s.newRS == nil {
		return
	}
	if replicasOf(s.newRS) != s.replicas || s.newRS.Status.AvailableReplicas < s.replicas {
		return
	}
	st.StableRS = s.newHash
	st.PromoteFull = false
	st.CurrentStepIndex = stepIndex(int32(len(s.steps)), s.steps)
	st.PauseConditions = nil
	st.ControllerPause = false
	if s.stableRS != nil {
		s.older = append(s.older, s.stableRS)
		sortByRevision(s.older)
	}
	s.stableRS = nil
	s.stableGone = false
	s.normal(EventReasonCompleted, "Rollout completed update to revision %d (%s): %d/%d pods available",
		revisionOf(s.newRS), s.newHash, s.newRS.Status.AvailableReplicas, s.replicas)
}

// patchStatus writes the difference between the status read and the status
// built as one JSON merge patch on the status subresource, or nothing.
func (s *syncContext) patchStatus() error {
	patch, err := statusMergePatch(&s.old, &s.r.Status, s.r.ResourceVersion)
	if err != nil {
		return fmt.Errorf("rollout %s: build status patch: %w", s.key, err)
	}
	if patch == nil {
		s.flushEvents()
		return nil
	}
	_, err = s.c.rollouts.Namespace(s.key.Namespace).Patch(s.ctx, s.key.Name, types.MergePatchType, patch, metav1.PatchOptions{}, "status")
	if err != nil {
		s.pending = nil
		return fmt.Errorf("rollout %s: patch status: %w", s.key, err)
	}
	s.c.wrote(s.key, s.r.ResourceVersion)
	s.flushEvents()
	return nil
}
