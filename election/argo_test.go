package election

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"
	metadatafake "k8s.io/client-go/metadata/fake"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/roost-dev/roost/internal/kubetest"
)

func allowAll(*kubefake.Clientset) func(authorizationv1.ResourceAttributes) bool {
	return func(authorizationv1.ResourceAttributes) bool { return true }
}

// rolloutMeta is a Rollout's metadata with one status write by manager at.
func rolloutMeta(ns, name, manager string, at time.Time) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{
		TypeMeta: metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "Rollout"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, ManagedFields: []metav1.ManagedFieldsEntry{
			{Manager: "kubectl-client-side-apply", Operation: metav1.ManagedFieldsOperationUpdate, Time: &metav1.Time{Time: at}},
			{Manager: manager, Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "status", Time: &metav1.Time{Time: at}},
		}},
	}
}

func argoPod(name, component string, ready bool) *corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ArgoLeaseNamespace, Name: name, Labels: map[string]string{
			"app.kubernetes.io/name": "argo-rollouts", argoComponentLabel: component,
		}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}},
	}
}

func waitSeen(t *testing.T, d *ArgoDetector, what string, ok func(ArgoSeen) bool) ArgoSeen {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	seen := d.Current()
	for !ok(seen) {
		var err error
		if seen, err = d.WaitSigns(ctx, seen); err != nil {
			t.Fatalf("waiting for %s: still %+v", what, d.Current())
		}
	}
	return seen
}

// Every sign of a live Argo Rollouts controller, and what is not one.
func TestArgoDetector(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name     string
		kube     []runtime.Object
		rollouts []runtime.Object
		live     bool
		sign     string
	}{
		{"nothing", nil, nil, false, ""},
		{"Argo's Lease, renewed", []runtime.Object{lease(ArgoLeaseNamespace, ArgoLeaseName, "argo-rollouts-5c9f-x2", now, 15)}, nil, true, "held by argo-rollouts-5c9f-x2"},
		{"Argo's Lease, expired", []runtime.Object{lease(ArgoLeaseNamespace, ArgoLeaseName, "argo-rollouts-5c9f-x2", now.Add(-time.Minute), 15)}, nil, false, ""},
		{"a ready controller pod, no Lease (no leader election)", []runtime.Object{argoPod("argo-rollouts-7d9-abc", "rollouts-controller", true)}, nil, true, "controller pod argo-rollouts/argo-rollouts-7d9-abc is running"},
		{"a controller pod not ready", []runtime.Object{argoPod("argo-rollouts-7d9-abc", "rollouts-controller", false)}, nil, false, ""},
		{"the dashboard's pod is no controller", []runtime.Object{argoPod("argo-rollouts-dashboard-55-x", argoDashboardComponet, true)}, nil, false, ""},
		{"a recent status write by another controller", nil, []runtime.Object{rolloutMeta("shop", "checkout", "rollouts-controller", now)}, true, "shop/checkout written by rollouts-controller"},
		{"roost's own status write", nil, []runtime.Object{rolloutMeta("shop", "checkout", FieldManager, now)}, false, ""},
		{"the plugin's promote", nil, []runtime.Object{rolloutMeta("shop", "checkout", "kubectl-argo-rollouts", now)}, false, ""},
		{"an old write by another controller", nil, []runtime.Object{rolloutMeta("shop", "checkout", "rollouts-controller", now.Add(-time.Hour))}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kube := kubefake.NewClientset(tt.kube...)
			kubetest.AnswerAccessReviews(kube, allowAll(kube))
			scheme := runtime.NewScheme()
			_ = metav1.AddMetaToScheme(scheme)
			meta := metadatafake.NewSimpleMetadataClient(scheme, tt.rollouts...)
			d := NewArgoDetector(DetectorOptions{Kube: kube, Metadata: meta})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go d.Run(ctx)
			seen := waitSeen(t, d, "every sign listed", func(s ArgoSeen) bool { return s.Known })
			if seen.Live != tt.live || !strings.Contains(seen.String(), tt.sign) {
				t.Errorf("seen %+v (%q), want live=%v with %q", seen, seen.String(), tt.live, tt.sign)
			}
		})
	}
}

// A status write by another controller counts while it is recent, dated
// when roost sees it; a later write by it counts again.
func TestArgoDetectorRecentWrites(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Now())
	kube := kubefake.NewClientset()
	kubetest.AnswerAccessReviews(kube, allowAll(kube))
	scheme := runtime.NewScheme()
	_ = metav1.AddMetaToScheme(scheme)
	meta := metadatafake.NewSimpleMetadataClient(scheme, rolloutMeta("shop", "checkout", "rollouts-controller", clk.Now()))
	d := NewArgoDetector(DetectorOptions{Kube: kube, Metadata: meta, Clock: clk})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)
	waitSeen(t, d, "the write seen", func(s ArgoSeen) bool { return s.Known && s.Live })
	clk.Step(RecentWrite + time.Second)
	waitSeen(t, d, "the write forgotten", func(s ArgoSeen) bool { return !s.Live })

	// Another write, with a later time: live again.
	later := rolloutMeta("shop", "checkout", "rollouts-controller", clk.Now())
	later.ResourceVersion = "2"
	if _, err := meta.Resource(rolloutResource).Namespace("shop").(metadatafake.MetadataClient).UpdateFake(later, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitSeen(t, d, "the new write seen", func(s ArgoSeen) bool { return s.Live })
}

// RunBeside leads only while no Argo controller is live: a controller that
// appears ends the term and releases the Lease; when it goes, roost leads
// again.
func TestRunBeside(t *testing.T) {
	kube := kubefake.NewClientset()
	kubetest.AnswerAccessReviews(kube, allowAll(kube))
	d := NewArgoDetector(DetectorOptions{Kube: kube})
	l, err := NewLeader(LeaderConfig{Kube: kube, Namespace: "roost", Name: "roost-controller", Identity: "me@test/1",
		LeaseDuration: time.Second, RenewDeadline: 600 * time.Millisecond, RetryPeriod: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)
	var leading, terms atomic.Int32
	done := make(chan error, 1)
	go func() {
		done <- l.RunBeside(ctx, d, nil, func(term context.Context) {
			terms.Add(1)
			leading.Store(1)
			<-term.Done()
			leading.Store(0)
		})
	}()
	eventuallyTrue(t, "a first term", func() bool { return leading.Load() == 1 })

	pod := argoPod("argo-rollouts-7d9-abc", "rollouts-controller", true)
	if _, err := kube.CoreV1().Pods(ArgoLeaseNamespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventuallyTrue(t, "the term ended once Argo is live", func() bool { return leading.Load() == 0 })
	eventuallyTrue(t, "the Lease released", func() bool {
		got, err := kube.CoordinationV1().Leases("roost").Get(ctx, "roost-controller", metav1.GetOptions{})
		return err == nil && (got.Spec.HolderIdentity == nil || *got.Spec.HolderIdentity == "")
	})
	time.Sleep(500 * time.Millisecond)
	if leading.Load() != 0 || terms.Load() != 1 {
		t.Fatalf("leading=%d terms=%d beside a live Argo controller; want no term", leading.Load(), terms.Load())
	}

	if err := kube.CoreV1().Pods(ArgoLeaseNamespace).Delete(ctx, pod.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventuallyTrue(t, "a second term once Argo is gone", func() bool { return leading.Load() == 1 && terms.Load() == 2 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func eventuallyTrue(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
