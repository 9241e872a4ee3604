package demo

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/roost-dev/roost/api/v1alpha1"
)

func TestLookupNamesTheChoices(t *testing.T) {
	for _, name := range []string{"default", "calm", "analysis", "busy"} {
		if s, err := Lookup(name); err != nil || s.Name != name {
			t.Errorf("Lookup(%q) = %q, %v", name, s.Name, err)
		}
	}
	_, err := Lookup("bsuy")
	if err == nil {
		t.Fatal("Lookup(bsuy) found a scenario")
	}
	for _, want := range []string{`--scenario "bsuy"`, "default (", "calm (", "analysis (", "busy ("} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if names := ScenarioNames(); len(names) != 4 || names[0] != DefaultScenario {
		t.Errorf("ScenarioNames() = %v, want the default first of 4", names)
	}
}

func TestCheckSpeed(t *testing.T) {
	for _, ok := range []float64{0.25, 1, 2.5, 10} {
		if err := CheckSpeed(ok); err != nil {
			t.Errorf("CheckSpeed(%g): %v", ok, err)
		}
	}
	for _, bad := range []float64{0, -1, 0.1, 11, math.NaN(), math.Inf(1)} {
		err := CheckSpeed(bad)
		if err == nil || !strings.Contains(err.Error(), "between 0.25 and 10") || !strings.Contains(err.Error(), "--speed") {
			t.Errorf("CheckSpeed(%g) = %v, want an error naming --speed and its range", bad, err)
		}
	}
}

// --speed scales the scenario's durations, never the rates, and never
// changes the scenario it was given.
func TestScaled(t *testing.T) {
	s, _ := Lookup(DefaultScenario)
	fast := s.Scaled(4)
	tests := []struct {
		name      string
		got, want time.Duration
	}{
		{"new revisions", fast.RevisionEvery, s.RevisionEvery / 4},
		{"pod start", fast.PodStartMax, s.PodStartMax / 4},
		{"pod stop", fast.PodStopMin, s.PodStopMin / 4},
		{"traffic period", fast.TrafficPeriod, s.TrafficPeriod / 4},
		{"wave", fast.Wave, s.Wave / 4},
		{"regression onset", fast.Regression.Onset, s.Regression.Onset / 4},
		{"regression ramp", fast.Regression.Ramp, s.Regression.Ramp / 4},
		{"ledger's first pause (1m)", fast.Services[1].Steps[1].Pause, 15 * time.Second},
		{"frontend's first pause (2m)", fast.Services[2].Steps[1].Pause, 30 * time.Second},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %s at speed 4, want %s", tt.name, tt.got, tt.want)
		}
	}
	if fast.Services[0].Steps[1] != waitForPromote() {
		t.Errorf("a pause that waits for a promote became %+v", fast.Services[0].Steps[1])
	}
	if fast.Services[0].Baseline != s.Services[0].Baseline || fast.Regression.ErrorRate != s.Regression.ErrorRate {
		t.Error("scaling changed the rates")
	}
	if s.Services[1].Steps[1].Pause != time.Minute {
		t.Errorf("scaling changed the original: ledger's pause is %s", s.Services[1].Steps[1].Pause)
	}
	// Pauses stay whole seconds, at least one.
	slow := s.Scaled(0.3)
	if p := slow.Services[2].Steps[1].Pause; p != 400*time.Second {
		t.Errorf("2m at speed 0.3 is %s, want 6m40s", p)
	}
	if p := (Scenario{Services: []Service{{Steps: steps(pauseFor(time.Second))}}}).Scaled(10).Services[0].Steps[0].Pause; p != time.Second {
		t.Errorf("1s at speed 10 is %s, want 1s (the shortest pause)", p)
	}
}

// Each scenario gives the cockpit what it is for.
func TestScenariosStartingStates(t *testing.T) {
	tests := []struct {
		name string
		// at least this many of each starting state
		healthy, waitsAtFirstStep, bad, timedFirstPause int
		minRollouts, minNamespaces                      int
	}{
		{"default", 1, 1, 1, 1, 4, 3},
		{"calm", 1, 1, 0, 1, 4, 3},
		{"busy", 6, 4, 2, 4, 20, 5},
	}
	for _, tt := range tests {
		s, err := Lookup(tt.name)
		if err != nil {
			t.Fatal(err)
		}
		var healthy, waits, bad, timed int
		namespaces := map[string]bool{}
		for _, svc := range s.Services {
			namespaces[svc.Namespace] = true
			switch {
			case svc.Canary == "":
				healthy++
			case svc.CanaryQuality == Bad:
				bad++
			case len(svc.Steps) > 1 && svc.Steps[1].WaitForPromote:
				waits++
			case len(svc.Steps) > 1 && svc.Steps[1].Pause > 0:
				timed++
			}
			if len(svc.Errors.Background) == 0 || svc.Errors.Regression.Class == "" {
				t.Errorf("%s: %s has no errors to throw", tt.name, svc.Key())
			}
			if svc.Replicas < 3 || svc.Baseline.RequestsPerPod <= 0 {
				t.Errorf("%s: %s has %d replicas, %.0f req/s", tt.name, svc.Key(), svc.Replicas, svc.Baseline.RequestsPerPod)
			}
		}
		if tt.name == "calm" && bad != 0 {
			t.Errorf("calm has %d bad canaries", bad)
		}
		if healthy < tt.healthy || waits < tt.waitsAtFirstStep || bad < tt.bad || timed < tt.timedFirstPause ||
			len(s.Services) < tt.minRollouts || len(namespaces) < tt.minNamespaces {
			t.Errorf("%s: %d rollouts in %d namespaces: %d healthy, %d waiting for a promote, %d bad, %d in a timed pause; want at least %d in %d: %d, %d, %d, %d",
				tt.name, len(s.Services), len(namespaces), healthy, waits, bad, timed,
				tt.minRollouts, tt.minNamespaces, tt.healthy, tt.waitsAtFirstStep, tt.bad, tt.timedFirstPause)
		}
		if s.RevisionEvery <= 0 || len(s.Plan) == 0 {
			t.Errorf("%s never releases new versions", tt.name)
		}
	}
}

