package sim

import (
	"bufio"
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// startPod creates a pod on a simulated node and waits until it runs.
func startPod(t *testing.T, c *Cluster, name string, containers ...string) *corev1.Pod {
	t.Helper()
	if err := c.ensureNamespace(testNS); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS}, Spec: corev1.PodSpec{NodeName: "sim-node-1"}}
	for _, n := range containers {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: n, Image: "shop:v1"})
	}
	if _, err := c.Kube.CoreV1().Pods(testNS).Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var got *corev1.Pod
	eventually(t, 5*time.Second, "pod "+name+" running", func() (bool, string) {
		p, err := c.Kube.CoreV1().Pods(testNS).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		got = p
		return p.Status.Phase == corev1.PodRunning, string(p.Status.Phase)
	})
	return got
}

func readAll(t *testing.T, r io.ReadCloser) []string {
	t.Helper()
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func TestPodLogs(t *testing.T) {
	o := fast
	o.LogInterval = 20 * time.Millisecond
	c := running(t, o)
	c.SetLogProfile(func(pod *corev1.Pod, _ time.Time) LogProfile {
		if pod.Name == "bad" {
			return LogProfile{ErrorRate: 1, Errors: []string{"NoMethodError: undefined method 'price' for nil"}}
		}
		return LogProfile{}
	})
	ctx := context.Background()
	startPod(t, c, "good", "app")
	startPod(t, c, "bad", "app")
	time.Sleep(300 * time.Millisecond)

	// The last lines, the same whoever asks; a bad pod's requests fail.
	r, err := c.PodLogs(ctx, testNS, "bad", &corev1.PodLogOptions{TailLines: ptr.To(int64(5))})
	if err != nil {
		t.Fatal(err)
	}
	lines := readAll(t, r)
	if len(lines) != 5 {
		t.Fatalf("tail 5: %d lines: %q", len(lines), lines)
	}
	for _, l := range lines {
		if !strings.Contains(l, " ERROR ") || !strings.Contains(l, " 500 ") || !strings.HasSuffix(l, "NoMethodError: undefined method 'price' for nil") {
			t.Errorf("a bad pod's request line %q does not fail", l)
		}
	}
	all, err := c.PodLogs(ctx, testNS, "bad", nil)
	if err != nil {
		t.Fatal(err)
	}
	whole := readAll(t, all)
	if !strings.Contains(whole[0], "INFO  starting shop:v1 (container app, pod bad)") || len(whole) < 10 {
		t.Errorf("whole log (%d lines) does not start with the container starting: %q", len(whole), whole[0])
	}
	if !slices.Contains(whole, lines[0]) {
		t.Errorf("the tail's first line is not in the whole log, asked later: %q", lines[0])
	}
	good, _ := c.PodLogs(ctx, testNS, "good", &corev1.PodLogOptions{TailLines: ptr.To(int64(5))})
	for _, l := range readAll(t, good) {
		if !strings.Contains(l, " INFO  ") {
			t.Errorf("a good pod logs %q", l)
		}
	}

	// LimitBytes cuts the answer.
	limited, _ := c.PodLogs(ctx, testNS, "good", &corev1.PodLogOptions{LimitBytes: ptr.To(int64(30))})
	if b, _ := io.ReadAll(limited); len(b) != 30 {
		t.Errorf("LimitBytes 30: %d bytes", len(b))
	}

	// A follow brings new lines until its context ends.
	fctx, cancel := context.WithCancel(ctx)
	f, err := c.PodLogs(fctx, testNS, "good", &corev1.PodLogOptions{Follow: true, TailLines: ptr.To(int64(1))})
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	for i := range 4 {
		if !sc.Scan() {
			t.Fatalf("follow ended after %d lines: %v", i, sc.Err())
		}
	}
	cancel()
	for sc.Scan() {
	}
	if sc.Err() == nil {
		t.Error("a follow whose context ended did not end with its error")
	}

	// The API server's answers when there is no log to read.
	if _, err := c.PodLogs(ctx, testNS, "nope", nil); !apierrors.IsNotFound(err) {
		t.Errorf("missing pod: %v, want NotFound", err)
	}
	startPod(t, c, "two", "app", "proxy")
	if _, err := c.PodLogs(ctx, testNS, "two", nil); !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), "choose one of: [app proxy]") {
		t.Errorf("two containers, none named: %v", err)
	}
	if r, err := c.PodLogs(ctx, testNS, "two", &corev1.PodLogOptions{Container: "proxy", TailLines: ptr.To(int64(1))}); err != nil {
		t.Errorf("named container: %v", err)
	} else {
		r.Close()
	}
	pending := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "pending", Namespace: testNS}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}}}
	if _, err := c.Kube.CoreV1().Pods(testNS).Create(ctx, pending, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PodLogs(ctx, testNS, "pending", nil); !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), `container "app" in pod "pending" is waiting to start`) {
		t.Errorf("pending pod: %v", err)
	}
}

func TestPodLogsDenied(t *testing.T) {
	c := running(t, Options{Deny: []Denial{{Verb: "get", Resource: "pods/log", Namespace: testNS}}})
	_, err := c.PodLogs(context.Background(), testNS, "any", nil)
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `cannot get resource "pods/log"`) {
		t.Errorf("denied: %v, want Forbidden", err)
	}
}

func TestPodEvents(t *testing.T) {
	o := fast
	o.PodEvents = true
	c := running(t, o)
	startPod(t, c, "web-1", "app")
	var reasons []string
	eventually(t, 5*time.Second, "the Events of web-1", func() (bool, string) {
		l, err := c.Kube.CoreV1().Events(testNS).List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.kind=Pod,involvedObject.name=web-1"})
		if err != nil {
			return false, err.Error()
		}
		reasons = reasons[:0]
		for _, e := range l.Items {
			reasons = append(reasons, e.Reason+" by "+e.Source.Component)
		}
		return len(reasons) == 3, strings.Join(reasons, ", ")
	})
	slices.Sort(reasons)
	if want := []string{"Pulled by kubelet", "Scheduled by default-scheduler", "Started by kubelet"}; !slices.Equal(reasons, want) {
		t.Errorf("events %q, want %q", reasons, want)
	}
}
