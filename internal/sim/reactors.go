package sim

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/scheme"
	k8stesting "k8s.io/client-go/testing"
)

// front serves the fake clientsets' requests from the store. Its reactors
// come first in both fakes' chains and answer every request for a resource,
// so the fakes' own trackers stay empty.
type front struct {
	api     *apiServer
	dynamic bool
	user    string
	deny    []Denial
	actions *actionLog
}

// react answers one request. The typed fake sends typed objects, the dynamic
// fake unstructured ones; each resource is served by one of them (see
// typedResources).
func (f *front) react(action k8stesting.Action) (bool, runtime.Object, error) {
	gvr := action.GetResource()
	ns := action.GetNamespace()
	switch action.(type) {
	case k8stesting.GetActionImpl, k8stesting.ListActionImpl, k8stesting.CreateActionImpl, k8stesting.UpdateActionImpl,
		k8stesting.PatchActionImpl, k8stesting.DeleteActionImpl, k8stesting.DeleteCollectionActionImpl:
	default:
		// Discovery and proxy calls are the fakes' own business.
		return false, nil, nil
	}
	f.actions.recorded()
	if f.dynamic && typedResources[gvr] {
		return true, nil, apierrors.NewBadRequest(fmt.Sprintf("the roost demo cluster serves %s through its typed clientset (Cluster.Kube); use that one for built-in kinds and the dynamic client for Rollouts", gvr.GroupResource()))
	}
	switch a := action.(type) {
	case k8stesting.GetActionImpl:
		if sub := a.GetSubresource(); sub != "" && (sub != "status" || !hasStatus(gvr)) {
			return true, nil, apierrors.NewNotFound(gvr.GroupResource(), a.Name+"/"+sub)
		}
		obj, err := f.api.get(gvr, ns, a.Name)
		return true, obj, err
	case k8stesting.ListActionImpl:
		objs, rv, err := f.api.list(gvr, ns, a.ListRestrictions.Labels, a.ListRestrictions.Fields)
		if err != nil {
			return true, nil, err
		}
		list, err := f.listOf(a.Kind, objs, rv)
		return true, list, err
	case k8stesting.CreateActionImpl:
		if out, ok := f.review(a.Object); ok {
			return true, out, nil
		}
		switch sub := a.GetSubresource(); {
		case sub == "eviction" && gvr == podsGVR:
			return f.evict(ns, a.Object)
		case sub != "":
			return true, nil, apierrors.NewMethodNotSupported(gvr.GroupResource(), "create on subresource "+sub)
		}
		obj, err := f.api.create(gvr, ns, a.Object)
		return true, obj, err
	case k8stesting.UpdateActionImpl:
		obj, err := f.api.update(gvr, ns, a.Object, a.GetSubresource())
		return true, obj, err
	case k8stesting.PatchActionImpl:
		obj, err := f.api.patch(gvr, ns, a.Name, a.PatchType, a.Patch, a.GetSubresource())
		return true, obj, err
	case k8stesting.DeleteActionImpl:
		if sub := a.GetSubresource(); sub != "" {
			return true, nil, apierrors.NewMethodNotSupported(gvr.GroupResource(), "delete on subresource "+sub)
		}
		return true, nil, f.api.delete(gvr, ns, a.Name, a.DeleteOptions)
	case k8stesting.DeleteCollectionActionImpl:
		objs, _, err := f.api.list(gvr, ns, a.ListRestrictions.Labels, a.ListRestrictions.Fields)
		for _, obj := range objs {
			if err != nil {
				break
			}
			m, _ := meta.Accessor(obj)
			if err = f.api.delete(gvr, m.GetNamespace(), m.GetName(), a.DeleteOptions); apierrors.IsNotFound(err) {
				err = nil
			}
		}
		return true, nil, err
	}
	return false, nil, nil
}

