package controller

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/watch"
)

// loadReplicaSets reads the Rollout's ReplicaSets from the cache, adopts orphans
// its selector matches, and sorts them into new, stable and older.
func (s *syncContext) loadReplicaSets() error {
	r := s.r
	owned, orphans, err := s.c.replicaSetsOf(r.Namespace, string(r.UID))
	if err != nil {
		return fmt.Errorf("rollout %s: list replicasets: %w", s.key, err)
	}
	for _, rs := range orphans {
		if rs.DeletionTimestamp != nil || !s.selector.Matches(labels.Set(rs.Labels)) {
			continue
		}
		adopted, err := s.adopt(rs)
		if err != nil {
			return err
		}
		owned = append(owned, adopted)
	}

	s.matchExistingTemplate(owned)
	stableHash := r.Status.StableRS
	s.older = s.older[:0]
	for _, rs := range owned {
		switch hash := rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]; {
		case hash == s.newHash && s.newRS == nil:
			s.newRS = rs
		case hash == stableHash && hash != s.newHash && s.stableRS == nil:
			s.stableRS = rs
		default:
			s.older = append(s.older, rs)
		}
	}
	sortByRevision(s.older)
	s.stableGone = stableHash != "" && stableHash != s.newHash && s.stableRS == nil
	return nil
}

// matchExistingTemplate finds the ReplicaSet of the current template when no
// ReplicaSet carries its hash: a template copied back from a ReplicaSet (roost
// undo, kubectl argo rollouts undo) holds the defaults the API server filled in,
// so it hashes differently from the template that made that ReplicaSet. As
// Argo Rollouts does, a ReplicaSet whose template is the same, once its hash
// label and injected metadata are set aside, is the new one, and its hash
// becomes the current pod hash: no second ReplicaSet for the same pods.
func (s *syncContext) matchExistingTemplate(owned []*appsv1.ReplicaSet) {
	for _, rs := range owned {
		if rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] == s.newHash {
			return
		}
	}
	for _, rs := range owned {
		hash := rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
		if rs.DeletionTimestamp != nil || hash == "" {
			continue
		}
		if templateMatches(&rs.Spec.Template, &s.r.Spec.Template, recordedMetadata(rs)) {
			s.newHash = hash
			return
		}
	}
}

// templateMatches compares a ReplicaSet's pod template with a Rollout's,
// ignoring the hash label, the metadata and the anti-affinity term injected.
func templateMatches(live, desired *corev1.PodTemplateSpec, injected injectedMetadata) bool {
	l := live.DeepCopy()
	l.Spec.Affinity = withoutInjectedAntiAffinity(l.Spec.Affinity)
	delete(l.Labels, v1alpha1.DefaultRolloutUniqueLabelKey)
	for k, v := range injected.Labels {
		if l.Labels[k] == v {
			delete(l.Labels, k)
		}
	}
	for k, v := range injected.Annotations {
		if l.Annotations[k] == v {
			delete(l.Annotations, k)
		}
	}
	return apiequality.Semantic.DeepEqual(l, desired)
}

// adopt makes the Rollout the controller of an orphan ReplicaSet, as the
// Deployment controller does; the uid in the patch fails it if the ReplicaSet
// was replaced meanwhile.
func (s *syncContext) adopt(rs *appsv1.ReplicaSet) (*appsv1.ReplicaSet, error) {
	refs := append(append([]metav1.OwnerReference{}, rs.OwnerReferences...), s.controllerRef())
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"ownerReferences": refs, "uid": rs.UID}})
	if err != nil {
		return nil, err
	}
	adopted, err := s.c.kube.AppsV1().ReplicaSets(rs.Namespace).Patch(s.ctx, rs.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return nil, fmt.Errorf("rollout %s: adopt replicaset %s: %w", s.key, rs.Name, err)
	}
	s.normal(EventReasonAdopted, "Adopted ReplicaSet %s", rs.Name)
	return adopted, nil
}

func (s *syncContext) controllerRef() metav1.OwnerReference {
	return metav1.OwnerReference{
		APIVersion:         v1alpha1.SchemeGroupVersion.String(),
		Kind:               v1alpha1.Kind,
		Name:               s.r.Name,
		UID:                s.r.UID,
		Controller:         ptr.To(true),
		BlockOwnerDeletion: ptr.To(true),
	}
}

