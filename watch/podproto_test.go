package watch

import (
	"bytes"
	"context"
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/types"
	apiwatch "k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
)

// protoPods are pods in every shape PodOf reads: owned or not, annotated,
// being deleted, evicted, unschedulable, starting, crash-looping, failed by
// exit code or signal, completed, with init containers, more statuses than
// containers, and a watch-list's bookmark.
func protoPods() map[string]*corev1.Pod {
	created := metav1.NewTime(time.Date(2026, 12, 7, 9, 30, 0, 0, time.UTC))
	deleted := metav1.NewTime(created.Add(time.Hour))
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{
			Name: name, Namespace: "shop", UID: "uid-" + types.UID(name), ResourceVersion: "4711", Generation: 3,
			CreationTimestamp: created, GenerateName: "checkout-", Finalizers: []string{"f"},
			Labels: map[string]string{"app": "checkout", "rollouts-pod-template-hash": "6d4f8b9c7", "role": ""},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "checkout-6d4f8b9c7", UID: "rs-uid",
				Controller: ptr(true), BlockOwnerDeletion: ptr(false),
			}},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kube-controller-manager", Operation: "Update"}},
		}
	}
	spec := corev1.PodSpec{
		NodeName:   "kwok-node-7",
		Containers: []corev1.Container{{Name: "app", Image: "shop/checkout:2.4.1", Args: []string{"--port=8080"}}, {Name: "proxy", Image: "envoy"}},
		Volumes:    []corev1.Volume{{Name: "config"}},
	}
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: created}}
	ready := corev1.PodStatus{
		Phase: corev1.PodRunning, HostIP: "10.0.0.7", PodIP: "10.1.2.3", StartTime: &created,
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
			{Type: corev1.ContainersReady, Status: corev1.ConditionTrue},
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: created},
		},
		ContainerStatuses: []corev1.ContainerStatus{
			{Name: "app", Ready: true, RestartCount: 2, State: running, Image: "shop/checkout:2.4.1", ImageID: "sha256:1"},
			{Name: "proxy", Ready: true, State: running},
		},
	}
	pods := map[string]*corev1.Pod{}
	add := func(name string, edit func(p *corev1.Pod)) {
		p := &corev1.Pod{ObjectMeta: meta(name), Spec: *spec.DeepCopy(), Status: *ready.DeepCopy()}
		edit(p)
		pods[name] = p
	}
	add("ready", func(*corev1.Pod) {})
	add("annotated", func(p *corev1.Pod) {
		p.Annotations = map[string]string{lastAppliedAnnotation: `{"big":"copy"}`, "prometheus.io/scrape": "true", "empty": ""}
	})
	add("deleting", func(p *corev1.Pod) { p.DeletionTimestamp = &deleted; p.DeletionGracePeriodSeconds = ptr(int64(30)) })
	add("evicted", func(p *corev1.Pod) {
		p.Status = corev1.PodStatus{Phase: corev1.PodFailed, Reason: "Evicted", Message: "low on memory"}
	})
	add("unschedulable", func(p *corev1.Pod) {
		p.Spec.NodeName = ""
		p.Status = corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: "0/3 nodes are available"},
		}}
	})
	add("creating", func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodPending
		p.Status.Conditions[2].Status = corev1.ConditionFalse
		for i := range p.Status.ContainerStatuses {
			p.Status.ContainerStatuses[i].Ready = false
			p.Status.ContainerStatuses[i].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}
		}
	})
	add("crashloop", func(p *corev1.Pod) {
		p.Status.Conditions[2].Status = corev1.ConditionFalse
		p.Status.ContainerStatuses[0] = corev1.ContainerStatus{Name: "app", RestartCount: 17,
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 5m"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}}}
	})
	add("exitcode", func(p *corev1.Pod) {
		p.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: -3}}
	})
	add("oomkilled", func(p *corev1.Pod) {
		p.Status.ContainerStatuses[1].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled", FinishedAt: created}}
	})
	add("signal", func(p *corev1.Pod) {
		p.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Signal: 9}}
	})
	add("completed", func(p *corev1.Pod) {
		p.Status.ContainerStatuses[1].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed"}}
	})
	add("init", func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodPending
		p.Status.InitContainerStatuses = []corev1.ContainerStatus{
			{Name: "migrate", RestartCount: 4, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}}},
			{Name: "seed", RestartCount: 1, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff"}}},
		}
	})
	add("more-statuses", func(p *corev1.Pod) {
		p.Spec.Containers = p.Spec.Containers[:1]
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: "sidecar", Ready: true, State: running})
	})
	pods["bare"] = &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "bare"}}
	pods["bookmark"] = &corev1.Pod{ObjectMeta: metav1.ObjectMeta{ResourceVersion: "9000", Annotations: map[string]string{metav1.InitialEventsAnnotationKey: "true"}}}
	return pods
}

