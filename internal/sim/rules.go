package sim

import (
	"fmt"
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
)

// Resources the simulator plays a part for.
var (
	podsGVR        = corev1.SchemeGroupVersion.WithResource("pods")
	nodesGVR       = corev1.SchemeGroupVersion.WithResource("nodes")
	eventsGVR      = corev1.SchemeGroupVersion.WithResource("events")
	replicaSetsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}
)

// statusResources have a status subresource, as on a real API server (and in
// the Rollout CRD roost ships): a write to the main resource keeps the stored
// status, a write to /status changes nothing but the status, a create starts
// with an empty status, and metadata.generation counts the changes to
// everything outside metadata and status. That last rule is the one roost
// reads: status.observedGeneration against metadata.generation tells a client
// whether the controller has seen the latest spec, so status writes (the
// controller's own) must not bump it.
var statusResources = map[schema.GroupResource]bool{
	{Resource: "pods"}:                                                     true,
	{Resource: "nodes"}:                                                    true,
	{Resource: "services"}:                                                 true,
	{Group: "apps", Resource: "replicasets"}:                               true,
	{Group: "apps", Resource: "deployments"}:                               true,
	{Group: "apps", Resource: "statefulsets"}:                              true,
	{Group: "apps", Resource: "daemonsets"}:                                true,
	{Group: "batch", Resource: "jobs"}:                                     true,
	{Group: "argoproj.io", Resource: "rollouts"}:                           true,
	{Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions"}: true,
}

func hasStatus(gvr schema.GroupVersionResource) bool { return statusResources[gvr.GroupResource()] }

// typedResources are the resources the typed clientset serves; the dynamic
// client is for the rest (Rollouts, CRDs), so that each resource is stored in
// one form and both clients never disagree about an object's Go type.
var typedResources = func() map[schema.GroupVersionResource]bool {
	out := map[schema.GroupVersionResource]bool{}
	for gvk := range scheme.Scheme.AllKnownTypes() {
		if gvk.Version == runtime.APIVersionInternal || strings.HasSuffix(gvk.Kind, "List") {
			continue
		}
		plural, _ := meta.UnsafeGuessKindToResource(gvk)
		out[plural] = true
	}
	return out
}()

// toMap is obj as JSON-shaped data: the form in which the store compares,
// patches and carries over fields whatever the object's Go type.
func toMap(obj runtime.Object) (map[string]any, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		return u.DeepCopy().Object, nil
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	// Typed objects are kept as typed clients return them: without apiVersion
	// and kind.
	delete(m, "apiVersion")
	delete(m, "kind")
	return m, nil
}

// fromMap builds an object of like's Go type from m.
func fromMap(m map[string]any, like runtime.Object) (runtime.Object, error) {
	if _, ok := like.(*unstructured.Unstructured); ok {
		return &unstructured.Unstructured{Object: m}, nil
	}
	out, ok := reflect.New(reflect.TypeOf(like).Elem()).Interface().(runtime.Object)
	if !ok {
		return nil, fmt.Errorf("cannot build a %T", like)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, out); err != nil {
		return nil, err
	}
	return out, nil
}

func metadataOf(m map[string]any) map[string]any {
	md, ok := m["metadata"].(map[string]any)
	if !ok {
		md = map[string]any{}
		m["metadata"] = md
	}
	return md
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// systemFields are the metadata only the API server writes: an update or a
// patch cannot change them.
var systemFields = []string{"uid", "creationTimestamp", "generation", "deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion", "selfLink"}

// nextState is what an update (or a patch, merged into in) of cur leaves
// stored, by the rules of a real API server:
//   - a resourceVersion or uid in the request is a precondition: a request
//     computed from an older version gets 409 Conflict, which is how roost's
//     status patches avoid undoing a promote they did not see;
//   - with a status subresource, /status writes change only status and the
//     main resource keeps the stored status;
//   - system metadata is kept, and generation moves when anything outside
//     metadata and status changed.
func nextState(gr schema.GroupResource, name string, cur, in map[string]any, subresource string, withStatus bool) (map[string]any, error) {
	curMD, inMD := metadataOf(cur), metadataOf(in)
	if rv := str(inMD, "resourceVersion"); rv != "" && rv != str(curMD, "resourceVersion") {
		return nil, apierrors.NewConflict(gr, name, fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
	}
	if uid := str(inMD, "uid"); uid != "" && uid != str(curMD, "uid") {
		//lint:ignore ST1005 the API server's own words, which clients match
		return nil, apierrors.NewConflict(gr, name, fmt.Errorf("Precondition failed: UID in precondition: %s, UID in object meta: %s", uid, str(curMD, "uid")))
	}
	var next map[string]any
	switch {
	case subresource == "status":
		next = runtime.DeepCopyJSON(cur)
		if st, ok := in["status"]; ok {
			next["status"] = runtime.DeepCopyJSONValue(st)
		} else {
			delete(next, "status")
		}
	case subresource != "":
		return nil, apierrors.NewMethodNotSupported(gr, "update of subresource "+subresource)
	default:
		next = runtime.DeepCopyJSON(in)
		if withStatus {
			if st, ok := cur["status"]; ok {
				next["status"] = runtime.DeepCopyJSONValue(st)
			} else {
				delete(next, "status")
			}
		}
	}
	nextMD := metadataOf(next)
	delete(nextMD, "managedFields")
	for _, k := range systemFields {
		if v, ok := curMD[k]; ok {
			nextMD[k] = runtime.DeepCopyJSONValue(v)
		} else {
			delete(nextMD, k)
		}
	}
	if withStatus && !reflect.DeepEqual(outsideMetadataAndStatus(cur), outsideMetadataAndStatus(next)) {
		gen, _, _ := unstructured.NestedInt64(cur, "metadata", "generation")
		nextMD["generation"] = gen + 1
	}
	return next, nil
}

func outsideMetadataAndStatus(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if k != "metadata" && k != "status" && k != "apiVersion" && k != "kind" {
			out[k] = v
		}
	}
	return out
}

// defaultObject fills in what the API server defaults on every write of the
// kinds the simulator runs. Pod templates matter to roost: a template copied
// back from a ReplicaSet (undo) carries these defaults, so it hashes
// differently from the Rollout's, as on a real cluster.
func defaultObject(obj runtime.Object) {
	switch o := obj.(type) {
	case *corev1.Pod:
		defaultPodSpec(&o.Spec)
	case *corev1.PodTemplate:
		defaultPodSpec(&o.Template.Spec)
	default:
		if spec := podTemplateSpecOf(obj); spec != nil {
			defaultPodSpec(spec)
		}
	}
}

// defaultPodSpec applies the pod spec defaults of the core API.
func defaultPodSpec(s *corev1.PodSpec) {
	if s.RestartPolicy == "" {
		s.RestartPolicy = corev1.RestartPolicyAlways
	}
	if s.DNSPolicy == "" {
		s.DNSPolicy = corev1.DNSClusterFirst
	}
	if s.SchedulerName == "" {
		s.SchedulerName = corev1.DefaultSchedulerName
	}
	if s.TerminationGracePeriodSeconds == nil {
		s.TerminationGracePeriodSeconds = ptr.To(int64(corev1.DefaultTerminationGracePeriodSeconds))
	}
	if s.SecurityContext == nil {
		s.SecurityContext = &corev1.PodSecurityContext{}
	}
	for _, cs := range [][]corev1.Container{s.InitContainers, s.Containers} {
		for i := range cs {
			defaultContainer(&cs[i])
		}
	}
}

func defaultContainer(c *corev1.Container) {
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = corev1.TerminationMessagePathDefault
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
	}
	if c.ImagePullPolicy == "" {
		c.ImagePullPolicy = corev1.PullIfNotPresent
		if imageTag(c.Image) == "latest" {
			c.ImagePullPolicy = corev1.PullAlways
		}
	}
}

// imageTag is the tag of an image reference; no tag (and no digest) is "latest".
func imageTag(image string) string {
	if strings.Contains(image, "@") {
		return ""
	}
	slash := strings.LastIndex(image, "/")
	if colon := strings.LastIndex(image, ":"); colon > slash {
		return image[colon+1:]
	}
	return "latest"
}

// podTemplateSpecOf returns the pod spec inside the template of a workload
// object (ReplicaSet, Deployment, StatefulSet, DaemonSet, Job), or nil.
func podTemplateSpecOf(obj runtime.Object) *corev1.PodSpec {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	spec := v.Elem().FieldByName("Spec")
	if !spec.IsValid() || spec.Kind() != reflect.Struct {
		return nil
	}
	tmpl := spec.FieldByName("Template")
	if !tmpl.IsValid() || tmpl.Type() != reflect.TypeOf(corev1.PodTemplateSpec{}) {
		return nil
	}
	return &tmpl.Addr().Interface().(*corev1.PodTemplateSpec).Spec
}

// fieldsOf is the set of fields a field selector may name for obj, as the
// API server supports them: metadata.name and metadata.namespace everywhere,
// more for pods and Events (roost's dashboard watches only the Events about
// Rollouts, with involvedObject.kind=Rollout).
func fieldsOf(obj runtime.Object) fields.Set {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil
	}
	set := fields.Set{"metadata.name": m.GetName(), "metadata.namespace": m.GetNamespace()}
	switch o := obj.(type) {
	case *corev1.Pod:
		set["spec.nodeName"] = o.Spec.NodeName
		set["spec.restartPolicy"] = string(o.Spec.RestartPolicy)
		set["spec.schedulerName"] = o.Spec.SchedulerName
		set["spec.serviceAccountName"] = o.Spec.ServiceAccountName
		set["status.phase"] = string(o.Status.Phase)
		set["status.podIP"] = o.Status.PodIP
	case *corev1.Event:
		io := o.InvolvedObject
		set["involvedObject.kind"] = io.Kind
		set["involvedObject.namespace"] = io.Namespace
		set["involvedObject.name"] = io.Name
		set["involvedObject.uid"] = string(io.UID)
		set["involvedObject.apiVersion"] = io.APIVersion
		set["involvedObject.resourceVersion"] = io.ResourceVersion
		set["involvedObject.fieldPath"] = io.FieldPath
		set["reason"] = o.Reason
		set["reportingComponent"] = o.ReportingController
		set["source"] = o.Source.Component
		set["type"] = o.Type
	}
	return set
}

// supportedFields lists the field selector keys of a resource.
var supportedFields = map[schema.GroupResource][]string{
	{Resource: "pods"}:   {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName", "status.phase", "status.podIP"},
	{Resource: "events"}: {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"},
}

// checkFieldSelector refuses, as the API server does, a field selector on a
// field the resource does not index.
func checkFieldSelector(gvr schema.GroupVersionResource, sel fields.Selector) error {
	if sel == nil || sel.Empty() {
		return nil
	}
	for _, r := range sel.Requirements() {
		if r.Field == "metadata.name" || r.Field == "metadata.namespace" {
			continue
		}
		ok := false
		for _, f := range supportedFields[gvr.GroupResource()] {
			ok = ok || f == r.Field
		}
		if !ok {
			return apierrors.NewBadRequest(fmt.Sprintf("field label not supported: %s (a field selector on %s may use metadata.name, metadata.namespace%s)",
				r.Field, gvr.Resource, prefixed(supportedFields[gvr.GroupResource()])))
		}
	}
	return nil
}

func prefixed(fs []string) string {
	if len(fs) == 0 {
		return ""
	}
	return ", " + strings.Join(fs, ", ")
}