// reactWatch opens a watch on the store.
func (f *front) reactWatch(action k8stesting.Action) (bool, watch.Interface, error) {
	a, ok := action.(k8stesting.WatchActionImpl)
	if !ok {
		return false, nil, nil
	}
	f.actions.recorded()
	gvr := a.GetResource()
	if f.dynamic && typedResources[gvr] {
		return true, nil, apierrors.NewBadRequest(fmt.Sprintf("the roost demo cluster serves %s through its typed clientset (Cluster.Kube); watch it there", gvr.GroupResource()))
	}
	r := a.WatchRestrictions
	w, err := f.api.watch(gvr, a.GetNamespace(), r.Labels, r.Fields, r.ResourceVersion)
	return true, w, err
}

// listOf builds the list object each fake expects: a typed list for the
// typed fake, an UnstructuredList for the dynamic one.
func (f *front) listOf(kind schema.GroupVersionKind, objs []runtime.Object, rv int64) (runtime.Object, error) {
	listKind := kind.GroupVersion().WithKind(kind.Kind + "List")
	if f.dynamic {
		l := &unstructured.UnstructuredList{}
		l.SetGroupVersionKind(listKind)
		l.SetResourceVersion(strconv.FormatInt(rv, 10))
		for _, obj := range objs {
			if u, ok := obj.(*unstructured.Unstructured); ok {
				l.Items = append(l.Items, *u)
			}
		}
		return l, nil
	}
	list, err := scheme.Scheme.New(listKind)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("list %s: %w", kind, err))
	}
	if err := meta.SetList(list, objs); err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("list %s: %w", kind, err))
	}
	lm, err := meta.ListAccessor(list)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("list %s: %w", kind, err))
	}
	lm.SetResourceVersion(strconv.FormatInt(rv, 10))
	return list, nil
}

// evict deletes a pod as the eviction subresource does when no
// PodDisruptionBudget stands in the way: gracefully.
func (f *front) evict(ns string, obj runtime.Object) (bool, runtime.Object, error) {
	ev, ok := obj.(*policyv1.Eviction)
	if !ok {
		return true, nil, apierrors.NewBadRequest(fmt.Sprintf("an eviction must be a policy/v1 Eviction, not %T", obj))
	}
	var opts metav1.DeleteOptions
	if ev.DeleteOptions != nil {
		opts = *ev.DeleteOptions
	}
	return true, ev, f.api.delete(podsGVR, ns, ev.Name, opts)
}

// review answers the API server's own review resources, which are never
// stored: who the user is, and what the user may do.
func (f *front) review(obj runtime.Object) (runtime.Object, bool) {
	switch in := obj.(type) {
	case *authenticationv1.SelfSubjectReview:
		out := in.DeepCopy()
		out.Status.UserInfo = authenticationv1.UserInfo{Username: f.user, Groups: []string{"system:authenticated"}}
		return out, true
	case *authorizationv1.SelfSubjectAccessReview:
		out := in.DeepCopy()
		out.Status = accessReview(f.deny, in.Spec)
		return out, true
	case *authorizationv1.SelfSubjectRulesReview:
		out := in.DeepCopy()
		out.Status = rulesReview(f.deny)
		return out, true
	}
	return nil, false
}

// Denial is something the demo user may not do, as SelfSubjectAccessReviews
// answer it: roost's dashboard greys out the keys of denied actions.
// Requests themselves are still served (roost's reconciler shares the
// clients), so a denial shows the dashboard's behaviour, not the API's.
type Denial struct {
	// Verb is an API verb (get, list, watch, create, update, patch, delete,
	// deletecollection); "" or "*" denies every verb.
	Verb string
	// Resource is a resource, with its subresource if any: "rollouts",
	// "rollouts/status". As in RBAC, "rollouts" does not cover
	// "rollouts/status". "" or "*" denies every resource.
	Resource string
	// Namespace limits the denial to one namespace; "" denies in all.
	Namespace string
}

var verbs = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}

