package controller

import (
	"fmt"
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/roost-dev/roost/api/v1alpha1"
)

func TestPlanScale(t *testing.T) {
	rs := func(spec, avail int32) rsState { return rsState{Spec: spec, Available: avail} }
	tests := []struct {
		name string
		in   scaleInput
		want scaleOutput
	}{
		{
			name: "20% of 10: surge room lets the canary start while stable shrinks within unavailable",
			in:   scaleInput{Replicas: 10, Surge: 3, Unavailable: 2, CanaryTarget: 2, StableTarget: 8, Stable: rs(10, 10), HasStable: true},
			want: scaleOutput{Canary: 2, Stable: 8, Older: []int32{}},
		},
		{
			name: "3 at 50% with surge 1 and no unavailable: canary first, stable waits for it",
			in:   scaleInput{Replicas: 3, Surge: 1, Unavailable: 0, CanaryTarget: 2, StableTarget: 2, Stable: rs(3, 3), HasStable: true},
			want: scaleOutput{Canary: 1, Stable: 3, Older: []int32{}},
		},
		{
			name: "3 at 50%, second pass once the first canary pod is available",
			in:   scaleInput{Replicas: 3, Surge: 1, Unavailable: 0, CanaryTarget: 2, StableTarget: 2, Canary: rs(1, 1), Stable: rs(3, 3), HasStable: true},
			want: scaleOutput{Canary: 2, Stable: 2, Older: []int32{}},
		},
		{
			name: "no surge: stable gives a pod up first, the canary takes its place",
			in:   scaleInput{Replicas: 3, Surge: 0, Unavailable: 1, CanaryTarget: 2, StableTarget: 1, Stable: rs(3, 3), HasStable: true},
			want: scaleOutput{Canary: 1, Stable: 2, Older: []int32{}},
		},
		{
			name: "abort: the canary gives up its spare pods, stable surges back to N",
			in:   scaleInput{Replicas: 10, Surge: 3, Unavailable: 2, CanaryTarget: 0, StableTarget: 10, Canary: rs(5, 5), Stable: rs(5, 5), HasStable: true},
			want: scaleOutput{Canary: 3, Stable: 10, Older: []int32{}},
		},
		{
			name: "abort with no surge and no spare: canary pods not yet available go for free",
			in:   scaleInput{Replicas: 4, Surge: 0, Unavailable: 1, CanaryTarget: 0, StableTarget: 4, Canary: rs(2, 0), Stable: rs(2, 2), HasStable: true},
			want: scaleOutput{Canary: 0, Stable: 4, Older: []int32{}},
		},
		{
			name: "older replicasets drain first, within the spare available pods",
			in: scaleInput{Replicas: 10, Surge: 3, Unavailable: 2, CanaryTarget: 2, StableTarget: 8,
				Stable: rs(5, 5), HasStable: true, Older: []rsState{rs(5, 5)}},
			want: scaleOutput{Canary: 2, Stable: 8, Older: []int32{3}},
		},
		{
			name: "single replicaset (no stable): new one to N, everything else to 0",
			in:   scaleInput{Replicas: 4, Surge: 1, Unavailable: 1, CanaryTarget: 4, StableTarget: 0, Older: []rsState{rs(4, 4)}},
			want: scaleOutput{Canary: 2, Stable: 0, Older: []int32{3}},
		},
		{
			name: "unavailable pods never block: nothing available, nothing lost by removing",
			in:   scaleInput{Replicas: 2, Surge: 0, Unavailable: 0, CanaryTarget: 2, Older: []rsState{rs(2, 0)}},
			want: scaleOutput{Canary: 2, Older: []int32{0}},
		},
		{
			name: "replicas 0",
			in:   scaleInput{Replicas: 0, Surge: 0, Unavailable: 0, CanaryTarget: 0, StableTarget: 0, Canary: rs(1, 1), Stable: rs(2, 2), HasStable: true},
			want: scaleOutput{Canary: 0, Stable: 0, Older: []int32{}},
		},
		{
			name: "a replicaset reporting more available than it asks for counts only its spec",
			in:   scaleInput{Replicas: 4, Surge: 0, Unavailable: 1, CanaryTarget: 2, StableTarget: 2, Canary: rs(1, 1), Stable: rs(3, 9), HasStable: true},
			want: scaleOutput{Canary: 2, Stable: 2, Older: []int32{}},
		},
		{
			name: "1 replica, maxSurge 0: the only pod is replaced (Argo allows the dip)",
			in:   scaleInput{Replicas: 1, Surge: 0, Unavailable: 1, CanaryTarget: 1, StableTarget: 0, Stable: rs(1, 1), HasStable: true},
			want: scaleOutput{Canary: 1, Stable: 0, Older: []int32{}},
		},
		{
			name: "1 replica, 1/0: canary surges, stable stays until the canary is available",
			in:   scaleInput{Replicas: 1, Surge: 1, Unavailable: 0, CanaryTarget: 1, StableTarget: 0, Stable: rs(1, 1), HasStable: true},
			want: scaleOutput{Canary: 1, Stable: 1, Older: []int32{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := planScale(tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("planScale = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestWeightReached(t *testing.T) {
	base := scaleInput{Replicas: 10, CanaryTarget: 2, StableTarget: 8, HasStable: true,
		Canary: rsState{2, 2}, Stable: rsState{8, 8}}
	if !weightReached(base) {
		t.Fatal("targets held and available: want reached")
	}
	for name, mutate := range map[string]func(*scaleInput){
		"canary not available":   func(in *scaleInput) { in.Canary.Available = 1 },
		"canary above target":    func(in *scaleInput) { in.Canary.Spec = 3 },
		"stable above target":    func(in *scaleInput) { in.Stable.Spec = 9 },
		"stable not available":   func(in *scaleInput) { in.Stable.Available = 7 },
		"older still has pods":   func(in *scaleInput) { in.Older = []rsState{{0, 1}} },
		"older still asks pods":  func(in *scaleInput) { in.Older = []rsState{{1, 0}} },
		"canary below target":    func(in *scaleInput) { in.Canary = rsState{1, 1} },
		"stable gone below plan": func(in *scaleInput) { in.Stable = rsState{7, 7} },
	} {
		in := base
		mutate(&in)
		if weightReached(in) {
			t.Errorf("%s: want not reached", name)
		}
	}
}

// fenceposts are the maxSurge/maxUnavailable forms the issue asks for.
var fenceposts = []struct {
	name                  string
	maxSurge, unavailable *intstr.IntOrString
}{
	{"defaults", nil, nil},
	{"ints 2/1", intOrStr(2), intOrStr(1)},
	{"percents 50%/10%", pct("50%"), pct("10%")},
	{"0/1", intOrStr(0), intOrStr(1)},
	{"1/0", intOrStr(1), intOrStr(0)},
}

func intOrStr(i int32) *intstr.IntOrString { v := intstr.FromInt32(i); return &v }
func pct(s string) *intstr.IntOrString     { v := intstr.FromString(s); return &v }

// TestReplicaMatrix runs a whole canary for replicas 0, 1, 3, 10 and 100 with
// every fencepost form, checking after every sync that the pods asked for stay
// within N+surge and the available pods within N-unavailable.
func TestReplicaMatrix(t *testing.T) {
	for _, n := range []int32{0, 1, 3, 10, 100} {
		for _, fp := range fenceposts {
			t.Run(fmt.Sprintf("%d replicas %s", n, fp.name), func(t *testing.T) {
				h := newHarness(t)
				r := newRollout("cart", n, setWeight(25), pause(), setWeight(75), pause())
				r.Spec.Strategy.Canary.MaxSurge = fp.maxSurge
				r.Spec.Strategy.Canary.MaxUnavailable = fp.unavailable
				surge, unavailable, err := v1alpha1.ResolveFenceposts(fp.maxSurge, fp.unavailable, n)
				if err != nil {
					t.Fatal(err)
				}
				h.create(r)
				h.settle("cart")
				v1 := h.get("cart").Status.StableRS
				h.edit("cart", func(r *v1alpha1.Rollout) { r.Spec.Template.Spec.Containers[0].Image = "shop:v2" })

				check := func() {
					t.Helper()
					var spec, avail int32
					for _, rs := range h.replicaSets() {
						spec += replicasOf(rs)
						avail += min(rs.Status.AvailableReplicas, replicasOf(rs))
					}
					if spec > n+surge {
						t.Fatalf("pods asked for %d > N+surge %d\n%s", spec, n+surge, h.describe("cart"))
					}
					// Replicas 1 with maxSurge 0 must drop its only pod; Argo does too.
					if avail < n-unavailable && !(n == 1 && surge == 0) {
						t.Fatalf("available %d < N-unavailable %d\n%s", avail, n-unavailable, h.describe("cart"))
					}
				}
				run := func() {
					t.Helper()
					for i := 0; i < 300; i++ {
						h.clearActions()
						h.sync("cart")
						check()
						h.kubelet()
						if h.writes() == 0 {
							return
						}
					}
					t.Fatalf("did not settle: %s", h.describe("cart"))
				}
				run()
				v2 := h.get("cart").Status.CurrentPodHash
				wantStep(t, h, "cart", 1)
				c, s := splitCanary(n, 25, surge)
				wantCounts(t, h, "cart", map[string]int32{v1: s, v2: c})

				h.patchStatus("cart", `{"status":{"pauseConditions":null}}`)
				run()
				wantStep(t, h, "cart", 3)
				c, s = splitCanary(n, 75, surge)
				wantCounts(t, h, "cart", map[string]int32{v1: s, v2: c})

				h.patchStatus("cart", `{"status":{"pauseConditions":null}}`)
				run()
				got := wantStep(t, h, "cart", 4)
				if got.Status.StableRS != v2 || got.Status.Phase != v1alpha1.PhaseHealthy {
					t.Fatalf("not completed: %s", h.describe("cart"))
				}
				wantCounts(t, h, "cart", map[string]int32{v1: 0, v2: n})
			})
		}
	}
}
