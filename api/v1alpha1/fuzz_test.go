package v1alpha1

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// FuzzDecodeValidate feeds arbitrary JSON through the path every Rollout from the
// API server takes: decode, validate, and, when valid, the hashes and the split
// inputs. It must never panic, and a Rollout it accepts must be usable.
func FuzzDecodeValidate(f *testing.F) {
	seed := decodeYAML(f, validRolloutYAML)
	b, _ := seed.MarshalJSON()
	f.Add(b)
	f.Add([]byte(`{"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","metadata":{"name":"x"},"spec":{"replicas":-1}}`))
	f.Add([]byte(`{"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","metadata":{"name":"x"},"spec":{"strategy":{"canary":{"steps":[{"setWeight":150},{"pause":{"duration":"-1s"}}],"maxSurge":"x%"}}}}`))
	f.Add([]byte(`{"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","metadata":{"name":"x"},"spec":{"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"i"}]}},"strategy":{"canary":{"maxSurge":0,"maxUnavailable":"0%","trafficRouting":{}}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(data); err != nil {
			return
		}
		r, errs := FromUnstructured(u)
		if r == nil {
			t.Fatal("FromUnstructured returned no Rollout")
		}
		if len(errs) > 0 {
			if InvalidSpecMessage(r, errs) == "" {
				t.Fatal("empty message for an invalid Rollout")
			}
			return
		}
		if errs := Validate(r); len(errs) > 0 {
			if InvalidSpecMessage(r, errs) == "" {
				t.Fatal("empty message for an invalid Rollout")
			}
			return
		}
		// Accepted: everything the reconciler derives from it must work.
		if r.GetReplicas() < 0 {
			t.Fatalf("accepted negative replicas %d", r.GetReplicas())
		}
		c := r.Spec.Strategy.Canary
		s, un, err := ResolveFenceposts(c.MaxSurge, c.MaxUnavailable, r.GetReplicas())
		if err != nil || s < 0 || un < 0 || (s == 0 && un == 0) {
			t.Fatalf("accepted fenceposts resolve badly: %d %d %v", s, un, err)
		}
		for i, st := range r.Steps() {
			if st.SetWeight != nil && (*st.SetWeight < 0 || *st.SetWeight > 100) {
				t.Fatalf("accepted step %d weight %d", i, *st.SetWeight)
			}
			if _, _, err := st.Pause.PauseDuration(); err != nil {
				t.Fatalf("accepted step %d with a bad duration: %v", i, err)
			}
		}
		_ = StepHash(r.Steps())
		_ = PodTemplateHash(&r.Spec.Template, r.Status.CollisionCount)
		if _, err := ToUnstructured(r); err != nil {
			t.Fatalf("accepted Rollout does not encode: %v", err)
		}
	})
}
