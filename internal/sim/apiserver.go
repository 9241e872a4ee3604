package sim

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/scheme"
)

// The fake clientsets' object tracker (client-go testing/fixture.go) falls
// short of a real API server where roost's reconciler, watches and actions
// depend on it:
//   - it never writes metadata.resourceVersion into objects, so informers see
//     every update as a resync and skip it, and a request carrying a
//     resourceVersion is never refused as stale;
//   - it ignores preconditions (resourceVersion and uid in updates, patches
//     and deletes), subresources (a patch to /status rewrites the whole
//     object), generation and graceful pod deletion;
//   - it assigns no uid, creationTimestamp or generateName suffix;
//   - its watches are buffered channels of 100 events that panic when full:
//     200 rollouts of 10 pods overflow them at start-up;
//   - it resumes a watch only from the objects' current state, so a delete
//     between a list and a watch is lost.
//
// apiServer is the store the reactors put in front of both fakes instead:
// one resourceVersion sequence for every resource (as etcd has), the
// semantics above, a short history of changes so that watches resume from a
// resourceVersion (or answer 410 Gone when it is too old, making the
// reflector list again), and watches with unbounded queues.
type apiServer struct {
	now    func() time.Time
	newUID func() types.UID
	suffix func() string

	mu      sync.RWMutex
	rv      int64
	objects map[schema.GroupVersionResource]map[types.NamespacedName]runtime.Object
	// uids maps every stored object's uid to where it is; dependents maps an
	// owner's uid to the objects whose ownerReferences name it (the garbage
	// collector's graph).
	uids       map[types.UID]objectKey
	dependents map[types.UID]map[objectKey]struct{}
	history    history
	watchers   map[*watcher]struct{}

	// observe is told of every change after it is stored; it must not block.
	observe func(change)
}

// objectKey names one stored object.
type objectKey struct {
	gvr schema.GroupVersionResource
	types.NamespacedName
}

// change is one stored write, as a watch event describes it; old is the
// previous state of a modification.
type change struct {
	rv   int64
	typ  watch.EventType
	gvr  schema.GroupVersionResource
	obj  runtime.Object
	old  runtime.Object
	meta metav1.Object
}

func newAPIServer(now func() time.Time, newUID func() types.UID, suffix func() string) *apiServer {
	return &apiServer{
		now: now, newUID: newUID, suffix: suffix,
		objects:    map[schema.GroupVersionResource]map[types.NamespacedName]runtime.Object{},
		uids:       map[types.UID]objectKey{},
		dependents: map[types.UID]map[objectKey]struct{}{},
		history:    history{size: historySize},
		watchers:   map[*watcher]struct{}{},
	}
}

// maxGeneratedNameLength leaves room for the 5 random characters in a
// 63-character name, as the API server's name generator does.
const maxGeneratedNameLength = 63 - 5

// peek returns the stored object itself, or nil: callers must not change it.
func (a *apiServer) peek(gvr schema.GroupVersionResource, ns, name string) runtime.Object {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.objects[gvr][types.NamespacedName{Namespace: ns, Name: name}]
}

func (a *apiServer) get(gvr schema.GroupVersionResource, ns, name string) (runtime.Object, error) {
	if obj := a.peek(gvr, ns, name); obj != nil {
		return obj.DeepCopyObject(), nil
	}
	return nil, apierrors.NewNotFound(gvr.GroupResource(), name)
}

// list returns copies of the objects of gvr in ns ("" = all) that match both
// selectors, sorted by namespace and name, and the resourceVersion they are
// the state at.
func (a *apiServer) list(gvr schema.GroupVersionResource, ns string, ls labels.Selector, fs fields.Selector) ([]runtime.Object, int64, error) {
	if err := checkFieldSelector(gvr, fs); err != nil {
		return nil, 0, err
	}
	a.mu.RLock()
	out := make([]runtime.Object, 0, len(a.objects[gvr]))
	for k, obj := range a.objects[gvr] {
		if (ns == "" || k.Namespace == ns) && matches(obj, ls, fs) {
			out = append(out, obj)
		}
	}
	rv := a.rv
	a.mu.RUnlock()
	sortObjects(out)
	for i := range out {
		out[i] = out[i].DeepCopyObject()
	}
	return out, rv, nil
}