// Every scenario rollout is one roost accepts, with its role labels and
// its own Bugsnag project; the templates its analysis names are valid
// ones in its namespace, every step template bounded (Argo refuses a step
// analysis that would run forever).
func TestScenarioRolloutsAreValid(t *testing.T) {
	for _, name := range ScenarioNames() {
		s, _ := Lookup(name)
		templates := map[string]*v1alpha1.AnalysisTemplate{}
		for _, at := range analysisTemplates(s, 3) {
			if errs := v1alpha1.ValidateAnalysisTemplate(at); len(errs) > 0 {
				t.Errorf("%s: template %s/%s: %v", name, at.Namespace, at.Name, errs)
			}
			templates[at.Namespace+"/"+at.Name] = at
		}
		seen := map[string]bool{}
		for _, svc := range s.Scaled(3).Services {
			if seen[svc.Key()] {
				t.Errorf("%s: %s twice", name, svc.Key())
			}
			seen[svc.Key()] = true
			rs := &runningService{Service: svc}
			rs.project.ID = projectID(svc.Key())
			r := rs.rollout()
			if errs := v1alpha1.Validate(r); len(errs) > 0 {
				t.Errorf("%s: %s: %v", name, svc.Key(), errs)
			}
			if r.Spec.Strategy.Canary.CanaryMetadata.Labels["role"] != "canary" || r.Spec.Strategy.Canary.StableMetadata.Labels["role"] != "stable" {
				t.Errorf("%s: %s lacks the role labels", name, svc.Key())
			}
			if got := r.Annotations["bugsnag.roost.dev/project"]; len(got) != 24 {
				t.Errorf("%s: %s: project %q", name, svc.Key(), got)
			}
			for i, st := range r.Spec.Strategy.Canary.Steps {
				if st.Analysis == nil {
					continue
				}
				at := templates[svc.Namespace+"/"+st.Analysis.Templates[0].TemplateName]
				if at == nil {
					t.Errorf("%s: %s step %d names a template the demo does not create: %+v", name, svc.Key(), i, st.Analysis.Templates)
					continue
				}
				for _, m := range at.Spec.Metrics {
					if _, bounded, err := m.EffectiveCount(); err != nil || !bounded {
						t.Errorf("%s: %s step %d: template %s metric %s runs forever (%v)", name, svc.Key(), i, at.Name, m.Name, err)
					}
				}
			}
			if bg := r.Spec.Strategy.Canary.Analysis; bg != nil && templates[svc.Namespace+"/"+bg.Templates[0].TemplateName] == nil {
				t.Errorf("%s: %s: its background analysis names a template the demo does not create: %+v", name, svc.Key(), bg.Templates)
			}
		}
	}
}

// A demo over several clusters plays the scenario in one and calm in the
// others: the same services, the bad canary in one cluster only.
func TestCalmWorldHasNoBadCanary(t *testing.T) {
	bad, err := New(Options{Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	calm, err := New(Options{Seed: 7, Calm: true})
	if err != nil {
		t.Fatal(err)
	}
	defer calm.Close()
	if len(bad.services) != len(calm.services) {
		t.Fatalf("%d services against %d", len(bad.services), len(calm.services))
	}
	if q := bad.services["payments/ledger"].CanaryQuality; q != Bad {
		t.Errorf("the scenario's ledger canary is %v, want bad", q)
	}
	for key, s := range calm.services {
		if s.CanaryQuality != Good {
			t.Errorf("calm: %s's canary is %v", key, s.CanaryQuality)
		}
	}
	if names := ClusterNames(3); len(names) != 3 || names[BadCluster] != "demo-osaka" || len(ClusterNames(99)) != MaxClusters {
		t.Errorf("cluster names %v", names)
	}
}
