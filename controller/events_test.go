package controller

import (
	"testing"
	"time"

	"github.com/roost-dev/roost/api/v1alpha1"
)

func TestDescribeStep(t *testing.T) {
	steps := []v1alpha1.CanaryStep{setWeight(20), pause(), pauseFor("30s"), pauseFor("1h")}
	for i, want := range []string{"Step 1/4: set weight 20", "Step 2/4: pause", "Step 3/4: pause 30s", "Step 4/4: pause 1h"} {
		if got := describeStep(steps, int32(i)); got != want {
			t.Errorf("describeStep(%d) = %q, want %q", i, got, want)
		}
	}
	if got := describeStep(steps, 4); got != "Step 5/4" {
		t.Errorf("past the end: %q", got)
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		30 * time.Second:            "30s",
		10 * time.Minute:            "10m",
		time.Hour:                   "1h",
		90 * time.Minute:            "1h30m",
		90 * time.Second:            "1m30s",
		time.Hour + 30*time.Second:  "1h0m30s",
		1500 * time.Millisecond:     "1.5s",
		2*time.Hour + 5*time.Minute: "2h5m",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
