package sim

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/roost-dev/roost/api/v1alpha1"
)

func obj(rv string, gen int64, spec, status any, labels map[string]any) map[string]any {
	md := map[string]any{"name": "web", "uid": "u1", "resourceVersion": rv, "generation": gen, "creationTimestamp": "2026-01-01T00:00:00Z"}
	if labels != nil {
		md["labels"] = labels
	}
	m := map[string]any{"metadata": md, "spec": spec}
	if status != nil {
		m["status"] = status
	}
	return m
}

func TestNextState(t *testing.T) {
	cur := obj("5", 2, map[string]any{"replicas": int64(3)}, map[string]any{"phase": "Healthy"}, nil)
	gr := schema.GroupResource{Group: "argoproj.io", Resource: "rollouts"}
	tests := []struct {
		name       string
		in         map[string]any
		sub        string
		withStatus bool
		conflict   bool
		wantGen    int64
		wantSpec   int64
		wantPhase  string
		wantLabel  bool
	}{
		{name: "spec change bumps generation, keeps status", in: obj("5", 2, map[string]any{"replicas": int64(4)}, map[string]any{"phase": "X"}, nil),
			withStatus: true, wantGen: 3, wantSpec: 4, wantPhase: "Healthy"},
		{name: "no resourceVersion is an unconditional write", in: obj("", 2, map[string]any{"replicas": int64(4)}, nil, nil),
			withStatus: true, wantGen: 3, wantSpec: 4, wantPhase: "Healthy"},
		{name: "stale resourceVersion", in: obj("4", 2, map[string]any{"replicas": int64(4)}, nil, nil), withStatus: true, conflict: true},
		{name: "other uid", in: func() map[string]any {
			m := obj("5", 2, map[string]any{"replicas": int64(4)}, nil, nil)
			m["metadata"].(map[string]any)["uid"] = "u2"
			return m
		}(), withStatus: true, conflict: true},
		{name: "label change keeps generation", in: obj("5", 9, map[string]any{"replicas": int64(3)}, nil, map[string]any{"role": "stable"}),
			withStatus: true, wantGen: 2, wantSpec: 3, wantPhase: "Healthy", wantLabel: true},
		{name: "status write changes only status", in: obj("5", 9, map[string]any{"replicas": int64(7)}, map[string]any{"phase": "Paused"}, map[string]any{"role": "stable"}),
			sub: "status", withStatus: true, wantGen: 2, wantSpec: 3, wantPhase: "Paused"},
		{name: "stale status write", in: obj("1", 2, nil, map[string]any{"phase": "Paused"}, nil), sub: "status", withStatus: true, conflict: true},
		{name: "without a status subresource the object is written whole", in: obj("5", 9, map[string]any{"replicas": int64(7)}, map[string]any{"phase": "Paused"}, nil),
			wantGen: 2, wantSpec: 7, wantPhase: "Paused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, err := nextState(gr, "web", runtime.DeepCopyJSON(cur), tt.in, tt.sub, tt.withStatus)
			if tt.conflict {
				if !apierrors.IsConflict(err) {
					t.Fatalf("got %v, want a Conflict", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			md := next["metadata"].(map[string]any)
			phase, _ := next["status"].(map[string]any)["phase"].(string)
			if md["generation"] != tt.wantGen || next["spec"].(map[string]any)["replicas"] != tt.wantSpec || phase != tt.wantPhase {
				t.Errorf("generation %v, replicas %v, phase %q; want %d, %d, %q", md["generation"], next["spec"].(map[string]any)["replicas"], phase, tt.wantGen, tt.wantSpec, tt.wantPhase)
			}
			if _, ok := md["labels"]; ok != tt.wantLabel {
				t.Errorf("labels present %v, want %v", ok, tt.wantLabel)
			}
			if md["uid"] != "u1" || md["creationTimestamp"] != "2026-01-01T00:00:00Z" || md["resourceVersion"] != "5" {
				t.Errorf("system metadata not kept: %v", md)
			}
		})
	}
}

func TestEventForSelectors(t *testing.T) {
	pod := func(role string) *corev1.Pod {
		p := &corev1.Pod{}
		p.Name, p.Namespace, p.Labels = "p", "shop", map[string]string{"role": role}
		return p
	}
	w := &watcher{gvr: podsGVR, ns: "shop", labels: labels.SelectorFromSet(labels.Set{"role": "canary"})}
	tests := []struct {
		name     string
		ch       change
		want     watch.EventType
		none     bool
		otherGVR bool
	}{
		{name: "added, matching", ch: change{typ: watch.Added, obj: pod("canary")}, want: watch.Added},
		{name: "added, not matching", ch: change{typ: watch.Added, obj: pod("stable")}, none: true},
		{name: "modified, still matching", ch: change{typ: watch.Modified, old: pod("canary"), obj: pod("canary")}, want: watch.Modified},
		{name: "modified into the selector", ch: change{typ: watch.Modified, old: pod("stable"), obj: pod("canary")}, want: watch.Added},
		{name: "modified out of the selector", ch: change{typ: watch.Modified, old: pod("canary"), obj: pod("stable")}, want: watch.Deleted},
		{name: "deleted, matching", ch: change{typ: watch.Deleted, obj: pod("canary")}, want: watch.Deleted},
		{name: "other resource", ch: change{typ: watch.Added, obj: pod("canary")}, otherGVR: true, none: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.ch.gvr = podsGVR
			if tt.otherGVR {
				tt.ch.gvr = nodesGVR
			}
			tt.ch.meta = tt.ch.obj.(*corev1.Pod)
			ev, ok := w.eventFor(tt.ch)
			switch {
			case tt.none && ok:
				t.Errorf("got %s, want no event", ev.Type)
			case !tt.none && (!ok || ev.Type != tt.want):
				t.Errorf("got %s (%v), want %s", ev.Type, ok, tt.want)
			}
		})
	}
	other := pod("canary")
	other.Namespace = "billing"
	if _, ok := w.eventFor(change{typ: watch.Added, gvr: podsGVR, obj: other, meta: other}); ok {
		t.Error("a watch of namespace shop saw a pod of billing")
	}
}

func TestHistory(t *testing.T) {
	h := history{size: 3}
	for rv := int64(1); rv <= 5; rv++ {
		h.add(change{rv: rv})
	}
	tests := []struct {
		since int64
		want  []int64
		gone  bool
	}{
		{since: 1, gone: true},
		{since: 2, want: []int64{3, 4, 5}},
		{since: 4, want: []int64{5}},
		{since: 5},
		{since: 9},
	}
	for _, tt := range tests {
		got, ok := h.since(tt.since)
		if ok == tt.gone {
			t.Errorf("since(%d): held %v, want %v", tt.since, ok, !tt.gone)
			continue
		}
		var rvs []int64
		for _, c := range got {
			rvs = append(rvs, c.rv)
		}
		if len(rvs) != len(tt.want) || (len(rvs) > 0 && (rvs[0] != tt.want[0] || rvs[len(rvs)-1] != tt.want[len(tt.want)-1])) {
			t.Errorf("since(%d) = %v, want %v", tt.since, rvs, tt.want)
		}
	}
}

func TestPodDefaults(t *testing.T) {
	tests := []struct {
		image string
		pull  corev1.PullPolicy
	}{
		{"shop:v1", corev1.PullIfNotPresent},
		{"shop", corev1.PullAlways},
		{"shop:latest", corev1.PullAlways},
		{"registry:5000/shop", corev1.PullAlways},
		{"registry:5000/shop:v2", corev1.PullIfNotPresent},
		{"shop@sha256:abc", corev1.PullIfNotPresent},
	}
	for _, tt := range tests {
		s := corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: tt.image}}}
		defaultPodSpec(&s)
		if got := s.Containers[0].ImagePullPolicy; got != tt.pull {
			t.Errorf("image %s: pull policy %s, want %s", tt.image, got, tt.pull)
		}
	}
	set := corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "x:1", ImagePullPolicy: corev1.PullNever}}}
	defaultPodSpec(&set)
	if set.RestartPolicy != corev1.RestartPolicyNever || set.Containers[0].ImagePullPolicy != corev1.PullNever {
		t.Error("defaulting overwrote fields that were set")
	}
}

