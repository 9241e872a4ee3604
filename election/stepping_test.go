package election

import (
	"context"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/internal/kubetest"
)

func TestDecideStepping(t *testing.T) {
	me := LeaderInfo{Identity: "alice@bastion/1", IsMe: true}
	bob := LeaderInfo{Identity: "bob@laptop/7"}
	argo := "lease argo-rollouts/argo-rollouts-controller-lock held by argo-rollouts-5c9f-x2"
	tests := []struct {
		name string
		in   steppingInputs
		want Stepping
	}{
		{"nothing read yet", steppingInputs{}, Stepping{Kind: SteppingUnknown}},
		{"campaigning, nobody elected yet", steppingInputs{campaigning: true, roostKnown: true}, Stepping{Kind: SteppingUnknown}},
		{"this roost leads", steppingInputs{campaigning: true, roost: me, roostKnown: true}, Stepping{Kind: SteppingByMe, Who: me.Identity}},
		{"another roost leads", steppingInputs{roost: bob, roostKnown: true}, Stepping{Kind: SteppingByOtherRoost, Who: bob.Identity}},
		{"Argo Rollouts steps", steppingInputs{roostKnown: true, argo: argo, argoKnown: true}, Stepping{Kind: SteppingExternal, Who: argo}},
		{"a roost and Argo both", steppingInputs{roost: bob, roostKnown: true, argo: argo, argoKnown: true}, Stepping{Kind: SteppingByOtherRoost, Who: bob.Identity, External: argo}},
		{"nobody", steppingInputs{roostKnown: true, argoKnown: true}, Stepping{Kind: SteppingByNobody}},
		{"nobody, Argo unseen", steppingInputs{roostKnown: true}, Stepping{Kind: SteppingByNobody}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := decideStepping(tt.in); got != tt.want {
				t.Errorf("decideStepping = %+v, want %+v", got, tt.want)
			}
		})
	}
	if s := (Stepping{Kind: SteppingByNobody}).String(); !strings.Contains(s, "will not move") || !strings.Contains(s, "--reconciler=on") {
		t.Errorf("nobody reads %q; it must say the canaries will not move and what to do", s)
	}
}

func lease(ns, name, holder string, renewed time.Time, seconds int32) *coordinationv1.Lease {
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity: ptr.To(holder), LeaseDurationSeconds: ptr.To(seconds),
			RenewTime: &metav1.MicroTime{Time: renewed},
		},
	}
}

func TestSteppingWatch(t *testing.T) {
	now := time.Now()
	kube := kubefake.NewClientset(
		lease("kube-system", DefaultLeaseName, "bob@laptop/7", now, 15),
		lease("kube-system", "other-lease", "someone-else", now, 15),
	)
	kubetest.AnswerAccessReviews(kube, func(authorizationv1.ResourceAttributes) bool { return true })
	w := NewSteppingWatch(SteppingOptions{Kube: kube, Me: "alice@bastion/1"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()

	got, err := w.Wait(ctx, Stepping{Kind: SteppingUnknown})
	if err != nil || got.Kind != SteppingByOtherRoost || got.Who != "bob@laptop/7" {
		t.Fatalf("first stepping %+v, %v; want another roost, bob", got, err)
	}

	// bob's roost stops cleanly (releases the Lease) and Argo Rollouts starts.
	if _, err := kube.CoordinationV1().Leases("kube-system").Update(ctx, lease("kube-system", DefaultLeaseName, "", now, 15), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := kube.CoordinationV1().Leases("argo-rollouts").Create(ctx, lease("argo-rollouts", ArgoLeaseName, "argo-rollouts-5c9f-x2", time.Now(), 2), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for got.Kind != SteppingExternal {
		if got, err = w.Wait(ctx, got); err != nil {
			t.Fatalf("waiting for Argo Rollouts: %v (last %+v)", err, got)
		}
	}
	if !strings.Contains(got.Who, "argo-rollouts-5c9f-x2") {
		t.Errorf("external stepping names %q, want the holder", got.Who)
	}
	// Argo dies without releasing: its 2s Lease expires and nobody steps.
	if got, err = w.Wait(ctx, got); err != nil || got.Kind != SteppingByNobody {
		t.Errorf("after the Lease expired: %+v, %v; want nobody", got, err)
	}
	cancel()
	<-done
}

func TestSteppingWatchCampaigning(t *testing.T) {
	kube := kubefake.NewClientset()
	kubetest.AnswerAccessReviews(kube, func(a authorizationv1.ResourceAttributes) bool { return a.Namespace != "" })
	w := NewSteppingWatch(SteppingOptions{Kube: kube, Me: "alice@bastion/1", Campaigning: true})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go w.Run(ctx)
	if got := w.Current(); got.Kind != SteppingUnknown {
		t.Errorf("before the election: %+v", got)
	}
	w.LeaderChanged(LeaderInfo{Identity: "alice@bastion/1", IsMe: true})
	got, err := w.Wait(ctx, Stepping{Kind: SteppingUnknown})
	if err != nil || got.Kind != SteppingByMe {
		t.Errorf("after winning: %+v, %v", got, err)
	}
}