func (d Denial) check(i int) error {
	if d.Verb != "" && d.Verb != "*" && !slices.Contains(verbs, d.Verb) {
		return fmt.Errorf("sim: Options.Deny[%d].Verb %q is not an API verb; use one of %s, or \"*\"", i, d.Verb, strings.Join(verbs, ", "))
	}
	if strings.Count(d.Resource, "/") > 1 || strings.HasPrefix(d.Resource, "/") || strings.HasSuffix(d.Resource, "/") {
		return fmt.Errorf("sim: Options.Deny[%d].Resource %q must be a resource or resource/subresource, e.g. \"rollouts/status\"", i, d.Resource)
	}
	return nil
}

func (d Denial) covers(ra *authorizationv1.ResourceAttributes) bool {
	resource := ra.Resource
	if ra.Subresource != "" {
		resource += "/" + ra.Subresource
	}
	return (d.Verb == "" || d.Verb == "*" || d.Verb == ra.Verb) &&
		(d.Resource == "" || d.Resource == "*" || d.Resource == resource) &&
		(d.Namespace == "" || d.Namespace == ra.Namespace)
}

func (d Denial) String() string {
	verb, resource, where := d.Verb, d.Resource, ""
	if verb == "" || verb == "*" {
		verb = "any verb"
	}
	if resource == "" || resource == "*" {
		resource = "any resource"
	}
	if d.Namespace != "" {
		where = " in namespace " + d.Namespace
	}
	return verb + " on " + resource + where
}

// accessReview allows everything but what deny covers.
func accessReview(deny []Denial, spec authorizationv1.SelfSubjectAccessReviewSpec) authorizationv1.SubjectAccessReviewStatus {
	ra := spec.ResourceAttributes
	if ra == nil {
		return authorizationv1.SubjectAccessReviewStatus{Allowed: true, Reason: "the roost demo user may reach every non-resource URL"}
	}
	for _, d := range deny {
		if d.covers(ra) {
			return authorizationv1.SubjectAccessReviewStatus{Denied: true, Reason: "the roost demo denies " + d.String()}
		}
	}
	return authorizationv1.SubjectAccessReviewStatus{Allowed: true, Reason: "the roost demo user may do everything it does not deny"}
}

// rulesReview lists the user's rules: everything, unless something is
// denied, which RBAC rules (only ever additive) cannot say; then the answer
// is marked incomplete, as a server does when an authorizer cannot list its
// rules, and clients fall back to SelfSubjectAccessReviews.
func rulesReview(deny []Denial) authorizationv1.SubjectRulesReviewStatus {
	all := authorizationv1.SubjectRulesReviewStatus{
		ResourceRules:    []authorizationv1.ResourceRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}},
		NonResourceRules: []authorizationv1.NonResourceRule{{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}}},
	}
	if len(deny) == 0 {
		return all
	}
	return authorizationv1.SubjectRulesReviewStatus{
		Incomplete:      true,
		EvaluationError: "the roost demo denies some actions, which rules cannot express; ask with a SelfSubjectAccessReview per action",
	}
}

