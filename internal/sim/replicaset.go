package sim

import (
	"maps"
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"
)

// syncReplicaSet is the ReplicaSet controller: it creates pods from the
// template until spec.replicas run, deletes the surplus (the pods that cost
// least to lose first, as the real controller ranks them), releases pods
// whose labels no longer match the selector, and keeps the status counts
// true. It never touches the labels of the pods it keeps: roost relabels
// them in place (role=canary → role=stable) and they must stay so.
func (l *loops) syncReplicaSet(t task) error {
	rs, ok := l.api.peek(replicaSetsGVR, t.namespace, t.name).(*appsv1.ReplicaSet)
	if !ok || rs.Spec.Selector == nil {
		return nil
	}
	sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil || sel.Empty() {
		// The API server refuses such a ReplicaSet; nothing to manage.
		return nil
	}
	pods, err := l.podsOf(rs, sel)
	if err != nil {
		return err
	}
	now := l.now()
	if rs.DeletionTimestamp == nil {
		changed := false
		switch diff := int(replicasOf(rs)) - len(pods.active); {
		case diff > 0:
			for range diff {
				if err := l.createPod(rs); err != nil {
					return err
				}
			}
			changed = true
		case diff < 0:
			for _, p := range podsToDelete(pods.active, -diff) {
				uid := p.UID
				err := l.api.delete(podsGVR, p.Namespace, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
				if err != nil && !apierrors.IsNotFound(err) {
					return err
				}
			}
			changed = true
		}
		if changed {
			if pods, err = l.podsOf(rs, sel); err != nil {
				return err
			}
		}
	}
	status, recheck := replicaSetStatus(rs, pods.active, pods.terminating, now)
	if !equality.Semantic.DeepEqual(status, rs.Status) {
		next := rs.DeepCopy()
		next.Status = status
		if _, err := l.api.update(replicaSetsGVR, rs.Namespace, next, "status"); err != nil {
			return err
		}
	}
	if recheck > 0 {
		// A ready pod becomes available minReadySeconds later: count it then.
		l.queue.AddAfter(t, recheck)
	}
	return nil
}

// replicaSetPods are a ReplicaSet's pods as its controller counts them.
type replicaSetPods struct {
	// active pods run or are starting; terminating ones are on their way out.
	active      []*corev1.Pod
	terminating int32
}

// podsOf sorts the pods rs controls, releasing those its selector no longer
// matches (someone changed their labels), as the real controller does.
func (l *loops) podsOf(rs *appsv1.ReplicaSet, sel labels.Selector) (replicaSetPods, error) {
	var out replicaSetPods
	for _, obj := range l.api.controlledBy(rs.UID, podsGVR) {
		p, ok := obj.(*corev1.Pod)
		if !ok {
			continue
		}
		switch {
		case !sel.Matches(labels.Set(p.Labels)):
			if p.DeletionTimestamp == nil {
				if err := l.release(p, rs); err != nil {
					return out, err
				}
			}
		case p.DeletionTimestamp != nil:
			out.terminating++
		case p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed:
		default:
			out.active = append(out.active, p)
		}
	}
	return out, nil
}

// release drops rs's owner reference from a pod it no longer selects.
func (l *loops) release(p *corev1.Pod, rs *appsv1.ReplicaSet) error {
	next := p.DeepCopy()
	next.OwnerReferences = nil
	for _, ref := range p.OwnerReferences {
		if ref.UID != rs.UID {
			next.OwnerReferences = append(next.OwnerReferences, ref)
		}
	}
	_, err := l.api.update(podsGVR, p.Namespace, next, "")
	return err
}

// createPod creates one pod from rs's template, named by the API server from
// "<rs>-", on the next node: the ReplicaSet controller and the scheduler in
// one step.
func (l *loops) createPod(rs *appsv1.ReplicaSet) error {
	tmpl := rs.Spec.Template
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    rs.Name + "-",
			Namespace:       rs.Namespace,
			Labels:          maps.Clone(tmpl.Labels),
			Annotations:     maps.Clone(tmpl.Annotations),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(rs, appsv1.SchemeGroupVersion.WithKind("ReplicaSet"))},
		},
		Spec: *tmpl.Spec.DeepCopy(),
	}
	pod.Spec.NodeName = l.nodes.next().name
	_, err := l.api.create(podsGVR, rs.Namespace, pod)
	return err
}