// TestPodFromProtoIsPodOf: a pod read field by field from its protobuf
// encoding is what PodOf keeps of the decoded corev1.Pod, with and
// without annotations; a bookmark keeps its end of the initial events.
func TestPodFromProtoIsPodOf(t *testing.T) {
	for name, p := range protoPods() {
		data, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var decoded corev1.Pod
		if err := decoded.Unmarshal(data); err != nil {
			t.Fatal(err)
		}
		for _, annotations := range []bool{false, true} {
			got, err := podFromProto(data, annotations)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			want := podOfWatched(&decoded, annotations)
			if !equality.Semantic.DeepEqual(got, want) {
				t.Errorf("%s (annotations %v):\n got %+v\nwant %+v", name, annotations, got, want)
			}
		}
	}
	got, _ := podFromProto(mustMarshal(t, protoPods()["bookmark"]), false)
	if got.Annotations[metav1.InitialEventsAnnotationKey] != "true" || got.ResourceVersion != "9000" {
		t.Errorf("a bookmark lost its end of the initial events: %+v", got.ObjectMeta)
	}
	got, _ = podFromProto(mustMarshal(t, protoPods()["crashloop"]), false)
	if got.Reason != "CrashLoopBackOff" || got.Restarts != 17 || got.Ready || got.Containers != 2 || got.NodeName != "kwok-node-7" {
		t.Errorf("a crash-looping pod: %+v", got)
	}
}

func mustMarshal(t *testing.T, p *corev1.Pod) []byte {
	t.Helper()
	data, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestPodFromProtoRejectsBrokenInput: a truncated pod is an error, never a
// pod with what happened to be read.
func TestPodFromProtoRejectsBrokenInput(t *testing.T) {
	data := mustMarshal(t, protoPods()["crashloop"])
	for _, n := range []int{1, 2, 10, len(data) / 2, len(data) - 1} {
		if p, err := podFromProto(data[:n], false); err == nil {
			t.Errorf("%d of %d bytes: read %+v, want an error", n, len(data), p)
		}
	}
}

// FuzzPodFromProto: no input makes the reader panic.
func FuzzPodFromProto(f *testing.F) {
	for _, p := range protoPods() {
		data, err := p.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = podFromProto(data, true)
		_, _, _ = protoEnvelope(append([]byte("k8s\x00"), data...))
	})
}