// controlledBy returns the stored objects of gvr whose controller is uid;
// callers must not change them.
func (a *apiServer) controlledBy(uid types.UID, gvr schema.GroupVersionResource) []runtime.Object {
	a.mu.RLock()
	defer a.mu.RUnlock()
	var out []runtime.Object
	for k := range a.dependents[uid] {
		if k.gvr != gvr {
			continue
		}
		obj := a.objects[k.gvr][k.NamespacedName]
		if m, err := meta.Accessor(obj); err == nil {
			if ref := metav1.GetControllerOfNoCopy(m); ref != nil && ref.UID == uid {
				out = append(out, obj)
			}
		}
	}
	sortObjects(out)
	return out
}

// dependentsOf returns where the objects naming uid as an owner are.
func (a *apiServer) dependentsOf(uid types.UID) []objectKey {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]objectKey, 0, len(a.dependents[uid]))
	for k := range a.dependents[uid] {
		out = append(out, k)
	}
	return out
}

// hasDependents reports whether some object names uid as an owner.
func (a *apiServer) hasDependents(uid types.UID) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return len(a.dependents[uid]) > 0
}

// exists reports whether an object with uid is stored.
func (a *apiServer) exists(uid types.UID) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	_, ok := a.uids[uid]
	return ok
}

func matches(obj runtime.Object, ls labels.Selector, fs fields.Selector) bool {
	if ls != nil && !ls.Empty() {
		m, err := meta.Accessor(obj)
		if err != nil || !ls.Matches(labels.Set(m.GetLabels())) {
			return false
		}
	}
	if fs != nil && !fs.Empty() && !fs.Matches(fieldsOf(obj)) {
		return false
	}
	return true
}

func sortObjects(objs []runtime.Object) {
	sort.Slice(objs, func(i, j int) bool {
		a, _ := meta.Accessor(objs[i])
		b, _ := meta.Accessor(objs[j])
		if a.GetNamespace() != b.GetNamespace() {
			return a.GetNamespace() < b.GetNamespace()
		}
		return a.GetName() < b.GetName()
	})
}

// create stores a new object: it names it from generateName, gives it a uid,
// a creationTimestamp and generation 1, and for a resource with a status
// subresource drops the status sent (a pod starts Pending).
func (a *apiServer) create(gvr schema.GroupVersionResource, ns string, in runtime.Object) (runtime.Object, error) {
	gr := gvr.GroupResource()
	obj := in.DeepCopyObject()
	defaultObject(obj)
	if pod, ok := obj.(*corev1.Pod); ok {
		pod.Status = corev1.PodStatus{Phase: corev1.PodPending}
	}
	m, err := toMap(obj)
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("%s: %v", gr, err))
	}
	md := metadataOf(m)
	if objNS := str(md, "namespace"); objNS != "" && objNS != ns {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the namespace of the object (%s) does not match the namespace of the request (%s)", objNS, ns))
	}
	if ns != "" {
		md["namespace"] = ns
	}
	if rv := str(md, "resourceVersion"); rv != "" {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("%s %q: metadata.resourceVersion must not be set on create (it is %q); clear it", gr, str(md, "name"), rv))
	}
	for _, k := range systemFields {
		delete(md, k)
	}
	delete(md, "managedFields")
	md["uid"] = string(a.newUID())
	md["creationTimestamp"] = metav1.NewTime(a.now()).UTC().Format(time.RFC3339)
	if hasStatus(gvr) {
		md["generation"] = int64(1)
		if _, ok := obj.(*corev1.Pod); !ok {
			delete(m, "status")
		}
	}

	a.mu.Lock()
	name := str(md, "name")
	if name == "" {
		base := str(md, "generateName")
		if base == "" {
			a.mu.Unlock()
			return nil, invalid(gvr, obj, "", field.Required(field.NewPath("metadata", "name"), "name or generateName is required; set metadata.name"))
		}
		if len(base) > maxGeneratedNameLength {
			base = base[:maxGeneratedNameLength]
		}
		// The API server does not retry a taken name; a controller would
		// retry the create. Here the store retries, which is the same.
		for try := 0; try < 10 && (name == "" || a.objects[gvr][types.NamespacedName{Namespace: ns, Name: name}] != nil); try++ {
			name = base + a.suffix()
		}
		md["name"] = name
	}
	key := objectKey{gvr, types.NamespacedName{Namespace: ns, Name: name}}
	if a.objects[gvr][key.NamespacedName] != nil {
		a.mu.Unlock()
		return nil, apierrors.NewAlreadyExists(gr, name)
	}
	stored, err := fromMap(m, obj)
	if err != nil {
		a.mu.Unlock()
		return nil, apierrors.NewBadRequest(fmt.Sprintf("%s %q: %v", gr, name, err))
	}
	ch := a.commitLocked(key, watch.Added, nil, stored)
	a.mu.Unlock()
	a.tell(ch)
	return stored.DeepCopyObject(), nil
}

