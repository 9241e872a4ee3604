package sim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/dynamic"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/util/retry"

	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/deploy"
	"github.com/roost-dev/roost/internal/argocd"
)

// DefaultUser is who the demo user is when Options.User is empty.
const DefaultUser = "you@roost-demo"

// Defaults of Options.
const (
	DefaultNodes       = 3
	DefaultPodStartMin = 300 * time.Millisecond
	DefaultPodStartMax = 1500 * time.Millisecond
	DefaultPodStopMin  = 200 * time.Millisecond
	DefaultPodStopMax  = 500 * time.Millisecond
)

// Options shape a simulated cluster. The zero value is a good demo.
type Options struct {
	// User is the name a SelfSubjectReview answers, which roost records on
	// Events as the person who acted; DefaultUser when empty.
	User string
	// Deny lists the actions SelfSubjectAccessReviews answer as not allowed.
	Deny []Denial
	// Nodes is how many nodes run pods, named sim-node-1 to sim-node-N;
	// DefaultNodes when 0.
	Nodes int
	// PodStartMin and PodStartMax bound the random time a new pod takes to
	// become Running and Ready; DefaultPodStartMin-Max when both are 0.
	PodStartMin, PodStartMax time.Duration
	// PodStopMin and PodStopMax bound the random time a deleted pod takes to
	// stop and go; DefaultPodStopMin-Max when both are 0.
	PodStopMin, PodStopMax time.Duration
	// Seed makes generated names, uids and delays repeatable; 0 picks one.
	Seed uint64
	// LogInterval is how often a running container logs a line (see
	// PodLogs); DefaultLogInterval when 0.
	LogInterval time.Duration
	// PodEvents has the scheduler and the kubelets record the Events
	// about a pod that started (Scheduled, Pulled, Started), as a real
	// cluster's do, for the cockpit's pod screen. They are kept as long as
	// the cluster is: leave it off where many pods come and go.
	PodEvents bool
}

func (o Options) withDefaults() (Options, error) {
	if o.User == "" {
		o.User = DefaultUser
	}
	if o.Nodes == 0 {
		o.Nodes = DefaultNodes
	}
	if o.Nodes < 0 {
		return o, fmt.Errorf("sim: Options.Nodes is %d; give a positive number of nodes, or 0 for %d", o.Nodes, DefaultNodes)
	}
	if o.PodStartMin == 0 && o.PodStartMax == 0 {
		o.PodStartMin, o.PodStartMax = DefaultPodStartMin, DefaultPodStartMax
	}
	if o.PodStopMin == 0 && o.PodStopMax == 0 {
		o.PodStopMin, o.PodStopMax = DefaultPodStopMin, DefaultPodStopMax
	}
	for _, d := range []struct {
		name     string
		min, max time.Duration
	}{{"PodStart", o.PodStartMin, o.PodStartMax}, {"PodStop", o.PodStopMin, o.PodStopMax}} {
		if d.min < 0 || d.max < 0 {
			return o, fmt.Errorf("sim: Options.%sMin/%sMax are %s/%s; delays cannot be negative", d.name, d.name, d.min, d.max)
		}
		if d.min > d.max {
			return o, fmt.Errorf("sim: Options.%sMin (%s) is above Options.%sMax (%s); make the minimum the smaller one", d.name, d.min, d.name, d.max)
		}
	}
	for i, d := range o.Deny {
		if err := d.check(i); err != nil {
			return o, err
		}
	}
	if o.Seed == 0 {
		o.Seed = rand.Uint64() | 1
	}
	switch {
	case o.LogInterval < 0:
		return o, fmt.Errorf("sim: Options.LogInterval is %s; give a positive interval, or 0 for %s", o.LogInterval, DefaultLogInterval)
	case o.LogInterval == 0:
		o.LogInterval = DefaultLogInterval
	}
	return o, nil
}

// Cluster is a simulated cluster. Kube and Dynamic are its clients, for
// roost's code: built-in kinds through Kube, Rollouts through Dynamic. Their
// record of requests (Actions()) is cleared shortly after each request.
type Cluster struct {
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface

	api     *apiServer
	kubelet *kubelet
	nodes   *nodePool
	actions *actionLog
	logs    *logs
	// user and deny are Options.User and Options.Deny.
	user string
	deny []Denial

	// loops is set while Run runs.
	loops   atomic.Pointer[loops]
	running sync.Mutex
}

