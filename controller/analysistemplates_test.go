package controller

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/roost-dev/roost/internal/rollouttest"
)

func TestFieldValue(t *testing.T) {
	r := rollouttest.New("shop", "checkout").Replicas(3).Container("web", "shop:v1.2").Identity(types.UID("uid-7"), 4).Rollout()
	r.Labels = map[string]string{"app": "checkout", "app.kubernetes.io/name": "checkout-web", "team": "payments", "empty": ""}
	r.Annotations = map[string]string{"rollout.argoproj.io/revision": "2", "owner": "sre"}
	r.Spec.ProgressDeadlineAbort = true
	r.Spec.Template.Spec.Containers[0].Args = []string{"--port", "8080"}
	r.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "REGION", Value: "eu-west-1"}}
	r.Spec.Template.Spec.Containers = append(r.Spec.Template.Spec.Containers, corev1.Container{Name: "proxy", Image: "envoy:1.30"})
	r.Status.StableRS = "6b9b86fbd5"

	tests := []struct {
		name, path string
		want       string
		err        string // the error, when one is expected
	}{
		{"a label", "metadata.labels['team']", "payments", ""},
		{"a label whose key has dots and a slash", "metadata.labels['app.kubernetes.io/name']", "checkout-web", ""},
		{"a label that is empty", "metadata.labels['empty']", "", ""},
		{"a label in double quotes", `metadata.labels["team"]`, "payments", ""},
		{"an annotation", "metadata.annotations['rollout.argoproj.io/revision']", "2", ""},
		{"the name", "metadata.name", "checkout", ""},
		{"the namespace", "metadata.namespace", "shop", ""},
		{"the uid", "metadata.uid", "uid-7", ""},
		{"spaces around the path", "  metadata.name ", "checkout", ""},
		{"the generation, a number", "metadata.generation", "4", ""},
		{"a container's image", "spec.template.spec.containers[0].image", "shop:v1.2", ""},
		{"the second container's image", "spec.template.spec.containers[1].image", "envoy:1.30", ""},
		{"a quoted key after an index", "spec.template.spec.containers[0]['name']", "web", ""},
		{"deep in a list of objects", "spec.template.spec.containers[0].env[0].value", "eu-west-1", ""},
		{"a number", "spec.replicas", "3", ""},
		{"a bool", "spec.progressDeadlineAbort", "true", ""},
		{"a status field", "status.stableRS", "6b9b86fbd5", ""},
		{"an object, as JSON", "spec.selector", `{"matchLabels":{"app":"checkout"}}`, ""},
		{"a list, as JSON", "spec.template.spec.containers[0].args", `["--port","8080"]`, ""},
		{"the labels, as JSON", "metadata.labels", `{"app":"checkout","app.kubernetes.io/name":"checkout-web","empty":"","team":"payments"}`, ""},

		{"a label the Rollout lacks", "metadata.labels['tier']", "", `fieldRef metadata.labels['tier']: the Rollout has no label "tier"`},
		{"an annotation the Rollout lacks", "metadata.annotations['link']", "", `fieldRef metadata.annotations['link']: the Rollout has no annotation "link"`},
		{"a field the Rollout lacks", "spec.nope", "", `fieldRef spec.nope: the Rollout has no field "nope" there`},
		{"a field deeper that the Rollout lacks", "spec.template.spec.containers[0].ports", "", `fieldRef spec.template.spec.containers[0].ports: the Rollout has no field "ports" there`},
		{"a false bool is not written", "spec.paused", "", `fieldRef spec.paused: the Rollout has no field "paused" there`},
		{"an index past the end", "spec.template.spec.containers[2].image", "", `fieldRef spec.template.spec.containers[2].image: "2" is not an index of a list of 2`},
		{"a negative index", "spec.template.spec.containers[-1].image", "", `"-1" is not an index of a list of 2`},
		{"a name for an index", "spec.template.spec.containers[web].image", "", `"web" is not an index of a list of 2`},
		{"a field below a value", "spec.replicas.value", "", `fieldRef spec.replicas.value: "value" is below a value that has no fields`},
		{"a field below a label", "metadata.labels['team'].x", "", `"x" is below a value that has no fields`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fieldValue(r, tt.path)
			if tt.err == "" {
				if err != nil || got != tt.want {
					t.Errorf("fieldValue(%q) = %q, %v; want %q", tt.path, got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("fieldValue(%q) = %q, %v; want the error %q", tt.path, got, err, tt.err)
			}
			if got != "" {
				t.Errorf("fieldValue(%q) gave %q beside its error", tt.path, got)
			}
		})
	}
}

func TestFieldValueReadsTheRolloutAsItIs(t *testing.T) {
	r := rollouttest.New("shop", "checkout").Rollout()
	if got, err := fieldValue(r, "metadata.labels['team']"); err == nil {
		t.Errorf("a Rollout without labels gave %q", got)
	}
	r.Labels = map[string]string{"team": "payments"}
	if got, err := fieldValue(r, "metadata.labels['team']"); err != nil || got != "payments" {
		t.Errorf("fieldValue = %q, %v", got, err)
	}
	r.Spec.Selector = nil
	if got, err := fieldValue(r, "spec.selector"); err == nil || err.Error() != "fieldRef spec.selector: the field is empty" {
		t.Errorf("a null field: %q, %v", got, err)
	}
	r.Spec.Template.Spec.Containers[0].Image = "checkout:v2"
	if got, err := fieldValue(r, "spec.template.spec.containers[0].image"); err != nil || got != "checkout:v2" {
		t.Errorf("fieldValue = %q, %v; want the image as it is now", got, err)
	}
}

func TestSplitPath(t *testing.T) {
	tests := []struct {
		path string
		want []string
	}{
		{"a.b[0].c", []string{"a", "b", "0", "c"}},
		{"spec.template.spec.containers[0].image", []string{"spec", "template", "spec", "containers", "0", "image"}},
		{"metadata.labels['app']", []string{"metadata", "labels", "app"}},
		{`metadata.labels["app"]`, []string{"metadata", "labels", "app"}},
		{"a[0][1]", []string{"a", "0", "1"}},
		{"a[0]['b']", []string{"a", "0", "b"}},
		{"[3]", []string{"3"}},
		{"a..b", []string{"a", "b"}},
		{"a.", []string{"a"}},
		{"a[0", []string{"a", "0"}},
		{"name", []string{"name"}},
		{"", nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := splitPath(tt.path); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("splitPath(%q) = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}