// update replaces an object (subresource "" or "status") by the rules of
// nextState. A write that changes nothing stores nothing and tells nobody, as
// on a real server.
func (a *apiServer) update(gvr schema.GroupVersionResource, ns string, in runtime.Object, subresource string) (runtime.Object, error) {
	obj := in.DeepCopyObject()
	defaultObject(obj)
	inMap, err := toMap(obj)
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("%s: %v", gvr.GroupResource(), err))
	}
	md := metadataOf(inMap)
	if objNS := str(md, "namespace"); objNS != "" && objNS != ns {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the namespace of the object (%s) does not match the namespace of the request (%s)", objNS, ns))
	}
	return a.replace(gvr, ns, str(md, "name"), subresource, func(map[string]any, runtime.Object) (map[string]any, error) { return inMap, nil })
}

// patch applies a JSON patch, a JSON merge patch or (to typed objects) a
// strategic merge patch to the stored object, then stores the result as an
// update would: a resourceVersion the patch sets is a precondition.
func (a *apiServer) patch(gvr schema.GroupVersionResource, ns, name string, pt types.PatchType, data []byte, subresource string) (runtime.Object, error) {
	gr := gvr.GroupResource()
	return a.replace(gvr, ns, name, subresource, func(cur map[string]any, like runtime.Object) (map[string]any, error) {
		old, err := json.Marshal(cur)
		if err != nil {
			return nil, err
		}
		var patched []byte
		switch pt {
		case types.JSONPatchType:
			p, err := jsonpatch.DecodePatch(data)
			if err != nil {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("%s %q: invalid JSON patch: %v", gr, name, err))
			}
			if patched, err = p.Apply(old); err != nil {
				return nil, invalid(gvr, like, name, field.Invalid(field.NewPath("patch"), string(data), "the JSON patch does not apply: "+err.Error()))
			}
		case types.MergePatchType:
			if patched, err = jsonpatch.MergePatch(old, data); err != nil {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("%s %q: invalid JSON merge patch: %v", gr, name, err))
			}
		case types.StrategicMergePatchType:
			if _, ok := like.(*unstructured.Unstructured); ok {
				return nil, apierrors.NewGenericServerResponse(415, "patch", gr, name,
					"strategic merge patches are not supported for custom resources; send a JSON merge patch (application/merge-patch+json) instead", 0, false)
			}
			if patched, err = strategicpatch.StrategicMergePatch(old, data, like); err != nil {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("%s %q: invalid strategic merge patch: %v", gr, name, err))
			}
		default:
			return nil, apierrors.NewGenericServerResponse(415, "patch", gr, name,
				fmt.Sprintf("patch type %s is not supported by the roost demo cluster; send a JSON merge patch or a JSON patch", pt), 0, false)
		}
		out := map[string]any{}
		if err := utiljson.Unmarshal(patched, &out); err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("%s %q: patched object is not JSON: %v", gr, name, err))
		}
		if _, ok := like.(*unstructured.Unstructured); ok {
			return out, nil
		}
		// Through the Go type, as the server decodes it, then defaulted.
		typed, err := fromMap(out, like)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("%s %q: %v", gr, name, err))
		}
		defaultObject(typed)
		return toMap(typed)
	})
}