// New builds a cluster with its nodes, the standard namespaces, roost's
// CRDs and Argo CD's Application and AppProject CRDs, established. Nothing
// moves until Run.
func New(o Options) (*Cluster, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	r := newLockedRand(o.Seed)
	c := &Cluster{
		api:     newAPIServer(time.Now, r.uid, r.suffix),
		kubelet: newKubelet(r, o.PodStartMin, o.PodStartMax, o.PodStopMin, o.PodStopMax, o.PodEvents),
		nodes:   newNodePool(o.Nodes),
		logs:    &logs{interval: o.LogInterval},
		user:    o.User,
		deny:    o.Deny,
	}
	c.api.observe = func(ch change) {
		if l := c.loops.Load(); l != nil {
			l.observe(ch)
		}
	}

	kube := kubefake.NewClientset()
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		v1alpha1.RolloutGVR:                 "RolloutList",
		v1alpha1.AnalysisTemplateGVR:        "AnalysisTemplateList",
		v1alpha1.ClusterAnalysisTemplateGVR: "ClusterAnalysisTemplateList",
		v1alpha1.AnalysisRunGVR:             "AnalysisRunList",
		argocd.ApplicationGVR:               "ApplicationList",
		argocd.AppProjectGVR:                "AppProjectList",
		deploy.CRDGVR:                       "CustomResourceDefinitionList",
	})
	c.actions = &actionLog{clear: func() { kube.ClearActions(); dyn.ClearActions() }}
	kf := &front{api: c.api, user: o.User, deny: o.Deny, actions: c.actions}
	kube.PrependReactor("*", "*", kf.react)
	kube.PrependWatchReactor("*", kf.reactWatch)
	kube.Resources = discovery()
	if d, ok := kube.Discovery().(*fake.FakeDiscovery); ok {
		d.FakedServerVersion = serverVersion
	}
	df := &front{api: c.api, dynamic: true, user: o.User, deny: o.Deny, actions: c.actions}
	dyn.PrependReactor("*", "*", df.react)
	dyn.PrependWatchReactor("*", df.reactWatch)
	c.Kube, c.Dynamic = kube, dyn

	if err := c.seed(); err != nil {
		return nil, err
	}
	return c, nil
}

// seed creates what a fresh cluster has: namespaces, Ready nodes, and
// roost's CRDs (Rollout, AnalysisTemplate, ClusterAnalysisTemplate,
// AnalysisRun), established, as after `roost install`, beside Argo CD's
// Application and AppProject, as after Argo CD's install.
func (c *Cluster) seed() error {
	now := time.Now()
	for _, ns := range []string{metav1.NamespaceDefault, metav1.NamespaceSystem, metav1.NamespacePublic, corev1.NamespaceNodeLease} {
		if err := c.ensureNamespace(ns); err != nil {
			return err
		}
	}
	for _, n := range c.nodes.nodes {
		obj := n.object(now)
		created, err := c.api.create(nodesGVR, "", obj)
		if err != nil {
			return fmt.Errorf("sim: create node %s: %w", n.name, err)
		}
		withStatus := created.(*corev1.Node)
		withStatus.Status = obj.Status
		if _, err := c.api.update(nodesGVR, "", withStatus, "status"); err != nil {
			return fmt.Errorf("sim: node %s status: %w", n.name, err)
		}
	}
	crds, err := deploy.CRDs()
	if err != nil {
		return err
	}
	argoCRDs, err := argocd.CRDs()
	if err != nil {
		return err
	}
	for _, crd := range append(crds, argoCRDs...) {
		if err := c.establish(crd, now); err != nil {
			return err
		}
	}
	return nil
}

// establish creates a CRD with the conditions the API server gives it once
// it serves the resource.
func (c *Cluster) establish(crd *unstructured.Unstructured, now time.Time) error {
	created, err := c.api.create(deploy.CRDGVR, "", crd)
	if err != nil {
		return fmt.Errorf("sim: create CRD %s: %w", crd.GetName(), err)
	}
	established := created.(*unstructured.Unstructured)
	t := now.UTC().Format(time.RFC3339)
	conds := []any{}
	for _, typ := range []string{"NamesAccepted", "Established"} {
		conds = append(conds, map[string]any{"type": typ, "status": "True", "reason": typ, "lastTransitionTime": t})
	}
	if err := unstructured.SetNestedSlice(established.Object, conds, "status", "conditions"); err != nil {
		return fmt.Errorf("sim: CRD %s status: %w", crd.GetName(), err)
	}
	if _, err := c.api.update(deploy.CRDGVR, "", established, "status"); err != nil {
		return fmt.Errorf("sim: CRD %s status: %w", crd.GetName(), err)
	}
	return nil
}