// TestPodDecoderReadsEveryAnswer: the pods' client's decoder reads a pod
// in protobuf (in its envelope) and in JSON into a Pod, and leaves
// anything else (a Status) as its own decoder reads it.
func TestPodDecoderReadsEveryAnswer(t *testing.T) {
	p := protoPods()["annotated"]
	want := PodOf(p, false)
	codecs := podCodecs{NegotiatedSerializer: scheme.Codecs.WithoutConversion()}
	for _, info := range codecs.SupportedMediaTypes() {
		if info.MediaType != runtime.ContentTypeJSON && info.MediaType != runtime.ContentTypeProtobuf {
			continue
		}
		enc := scheme.Codecs.EncoderForVersion(info.Serializer, corev1.SchemeGroupVersion)
		data, err := runtime.Encode(enc, p)
		if err != nil {
			t.Fatal(err)
		}
		if gvk, _, ok := protoEnvelope(data); (info.MediaType == runtime.ContentTypeProtobuf) != (ok && gvk == podGVK) {
			t.Errorf("%s: read as protobuf's envelope of a pod: %v (%v)", info.MediaType, ok, gvk)
		}
		dec := codecs.DecoderToVersion(info.Serializer, corev1.SchemeGroupVersion)
		obj, err := runtime.Decode(dec, data)
		if err != nil {
			t.Fatalf("%s: %v", info.MediaType, err)
		}
		if got, ok := obj.(*Pod); !ok || !equality.Semantic.DeepEqual(got, want) {
			t.Errorf("%s: read %T %+v, want %+v", info.MediaType, obj, obj, want)
		}
		status := &metav1.Status{Status: metav1.StatusFailure, Reason: metav1.StatusReasonExpired, Message: "too old resource version", Code: 410}
		data, err = runtime.Encode(scheme.Codecs.EncoderForVersion(info.Serializer, metav1.SchemeGroupVersion), status)
		if err != nil {
			t.Fatal(err)
		}
		obj, err = runtime.Decode(dec, data)
		if got, ok := obj.(*metav1.Status); err != nil || !ok || got.Code != 410 {
			t.Errorf("%s: a Status read as %T %+v (%v)", info.MediaType, obj, obj, err)
		}
	}
}

// TestPodClientWatchesInProtobuf: the pods' client asks for protobuf and
// delivers each pod of the stream, and the bookmark that ends the initial
// events, as a Pod.
func TestPodClientWatchesInProtobuf(t *testing.T) {
	pods := protoPods()
	sent := []*corev1.Pod{pods["ready"], pods["crashloop"], pods["bookmark"]}
	var accept, query string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		accept, query = r.Header.Get("Accept"), r.URL.RawQuery
		if r.URL.Path != "/api/v1/namespaces/shop/pods" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.kubernetes.protobuf;stream=watch")
		w.WriteHeader(http.StatusOK)
		embedded := scheme.Codecs.EncoderForVersion(protobuf.NewSerializer(scheme.Scheme, scheme.Scheme), corev1.SchemeGroupVersion)
		for i, p := range sent {
			var obj bytes.Buffer
			if err := embedded.Encode(p, &obj); err != nil {
				t.Error(err)
				return
			}
			typ := apiwatch.Added
			if i == len(sent)-1 {
				typ = apiwatch.Bookmark
			}
			ev := metav1.WatchEvent{Type: string(typ), Object: runtime.RawExtension{Raw: obj.Bytes()}}
			frame, err := ev.Marshal()
			if err != nil {
				t.Error(err)
				return
			}
			_ = binary.Write(w, binary.BigEndian, uint32(len(frame)))
			_, _ = w.Write(frame)
		}
	}))
	defer srv.Close()
	c, err := NewPodClient(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.Watch(context.Background(), "shop", metav1.ListOptions{LabelSelector: "rollouts-pod-template-hash", SendInitialEvents: ptr(true), AllowWatchBookmarks: true}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if !strings.HasPrefix(accept, runtime.ContentTypeProtobuf) || !strings.Contains(query, "watch=true") || !strings.Contains(query, "sendInitialEvents=true") {
		t.Errorf("asked with Accept %q and query %q, want protobuf, a watch and the initial events", accept, query)
	}
	for i, p := range sent {
		e := <-w.ResultChan()
		got, ok := e.Object.(*Pod)
		if !ok {
			t.Fatalf("event %d: %s %T %+v, want a *Pod", i, e.Type, e.Object, e.Object)
		}
		if want := podOfWatched(p, false); !equality.Semantic.DeepEqual(got, want) {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, got, want)
		}
	}
}