// replace runs one update or patch under the store's lock: build computes
// the requested state from the stored one.
func (a *apiServer) replace(gvr schema.GroupVersionResource, ns, name, subresource string, build func(cur map[string]any, like runtime.Object) (map[string]any, error)) (runtime.Object, error) {
	gr := gvr.GroupResource()
	if subresource != "" && (subresource != "status" || !hasStatus(gvr)) {
		return nil, apierrors.NewNotFound(gr, name+"/"+subresource)
	}
	a.mu.Lock()
	obj, ch, err := a.replaceLocked(gvr, ns, name, subresource, build)
	a.mu.Unlock()
	if err != nil {
		if _, ok := err.(apierrors.APIStatus); !ok {
			err = apierrors.NewBadRequest(fmt.Sprintf("%s %q: %v", gr, name, err))
		}
		return nil, err
	}
	if ch.obj != nil {
		a.tell(ch)
	}
	return obj.DeepCopyObject(), nil
}

func (a *apiServer) replaceLocked(gvr schema.GroupVersionResource, ns, name, subresource string, build func(cur map[string]any, like runtime.Object) (map[string]any, error)) (runtime.Object, change, error) {
	gr := gvr.GroupResource()
	key := objectKey{gvr, types.NamespacedName{Namespace: ns, Name: name}}
	stored := a.objects[gvr][key.NamespacedName]
	if stored == nil {
		return nil, change{}, apierrors.NewNotFound(gr, name)
	}
	cur, err := toMap(stored)
	if err != nil {
		return nil, change{}, err
	}
	in, err := build(cur, stored)
	if err != nil {
		return nil, change{}, err
	}
	if n := str(metadataOf(in), "name"); n != "" && n != name {
		return nil, change{}, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name of the request (%s)", n, name))
	}
	next, err := nextState(gr, name, cur, in, subresource, hasStatus(gvr))
	if err != nil {
		return nil, change{}, err
	}
	if equalJSON(next, cur) {
		return stored, change{}, nil
	}
	obj, err := fromMap(next, stored)
	if err != nil {
		return nil, change{}, err
	}
	return obj, a.commitLocked(key, watch.Modified, stored, obj), nil
}

// invalid is the 422 answer naming the field at fault.
func invalid(gvr schema.GroupVersionResource, obj runtime.Object, name string, errs ...*field.Error) error {
	gk := obj.GetObjectKind().GroupVersionKind().GroupKind()
	if gk.Kind == "" {
		if gvks, _, err := scheme.Scheme.ObjectKinds(obj); err == nil && len(gvks) > 0 {
			gk = gvks[0].GroupKind()
		} else {
			gk = schema.GroupKind{Group: gvr.Group, Kind: gvr.Resource}
		}
	}
	return apierrors.NewInvalid(gk, name, errs)
}

