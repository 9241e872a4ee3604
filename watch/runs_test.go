package watch

import (
	"context"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/utils/clock"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// TestLightRunsSelection: the runs followed are those of the wanted
// rollouts, selected by the hashes of their revisions and of their runs
// known so far; a run without the hash label is read on its own; a list of
// the selection forgets the selected runs that are gone and marks their
// rollouts changed.
func TestLightRunsSelection(t *testing.T) {
	ctx := context.Background()
	run := func(name, rollout, hash string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion(v1alpha1.SchemeGroupVersion.String())
		u.SetKind(v1alpha1.AnalysisRunKind)
		u.SetName(name)
		u.SetNamespace("shop")
		if hash != "" {
			u.SetLabels(map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: hash})
		}
		u.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: v1alpha1.Kind, Name: rollout, UID: types.UID("u-" + rollout)}})
		return u
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{v1alpha1.AnalysisRunGVR: "AnalysisRunList"},
		run("cart-old", "cart", "c1"), run("cart-new", "cart", "c2"), run("cart-hand", "cart", ""), run("pay-1", "pay", "p1"))
	dirty := newDirtySet()
	revisions := map[Key][]string{{Namespace: "shop", Name: "cart"}: {"c3", "c2"}, {Namespace: "shop", Name: "pay"}: {"p1", ""}}
	l := newLightRuns(dyn, "shop", dirty, newHealthTracker(clock.RealClock{}, func() {}), func(k Key) []string { return revisions[k] })
	if _, err := l.list(ctx, selectAll); err != nil {
		t.Fatal(err)
	}
	cart, pay := Key{Namespace: "shop", Name: "cart"}, Key{Namespace: "shop", Name: "pay"}
	names := func(k Key) []string {
		var out []string
		for _, u := range l.runsOf(k) {
			out = append(out, u.GetName())
		}
		slices.Sort(out)
		return out
	}
	if got := names(cart); !slices.Equal(got, []string{"cart-hand", "cart-new", "cart-old"}) {
		t.Fatalf("cart's runs %v after the first list", got)
	}

	if sel, _ := l.selection(); sel != selectAll {
		t.Errorf("nothing said of the screen: selection %q, want every run", sel)
	}
	l.setWanted(map[Key]bool{cart: true})
	sel, unlabelled := l.selection()
	if want := "rollouts-pod-template-hash in (c1,c2,c3)"; sel != want {
		t.Errorf("cart on screen: selection %q, want %q", sel, want)
	}
	if !slices.Equal(unlabelled, []Key{{Namespace: "shop", Name: "cart-hand"}}) {
		t.Errorf("cart on screen: runs read on their own %v, want cart-hand", unlabelled)
	}
	l.setWanted(map[Key]bool{})
	if sel, _ := l.selection(); sel != selectNone {
		t.Errorf("nothing on screen: selection %q, want none", sel)
	}

	// cart-old is deleted while cart is off screen; listed on screen, it
	// is gone, and pay's run, outside the selection, is kept.
	if err := dyn.Resource(v1alpha1.AnalysisRunGVR).Namespace("shop").Delete(ctx, "cart-old", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	drainDirty(dirty)
	l.setWanted(map[Key]bool{cart: true})
	sel, _ = l.selection()
	if _, err := l.list(ctx, sel); err != nil {
		t.Fatal(err)
	}
	if got := names(cart); !slices.Equal(got, []string{"cart-hand", "cart-new"}) {
		t.Errorf("cart's runs %v after its selection was listed, want cart-old gone", got)
	}
	if got := names(pay); !slices.Equal(got, []string{"pay-1"}) {
		t.Errorf("pay's runs %v, want pay-1 kept", got)
	}
	if got := drainDirty(dirty); !slices.Equal(got, []Key{cart}) {
		t.Errorf("changed %v, want cart", got)
	}
	if n := l.count(); n != 3 {
		t.Errorf("%d runs known, want 3", n)
	}
}

// drainDirty takes the keys marked changed so far, sorted.
func drainDirty(d *dirtySet) []Key {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]Key, 0, len(d.keys))
	for k := range d.keys {
		out = append(out, k)
	}
	clear(d.keys)
	slices.SortFunc(out, func(a, b Key) int {
		if a.String() < b.String() {
			return -1
		}
		if a.String() > b.String() {
			return 1
		}
		return 0
	})
	return out
}