func revisionOf(rs *appsv1.ReplicaSet) int64 {
	if rs == nil {
		return 0
	}
	n, err := strconv.ParseInt(rs.Annotations[v1alpha1.RevisionAnnotation], 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// sortByRevision orders oldest first; ties (no annotation) by creation time, then name.
func sortByRevision(rss []*appsv1.ReplicaSet) {
	sort.SliceStable(rss, func(i, j int) bool {
		ri, rj := revisionOf(rss[i]), revisionOf(rss[j])
		if ri != rj {
			return ri < rj
		}
		if !rss[i].CreationTimestamp.Equal(&rss[j].CreationTimestamp) {
			return rss[i].CreationTimestamp.Before(&rss[j].CreationTimestamp)
		}
		return rss[i].Name < rss[j].Name
	})
}

func (s *syncContext) maxRevision() int64 {
	var m int64
	for _, rs := range append([]*appsv1.ReplicaSet{s.newRS, s.stableRS}, s.older...) {
		m = max(m, revisionOf(rs))
	}
	return m
}

// newRevision is the new ReplicaSet's revision: the next one when it is created
// or when an older template comes back (a rollback is a new revision).
func (s *syncContext) newRevision() int64 {
	if s.newRS == nil {
		return s.maxRevision() + 1
	}
	cur := revisionOf(s.newRS)
	if m := s.maxRevision(); cur < m || cur == 0 {
		return m + 1
	}
	return cur
}

// rsWrite is one ReplicaSet write the sync decided on.
type rsWrite struct {
	current *appsv1.ReplicaSet // nil: create desired
	desired *appsv1.ReplicaSet
}

func (w rsWrite) delta() int32 {
	if w.current == nil {
		return replicasOf(w.desired)
	}
	return replicasOf(w.desired) - replicasOf(w.current)
}

// replicaPlan is every ReplicaSet write and pod patch of one sync.
type replicaPlan struct {
	writes []rsWrite
	pods   []podPatch
}

// planReplicas turns the weight into ReplicaSet objects to write.
func (s *syncContext) planReplicas() replicaPlan {
	in := s.observed()
	out := planScale(in)
	var plan replicaPlan

	revision := s.newRevision()
	var desiredNew *appsv1.ReplicaSet
	if s.newRS == nil {
		desiredNew = s.newReplicaSet(out.Canary, revision)
	} else {
		desiredNew = s.newRS.DeepCopy()
		desiredNew.Spec.Replicas = ptr.To(out.Canary)
		desiredNew.Spec.MinReadySeconds = s.r.Spec.MinReadySeconds
		desiredNew.Spec.Template.Spec.Affinity = replicaSetAffinity(s.r, withoutInjectedAntiAffinity(s.newRS.Spec.Template.Spec.Affinity), s.newHash)
		setAnnotation(&desiredNew.ObjectMeta, v1alpha1.RevisionAnnotation, strconv.FormatInt(revision, 10))
	}
	setAnnotation(&desiredNew.ObjectMeta, v1alpha1.DesiredReplicasAnnotation, strconv.Itoa(int(s.replicas)))
	if s.canaryActive() {
		plan.pods = append(plan.pods, s.ephemeralMetadata(s.newRS, desiredNew, canaryMetadata(s.r))...)
	} else {
		plan.pods = append(plan.pods, s.ephemeralMetadata(s.newRS, desiredNew, stableMetadata(s.r))...)
	}
	plan.writes = append(plan.writes, rsWrite{current: s.newRS, desired: desiredNew})

	if s.canaryActive() {
		d := s.stableRS.DeepCopy()
		d.Spec.Replicas = ptr.To(out.Stable)
		setAnnotation(&d.ObjectMeta, v1alpha1.DesiredReplicasAnnotation, strconv.Itoa(int(s.replicas)))
		plan.pods = append(plan.pods, s.ephemeralMetadata(s.stableRS, d, stableMetadata(s.r))...)
		plan.writes = append(plan.writes, rsWrite{current: s.stableRS, desired: d})
	}
	for i, rs := range s.older {
		if replicasOf(rs) == out.Older[i] {
			continue
		}
		d := rs.DeepCopy()
		d.Spec.Replicas = ptr.To(out.Older[i])
		plan.writes = append(plan.writes, rsWrite{current: rs, desired: d})
	}
	// Scale-downs first: the plan's bounds hold after every single write only if
	// capacity is released before it is claimed.
	sort.SliceStable(plan.writes, func(i, j int) bool { return plan.writes[i].delta() < plan.writes[j].delta() })
	return plan
}

// newReplicaSet builds the ReplicaSet of the current template, named and
// labelled as Argo Rollouts names and labels it.
func (s *syncContext) newReplicaSet(replicas int32, revision int64) *appsv1.ReplicaSet {
	r := s.r
	template := r.Spec.Template.DeepCopy()
	if template.Labels == nil {
		template.Labels = map[string]string{}
	}
	template.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] = s.newHash
	template.Spec.Affinity = replicaSetAffinity(r, r.Spec.Template.Spec.Affinity, s.newHash)
	selector := r.Spec.Selector.DeepCopy()
	if selector.MatchLabels == nil {
		selector.MatchLabels = map[string]string{}
	}
	selector.MatchLabels[v1alpha1.DefaultRolloutUniqueLabelKey] = s.newHash
	rsLabels := make(map[string]string, len(template.Labels))
	for k, v := range template.Labels {
		rsLabels[k] = v
	}
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:      r.Name + "-" + s.newHash,
			Namespace: r.Namespace,
			Labels:    rsLabels,
			Annotations: map[string]string{
				v1alpha1.RevisionAnnotation:        strconv.FormatInt(revision, 10),
				v1alpha1.DesiredReplicasAnnotation: strconv.Itoa(int(s.replicas)),
			},
			OwnerReferences: []metav1.OwnerReference{s.controllerRef()},
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas:        ptr.To(replicas),
			MinReadySeconds: r.Spec.MinReadySeconds,
			Selector:        selector,
			Template:        *template,
		},
	}
}

