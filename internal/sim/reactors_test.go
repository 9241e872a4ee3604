package sim

import (
	"context"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stesting "k8s.io/client-go/testing"

	"github.com/roost-dev/roost/actions"
	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/deploy"
	"github.com/roost-dev/roost/election"
)

func TestAccessReviews(t *testing.T) {
	c, err := New(Options{Deny: []Denial{
		{Verb: "patch", Resource: "rollouts/status", Namespace: testNS},
		{Verb: "delete", Resource: "rollouts"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		verb, resource, sub, ns string
		allowed                 bool
	}{
		{"patch", "rollouts", "status", testNS, false},
		{"patch", "rollouts", "status", "billing", true},
		{"patch", "rollouts", "", testNS, true},
		{"get", "rollouts", "", testNS, true},
		{"delete", "rollouts", "", "billing", false},
		{"delete", "pods", "", testNS, true},
	}
	for _, tt := range tests {
		review, err := c.Kube.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
			Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: tt.ns, Verb: tt.verb, Group: v1alpha1.Group, Resource: tt.resource, Subresource: tt.sub,
			}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		st := review.Status
		if st.Allowed != tt.allowed || st.Denied == tt.allowed || st.Reason == "" {
			t.Errorf("%s %s/%s in %s: allowed %v denied %v (%q); want allowed %v", tt.verb, tt.resource, tt.sub, tt.ns, st.Allowed, st.Denied, st.Reason, tt.allowed)
		}
	}
	rules, err := c.Kube.AuthorizationV1().SelfSubjectRulesReviews().Create(ctx, &authorizationv1.SelfSubjectRulesReview{Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: testNS}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rules.Status.Incomplete || len(rules.Status.ResourceRules) != 0 {
		t.Errorf("rules review with denials: %+v; want incomplete, no rules", rules.Status)
	}

	open := idle(t)
	review, err := open.Kube.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "patch", Resource: "rollouts", Subresource: "status"}},
	}, metav1.CreateOptions{})
	if err != nil || !review.Status.Allowed {
		t.Errorf("without denials: %v, %+v; want allowed", err, review)
	}
}

func TestWhoAmIAndDiscovery(t *testing.T) {
	ctx := context.Background()
	if got := actions.WhoAmI(ctx, idle(t).Kube, "fallback"); got != DefaultUser {
		t.Errorf("WhoAmI = %q, want %q", got, DefaultUser)
	}
	c, err := New(Options{User: "ana@shop"})
	if err != nil {
		t.Fatal(err)
	}
	review, err := c.Kube.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil || review.Status.UserInfo.Username != "ana@shop" {
		t.Errorf("SelfSubjectReview: %v, %+v; want ana@shop", err, review)
	}

	list, err := c.Kube.Discovery().ServerResourcesForGroupVersion(v1alpha1.SchemeGroupVersion.String())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range list.APIResources {
		found = found || (r.Name == v1alpha1.Resource && r.Kind == v1alpha1.Kind && r.Namespaced)
	}
	if !found {
		t.Errorf("discovery of %s lists %+v, without rollouts", v1alpha1.SchemeGroupVersion, list.APIResources)
	}
	if _, err := c.Kube.Discovery().ServerResourcesForGroupVersion("nope.example.com/v1"); !apierrors.IsNotFound(err) {
		t.Errorf("discovery of an unknown group: got %v, want NotFound", err)
	}
	crd, err := c.Dynamic.Resource(deploy.CRDGVR).Get(ctx, deploy.CRDName, metav1.GetOptions{})
	if err != nil || crd.GetLabels()[deploy.OwnerLabel] != deploy.OwnerValue {
		t.Errorf("the Rollout CRD: %v, labels %v; want roost's, installed", err, crd.GetLabels())
	}
	nodes, err := c.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil || len(nodes.Items) != DefaultNodes || nodes.Items[0].Name != "sim-node-1" || nodes.Items[0].Status.Conditions[0].Status != corev1.ConditionTrue {
		t.Errorf("nodes: %v, %+v; want %d Ready sim-node-N", err, nodes, DefaultNodes)
	}
}

// Two candidates elect one leader through the Lease; when it stops, the
// other takes over.
func TestLeaderElection(t *testing.T) {
	c := idle(t)
	type term struct{ who string }
	terms := make(chan term, 4)
	run := func(ctx context.Context, id string) chan struct{} {
		l, err := election.NewLeader(election.LeaderConfig{
			Kube: c.Kube, Namespace: testNS, Identity: id,
			LeaseDuration: 2 * time.Second, RenewDeadline: 1500 * time.Millisecond, RetryPeriod: 200 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = l.Run(ctx, func(ctx context.Context) {
				terms <- term{id}
				<-ctx.Done()
			})
		}()
		return done
	}
	ctxA, stopA := context.WithCancel(context.Background())
	doneA := run(ctxA, "a")
	first := <-terms
	if first.who != "a" {
		t.Fatalf("first leader %s, want a", first.who)
	}
	ctxB, stopB := context.WithCancel(context.Background())
	doneB := run(ctxB, "b")
	defer func() { stopB(); <-doneB }()
	select {
	case tm := <-terms:
		t.Fatalf("%s led while a held the lease", tm.who)
	case <-time.After(500 * time.Millisecond):
	}
	stopA()
	<-doneA
	select {
	case tm := <-terms:
		if tm.who != "b" {
			t.Fatalf("after a stopped, %s leads; want b", tm.who)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("b did not take over the lease")
	}
	info, err := election.ReadLeader(context.Background(), c.Kube, testNS, election.DefaultLeaseName, "b", time.Now())
	if err != nil || !info.IsMe {
		t.Errorf("ReadLeader: %v, %+v; want b", err, info)
	}
}

func TestEvictionIsAGracefulDelete(t *testing.T) {
	c := idle(t)
	ctx := context.Background()
	pods := c.Kube.CoreV1().Pods(testNS)
	if _, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{NodeName: "sim-node-1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Kube.PolicyV1().Evictions(testNS).Evict(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: testNS}}); err != nil {
		t.Fatal(err)
	}
	p, err := pods.Get(ctx, "p", metav1.GetOptions{})
	if err != nil || p.DeletionTimestamp == nil {
		t.Errorf("evicted pod: %v, deletionTimestamp %v; want it terminating", err, p)
	}
}

// The fakes keep a log of every request; the cluster clears it soon after.
func TestActionLogIsCleared(t *testing.T) {
	c := idle(t)
	if _, err := c.Kube.CoreV1().Pods(testNS).List(context.Background(), metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	fake := c.Kube.(interface{ Actions() []k8stesting.Action })
	if len(fake.Actions()) == 0 {
		t.Fatal("the fake did not record the request")
	}
	c.actions.mu.Lock()
	armed := c.actions.timer != nil
	c.actions.mu.Unlock()
	if !armed {
		t.Fatal("no timer armed after a request")
	}
	// What the timer runs after actionLogTTL.
	c.actions.flush()
	if n := len(fake.Actions()); n != 0 {
		t.Errorf("%d requests still logged after the flush", n)
	}
}
