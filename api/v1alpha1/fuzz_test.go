package v1alpha1

import (
	"encoding/json"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
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

// FuzzDecodeAnalysisTemplate feeds arbitrary JSON through the path of every
// AnalysisTemplate from the API server: decode, validate, and, when valid,
// what the analysis derives from each metric. It must never panic; a refused
// template must have a message; an accepted one must encode and decode again
// to the same spec, and give counts, limits and durations without error.
func FuzzDecodeAnalysisTemplate(f *testing.F) {
	for _, doc := range []string{datadogTemplateYAML, webTemplateYAML} {
		b, _ := decodeYAML(f, doc).MarshalJSON()
		f.Add(b)
	}
	f.Add([]byte(`{"kind":"AnalysisTemplate","metadata":{"name":"x","namespace":"y"},"spec":{"metrics":[{"name":"a","interval":"5x","count":"3","failureLimit":-1,"provider":{"prometheus":{}}}]}}`))
	f.Add([]byte(`{"kind":"AnalysisTemplate","metadata":{"name":"x"},"spec":{"metrics":[{"name":"a","count":2,"provider":{"datadog":{"apiVersion":"v2","queries":{"a":"q","b":"r"}},"web":{"url":"http://h","method":"GET","body":"b"}}}],"dryRun":[{"metricName":"("}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(data); err != nil {
			return
		}
		at, errs := AnalysisTemplateFromUnstructured(u)
		if at == nil {
			t.Fatal("AnalysisTemplateFromUnstructured returned no template")
		}
		if len(errs) == 0 {
			errs = ValidateAnalysisTemplate(at)
		}
		if len(errs) > 0 {
			err := AnalysisProblems(AnalysisTemplateKind, at, errs)
			if err == nil || !strings.HasPrefix(err.Error(), "analysistemplate ") {
				t.Fatalf("refused template without a message: %v", err)
			}
			return
		}
		for i := range at.Spec.Metrics {
			m := &at.Spec.Metrics[i]
			if (m.Provider.Datadog == nil) == (m.Provider.Web == nil) {
				t.Fatalf("accepted metric %q without exactly one provider", m.Name)
			}
			if !hasArgs(m.Interval) {
				if _, _, err := m.IntervalDuration(); err != nil {
					t.Fatalf("accepted metric %q with a bad interval: %v", m.Name, err)
				}
			}
			for _, v := range []*intstr.IntOrString{m.Count, m.FailureLimit, m.InconclusiveLimit, m.ConsecutiveErrorLimit, m.ConsecutiveSuccessLimit} {
				if v != nil && v.Type == intstr.String && hasArgs(v.StrVal) {
					continue
				}
				if _, _, err := parseIntOrArg(v); err != nil {
					t.Fatalf("accepted metric %q with a bad count or limit: %v", m.Name, err)
				}
			}
			if d := m.Provider.Datadog; d != nil && d.GetAPIVersion() == DatadogAPIv1 && d.Query == "" {
				t.Fatalf("accepted v1 Datadog metric %q without a query", m.Name)
			}
		}
		enc, err := encodeUnstructured(at, "template")
		if err != nil {
			t.Fatalf("accepted template does not encode: %v", err)
		}
		again, errs := AnalysisTemplateFromUnstructured(enc)
		if len(errs) > 0 {
			t.Fatalf("accepted template, encoded, decodes with errors: %v", errs)
		}
		if before, after := specJSON(t, at.Spec), specJSON(t, again.Spec); before != after {
			t.Fatalf("spec changed in a round trip:\n%s\n%s", before, after)
		}
	})
}

func specJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
