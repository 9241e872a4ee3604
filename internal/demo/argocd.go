package demo

// Argo CD in the demo's world: two AppProjects, one Application per
// rollout, each rollout marked with its Application's tracking id, and a
// stand-in for Argo CD's application controller that reports each
// Application's sync and health as its rollout moves. The script's
// releases are Argo CD's syncs: what it sets is what Git says.

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/internal/argocd"
	"github.com/roost-dev/roost/internal/sim"
)

// The demo's AppProjects: the payments team's rollouts are one project, the
// web shop's (its storefront included) the other.
const (
	projectShop     = "shop"
	projectPayments = "payments"
)

var appProjects = []struct{ name, description string }{
	{projectShop, "The web shop: storefront, cart, checkout and what serves them."},
	{projectPayments, "Payments: the ledger and refunds, released together."},
}

// selfHealing is the rollout whose Application auto-syncs with selfHeal:
// Argo CD puts back a pause or a pod template changed by hand, so the
// cockpit warns before either. Its Argo analysis decides its canaries
// (roost's judge gate is off there): the judge holds a canary with
// spec.paused, which the self-heal would put back again and again. Where a
// scenario does not gate it by analysis (busy), no Application self-heals.
const selfHealing = "payments/refunds"

// Argo CD's words for an Application's state; a rollout's phases Healthy,
// Progressing and Degraded are its words too.
const (
	syncSynced    = "Synced"
	syncOutOfSync = "OutOfSync"

	healthProgressing = "Progressing"
	healthSuspended   = "Suspended"
	healthMissing     = "Missing"
)

// appOf is the Application that deploys a service's rollout.
func appOf(svc Service) argocd.App {
	project := projectShop
	if svc.Namespace == "payments" {
		project = projectPayments
	}
	return argocd.App{
		Name: svc.Namespace + "-" + svc.Name, Project: project, DestNamespace: svc.Namespace,
		AutoSync: true, SelfHeal: svc.Key() == selfHealing && len(svc.templates()) > 0,
		// What Argo CD reports of a rollout it has just synced.
		Sync: syncSynced, Health: healthProgressing,
	}
}

// rolloutHealth is the health Argo CD's check of an argoproj.io Rollout
// gives (its health.lua): Progressing until the controller has seen the
// latest spec, then the rollout's phase, Paused read as Suspended.
func rolloutHealth(generation int64, observedGeneration, phase string) string {
	// observedGeneration is a string in Argo Rollouts; one that is not a
	// number (a hash, from old versions) counts as seen.
	if observed, err := strconv.ParseInt(observedGeneration, 10, 64); observedGeneration == "" || err == nil && observed < generation {
		return healthProgressing
	}
	switch v1alpha1.RolloutPhase(phase) {
	case v1alpha1.PhasePaused:
		return healthSuspended
	case "":
		return healthProgressing
	}
	return phase
}

// appStatus is what the demo's Argo CD last wrote of an Application.
type appStatus struct{ sync, health string }

// gitops plays Argo CD's application controller for the demo's
// Applications. It follows the rollouts through an informer and writes an
// Application's status only when its sync or health changes: a handful of
// writes per release. The self-healing Application's rollout gets back its
// spec from Git once it has differed for selfHealAfter.
type gitops struct {
	cluster       *sim.Cluster
	services      map[string]*runningService
	apps          map[string]argocd.App
	selfHealAfter time.Duration

	mu sync.Mutex
	// git is each rollout's pod template in Git: what the script last
	// released.
	git map[string]gitTemplate

	// The rest belongs to the worker.
	queue      workqueue.TypedRateLimitingInterface[string]
	informer   cache.SharedIndexInformer
	written    map[string]appStatus
	driftSince map[string]time.Time
	// seen is whether each rollout's template differs from Git, worked out
	// again only when its generation or Git changes.
	seen map[string]templateSeen
}

// gitTemplate is a pod template in Git, as the rollout stores it, with
// its hash.
type gitTemplate struct {
	image, hash string
	object      map[string]any
}

type templateSeen struct {
	generation int64
	git        string
	differs    bool
}