func setAnnotation(m *metav1.ObjectMeta, k, v string) {
	if m.Annotations == nil {
		m.Annotations = map[string]string{}
	}
	m.Annotations[k] = v
}

// errCollision is returned by applyReplicaSets when the new ReplicaSet's name is
// taken by a ReplicaSet of another template or owner.
var errCollision = errors.New("replicaset name collision")

// applyReplicaSets patches pods, then creates and updates ReplicaSets.
func (s *syncContext) applyReplicaSets(plan replicaPlan) error {
	// Pods first: if a ReplicaSet write fails after them, the next sync still
	// knows, from the ReplicaSet's record, which keys it had injected.
	if err := s.patchPods(plan.pods); err != nil {
		return err
	}
	client := s.c.kube.AppsV1().ReplicaSets(s.r.Namespace)
	for _, w := range plan.writes {
		if w.current == nil {
			created, err := client.Create(s.ctx, w.desired, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				return s.checkCollision(w.desired)
			}
			if err != nil {
				return fmt.Errorf("rollout %s: create replicaset %s: %w", s.key, w.desired.Name, err)
			}
			s.newRS = created
			s.normal(EventReasonReplicaSetCreated, "Created ReplicaSet %s (revision %d) with %s",
				created.Name, revisionOf(created), countOf(int(replicasOf(created)), "replica", "replicas"))
			continue
		}
		if !replicaSetChanged(w.current, w.desired) {
			continue
		}
		updated, err := client.Update(s.ctx, w.desired, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("rollout %s: update replicaset %s: %w", s.key, w.desired.Name, err)
		}
		if from, to := replicasOf(w.current), replicasOf(updated); from != to {
			dir := "up"
			if to < from {
				dir = "down"
			}
			s.normal(EventReasonScalingReplicaSet, "Scaled %s ReplicaSet %s (revision %d) from %d to %d",
				dir, updated.Name, revisionOf(updated), from, to)
		}
		s.replaceRS(w.current, updated)
	}
	return nil
}

// replicaSetChanged compares the fields a sync may change on a ReplicaSet; a
// full reflective comparison costs more than the rest of a sync at rest.
func replicaSetChanged(cur, desired *appsv1.ReplicaSet) bool {
	return replicasOf(cur) != replicasOf(desired) ||
		cur.Spec.MinReadySeconds != desired.Spec.MinReadySeconds ||
		!maps.Equal(cur.Annotations, desired.Annotations) ||
		!maps.Equal(cur.Spec.Template.Labels, desired.Spec.Template.Labels) ||
		!maps.Equal(cur.Spec.Template.Annotations, desired.Spec.Template.Annotations) ||
		affinityChanged(cur.Spec.Template.Spec.Affinity, desired.Spec.Template.Spec.Affinity)
}

// replaceRS swaps a written ReplicaSet into the sync's view.
func (s *syncContext) replaceRS(old, updated *appsv1.ReplicaSet) {
	switch {
	case s.newRS == old:
		s.newRS = updated
	case s.stableRS == old:
		s.stableRS = updated
	default:
		for i := range s.older {
			if s.older[i] == old {
				s.older[i] = updated
			}
		}
	}
}

// checkCollision tells a stale cache (the ReplicaSet is ours: retry) from a real
// hash collision (another template or owner holds the name).
func (s *syncContext) checkCollision(want *appsv1.ReplicaSet) error {
	got, err := s.c.kube.AppsV1().ReplicaSets(want.Namespace).Get(s.ctx, want.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("rollout %s: replicaset %s exists but cannot be read: %w", s.key, want.Name, err)
	}
	if ref := metav1.GetControllerOf(got); ref != nil && ref.UID == s.r.UID &&
		got.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] == s.newHash {
		return fmt.Errorf("rollout %s: replicaset %s already exists and is ours; waiting for the cache to catch up", s.key, want.Name)
	}
	return errCollision
}

