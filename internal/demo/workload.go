package demo

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/bugsnag/bugsnag-go/v2"
)

// The release stages of the pods: their role label, as the rollouts'
// canaryMetadata and stableMetadata set it.
const (
	canaryRole = "canary"
	stableRole = "stable"
)

// report is one error a pod's workload throws.
type report struct {
	// apiKey is the notifier API key of the service's Bugsnag project.
	apiKey string
	// stage is the pod's role label when the error is thrown, as a Downward
	// API volume of metadata.labels shows it: a canary promoted in place
	// reports as stable from then on.
	stage, version, pod string
	err                 AppError
	user                string
}

// queueSize bounds the reports waiting to be sent; past it they are
// dropped, as bugsnag-go's own queue drops them.
const queueSize = 256

// workload sends the pods' errors with bugsnag-go, the notifier the
// services would use, one at a time from a bounded queue, so that a burst
// of errors never piles up goroutines and stopping leaves none behind.
type workload struct {
	queue     chan report
	endpoints bugsnag.Endpoints
	transport *http.Transport

	sent, failed, dropped atomic.Int64
}

func newWorkload(base string) *workload {
	return &workload{
		queue:     make(chan report, queueSize),
		endpoints: bugsnag.Endpoints{Notify: base + "/notify", Sessions: base + "/sessions"},
		transport: &http.Transport{MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute},
	}
}

// throw queues r; a full queue drops it.
func (w *workload) throw(r report) {
	select {
	case w.queue <- r:
	default:
		w.dropped.Add(1)
	}
}

// run sends the queued reports until ctx is done.
func (w *workload) run(ctx context.Context) {
	defer w.transport.CloseIdleConnections()
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-w.queue:
			if err := w.send(r); err != nil {
				w.failed.Add(1)
				continue
			}
			w.sent.Add(1)
		}
	}
}

// quiet is bugsnag-go's logger: its notes would tear the dashboard apart.
var quiet = log.New(io.Discard, "", 0)

// send reports r as the pod's notifier: its project's key, its release
// stage and version, and the pod as the host. Synchronous, as this
// goroutine is the queue's only sender; no panic handler, since the default
// one re-executes the program to watch it.
func (w *workload) send(r report) error {
	n := bugsnag.New(bugsnag.Configuration{
		APIKey:              r.apiKey,
		ReleaseStage:        r.stage,
		AppVersion:          r.version,
		Hostname:            r.pod,
		Endpoints:           w.endpoints,
		Transport:           w.transport,
		Synchronous:         true,
		AutoCaptureSessions: false,
		PanicHandler:        func() {},
		Logger:              quiet,
		ProjectPackages:     []string{"github.com/roost-dev/roost/internal/demo"},
	})
	return n.Notify(errors.New(r.err.Message),
		bugsnag.ErrorClass{Name: r.err.Class},
		bugsnag.Context{String: r.err.Context},
		bugsnag.User{Id: r.user},
		bugsnag.SeverityError,
	)
}