// newGitops is the demo's Argo CD for the scenario's services, their
// stable versions in Git.
func newGitops(cluster *sim.Cluster, services map[string]*runningService, speed float64) (*gitops, error) {
	g := &gitops{
		cluster: cluster, services: services, apps: map[string]argocd.App{},
		// Argo CD's self-heal timeout is 5 s.
		selfHealAfter: max(time.Duration(float64(5*time.Second)/speed), 500*time.Millisecond),
		git:           map[string]gitTemplate{},
		written:       map[string]appStatus{}, driftSince: map[string]time.Time{}, seen: map[string]templateSeen{},
	}
	for key, svc := range services {
		g.apps[key] = appOf(svc.Service)
		if err := g.released(key, svc.Image(svc.Stable)); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// create makes Argo CD's namespace, the projects and the Applications.
func (g *gitops) create(ctx context.Context) error {
	for _, p := range appProjects {
		if err := g.cluster.CreateAppProject(ctx, argocd.AppProject(p.name, p.description)); err != nil {
			return err
		}
	}
	for key, app := range g.apps {
		u := argocd.Application(app)
		if err := unstructured.SetNestedSlice(u.Object, resources(g.services[key], app.Sync, app.Health), "status", "resources"); err != nil {
			return err
		}
		if err := g.cluster.CreateApplication(ctx, u); err != nil {
			return err
		}
		g.written[key] = appStatus{app.Sync, app.Health}
	}
	return nil
}

// resources is an Application's status.resources: its one Rollout.
func resources(svc *runningService, sync, health string) []any {
	return []any{map[string]any{
		"group": v1alpha1.Group, "version": v1alpha1.Version, "kind": v1alpha1.Kind,
		"namespace": svc.Namespace, "name": svc.Name,
		"status": sync, "health": map[string]any{"status": health},
	}}
}

// released records that Git now says image for the rollout key: the
// script calls it before it sets the image, as a sync follows a commit.
func (g *gitops) released(key, image string) error {
	svc := g.services[key]
	if svc == nil {
		return nil
	}
	r := svc.rollout()
	for i := range r.Spec.Template.Spec.Containers {
		r.Spec.Template.Spec.Containers[i].Image = image
	}
	u, err := v1alpha1.ToUnstructured(r)
	if err != nil {
		return err
	}
	tmpl, _, _ := unstructured.NestedMap(u.Object, "spec", "template")
	hash, err := templateHash(tmpl)
	if err != nil {
		return fmt.Errorf("demo: pod template of %s in Git: %w", key, err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.git[key] = gitTemplate{image: image, hash: hash, object: tmpl}
	return nil
}

func (g *gitops) inGit(key string) gitTemplate {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.git[key]
}

// templateHash is the hash of a pod template as a rollout stores it.
func templateHash(tmpl map[string]any) (string, error) {
	var t corev1.PodTemplateSpec
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(tmpl, &t); err != nil {
		return "", err
	}
	return v1alpha1.PodTemplateHash(&t, nil), nil
}

// run follows the rollouts until ctx is done, then returns with every
// goroutine it started gone.
func (g *gitops) run(ctx context.Context) {
	g.queue = workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.DefaultTypedControllerRateLimiter[string](),
		workqueue.TypedRateLimitingQueueConfig[string]{},
	)
	g.informer = dynamicinformer.NewFilteredDynamicInformer(g.cluster.Dynamic, v1alpha1.RolloutGVR, metav1.NamespaceAll, 0, cache.Indexers{}, nil).Informer()
	enqueue := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil && g.services[key] != nil {
			g.queue.Add(key)
		}
	}
	_, _ = g.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
		DeleteFunc: enqueue,
	})
	var wg sync.WaitGroup
	wg.Go(func() { g.informer.RunWithContext(ctx) })
	if cache.WaitForCacheSync(ctx.Done(), g.informer.HasSynced) {
		wg.Go(func() {
			for g.next(ctx) {
			}
		})
	}
	<-ctx.Done()
	g.queue.ShutDown()
	wg.Wait()
}

