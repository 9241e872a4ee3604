package v1alpha1

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func set(path string, v interface{}) func(*unstructured.Unstructured) {
	return func(u *unstructured.Unstructured) {
		if err := unstructured.SetNestedField(u.Object, v, strings.Split(path, ".")...); err != nil {
			panic(err)
		}
	}
}

func del(path string) func(*unstructured.Unstructured) {
	return func(u *unstructured.Unstructured) {
		unstructured.RemoveNestedField(u.Object, strings.Split(path, ".")...)
	}
}

func steps(s ...interface{}) func(*unstructured.Unstructured) {
	return set("spec.strategy.canary.steps", s)
}

type m = map[string]interface{}

func TestValidRollout(t *testing.T) {
	r, errs := FromUnstructured(decodeYAML(t, validRolloutYAML))
	if len(errs) > 0 {
		t.Fatalf("decode: %v", errs)
	}
	if errs := Validate(r); len(errs) > 0 {
		t.Fatalf("validate: %v", errs)
	}
	if r.GetReplicas() != 10 || len(r.Steps()) != 4 || *r.Steps()[0].SetWeight != 20 {
		t.Fatalf("decoded wrong: %+v", r.Spec)
	}
	d, ok, err := r.Steps()[3].Pause.PauseDuration()
	if err != nil || !ok || d.Seconds() != 30 {
		t.Fatalf("pause duration = %v %v %v", d, ok, err)
	}
	if _, ok, _ := r.Steps()[1].Pause.PauseDuration(); ok {
		t.Fatal("pause{} must be indefinite")
	}
	if r.Spec.Strategy.Canary.CanaryMetadata.Labels["role"] != "canary" {
		t.Fatal("canaryMetadata lost")
	}
}