// discovery is what the demo cluster says it serves; roost checks that
// argoproj.io/v1alpha1 serves rollouts before it starts.
func discovery() []*metav1.APIResourceList {
	all := metav1.Verbs{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
	status := metav1.Verbs{"get", "patch", "update"}
	create := metav1.Verbs{"create"}
	return []*metav1.APIResourceList{
		{GroupVersion: "v1", APIResources: []metav1.APIResource{
			{Name: "pods", Namespaced: true, Kind: "Pod", Verbs: all, ShortNames: []string{"po"}, Categories: []string{"all"}},
			{Name: "pods/status", Namespaced: true, Kind: "Pod", Verbs: status},
			{Name: "pods/eviction", Namespaced: true, Group: "policy", Version: "v1", Kind: "Eviction", Verbs: create},
			{Name: "events", Namespaced: true, Kind: "Event", Verbs: all, ShortNames: []string{"ev"}},
			{Name: "namespaces", Kind: "Namespace", Verbs: all, ShortNames: []string{"ns"}},
			{Name: "nodes", Kind: "Node", Verbs: all, ShortNames: []string{"no"}},
			{Name: "nodes/status", Kind: "Node", Verbs: status},
		}},
		{GroupVersion: "apps/v1", APIResources: []metav1.APIResource{
			{Name: "replicasets", Namespaced: true, Kind: "ReplicaSet", Verbs: all, ShortNames: []string{"rs"}, Categories: []string{"all"}},
			{Name: "replicasets/status", Namespaced: true, Kind: "ReplicaSet", Verbs: status},
		}},
		{GroupVersion: "argoproj.io/v1alpha1", APIResources: []metav1.APIResource{
			{Name: "rollouts", SingularName: "rollout", Namespaced: true, Kind: "Rollout", Verbs: all, ShortNames: []string{"ro"}, Categories: []string{"all"}},
			{Name: "rollouts/status", Namespaced: true, Kind: "Rollout", Verbs: status},
			{Name: "analysistemplates", SingularName: "analysistemplate", Namespaced: true, Kind: "AnalysisTemplate", Verbs: all, ShortNames: []string{"at"}},
			{Name: "clusteranalysistemplates", SingularName: "clusteranalysistemplate", Kind: "ClusterAnalysisTemplate", Verbs: all, ShortNames: []string{"cat"}},
			{Name: "analysisruns", SingularName: "analysisrun", Namespaced: true, Kind: "AnalysisRun", Verbs: all, ShortNames: []string{"ar"}},
			// Argo CD's, as its install leaves them.
			{Name: "applications", SingularName: "application", Namespaced: true, Kind: "Application", Verbs: all, ShortNames: []string{"app", "apps"}},
			{Name: "appprojects", SingularName: "appproject", Namespaced: true, Kind: "AppProject", Verbs: all, ShortNames: []string{"appproj", "appprojs"}},
		}},
		{GroupVersion: "coordination.k8s.io/v1", APIResources: []metav1.APIResource{
			{Name: "leases", Namespaced: true, Kind: "Lease", Verbs: all},
		}},
		{GroupVersion: "authentication.k8s.io/v1", APIResources: []metav1.APIResource{
			{Name: "selfsubjectreviews", Kind: "SelfSubjectReview", Verbs: create},
		}},
		{GroupVersion: "authorization.k8s.io/v1", APIResources: []metav1.APIResource{
			{Name: "selfsubjectaccessreviews", Kind: "SelfSubjectAccessReview", Verbs: create},
			{Name: "selfsubjectrulesreviews", Kind: "SelfSubjectRulesReview", Verbs: create},
		}},
		{GroupVersion: "apiextensions.k8s.io/v1", APIResources: []metav1.APIResource{
			{Name: "customresourcedefinitions", Kind: "CustomResourceDefinition", Verbs: all, ShortNames: []string{"crd", "crds"}},
			{Name: "customresourcedefinitions/status", Kind: "CustomResourceDefinition", Verbs: status},
		}},
	}
}

// serverVersion is the Kubernetes version the demo cluster reports.
var serverVersion = &version.Info{Major: "1", Minor: "37", GitVersion: "v1.37.2-roost-demo", Platform: "roost/sim"}

// actionLogTTL is how long the fakes keep their record of requests. The
// fakes append every request, objects included, to a log that is never
// trimmed; a demo that runs for hours must not keep them all.
const actionLogTTL = 10 * time.Second

// actionLog clears the fakes' request logs actionLogTTL after a request,
// with one timer that exists only while requests come in.
type actionLog struct {
	clear func()

	mu    sync.Mutex
	timer *time.Timer
}

// recorded is called for each request, inside the fake's lock: it only arms
// the timer (the fakes' ClearActions takes that lock).
func (l *actionLog) recorded() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.timer == nil {
		l.timer = time.AfterFunc(actionLogTTL, l.flush)
	}
}

func (l *actionLog) flush() {
	l.mu.Lock()
	l.timer = nil
	l.mu.Unlock()
	l.clear()
}