func (g *gitops) next(ctx context.Context) bool {
	key, quit := g.queue.Get()
	if quit {
		return false
	}
	defer g.queue.Done(key)
	switch err := g.sync(ctx, key); {
	case err == nil:
		g.queue.Forget(key)
	case ctx.Err() != nil:
	default:
		if !apierrors.IsConflict(err) {
			utilruntime.HandleError(err)
		}
		g.queue.AddRateLimited(key)
	}
	return true
}

// sync writes the Application of rollout key as Argo CD would see it now,
// and heals the rollout when its Application self-heals and its spec has
// differed from Git for long enough.
func (g *gitops) sync(ctx context.Context, key string) error {
	app := g.apps[key]
	obj, exists, err := g.informer.GetIndexer().GetByKey(key)
	if err != nil {
		return err
	}
	now := appStatus{syncOutOfSync, healthMissing}
	if u, ok := obj.(*unstructured.Unstructured); exists && ok {
		gen := u.GetGeneration()
		observed, _, _ := unstructured.NestedString(u.Object, "status", "observedGeneration")
		phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
		now.health = rolloutHealth(gen, observed, phase)
		now.sync = syncSynced
		if g.drifted(key, u) {
			now.sync = syncOutOfSync
		}
	}
	if now.sync == syncOutOfSync && exists && app.SelfHeal {
		since, ok := g.driftSince[key]
		if !ok {
			since = time.Now()
			g.driftSince[key] = since
		}
		if wait := g.selfHealAfter - time.Since(since); wait > 0 {
			g.queue.AddAfter(key, wait)
		} else {
			if err := g.heal(ctx, key); err != nil {
				return err
			}
			delete(g.driftSince, key)
		}
	} else {
		delete(g.driftSince, key)
	}
	if g.written[key] == now {
		return nil
	}
	patch := map[string]any{"status": map[string]any{
		"sync":      map[string]any{"status": now.sync},
		"health":    map[string]any{"status": now.health},
		"resources": resources(g.services[key], now.sync, now.health),
	}}
	data, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	_, err = g.cluster.Dynamic.Resource(argocd.ApplicationGVR).Namespace(argocd.Namespace).Patch(ctx, app.Name, types.MergePatchType, data, metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("demo: Argo CD status of Application %s: %w", app.Name, err)
	}
	g.written[key] = now
	return nil
}

// drifted says whether the rollout's spec differs from Git where a person
// changes it by hand: a pause (spec.paused) or another pod template (an
// undo).
func (g *gitops) drifted(key string, u *unstructured.Unstructured) bool {
	if paused, _, _ := unstructured.NestedBool(u.Object, "spec", "paused"); paused {
		return true
	}
	git := g.inGit(key).hash
	if s, ok := g.seen[key]; ok && s.generation == u.GetGeneration() && s.git == git {
		return s.differs
	}
	tmpl, _, _ := unstructured.NestedFieldNoCopy(u.Object, "spec", "template")
	m, _ := tmpl.(map[string]any)
	live, err := templateHash(m)
	differs := err != nil || live != git
	g.seen[key] = templateSeen{generation: u.GetGeneration(), git: git, differs: differs}
	return differs
}

// heal puts back Git's pod template and drops spec.paused, as Argo CD's
// self-heal syncs the Application again.
func (g *gitops) heal(ctx context.Context, key string) error {
	svc := g.services[key]
	git := g.inGit(key)
	rollouts := g.cluster.Dynamic.Resource(v1alpha1.RolloutGVR).Namespace(svc.Namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		u, err := rollouts.Get(ctx, svc.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		unstructured.RemoveNestedField(u.Object, "spec", "paused")
		if err := unstructured.SetNestedField(u.Object, runtime.DeepCopyJSON(git.object), "spec", "template"); err != nil {
			return err
		}
		_, err = rollouts.Update(ctx, u, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("demo: Argo CD self-heal of rollout %s: %w", key, err)
	}
	klog.InfoS("demo: Argo CD self-healed", "rollout", key, "application", g.apps[key].Name, "image", git.image)
	return nil
}
