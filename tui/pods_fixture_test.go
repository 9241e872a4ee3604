package tui

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/roost-dev/roost/watch"
)

// fixtureLogLines is the log of front's crash-looping canary pod: it starts,
// serves, and dies on the error the canary brought.
func fixtureLogLines() []string {
	t0 := fixtureNow.Add(-19 * time.Second)
	at := func(d time.Duration) string { return t0.Add(d).Format("2006-01-02T15:04:05.000Z") }
	return []string{
		at(0) + " INFO  starting front 5.1 (pid 1, puma 6.4, 4 threads)",
		at(270*time.Millisecond) + " INFO  connected to redis at redis.web.svc.cluster.local:6379",
		at(300*time.Millisecond) + " INFO  listening on 0.0.0.0:8080",
		at(2*time.Second) + " INFO  GET /api/cart/41 200 38ms",
		at(3*time.Second) + " INFO  GET /healthz 200 1ms",
		at(4*time.Second) + " ERROR GET /api/price/sku-0007 500 12ms NoMethodError: undefined method 'price' for nil",
		at(4*time.Second) + "       from /app/lib/pricing.rb:42:in `price_of'",
		at(4*time.Second) + "       from /app/app/controllers/price_controller.rb:17:in `show'",
		at(5*time.Second) + " INFO  GET /api/cart/77 200 41ms",
		at(6*time.Second) + " ERROR GET /api/price/sku-0912 500 9ms NoMethodError: undefined method 'price' for nil (request_id=6f1c2a9e-54b1-4d8e-9a0b-7c3e21f0d4aa user=user-118 region=eu-west-1 cart_items=3)",
		at(7*time.Second) + " FATAL too many errors (12 in 10s), exiting",
	}
}

// fixtureLogs serves fixtureLogLines for every pod, then holds the stream
// open as a follow does, until its context ends.
type fixtureLogs struct{}

func (fixtureLogs) PodLogs(ctx context.Context, _, _ string, o LogOptions) (LogStream, error) {
	r, w := io.Pipe()
	go func() {
		lines := fixtureLogLines()
		if o.TailLines > 0 && int(o.TailLines) < len(lines) {
			lines = lines[len(lines)-int(o.TailLines):]
		}
		_, _ = io.WriteString(w, strings.Join(lines, "\n")+"\n")
		if o.Follow {
			<-ctx.Done()
		}
		_ = w.Close()
	}()
	return LogStream{Container: "app", ReadCloser: r}, nil
}

// failingLogs answers every request with err.
type failingLogs struct{ err error }

func (f failingLogs) PodLogs(context.Context, string, string, LogOptions) (LogStream, error) {
	return LogStream{}, f.err
}

// kubeletDown is what an API server answers when the pod's node has no
// kubelet to ask (kwok's nodes, which have no address): a 500 with this
// message, as seen from the end-to-end tests' kube-apiserver.
var kubeletDown = &apierrors.StatusError{ErrStatus: metav1.Status{
	Status: metav1.StatusFailure, Code: 500, Reason: metav1.StatusReasonInternalError,
	Message: "no preferred addresses found; known addresses: []",
}}

var forbiddenLogs = apierrors.NewForbidden(schema.GroupResource{Resource: "pods/log"}, "front-9d8c7b6a5-7xk2p",
	fmt.Errorf(`user "bob" cannot get resource "pods/log" in API group "" in the namespace "web"`))

// fixturePodEvents are the Events of a crash-looping pod.
type fixturePodEvents struct{}

func (fixturePodEvents) PodEvents(_ context.Context, _, pod string) ([]watch.Event, error) {
	return []watch.Event{
		{Time: fixtureNow.Add(-12 * time.Second), Type: "Warning", Reason: "BackOff", Count: 31, Source: "kubelet",
			Message: "Back-off restarting failed container app in pod " + pod + "_web(2f0c7c3e-8d1b-4f5e-9a57-3c1d2e4f5a6b)"},
		{Time: fixtureNow.Add(-20 * time.Second), Type: "Normal", Reason: "Pulled", Count: 8, Source: "kubelet",
			Message: `Container image "registry/front:5.1" already present on machine`},
		{Time: fixtureNow.Add(-20 * time.Second), Type: "Normal", Reason: "Started", Count: 8, Source: "kubelet", Message: "Started container app"},
		{Time: fixtureNow.Add(-20 * time.Minute), Type: "Normal", Reason: "Scheduled", Count: 1, Source: "default-scheduler",
			Message: "Successfully assigned web/" + pod + " to ip-10-0-1-17.eu-west-1.compute.internal"},
	}, nil
}