func (c *Cluster) ensureNamespace(name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelMetadataName: name}}}
	if _, err := c.api.create(namespacesGVR, "", ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("sim: create namespace %s: %w", name, err)
	}
	return nil
}

var namespacesGVR = corev1.SchemeGroupVersion.WithResource("namespaces")

// Run runs the cluster's controllers and kubelets until ctx is done, then
// returns with every goroutine it started gone. It may run again later,
// and picks up what changed meanwhile; it may not run twice at once.
func (c *Cluster) Run(ctx context.Context) error {
	if !c.running.TryLock() {
		return errors.New("sim: the cluster is already running; call Run once, and cancel its context to stop it")
	}
	defer c.running.Unlock()
	l := newLoops(c.api, c.kubelet, c.nodes, time.Now)
	c.loops.Store(l)
	defer c.loops.Store(nil)
	l.resync()
	l.run(ctx)
	return nil
}

// CreateRollout creates a Rollout (and its namespace, if new) as kubectl
// create would: through the dynamic client, which drops any status.
func (c *Cluster) CreateRollout(ctx context.Context, r *v1alpha1.Rollout) error {
	u, err := rolloutObject(r)
	if err != nil {
		return err
	}
	if err := c.ensureNamespace(r.Namespace); err != nil {
		return err
	}
	if _, err := c.rollouts(r.Namespace).Create(ctx, u, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("sim: create rollout %s/%s: %w", r.Namespace, r.Name, err)
	}
	return nil
}

// CreateAnalysisTemplate creates an AnalysisTemplate (and its namespace, if
// new) as kubectl create would, after the checks roost's reconciler makes
// of a template it reads.
func (c *Cluster) CreateAnalysisTemplate(ctx context.Context, t *v1alpha1.AnalysisTemplate) error {
	switch {
	case t == nil:
		return errors.New("sim: no analysis template given (nil)")
	case t.Name == "" || t.Namespace == "":
		return fmt.Errorf("sim: analysis template %q in namespace %q: give it a metadata.name and the metadata.namespace of the rollouts that use it", t.Name, t.Namespace)
	}
	if errs := v1alpha1.ValidateAnalysisTemplate(t); len(errs) > 0 {
		return fmt.Errorf("sim: analysis template %s/%s: %w", t.Namespace, t.Name, errs.ToAggregate())
	}
	t = t.DeepCopy()
	t.APIVersion, t.Kind = v1alpha1.SchemeGroupVersion.String(), "AnalysisTemplate"
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(t)
	if err != nil {
		return fmt.Errorf("sim: encode analysis template %s/%s: %w", t.Namespace, t.Name, err)
	}
	if err := c.ensureNamespace(t.Namespace); err != nil {
		return err
	}
	u := &unstructured.Unstructured{Object: obj}
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	if _, err := c.Dynamic.Resource(v1alpha1.AnalysisTemplateGVR).Namespace(t.Namespace).Create(ctx, u, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("sim: create analysis template %s/%s: %w", t.Namespace, t.Name, err)
	}
	return nil
}

// CreateApplication creates an Argo CD Application (and its namespace, if
// new), as argocd.Application builds it. Its status is stored as given: the
// Application CRD has no status subresource, and Argo CD writes the status
// with the rest of the object.
func (c *Cluster) CreateApplication(ctx context.Context, app *unstructured.Unstructured) error {
	return c.createArgoCD(ctx, argocd.ApplicationGVR, "Application", app)
}

// CreateAppProject creates an Argo CD AppProject (and its namespace, if
// new), as argocd.AppProject builds it.
func (c *Cluster) CreateAppProject(ctx context.Context, project *unstructured.Unstructured) error {
	return c.createArgoCD(ctx, argocd.AppProjectGVR, "AppProject", project)
}