func TestQOSClass(t *testing.T) {
	res := func(req, lim string) corev1.ResourceRequirements {
		r := corev1.ResourceRequirements{}
		if req != "" {
			r.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(req), corev1.ResourceMemory: resource.MustParse("1Gi")}
		}
		if lim != "" {
			r.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(lim), corev1.ResourceMemory: resource.MustParse("1Gi")}
		}
		return r
	}
	tests := []struct {
		r    corev1.ResourceRequirements
		want corev1.PodQOSClass
	}{
		{corev1.ResourceRequirements{}, corev1.PodQOSBestEffort},
		{res("1", ""), corev1.PodQOSBurstable},
		{res("1", "2"), corev1.PodQOSBurstable},
		{res("2", "2"), corev1.PodQOSGuaranteed},
		{res("", "2"), corev1.PodQOSGuaranteed},
	}
	for _, tt := range tests {
		if got := qosClass(&corev1.PodSpec{Containers: []corev1.Container{{Resources: tt.r}}}); got != tt.want {
			t.Errorf("%+v: %s, want %s", tt.r, got, tt.want)
		}
	}
}

func TestFieldSelectors(t *testing.T) {
	ev := &corev1.Event{InvolvedObject: corev1.ObjectReference{Kind: v1alpha1.Kind, Name: "web"}}
	if !fields.ParseSelectorOrDie("involvedObject.kind=Rollout,involvedObject.name=web").Matches(fieldsOf(ev)) {
		t.Error("event about rollout web not matched")
	}
	if err := checkFieldSelector(eventsGVR, fields.ParseSelectorOrDie("involvedObject.kind=Rollout")); err != nil {
		t.Error(err)
	}
	err := checkFieldSelector(replicaSetsGVR, fields.ParseSelectorOrDie("status.phase=Running"))
	if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), "metadata.name") {
		t.Errorf("unsupported field: got %v, want 400 listing the supported ones", err)
	}
}

func TestOptions(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		err  string
	}{
		{name: "zero value", o: Options{}},
		{name: "start above max", o: Options{PodStartMin: 2 * time.Second, PodStartMax: time.Second}, err: "Options.PodStartMin (2s) is above Options.PodStartMax (1s)"},
		{name: "negative stop", o: Options{PodStopMin: -time.Second, PodStopMax: time.Second}, err: "cannot be negative"},
		{name: "negative nodes", o: Options{Nodes: -1}, err: "Options.Nodes is -1"},
		{name: "unknown verb", o: Options{Deny: []Denial{{Verb: "pach"}}}, err: `Options.Deny[0].Verb "pach" is not an API verb`},
		{name: "bad resource", o: Options{Deny: []Denial{{Verb: "patch", Resource: "rollouts/status/x"}}}, err: "Options.Deny[0].Resource"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.o.withDefaults()
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got.User != DefaultUser || got.Nodes != DefaultNodes || got.PodStartMin != DefaultPodStartMin || got.PodStopMax != DefaultPodStopMax || got.Seed == 0 {
					t.Errorf("defaults not applied: %+v", got)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("got %v, want an error containing %q", err, tt.err)
			}
		})
	}
}