// replicaSetStatus counts what a ReplicaSet's status says: replicas (active
// pods), fullyLabeledReplicas (those carrying every template label),
// readyReplicas, availableReplicas (ready for minReadySeconds) and
// terminatingReplicas. recheck, when not 0, is when the next ready pod
// becomes available.
func replicaSetStatus(rs *appsv1.ReplicaSet, active []*corev1.Pod, terminating int32, now time.Time) (st appsv1.ReplicaSetStatus, recheck time.Duration) {
	st = appsv1.ReplicaSetStatus{
		ObservedGeneration:  rs.Generation,
		Conditions:          rs.Status.Conditions,
		TerminatingReplicas: ptr.To(terminating),
	}
	template := labels.SelectorFromSet(rs.Spec.Template.Labels)
	minReady := time.Duration(rs.Spec.MinReadySeconds) * time.Second
	for _, p := range active {
		st.Replicas++
		if template.Matches(labels.Set(p.Labels)) {
			st.FullyLabeledReplicas++
		}
		since, ready := readySince(p)
		if !ready {
			continue
		}
		st.ReadyReplicas++
		left := since.Add(minReady).Sub(now)
		if left <= 0 {
			st.AvailableReplicas++
		} else if recheck == 0 || left < recheck {
			recheck = left
		}
	}
	return st, recheck
}

// readySince is when the pod's Ready condition last turned True.
func readySince(p *corev1.Pod) (time.Time, bool) {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.LastTransitionTime.Time, c.Status == corev1.ConditionTrue
		}
	}
	return time.Time{}, false
}

// podsToDelete picks the n pods to scale down, in the real controller's
// order: not on a node before on one, Pending before Unknown before Running,
// not ready before ready, ready for less time before more, more restarts
// before fewer, newer before older.
func podsToDelete(pods []*corev1.Pod, n int) []*corev1.Pod {
	sorted := append([]*corev1.Pod(nil), pods...)
	sort.SliceStable(sorted, func(i, j int) bool { return deleteBefore(sorted[i], sorted[j]) })
	return sorted[:min(n, len(sorted))]
}

func deleteBefore(a, b *corev1.Pod) bool {
	if (a.Spec.NodeName == "") != (b.Spec.NodeName == "") {
		return a.Spec.NodeName == ""
	}
	if pa, pb := phaseRank(a.Status.Phase), phaseRank(b.Status.Phase); pa != pb {
		return pa < pb
	}
	sa, ra := readySince(a)
	sb, rb := readySince(b)
	if ra != rb {
		return !ra
	}
	if ra && !sa.Equal(sb) {
		return sa.After(sb)
	}
	if ca, cb := restarts(a), restarts(b); ca != cb {
		return ca > cb
	}
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return b.CreationTimestamp.Before(&a.CreationTimestamp)
	}
	return a.Name < b.Name
}

func phaseRank(p corev1.PodPhase) int {
	switch p {
	case corev1.PodPending:
		return 0
	case corev1.PodUnknown:
		return 1
	case corev1.PodRunning:
		return 2
	}
	return 3
}

func restarts(p *corev1.Pod) int32 {
	var n int32
	for _, c := range p.Status.ContainerStatuses {
		n += c.RestartCount
	}
	return n
}

func replicasOf(rs *appsv1.ReplicaSet) int32 {
	if rs.Spec.Replicas == nil {
		return 1
	}
	return *rs.Spec.Replicas
}
