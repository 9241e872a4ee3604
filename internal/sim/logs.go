package sim

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// DefaultLogInterval is how often a simulated container logs a line when
// Options.LogInterval is 0.
const DefaultLogInterval = time.Second

// LogProfile is how a pod's container serves at one moment, as its log
// shows it: one line a request.
type LogProfile struct {
	// ErrorRate is the share of requests that fail (0 to 1).
	ErrorRate float64
	// Errors are what a failing request logs after its status, one picked
	// at random; "Internal Server Error" when empty.
	Errors []string
	// Latency is a request's median duration; 40ms when 0.
	Latency time.Duration
}

// logs is the simulated kubelets' view of what containers print.
type logs struct {
	interval time.Duration

	mu      sync.Mutex
	profile func(pod *corev1.Pod, at time.Time) LogProfile
}

// SetLogProfile says how pods serve, for their logs: f is asked for each
// line, with the pod and the line's time. Without it every pod serves
// well (a failure now and then).
func (c *Cluster) SetLogProfile(f func(pod *corev1.Pod, at time.Time) LogProfile) {
	c.logs.mu.Lock()
	defer c.logs.mu.Unlock()
	c.logs.profile = f
}

func (l *logs) profileOf(pod *corev1.Pod, at time.Time) LogProfile {
	l.mu.Lock()
	f := l.profile
	l.mu.Unlock()
	if f == nil {
		return LogProfile{ErrorRate: 0.005}
	}
	return f(pod, at)
}

// PodLogs reads a container's log as the API server's pods/log does
// (client-go's GetLogs(name, o).Stream(ctx)): the simulated cluster has no
// kubelet to ask, so its kubelets make the lines up, one every
// Options.LogInterval since the container started, the same lines for the
// same pod and time whoever asks. TailLines, LimitBytes, Follow and
// Container are honoured; a follow ends when ctx does or the pod stops
// running. As the API server does, it answers 404 for a pod that does not
// exist, 400 for a container that has not started or a pod of several
// containers asked without a name, and 403 when Options.Deny denies get
// pods/log.
func (c *Cluster) PodLogs(ctx context.Context, ns, name string, o *corev1.PodLogOptions) (io.ReadCloser, error) {
	if o == nil {
		o = &corev1.PodLogOptions{}
	}
	for _, d := range c.deny {
		if d.covers(&authorizationv1.ResourceAttributes{Verb: "get", Resource: "pods", Subresource: "log", Namespace: ns}) {
			return nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods/log"}, name,
				fmt.Errorf("user %q cannot get resource \"pods/log\" in API group \"\" in the namespace %q", c.user, ns))
		}
	}
	pod, started, err := c.runningContainer(ns, name, o.Container)
	if err != nil {
		return nil, err
	}
	container := o.Container
	if container == "" {
		container = pod.Spec.Containers[0].Name
	}
	gen := &logLines{pod: pod, container: container, started: started, interval: c.logs.interval, profile: c.logs.profileOf}
	now := time.Now()
	last := gen.index(now)
	first := int64(0)
	if o.TailLines != nil {
		first = max(last-*o.TailLines+1, 0)
	}
	r, w := io.Pipe()
	go func() {
		limit := int64(-1)
		if o.LimitBytes != nil {
			limit = *o.LimitBytes
		}
		write := func(k int64) bool {
			line := gen.line(k) + "\n"
			if limit >= 0 && int64(len(line)) > limit {
				line = line[:limit]
			}
			if _, err := io.WriteString(w, line); err != nil {
				return false
			}
			if limit >= 0 {
				limit -= int64(len(line))
				return limit > 0
			}
			return true
		}
		for k := first; k <= last; k++ {
			if !write(k) {
				_ = w.Close()
				return
			}
		}
		for k := last + 1; o.Follow; k++ {
			select {
			case <-ctx.Done():
				_ = w.CloseWithError(ctx.Err())
				return
			case <-time.After(time.Until(gen.at(k))):
			}
			if _, _, err := c.runningContainer(ns, name, container); err != nil {
				break
			}
			if !write(k) {
				break
			}
		}
		_ = w.Close()
	}()
	context.AfterFunc(ctx, func() { _ = r.CloseWithError(ctx.Err()) })
	return r, nil
}

