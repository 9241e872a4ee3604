package controller

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestBasicCanaryReplicas(t *testing.T) {
	i := func(v int) *intstr.IntOrString { x := intstr.FromInt32(int32(v)); return &x }
	s := func(v string) *intstr.IntOrString { x := intstr.FromString(v); return &x }
	tests := []struct {
		name                   string
		replicas, weight       int32
		surge, unavailable     *intstr.IntOrString
		wantCanary, wantStable int32
	}{
		{"10 at 20%", 10, 20, nil, nil, 2, 8},
		{"10 at 5% surges one", 10, 5, nil, nil, 1, 10},
		{"10 at 99% keeps one stable", 10, 99, nil, nil, 10, 1},
		{"100 at 1%", 100, 1, nil, nil, 1, 99},
		{"3 at 50% surges to 2+2", 3, 50, nil, nil, 2, 2},
		{"1 at 10% surges", 1, 10, nil, nil, 1, 1},
		{"1 at 99% surges", 1, 99, nil, nil, 1, 1},
		{"1 at 1% surges", 1, 1, nil, nil, 1, 1},
		{"3 at 50% without surge", 3, 50, i(0), i(1), 2, 1},
		{"1 at 10% without surge", 1, 10, i(0), i(1), 0, 1},
		{"1 at 90% without surge", 1, 90, i(0), i(1), 1, 0},
		{"0 replicas", 0, 50, nil, nil, 0, 0},
		{"weight 0", 10, 0, nil, nil, 0, 10},
		{"weight 100", 10, 100, nil, nil, 10, 0},
		{"10 at 50%", 10, 50, nil, nil, 5, 5},
		{"4 at 33% surges to 2+3", 4, 33, s("25%"), s("25%"), 2, 3},
		{"5 at 50% surge 1", 5, 50, i(1), i(0), 3, 3},
		{"surge 1 unavailable 0 at 20% of 10", 10, 20, i(1), i(0), 2, 8},
		{"percent without sign", 10, 5, s("10"), s("0"), 1, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, st := BasicCanaryReplicas(tt.replicas, tt.weight, tt.surge, tt.unavailable)
			if c != tt.wantCanary || st != tt.wantStable {
				t.Fatalf("BasicCanaryReplicas(%d, %d) = %d+%d, want %d+%d", tt.replicas, tt.weight, c, st, tt.wantCanary, tt.wantStable)
			}
		})
	}
}

func TestBasicCanaryReplicasBounds(t *testing.T) {
	for n := int32(0); n <= 40; n++ {
		for w := int32(0); w <= 100; w++ {
			c, s := BasicCanaryReplicas(n, w, nil, nil)
			if c < 0 || s < 0 || c+s > n+1 || (n > 0 && c+s < n) {
				t.Fatalf("(%d,%d) → %d+%d out of bounds", n, w, c, s)
			}
			if n > 0 && w > 0 && w < 100 && (c == 0 || s == 0) {
				t.Fatalf("(%d,%d) → %d+%d leaves one side empty", n, w, c, s)
			}
		}
	}
}
