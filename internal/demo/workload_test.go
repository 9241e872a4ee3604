package demo

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/roost-dev/roost/internal/bugsnagserver"
	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/metrics/bugsnag"
)

// The workload's reports reach Bugsnag through bugsnag-go under the pod's
// release stage, and roost's Data Access API client reads them back: an
// error only the canary threw is new in canary, one stable threw too is not.
func TestWorkloadReportsReachBugsnagWithTheirStage(t *testing.T) {
	project := bugsnagserver.Project{ID: projectID("payments/ledger"), Name: "payments/ledger", APIKey: madeUpKey(16)}
	token := madeUpKey(20)
	srv := httptest.NewServer(bugsnagserver.New(bugsnagserver.Options{Projects: []bugsnagserver.Project{project}, AuthTokens: []string{token}}).Handler())
	defer srv.Close()

	w := newWorkload(srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	since := time.Now().Add(-time.Second)
	everyday := ledger.Errors.Background[0]
	for _, r := range []report{
		{apiKey: project.APIKey, stage: stableRole, version: "2.3.1", pod: "ledger-old-1", err: everyday, user: "user-1"},
		{apiKey: project.APIKey, stage: canaryRole, version: "2.4.0", pod: "ledger-new-1", err: everyday, user: "user-2"},
		{apiKey: project.APIKey, stage: canaryRole, version: "2.4.0", pod: "ledger-new-1", err: ledger.Errors.Regression, user: "user-3"},
		{apiKey: project.APIKey, stage: canaryRole, version: "2.4.0", pod: "ledger-new-2", err: ledger.Errors.Regression, user: "user-4"},
	} {
		w.throw(r)
	}
	deadline := time.Now().Add(10 * time.Second)
	for w.sent.Load()+w.failed.Load() < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("sent %d, failed %d of 4 reports after 10s", w.sent.Load(), w.failed.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if w.failed.Load() != 0 {
		t.Fatalf("%d reports failed", w.failed.Load())
	}

	client, err := bugsnag.New(bugsnag.Options{Token: bugsnag.Token(token), Address: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	errs, err := client.CanaryErrors(context.Background(), metrics.ErrorQuery{Project: project.ID, CanaryStage: canaryRole, StableStage: stableRole, Since: since})
	if err != nil {
		t.Fatal(err)
	}
	byClass := map[string]metrics.Error{}
	for _, e := range errs {
		byClass[e.Class] = e
	}
	if len(errs) != 2 {
		t.Fatalf("canary errors %+v; want the everyday one and the regression", errs)
	}
	reg := byClass[ledger.Errors.Regression.Class]
	if !reg.New || reg.Events != 2 || reg.Users != 2 || reg.Message != ledger.Errors.Regression.Message || reg.Context != ledger.Errors.Regression.Context {
		t.Errorf("regression %+v; want new in canary, 2 events of 2 users, its message and context", reg)
	}
	if e := byClass[everyday.Class]; e.New || e.Events != 1 {
		t.Errorf("everyday error %+v; want 1 canary event, not new (stable threw it)", e)
	}
}

// A full queue drops reports instead of blocking the traffic.
func TestWorkloadQueueIsBounded(t *testing.T) {
	w := newWorkload("http://127.0.0.1:1")
	for range queueSize + 5 {
		w.throw(report{stage: canaryRole, err: cart.Errors.Regression})
	}
	if d := w.dropped.Load(); d != 5 {
		t.Errorf("dropped %d, want 5", d)
	}
}