// runningContainer finds the pod and when its container started, or the
// API server's error when there is no log to read.
func (c *Cluster) runningContainer(ns, name, container string) (*corev1.Pod, time.Time, error) {
	pod, ok := c.api.peek(podsGVR, ns, name).(*corev1.Pod)
	if !ok {
		return nil, time.Time{}, apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, name)
	}
	if container == "" {
		if len(pod.Spec.Containers) != 1 {
			names := make([]string, len(pod.Spec.Containers))
			for i, ct := range pod.Spec.Containers {
				names[i] = ct.Name
			}
			return nil, time.Time{}, apierrors.NewBadRequest(fmt.Sprintf("a container name must be specified for pod %s, choose one of: [%s]", name, strings.Join(names, " ")))
		}
		container = pod.Spec.Containers[0].Name
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name != container {
			continue
		}
		switch {
		case cs.State.Running != nil:
			return pod, cs.State.Running.StartedAt.Time, nil
		case cs.State.Waiting != nil:
			return nil, time.Time{}, apierrors.NewBadRequest(fmt.Sprintf("container %q in pod %q is waiting to start: %s", container, name, cs.State.Waiting.Reason))
		}
	}
	for _, ct := range pod.Spec.Containers {
		if ct.Name == container {
			return nil, time.Time{}, apierrors.NewBadRequest(fmt.Sprintf("container %q in pod %q is waiting to start: ContainerCreating", container, name))
		}
	}
	return nil, time.Time{}, apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", container, name))
}

// logLines makes up one container's log: a few lines as it starts, then
// one a request, each the same whenever it is asked for.
type logLines struct {
	pod       *corev1.Pod
	container string
	started   time.Time
	interval  time.Duration
	profile   func(pod *corev1.Pod, at time.Time) LogProfile
}

// index is the last line logged by now (-1 before the first).
func (g *logLines) index(now time.Time) int64 {
	if now.Before(g.started) {
		return -1
	}
	return int64(now.Sub(g.started) / g.interval)
}

func (g *logLines) at(k int64) time.Time { return g.started.Add(time.Duration(k) * g.interval) }

// logRequests are the requests a simulated container serves.
var logRequests = []string{
	"GET /api/items/%d", "GET /api/cart/%d", "GET /healthz", "POST /api/orders", "GET /api/orders/%d",
	"GET /api/price/sku-%04d", "POST /api/session", "PUT /api/cart/%d",
}

// line is line k: its time, level and text.
func (g *logLines) line(k int64) string {
	at := g.at(k)
	ts := at.UTC().Format("2006-01-02T15:04:05.000Z")
	image := ""
	for _, c := range g.pod.Spec.Containers {
		if c.Name == g.container {
			image = c.Image
		}
	}
	switch k {
	case 0:
		return fmt.Sprintf("%s INFO  starting %s (container %s, pod %s)", ts, image, g.container, g.pod.Name)
	case 1:
		return ts + " INFO  config loaded; listening on 0.0.0.0:8080"
	}
	h := fnv.New64a()
	_, _ = fmt.Fprintf(h, "%s/%d", g.pod.UID, k)
	r := rand.New(rand.NewPCG(h.Sum64(), uint64(k)))
	p := g.profile(g.pod, at)
	request := logRequests[r.IntN(len(logRequests))]
	if strings.Contains(request, "%") {
		request = fmt.Sprintf(request, r.IntN(5000))
	}
	latency := p.Latency
	if latency <= 0 {
		latency = 40 * time.Millisecond
	}
	ms := max(int(float64(latency.Milliseconds())*(0.5+r.Float64())), 1)
	id := fmt.Sprintf("%08x", r.Uint32())
	if r.Float64() < p.ErrorRate {
		msg := "Internal Server Error"
		if len(p.Errors) > 0 {
			msg = p.Errors[r.IntN(len(p.Errors))]
		}
		return fmt.Sprintf("%s ERROR %s 500 %dms request_id=%s %s", ts, request, ms, id, msg)
	}
	return fmt.Sprintf("%s INFO  %s 200 %dms request_id=%s", ts, request, ms, id)
}