// handleCollision bumps status.collisionCount so that the next sync computes a
// different hash, as the Deployment controller does.
func (s *syncContext) handleCollision(err error) (bool, error) {
	if !errors.Is(err, errCollision) {
		return false, nil
	}
	st := &v1alpha1.RolloutStatus{}
	s.old.DeepCopyInto(st)
	n := int32(1)
	if st.CollisionCount != nil {
		n = *st.CollisionCount + 1
	}
	st.CollisionCount = &n
	s.r.Status = *st
	s.warning(EventReasonHashCollision, "ReplicaSet %s-%s belongs to another template or owner; collisionCount is now %d",
		s.r.Name, s.newHash, n)
	if err := s.patchStatus(); err != nil {
		return true, err
	}
	s.c.queue.Add(s.key)
	return true, nil
}

// cleanupHistory deletes the oldest scaled-down ReplicaSets beyond
// spec.revisionHistoryLimit; the new and the stable ones are never candidates.
func (s *syncContext) cleanupHistory() error {
	limit := int(s.r.GetRevisionHistoryLimit())
	var idle []*appsv1.ReplicaSet
	for _, rs := range s.older {
		if replicasOf(rs) == 0 && rs.Status.Replicas == 0 && rs.DeletionTimestamp == nil {
			idle = append(idle, rs)
		}
	}
	if len(idle) <= limit {
		return nil
	}
	client := s.c.kube.AppsV1().ReplicaSets(s.r.Namespace)
	for _, rs := range idle[:len(idle)-limit] {
		err := client.Delete(s.ctx, rs.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &rs.UID}})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("rollout %s: delete old replicaset %s (revisionHistoryLimit %d): %w", s.key, rs.Name, limit, err)
		}
	}
	return nil
}

// reconcileRestart carries out spec.restartAt: pods created before it are
// evicted, at most maxUnavailable (at least one) at a time and only while every
// ReplicaSet has all its pods available, so that a restart never costs more
// capacity than a rollout would. Evictions respect PodDisruptionBudgets. When no
// such pod is left, status.restartedAt records the restart as done.
func (s *syncContext) reconcileRestart() error {
	at := s.r.Spec.RestartAt
	st := &s.r.Status
	if at == nil || (st.RestartedAt != nil && !st.RestartedAt.Before(at)) {
		return nil
	}
	if wait := at.Sub(s.now); wait > 0 {
		s.requeueIn(wait)
		return nil
	}
	var stale []*watch.Pod
	var unavailable int32
	for _, rs := range s.allReplicaSets() {
		spec := replicasOf(rs)
		if spec == 0 {
			continue
		}
		unavailable += max(spec-rs.Status.AvailableReplicas, 0)
		pods, err := s.c.podsOf(rs)
		if err != nil {
			return fmt.Errorf("rollout %s: list pods of %s: %w", s.key, rs.Name, err)
		}
		for _, p := range pods {
			if p.DeletionTimestamp == nil && p.CreationTimestamp.Before(at) {
				stale = append(stale, p)
			}
		}
	}
	if len(stale) == 0 {
		t := *at
		st.RestartedAt = &t
		s.normal(EventReasonRestarted, "Restarted all pods created before %s", at.UTC().Format(time.RFC3339))
		return nil
	}
	sort.Slice(stale, func(i, j int) bool { return stale[i].CreationTimestamp.Before(&stale[j].CreationTimestamp) })
	budget := int(max(s.unavailable, 1) - unavailable)
	for _, p := range stale[:min(max(budget, 0), len(stale))] {
		err := s.c.kube.PolicyV1().Evictions(p.Namespace).Evict(s.ctx, &policyv1.Eviction{
			ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace},
		})
		switch {
		case apierrors.IsNotFound(err):
		case apierrors.IsTooManyRequests(err):
			// A PodDisruptionBudget holds it; the budget frees up on its own
			// schedule, which no event of ours announces.
			s.requeueIn(restartRetry)
			return nil
		case err != nil:
			return fmt.Errorf("rollout %s: evict pod %s for restart: %w", s.key, p.Name, err)
		default:
			s.normal(EventReasonRestarting, "Evicted pod %s (created before restartAt %s)", p.Name, at.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// restartRetry is how soon a restart blocked by a PodDisruptionBudget is tried again.
const restartRetry = 10 * time.Second