// createArgoCD creates one of Argo CD's objects after the checks its CRD's
// schema makes: the kind of the resource, a name, a namespace and a spec.
func (c *Cluster) createArgoCD(ctx context.Context, gvr schema.GroupVersionResource, kind string, u *unstructured.Unstructured) error {
	if u == nil {
		return fmt.Errorf("sim: no %s given (nil)", kind)
	}
	name, ns := u.GetName(), u.GetNamespace()
	switch {
	case u.GetKind() != kind || u.GetAPIVersion() != gvr.GroupVersion().String():
		return fmt.Errorf("sim: %s %q is a %s %s; build it with argocd.%s", kind, name, u.GetAPIVersion(), u.GetKind(), kind)
	case name == "" || ns == "":
		return fmt.Errorf("sim: %s %q in namespace %q: give it a metadata.name and a metadata.namespace (Argo CD's is %q)", kind, name, ns, argocd.Namespace)
	}
	if _, ok := u.Object["spec"].(map[string]any); !ok {
		return fmt.Errorf("sim: %s %s/%s has no spec; its CRD requires one", kind, ns, name)
	}
	if err := c.ensureNamespace(ns); err != nil {
		return err
	}
	if _, err := c.Dynamic.Resource(gvr).Namespace(ns).Create(ctx, u, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("sim: create %s %s/%s: %w", kind, ns, name, err)
	}
	return nil
}

// Apply creates r, or replaces the spec, labels and annotations of the
// Rollout of that name, keeping its status, as kubectl apply does for the
// fields a manifest sets.
func (c *Cluster) Apply(ctx context.Context, r *v1alpha1.Rollout) error {
	want, err := rolloutObject(r)
	if err != nil {
		return err
	}
	ri := c.rollouts(r.Namespace)
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := ri.Get(ctx, r.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			if err := c.ensureNamespace(r.Namespace); err != nil {
				return err
			}
			_, err = ri.Create(ctx, want, metav1.CreateOptions{})
			return err
		}
		if err != nil {
			return err
		}
		next := cur.DeepCopy()
		next.Object["spec"] = want.Object["spec"]
		next.SetLabels(want.GetLabels())
		next.SetAnnotations(want.GetAnnotations())
		_, err = ri.Update(ctx, next, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("sim: apply rollout %s/%s: %w", r.Namespace, r.Name, err)
	}
	return nil
}

// SetImage sets the image of every container of a Rollout's pod template,
// which starts a new revision (kubectl argo rollouts set image NAME '*=IMAGE').
func (c *Cluster) SetImage(ns, name, image string) error {
	if image == "" {
		return fmt.Errorf("sim: set image of rollout %s/%s: the image is empty; give one, e.g. \"shop:v2\"", ns, name)
	}
	ctx := context.Background()
	ri := c.rollouts(ns)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		u, err := ri.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
		if len(containers) == 0 {
			return fmt.Errorf("spec.template.spec.containers is empty; give the pod template a container first")
		}
		for _, ct := range containers {
			if m, ok := ct.(map[string]any); ok {
				m["image"] = image
			}
		}
		if err := unstructured.SetNestedSlice(u.Object, containers, "spec", "template", "spec", "containers"); err != nil {
			return err
		}
		_, err = ri.Update(ctx, u, metav1.UpdateOptions{})
		return err
	})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("sim: set image of rollout %s/%s: no such rollout; create it first with CreateRollout", ns, name)
	}
	if err != nil {
		return fmt.Errorf("sim: set image of rollout %s/%s: %w", ns, name, err)
	}
	return nil
}

// Pods returns the pods of namespace ns ("" = all) that match selector
// (kubectl syntax; "" = all), terminating ones included, sorted by
// namespace and name.
func (c *Cluster) Pods(ns, selector string) ([]corev1.Pod, error) {
	sel, err := labels.Parse(selector)
	if err != nil {
		return nil, fmt.Errorf("sim: pod selector %q: %w; use kubectl's syntax, e.g. app=checkout", selector, err)
	}
	objs, _, err := c.api.list(podsGVR, ns, sel, nil)
	if err != nil {
		return nil, err
	}
	out := make([]corev1.Pod, 0, len(objs))
	for _, o := range objs {
		out = append(out, *o.(*corev1.Pod))
	}
	return out, nil
}

func (c *Cluster) rollouts(ns string) dynamic.ResourceInterface {
	return c.Dynamic.Resource(v1alpha1.RolloutGVR).Namespace(ns)
}

// rolloutObject checks what the API server would refuse and encodes r.
func rolloutObject(r *v1alpha1.Rollout) (*unstructured.Unstructured, error) {
	switch {
	case r == nil:
		return nil, errors.New("sim: no rollout given (nil)")
	case r.Name == "":
		return nil, errors.New("sim: rollout has no metadata.name; name it, e.g. \"checkout\"")
	case r.Namespace == "":
		return nil, fmt.Errorf("sim: rollout %s has no metadata.namespace; set the namespace it runs in, e.g. \"shop\"", r.Name)
	}
	return v1alpha1.ToUnstructured(r)
}