// TestMalformedRollouts: every malformed Rollout is rejected with the path of the
// field at fault in the message, so the InvalidSpec condition tells the user what
// to fix.
func TestMalformedRollouts(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*unstructured.Unstructured)
		want   []string // substrings of the joined messages
	}{
		{"weight 150", steps(m{"setWeight": int64(150)}), []string{"spec.strategy.steps[0].setWeight", "between 0 and 100"}},
		{"weight -1", steps(m{"setWeight": int64(-1)}), []string{"spec.strategy.steps[0].setWeight", "between 0 and 100"}},
		{"weight as text", steps(m{"setWeight": "twenty"}), []string{"spec.strategy.canary.steps.setWeight", "integer"}},
		{"invalid duration", steps(m{"pause": m{"duration": "soon"}}), []string{"spec.strategy.steps[0].pause.duration", "not a duration"}},
		{"negative duration int", steps(m{"pause": m{"duration": int64(-5)}}), []string{"steps[0].pause.duration", "negative"}},
		{"negative duration string", steps(m{"pause": m{"duration": "-30s"}}), []string{"steps[0].pause.duration", "negative"}},
		{"two step types in one step", steps(m{"setWeight": int64(20), "pause": m{}}), []string{"spec.strategy.steps[0]", "exactly one"}},
		{"empty step", steps(m{}), []string{"spec.strategy.steps[0]", "roost runs setWeight, pause and analysis steps"}},
		{"no selector", del("spec.selector"), []string{"spec.selector", "Required"}},
		{"selector does not match template", set("spec.selector.matchLabels", m{"app": "other"}), []string{"spec.template.metadata.labels", "`selector` does not match template `labels`"}},
		{"surge and unavailable both 0", func(u *unstructured.Unstructured) {
			set("spec.strategy.canary.maxSurge", int64(0))(u)
			set("spec.strategy.canary.maxUnavailable", "0%")(u)
		}, []string{"spec.strategy.maxSurge", "both can not be zero"}},
		{"negative replicas", set("spec.replicas", int64(-3)), []string{"spec.replicas", "greater than or equal to 0"}},
		{"maxSurge garbage", set("spec.strategy.canary.maxSurge", "lots"), []string{"spec.strategy.canary.maxSurge", "percentage"}},
		{"maxUnavailable over 100%", set("spec.strategy.canary.maxUnavailable", "150%"), []string{"spec.strategy.canary.maxUnavailable", "0-100%"}},
		{"trafficRouting", set("spec.strategy.canary.trafficRouting", m{"nginx": m{"stableIngress": "web"}}), []string{"spec.strategy.canary.trafficRouting", "traffic routers are not supported"}},
		{"experiment step", steps(m{"experiment": m{"templates": []interface{}{}}}), []string{"spec.strategy.canary.steps[0].experiment", "not supported"}},
		{"analysis step without templates", steps(m{"analysis": m{"templates": []interface{}{}}}), []string{"spec.strategy.canary.steps[0].analysis.templates", "name at least one AnalysisTemplate"}},
		{"analysis template without name", steps(m{"analysis": m{"templates": []interface{}{m{"clusterScope": true}}}}), []string{"steps[0].analysis.templates[0].templateName", "Required"}},
		{"analysis and pause in one step", steps(m{"analysis": m{"templates": []interface{}{m{"templateName": "x"}}}, "pause": m{}}), []string{"steps[0]", "step.Pause: true", "step.Analysis: true", "exactly one"}},
		{"analysis arg value and valueFrom", steps(m{"analysis": m{"templates": []interface{}{m{"templateName": "x"}},
			"args": []interface{}{m{"name": "h", "value": "v", "valueFrom": m{"podTemplateHashValue": "Latest"}}}}}), []string{"steps[0].analysis.args[0].valueFrom", "not both"}},
		{"analysis arg hash of what", steps(m{"analysis": m{"templates": []interface{}{m{"templateName": "x"}},
			"args": []interface{}{m{"name": "h", "valueFrom": m{"podTemplateHashValue": "Canary"}}}}}), []string{"args[0].valueFrom.podTemplateHashValue", "Latest", "Stable"}},
		{"analysis arg secretKeyRef", steps(m{"analysis": m{"templates": []interface{}{m{"templateName": "x"}},
			"args": []interface{}{m{"name": "h", "valueFrom": m{"secretKeyRef": m{"name": "s", "key": "k"}}}}}}), []string{"args[0].valueFrom.secretKeyRef", "does not know this field"}},
		{"analysis dryRun not a regexp", steps(m{"analysis": m{"templates": []interface{}{m{"templateName": "x"}},
			"dryRun": []interface{}{m{"metricName": "("}}}}), []string{"steps[0].analysis.dryRun[0].metricName", "not a regular expression"}},
		{"background analysis starting step out of range", set("spec.strategy.canary.analysis", m{"templates": []interface{}{m{"templateName": "x"}}, "startingStep": int64(9)}), []string{"spec.strategy.canary.analysis.startingStep", "step index"}},
		{"setCanaryScale step", steps(m{"setCanaryScale": m{"replicas": int64(2)}}), []string{"steps[0].setCanaryScale", "requires TrafficRouting"}},
		{"setHeaderRoute step", steps(m{"setHeaderRoute": m{"name": "x"}}), []string{"steps[0].setHeaderRoute"}},
		{"unknown step type", steps(m{"wait": int64(3)}), []string{"spec.strategy.canary.steps[0].wait", "does not know this field"}},
		{"workloadRef", set("spec.workloadRef", m{"kind": "Deployment", "name": "web"}), []string{"spec.workloadRef", "spec.template"}},
		{"blueGreen", func(u *unstructured.Unstructured) {
			del("spec.strategy.canary")(u)
			set("spec.strategy.blueGreen", m{"activeService": "web"})(u)
		}, []string{"spec.strategy.blueGreen", "blue-green"}},
		{"no strategy", del("spec.strategy"), []string{"spec.strategy.canary", "Required"}},
		{"no containers", set("spec.template.spec.containers", []interface{}{}), []string{"spec.template.spec.containers", "at least one container"}},
		{"container without image", set("spec.template.spec.containers", []interface{}{m{"name": "web"}}), []string{"spec.template.spec.containers[0].image"}},
		{"progress deadline below minReady", func(u *unstructured.Unstructured) {
			set("spec.minReadySeconds", int64(30))(u)
			set("spec.progressDeadlineSeconds", int64(10))(u)
		}, []string{"spec.progressDeadlineSeconds", "minReadySeconds"}},
		{"no spec", del("spec"), []string{"spec", "Required"}},
		{"replicas as text", set("spec.replicas", "ten"), []string{"spec.replicas", "integer"}},
		{"pod template hash label", set("spec.template.metadata.labels.rollouts-pod-template-hash", "abc"), []string{"rollouts-pod-template-hash", "set by the controller"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := decodeYAML(t, validRolloutYAML)
			tt.mutate(u)
			r, errs := FromUnstructured(u)
			if len(errs) == 0 {
				errs = Validate(r)
			}
			if len(errs) == 0 {
				t.Fatal("accepted a malformed Rollout")
			}
			msg := InvalidSpecMessage(r, errs)
			if !strings.HasPrefix(msg, `The Rollout "checkout" is invalid: `) {
				t.Errorf("message does not name the rollout: %s", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
		})
	}
}

func TestValidateReturnsEveryProblem(t *testing.T) {
	u := decodeYAML(t, validRolloutYAML)
	set("spec.replicas", int64(-1))(u)
	steps(m{"setWeight": int64(101)}, m{"pause": m{"duration": "x"}})(u)
	r, errs := FromUnstructured(u)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if got := len(Validate(r)); got != 3 {
		t.Fatalf("want 3 problems, got %d: %v", got, Validate(r))
	}
}

func TestResolveFenceposts(t *testing.T) {
	i := func(v int32) *intOrString { x := fromInt(v); return &x }
	s := func(v string) *intOrString { x := fromString(v); return &x }
	tests := []struct {
		surge, unavail *intOrString
		replicas       int32
		wantS, wantU   int32
	}{
		{nil, nil, 10, 3, 2},         // 25% up, 25% down
		{nil, nil, 1, 1, 0},          // 0.25 → 1 surge, 0 unavailable
		{i(0), i(0), 10, 0, 1},       // both 0 resolved → unavailable 1
		{s("0%"), s("10%"), 5, 0, 1}, // 10% of 5 rounds down to 0 → 1
		{s("50"), s("50"), 3, 2, 1},  // percent without sign
		{i(2), s("100%"), 4, 2, 4},   // ints and percents mix
		{i(1), i(0), 0, 1, 0},        // replicas 0
		{s("25%"), s("25%"), 100, 25, 25},
	}
	for _, tt := range tests {
		gs, gu, err := ResolveFenceposts(tt.surge, tt.unavail, tt.replicas)
		if err != nil || gs != tt.wantS || gu != tt.wantU {
			t.Errorf("ResolveFenceposts(%v, %v, %d) = %d, %d, %v; want %d, %d", tt.surge, tt.unavail, tt.replicas, gs, gu, err, tt.wantS, tt.wantU)
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := map[string]float64{"90": 90, "30s": 30, "10m": 600, "1h": 3600, "0": 0}
	for in, want := range tests {
		d, ok, err := ParseDuration(fromString(in))
		if err != nil || !ok || d.Seconds() != want {
			t.Errorf("ParseDuration(%q) = %v %v %v, want %vs", in, d, ok, err, want)
		}
	}
	if d, _, err := ParseDuration(fromInt(45)); err != nil || d.Seconds() != 45 {
		t.Errorf("int 45 → %v %v", d, err)
	}
	for _, bad := range []string{"soon", "-1", "-2m", "10 minutes"} {
		if _, _, err := ParseDuration(fromString(bad)); err == nil {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
}