func equalJSON(a, b map[string]any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

// delete removes an object, honouring uid and resourceVersion preconditions.
// A pod bound to a node is deleted gracefully instead: it gets a
// deletionTimestamp (now + its grace period) and stays until its kubelet has
// stopped it and deletes it with a grace period of 0.
func (a *apiServer) delete(gvr schema.GroupVersionResource, ns, name string, opts metav1.DeleteOptions) error {
	gr := gvr.GroupResource()
	a.mu.Lock()
	key := objectKey{gvr, types.NamespacedName{Namespace: ns, Name: name}}
	stored := a.objects[gvr][key.NamespacedName]
	if stored == nil {
		a.mu.Unlock()
		return apierrors.NewNotFound(gr, name)
	}
	m, _ := meta.Accessor(stored)
	if p := opts.Preconditions; p != nil {
		if p.UID != nil && *p.UID != m.GetUID() {
			a.mu.Unlock()
			//lint:ignore ST1005 the API server's own words, which clients match
			return apierrors.NewConflict(gr, name, fmt.Errorf("Precondition failed: UID in precondition: %s, UID in object meta: %s", *p.UID, m.GetUID()))
		}
		if p.ResourceVersion != nil && *p.ResourceVersion != m.GetResourceVersion() {
			a.mu.Unlock()
			//lint:ignore ST1005 the API server's own words, which clients match
			return apierrors.NewConflict(gr, name, fmt.Errorf("Precondition failed: ResourceVersion in precondition: %s, ResourceVersion in object meta: %s", *p.ResourceVersion, m.GetResourceVersion()))
		}
	}
	if pod, ok := stored.(*corev1.Pod); ok {
		if grace := gracePeriod(pod, opts); grace > 0 {
			ch, changed := a.terminateLocked(key, pod, grace)
			a.mu.Unlock()
			if changed {
				a.tell(ch)
			}
			return nil
		}
	}
	last := stored.DeepCopyObject()
	ch := a.commitLocked(key, watch.Deleted, stored, last)
	a.mu.Unlock()
	a.tell(ch)
	return nil
}

// gracePeriod is how long a deleted pod may take to stop: the request's,
// else the pod's terminationGracePeriodSeconds; 0 for a pod no node runs.
func gracePeriod(pod *corev1.Pod, opts metav1.DeleteOptions) int64 {
	if pod.Spec.NodeName == "" || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return 0
	}
	switch {
	case opts.GracePeriodSeconds != nil:
		return max(*opts.GracePeriodSeconds, 0)
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		return max(*pod.Spec.TerminationGracePeriodSeconds, 0)
	}
	return corev1.DefaultTerminationGracePeriodSeconds
}

// terminateLocked marks a pod deleted with grace seconds to stop; a second
// delete may only shorten the grace period.
func (a *apiServer) terminateLocked(key objectKey, pod *corev1.Pod, grace int64) (change, bool) {
	if pod.DeletionGracePeriodSeconds != nil && *pod.DeletionGracePeriodSeconds <= grace {
		return change{}, false
	}
	next := pod.DeepCopy()
	t := metav1.NewTime(a.now().Add(time.Duration(grace) * time.Second))
	next.DeletionTimestamp = &t
	next.DeletionGracePeriodSeconds = &grace
	return a.commitLocked(key, watch.Modified, pod, next), true
}

// commitLocked stores obj (or, for Deleted, removes the object) with the next
// resourceVersion, keeps the indexes and the history, and queues the change
// for the watchers.
func (a *apiServer) commitLocked(key objectKey, typ watch.EventType, old, obj runtime.Object) change {
	a.rv++
	m, _ := meta.Accessor(obj)
	m.SetResourceVersion(strconv.FormatInt(a.rv, 10))
	if old != nil {
		om, _ := meta.Accessor(old)
		for _, ref := range om.GetOwnerReferences() {
			if deps := a.dependents[ref.UID]; deps != nil {
				delete(deps, key)
				if len(deps) == 0 {
					delete(a.dependents, ref.UID)
				}
			}
		}
	}
	if typ == watch.Deleted {
		delete(a.objects[key.gvr], key.NamespacedName)
		delete(a.uids, m.GetUID())
	} else {
		if a.objects[key.gvr] == nil {
			a.objects[key.gvr] = map[types.NamespacedName]runtime.Object{}
		}
		a.objects[key.gvr][key.NamespacedName] = obj
		a.uids[m.GetUID()] = key
		for _, ref := range m.GetOwnerReferences() {
			if a.dependents[ref.UID] == nil {
				a.dependents[ref.UID] = map[objectKey]struct{}{}
			}
			a.dependents[ref.UID][key] = struct{}{}
		}
	}
	ch := change{rv: a.rv, typ: typ, gvr: key.gvr, obj: obj, old: old, meta: m}
	a.history.add(ch)
	for w := range a.watchers {
		if !w.offer(ch) {
			delete(a.watchers, w)
		}
	}
	return ch
}

func (a *apiServer) tell(ch change) {
	if a.observe != nil {
		a.observe(ch)
	}
}
