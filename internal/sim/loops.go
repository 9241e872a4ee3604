package sim

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/util/workqueue"
)

// taskKind says which part of the cluster a task is for.
type taskKind int

const (
	// syncReplicaSet: the ReplicaSet controller matches a ReplicaSet's pods to
	// its spec and writes its status.
	syncReplicaSet taskKind = iota
	// runPod: a kubelet starts or stops a pod.
	runPod
	// collectGarbage: the garbage collector deletes the dependents of an owner
	// that is gone.
	collectGarbage
)

// task is one unit of work. The queue holds a task once however often it is
// asked for, and never hands the same task to two workers at once.
type task struct {
	kind      taskKind
	namespace string
	name      string
	uid       types.UID
}

// workers is how many tasks run at once.
const workers = 2

// loops are the parts of a cluster that act on their own: the ReplicaSet
// controller, the kubelets and the garbage collector. They wake on the
// store's changes and on timers (a pod's start, a termination's end,
// minReadySeconds), never by polling: at rest they hold one parked goroutine
// per worker and the queue's timer goroutine.
//
// They read the store directly, which is always current, so unlike a real
// controller they need no expectations about their own writes still on the
// way through a watch; they write through it as the API server's clients
// do, under the same rules.
type loops struct {
	api     *apiServer
	queue   workqueue.TypedRateLimitingInterface[task]
	kubelet *kubelet
	nodes   *nodePool
	now     func() time.Time
}

func newLoops(api *apiServer, k *kubelet, nodes *nodePool, now func() time.Time) *loops {
	return &loops{
		api: api, kubelet: k, nodes: nodes, now: now,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.DefaultTypedControllerRateLimiter[task](),
			workqueue.TypedRateLimitingQueueConfig[task]{},
		),
	}
}

// run works until ctx is done, then stops every goroutine it started.
func (l *loops) run(ctx context.Context) {
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for l.next() {
			}
		})
	}
	<-ctx.Done()
	l.queue.ShutDown()
	wg.Wait()
}

// resync asks for everything once, as controllers do when they start: every
// ReplicaSet, every pod, every owner that is gone.
func (l *loops) resync() {
	l.api.mu.RLock()
	defer l.api.mu.RUnlock()
	for k := range l.api.objects[replicaSetsGVR] {
		l.queue.Add(task{kind: syncReplicaSet, namespace: k.Namespace, name: k.Name})
	}
	for k := range l.api.objects[podsGVR] {
		l.queue.Add(task{kind: runPod, namespace: k.Namespace, name: k.Name})
	}
	for uid := range l.api.dependents {
		if _, ok := l.api.uids[uid]; !ok {
			l.queue.Add(task{kind: collectGarbage, uid: uid})
		}
	}
}

// observe turns a stored change into tasks. It runs in the writer's
// goroutine, so it only queues.
func (l *loops) observe(ch change) {
	switch ch.gvr {
	case replicaSetsGVR:
		l.queue.Add(task{kind: syncReplicaSet, namespace: ch.meta.GetNamespace(), name: ch.meta.GetName()})
	case podsGVR:
		// The pod's ReplicaSet recounts; a pod that changed hands (released)
		// is recounted by its old owner too.
		for _, obj := range []any{ch.obj, ch.old} {
			if m, ok := obj.(metav1.Object); ok {
				if ref := metav1.GetControllerOfNoCopy(m); ref != nil && ref.Kind == "ReplicaSet" {
					l.queue.Add(task{kind: syncReplicaSet, namespace: m.GetNamespace(), name: ref.Name})
				}
			}
		}
		if pod, ok := ch.obj.(*corev1.Pod); ok {
			if ch.typ == watch.Deleted {
				l.kubelet.forget(pod.UID)
			} else if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodPending {
				l.queue.Add(task{kind: runPod, namespace: pod.Namespace, name: pod.Name})
			}
		}
	}
	if ch.typ == watch.Deleted {
		if l.api.hasDependents(ch.meta.GetUID()) {
			l.queue.Add(task{kind: collectGarbage, uid: ch.meta.GetUID()})
		}
		return
	}
	for _, ref := range ch.meta.GetOwnerReferences() {
		if !l.api.exists(ref.UID) {
			l.queue.Add(task{kind: collectGarbage, uid: ref.UID})
		}
	}
}

// next runs one task; a failed one is retried with backoff.
func (l *loops) next() bool {
	t, quit := l.queue.Get()
	if quit {
		return false
	}
	defer l.queue.Done(t)
	var err error
	switch t.kind {
	case syncReplicaSet:
		err = l.syncReplicaSet(t)
	case runPod:
		err = l.runPod(t)
	case collectGarbage:
		err = l.collectGarbage(t.uid)
	}
	switch {
	case err == nil, apierrors.IsNotFound(err):
		l.queue.Forget(t)
	case apierrors.IsConflict(err):
		// Someone wrote the object since it was read: try again on the new one.
		l.queue.AddRateLimited(t)
	default:
		utilruntime.HandleError(err)
		l.queue.AddRateLimited(t)
	}
	return true
}

// collectGarbage deletes, as the garbage collector does in the background,
// the objects whose every owner is gone: the ReplicaSets of a deleted
// Rollout, the pods of a deleted ReplicaSet (such as those
// revisionHistoryLimit removes). Pods go gracefully, through their kubelet.
func (l *loops) collectGarbage(owner types.UID) error {
	if l.api.exists(owner) {
		return nil
	}
	for _, k := range l.api.dependentsOf(owner) {
		obj := l.api.peek(k.gvr, k.Namespace, k.Name)
		if obj == nil {
			continue
		}
		m, err := meta.Accessor(obj)
		if err != nil || m.GetDeletionTimestamp() != nil || l.ownedByAny(m) {
			continue
		}
		uid := m.GetUID()
		err = l.api.delete(k.gvr, k.Namespace, k.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return err
		}
	}
	return nil
}

// ownedByAny reports whether an owner of m still exists; the garbage
// collector deletes a dependent only when none does.
func (l *loops) ownedByAny(m metav1.Object) bool {
	for _, ref := range m.GetOwnerReferences() {
		if l.api.exists(ref.UID) {
			return true
		}
	}
	return false
}
