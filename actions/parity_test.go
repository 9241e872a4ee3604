package actions

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	k8stesting "k8s.io/client-go/testing"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// The plugin column of these tables is what `kubectl argo rollouts` v1.9
// sends in the same state, and where: files under
// pkg/kubectl-argo-rollouts/cmd/ of argoproj/argo-rollouts, with the line
// numbers of promote/promote.go at 7005c29b, abort/abort.go and
// retry/retry.go at 4e1af7b0, pause/pause.go at 20b7508c,
// restart/restart.go at e7373d6c, undo/undo.go at 9246b1ff and cmd.go at
// f9cfd254. A row whose differs is empty must send exactly the plugin's
// bytes; a row that differs names the README row ("Where roost's actions
// differ from kubectl argo rollouts") that says why.

func stPatch(body string) sentPatch { return sentPatch{types.MergePatchType, "status", body} }
func spPatch(body string) sentPatch { return sentPatch{types.MergePatchType, "", body} }

func atPause(o map[string]any) {
	status(o)["pauseConditions"] = []any{map[string]any{"reason": "CanaryPauseStep", "startTime": "2026-03-04T05:00:00Z"}}
	status(o)["controllerPause"] = true
}

func heldInconclusive(o map[string]any) {
	status(o)["pauseConditions"] = []any{map[string]any{"reason": "InconclusiveAnalysisRun", "startTime": "2026-03-04T05:00:00Z"}}
	status(o)["controllerPause"] = true
	status(o)["canary"] = map[string]any{"currentStepAnalysisRunStatus": map[string]any{"name": "checkout-abc-2-1", "status": "Inconclusive"}}
}

func healthy(o map[string]any) {
	status(o)["currentStepIndex"] = int64(4)
	status(o)["stableRS"] = "canaryhash"
}

func manuallyPaused(o map[string]any) { spec(o)["paused"] = true }

func withAbortReason(o map[string]any, reason string) {
	o["metadata"].(map[string]any)["annotations"] = map[string]any{v1alpha1.AbortReasonAnnotation: reason}
}

func all(ms ...func(map[string]any)) func(map[string]any) {
	return func(o map[string]any) {
		for _, m := range ms {
			m(o)
		}
	}
}

func promote(a *Actions) (Result, error) { return a.Promote(context.Background(), "shop", "checkout") }
func promoteFull(a *Actions) (Result, error) {
	return a.PromoteFull(context.Background(), "shop", "checkout")
}
func abort(reason string) func(a *Actions) (Result, error) {
	return func(a *Actions) (Result, error) { return a.Abort(context.Background(), "shop", "checkout", reason) }
}
func retry(a *Actions) (Result, error)   { return a.Retry(context.Background(), "shop", "checkout") }
func pause(a *Actions) (Result, error)   { return a.Pause(context.Background(), "shop", "checkout") }
func resume(a *Actions) (Result, error)  { return a.Resume(context.Background(), "shop", "checkout") }
func restart(a *Actions) (Result, error) { return a.Restart(context.Background(), "shop", "checkout") }

// Differences, as the README names them.
const (
	diffSkipStep    = "promote, not at a pause: controllerPause"
	diffAborted     = "promote of an aborted rollout"
	diffFullPaused  = "promote --full of a paused rollout"
	diffNoOp        = "nothing to change"
	diffAbortReason = "abort reason"
	diffResume      = "resume"
	diffUndo        = "undo: injected metadata"
	diffFallback    = "no /status subresource"
)

type parityRow struct {
	name   string
	mutate func(o map[string]any)
	do     func(a *Actions) (Result, error)
	// want is what roost sends; plugin what the plugin sends, then where.
	want       []sentPatch
	plugin     []sentPatch
	pluginFrom string
	differs    string
	// summary is the result line; err, when set, the error instead.
	summary string
	err     string
	reason  string // Event reason; "" when nothing is recorded
	message string
}

func TestPatchParity(t *testing.T) {
	rows := []parityRow{{
		name:       "promote at a pause step",
		mutate:     atPause,
		do:         promote,
		want:       []sentPatch{stPatch(`{"status":{"pauseConditions":null}}`)},
		plugin:     []sentPatch{stPatch(`{"status":{"pauseConditions":null}}`)},
		pluginFrom: "promote.go:179-180 (clearPauseConditionsPatch :36), sent to /status at :118",
		summary:    "promoted: pause at step 2/4 released",
		reason:     EventPromoted, message: "promoted by alice@example.com: pause at step 2/4 released",
	}, {
		name:       "promote at a pause step of a manually paused rollout",
		mutate:     all(atPause, manuallyPaused),
		do:         promote,
		want:       []sentPatch{stPatch(`{"status":{"pauseConditions":null}}`), spPatch(`{"spec":{"paused":false}}`)},
		plugin:     []sentPatch{stPatch(`{"status":{"pauseConditions":null}}`), spPatch(`{"spec":{"paused":false}}`)},
		pluginFrom: "promote.go:165-166 (unpausePatch :35) and :179-180; status at :118, then spec at :129",
		summary:    "promoted: pause at step 2/4 released, manual pause lifted",
		reason:     EventPromoted,
	}, {
		name:       "promote in a setWeight step skips it",
		mutate:     func(o map[string]any) { status(o)["currentStepIndex"] = int64(2) },
		do:         promote,
		want:       []sentPatch{stPatch(`{"status":{"pauseConditions":null, "controllerPause":false, "currentStepIndex":3}}`)},
		plugin:     []sentPatch{stPatch(`{"status":{"pauseConditions":null, "currentStepIndex":3}}`)},
		pluginFrom: "promote.go:181-194 (clearPauseConditionsPatchWithStep :40), status at :118",
		differs:    diffSkipStep,
		summary:    "promoted: step 3/4 skipped, now at step 4/4",
		reason:     EventPromoted,
	}, {
		name: "promote again before the controller acted on a released pause",
		mutate: func(o map[string]any) {
			status(o)["currentStepIndex"] = int64(1)
			status(o)["controllerPause"] = true
		},
		do:         promote,
		want:       []sentPatch{stPatch(`{"status":{"pauseConditions":null, "controllerPause":false, "currentStepIndex":2}}`)},
		plugin:     []sentPatch{stPatch(`{"status":{"pauseConditions":null, "currentStepIndex":2}}`)},
		pluginFrom: "promote.go:181-194",
		differs:    diffSkipStep,
		summary:    "promoted: step 2/4 skipped, now at step 3/4",
		reason:     EventPromoted,
	}, {
		name:       "promote in the last step is capped at the step count",
		mutate:     func(o map[string]any) { status(o)["currentStepIndex"] = int64(3) },
		do:         promote,
		want:       []sentPatch{stPatch(`{"status":{"pauseConditions":null, "controllerPause":false, "currentStepIndex":4}}`)},
		plugin:     []sentPatch{stPatch(`{"status":{"pauseConditions":null, "currentStepIndex":4}}`)},
		pluginFrom: "promote.go:190-193",
		differs:    diffSkipStep,
		summary:    "promoted: step 4/4 skipped, all steps done",
		reason:     EventPromoted,
	}, {
		name:       "promote of a rollout with no currentStepIndex yet starts from step 0",
		mutate:     func(o map[string]any) { delete(status(o), "currentStepIndex") },
		do:         promote,
		want:       []sentPatch{stPatch(`{"status":{"pauseConditions":null, "controllerPause":false, "currentStepIndex":1}}`)},
		plugin:     []sentPatch{stPatch(`{"status":{"pauseConditions":null, "currentStepIndex":1}}`)},
		pluginFrom: "promote.go:186-193 (GetCurrentCanaryStep counts a missing index as 0)",
		differs:    diffSkipStep,
		summary:    "promoted: step 1/4 skipped, now at step 2/4",
		reason:     EventPromoted,
	}, {
		name:   "promote in a setWeight step of a manually paused rollout",
		mutate: all(manuallyPaused, func(o map[string]any) { status(o)["currentStepIndex"] = int64(2) }),
		do:     promote,
		want: []sentPatch{
			stPatch(`{"status":{"pauseConditions":null, "controllerPause":false, "currentStepIndex":3}}`),
			spPatch(`{"spec":{"paused":false}}`),
		},
		plugin: []sentPatch{
			stPatch(`{"status":{"pauseConditions":null, "currentStepIndex":3}}`),
			spPatch(`{"spec":{"paused":false}}`),
		},
		pluginFrom: "promote.go:165-166 and :181-194",
		differs:    diffSkipStep,
		summary:    "promoted: step 3/4 skipped, now at step 4/4, manual pause lifted",
		reason:     EventPromoted,
	}, {
		name:       "promote of a canary held on an Inconclusive analysis step skips the step",
		mutate:     heldInconclusive,
		do:         promote,
		want:       []sentPatch{stPatch(`{"status":{"pauseConditions":null, "controllerPause":false, "currentStepIndex":2}}`)},
		plugin:     []sentPatch{stPatch(`{"status":{"pauseConditions":null, "controllerPause":false, "currentStepIndex":2}}`)},
		pluginFrom: "promote.go:171-178 (clearPauseConditionsAndControllerPausePatch :37; isInconclusive :137-139)",
		summary:    "promoted: Inconclusive analysis at step 2/4 accepted, now at step 3/4",
		reason:     EventPromoted,
	}, {
		name:   "promote of a manually paused canary held on an Inconclusive analysis step",
		mutate: all(heldInconclusive, manuallyPaused),
		do:     promote,
		want: []sentPatch{
			stPatch(`{"status":{"pauseConditions":null, "controllerPause":false, "currentStepIndex":2}}`),
			spPatch(`{"spec":{"paused":false}}`),
		},
		plugin: []sentPatch{
			stPatch(`{"status":{"pauseConditions":null, "controllerPause":false, "currentStepIndex":2}}`),
			spPatch(`{"spec":{"paused":false}}`),
		},
		pluginFrom: "promote.go:165-166 and :171-178",
		summary:    "promoted: Inconclusive analysis at step 2/4 accepted, now at step 3/4, manual pause lifted",
		reason:     EventPromoted,
	}, {
		name:       "promote of a healthy rollout",
		mutate:     healthy,
		do:         promote,
		plugin:     []sentPatch{stPatch(`{"status":{"pauseConditions":null, "currentStepIndex":4}}`)},
		pluginFrom: "promote.go:190-193: the index is already 4, the patch changes nothing",
		differs:    diffNoOp,
		summary:    "skipped: already fully promoted",
	}, {
		name:   "promote of a healthy, manually paused rollout lifts the pause only",
		mutate: all(healthy, manuallyPaused),
		do:     promote,
		want:   []sentPatch{spPatch(`{"spec":{"paused":false}}`)},
		plugin: []sentPatch{
			stPatch(`{"status":{"pauseConditions":null, "currentStepIndex":4}}`),
			spPatch(`{"spec":{"paused":false}}`),
		},
		pluginFrom: "promote.go:165-166 and :190-193",
		differs:    diffNoOp,
		summary:    "promoted: manual pause lifted",
		reason:     EventPromoted,
	}, {
		name: "promote of a rollout without steps sends nothing",
		mutate: func(o map[string]any) {
			spec(o)["strategy"] = map[string]any{"canary": map[string]any{}}
			delete(status(o), "currentStepIndex")
		},
		do:         promote,
		pluginFrom: "promote.go:186-189: GetCurrentCanaryStep gives no index without steps; nothing is sent",
		summary:    "skipped: no step left to promote; the rollout finishes on its own (or use `roost promote --full`)",
	}, {
		name: "promote of a manually paused rollout without steps lifts the pause",
		mutate: all(manuallyPaused, func(o map[string]any) {
			spec(o)["strategy"] = map[string]any{"canary": map[string]any{}}
			delete(status(o), "currentStepIndex")
		}),
		do:         promote,
		want:       []sentPatch{spPatch(`{"spec":{"paused":false}}`)},
		plugin:     []sentPatch{spPatch(`{"spec":{"paused":false}}`)},
		pluginFrom: "promote.go:165-166, spec at :129",
		summary:    "promoted: manual pause lifted",
		reason:     EventPromoted,
	}, {
		name: "promote of an aborted rollout is refused",
		mutate: func(o map[string]any) {
			status(o)["abort"] = true
			status(o)["currentStepIndex"] = int64(0)
		},
		do:         promote,
		plugin:     []sentPatch{stPatch(`{"status":{"pauseConditions":null, "currentStepIndex":1}}`)},
		pluginFrom: "promote.go:181-194 (no check of status.abort); the controller sets the index back to 0 while aborted",
		differs:    diffAborted,
		err:        "rollout shop/checkout is aborted; retry it first with `roost retry checkout -n shop`",
	}, {
		name:       "promote --full",
		do:         promoteFull,
		want:       []sentPatch{stPatch(`{"status":{"promoteFull":true}}`)},
		plugin:     []sentPatch{stPatch(`{"status":{"promoteFull":true}}`)},
		pluginFrom: "promote.go:159-161 (promoteFullPatch :39), status at :118",
		summary:    "fully promoted: remaining steps skipped",
		reason:     EventPromotedFull, message: "fully promoted by alice@example.com: remaining steps skipped",
	}, {
		name:       "promote --full at a pause step",
		mutate:     atPause,
		do:         promoteFull,
		want:       []sentPatch{stPatch(`{"status":{"promoteFull":true}}`)},
		plugin:     []sentPatch{stPatch(`{"status":{"promoteFull":true}}`)},
		pluginFrom: "promote.go:159-161",
		summary:    "fully promoted: remaining steps skipped",
		reason:     EventPromotedFull,
	}, {
		name:       "promote --full of an aborted rollout",
		mutate:     func(o map[string]any) { status(o)["abort"] = true },
		do:         promoteFull,
		want:       []sentPatch{stPatch(`{"status":{"promoteFull":true}}`)},
		plugin:     []sentPatch{stPatch(`{"status":{"promoteFull":true}}`)},
		pluginFrom: "promote.go:159-161 (the controller clears the abort on promoteFull)",
		summary:    "fully promoted: remaining steps skipped",
		reason:     EventPromotedFull,
	}, {
		name:       "promote --full of a manually paused rollout also lifts the pause",
		mutate:     manuallyPaused,
		do:         promoteFull,
		want:       []sentPatch{stPatch(`{"status":{"promoteFull":true}}`), spPatch(`{"spec":{"paused":false}}`)},
		plugin:     []sentPatch{stPatch(`{"status":{"promoteFull":true}}`)},
		pluginFrom: "promote.go:159-161: the full case sets no spec patch",
		differs:    diffFullPaused,
		summary:    "fully promoted: remaining steps skipped",
		reason:     EventPromotedFull,
	}, {
		name:       "promote --full of a healthy rollout sends nothing",
		mutate:     healthy,
		do:         promoteFull,
		pluginFrom: "promote.go:160: nothing when currentPodHash == stableRS",
		summary:    "skipped: already fully promoted",
	}, {
		name:       "promote --full of a healthy, manually paused rollout lifts the pause",
		mutate:     all(healthy, manuallyPaused),
		do:         promoteFull,
		want:       []sentPatch{spPatch(`{"spec":{"paused":false}}`)},
		pluginFrom: "promote.go:160: nothing",
		differs:    diffFullPaused,
		summary:    "fully promoted: already stable; manual pause lifted",
		reason:     EventPromotedFull,
	}, {
		name:       "promote --full already requested",
		mutate:     func(o map[string]any) { status(o)["promoteFull"] = true },
		do:         promoteFull,
		plugin:     []sentPatch{stPatch(`{"status":{"promoteFull":true}}`)},
		pluginFrom: "promote.go:159-161: promoteFull is already true",
		differs:    diffNoOp,
		summary:    "skipped: full promotion already requested",
	}, {
		name:       "abort",
		do:         abort(""),
		want:       []sentPatch{stPatch(`{"status":{"abort":true}}`)},
		plugin:     []sentPatch{stPatch(`{"status":{"abort":true}}`)},
		pluginFrom: "abort.go:65 (abortPatch :30)",
		summary:    "aborted: canary scaling to 0, stable to all replicas",
		reason:     EventAborted, message: "aborted by alice@example.com",
	}, {
		name: "abort with a reason annotates first",
		do:   abort("p99 latency 3x stable"),
		want: []sentPatch{
			spPatch(`{"metadata":{"annotations":{"rollouts.roost.dev/abort-reason":"p99 latency 3x stable"}}}`),
			stPatch(`{"status":{"abort":true}}`),
		},
		plugin:     []sentPatch{stPatch(`{"status":{"abort":true}}`)},
		pluginFrom: "abort.go:65",
		differs:    diffAbortReason,
		summary:    "aborted: canary scaling to 0, stable to all replicas (reason: p99 latency 3x stable)",
		reason:     EventAborted, message: "aborted by alice@example.com: p99 latency 3x stable",
	}, {
		name:   "abort without a reason removes an earlier one",
		mutate: func(o map[string]any) { withAbortReason(o, "old") },
		do:     abort(" "),
		want: []sentPatch{
			spPatch(`{"metadata":{"annotations":{"rollouts.roost.dev/abort-reason":null}}}`),
			stPatch(`{"status":{"abort":true}}`),
		},
		plugin:     []sentPatch{stPatch(`{"status":{"abort":true}}`)},
		pluginFrom: "abort.go:65",
		differs:    diffAbortReason,
		summary:    "aborted: canary scaling to 0, stable to all replicas",
		reason:     EventAborted,
	}, {
		name:       "abort of an aborted rollout",
		mutate:     func(o map[string]any) { status(o)["abort"] = true },
		do:         abort("x"),
		plugin:     []sentPatch{stPatch(`{"status":{"abort":true}}`)},
		pluginFrom: "abort.go:65: abort is already true",
		differs:    diffNoOp,
		summary:    "skipped: already aborted",
	}, {
		name:       "retry",
		mutate:     func(o map[string]any) { status(o)["abort"] = true },
		do:         retry,
		want:       []sentPatch{stPatch(`{"status":{"abort":false}}`)},
		plugin:     []sentPatch{stPatch(`{"status":{"abort":false}}`)},
		pluginFrom: "retry.go:89 (retryRolloutPatch :19)",
		summary:    "retried: restarting from step 1",
		reason:     EventRetried, message: "retried by alice@example.com",
	}, {
		name:   "retry removes the abort reason after",
		mutate: all(func(o map[string]any) { status(o)["abort"] = true }, func(o map[string]any) { withAbortReason(o, "bad") }),
		do:     retry,
		want: []sentPatch{
			stPatch(`{"status":{"abort":false}}`),
			spPatch(`{"metadata":{"annotations":{"rollouts.roost.dev/abort-reason":null}}}`),
		},
		plugin:     []sentPatch{stPatch(`{"status":{"abort":false}}`)},
		pluginFrom: "retry.go:89",
		differs:    diffAbortReason,
		summary:    "retried: restarting from step 1",
		reason:     EventRetried,
	}, {
		name:       "retry of a rollout that is not aborted",
		do:         retry,
		plugin:     []sentPatch{stPatch(`{"status":{"abort":false}}`)},
		pluginFrom: "retry.go:89 (no check of status.abort)",
		differs:    diffNoOp,
		summary:    "skipped: not aborted; nothing to retry",
	}, {
		name:       "pause",
		do:         pause,
		want:       []sentPatch{spPatch(`{"spec":{"paused":true}}`)},
		plugin:     []sentPatch{spPatch(`{"spec":{"paused":true}}`)},
		pluginFrom: "pause.go:36",
		summary:    "paused: holding at the current step until `roost resume`",
		reason:     EventPaused, message: "paused by alice@example.com",
	}, {
		name:       "pause of a paused rollout",
		mutate:     manuallyPaused,
		do:         pause,
		plugin:     []sentPatch{spPatch(`{"spec":{"paused":true}}`)},
		pluginFrom: "pause.go:36: spec.paused is already true",
		differs:    diffNoOp,
		summary:    "skipped: already paused",
	}, {
		name:       "resume",
		mutate:     manuallyPaused,
		do:         resume,
		want:       []sentPatch{spPatch(`{"spec":{"paused":false}}`)},
		plugin:     []sentPatch{stPatch(`{"status":{"pauseConditions":null, "currentStepIndex":2}}`), spPatch(`{"spec":{"paused":false}}`)},
		pluginFrom: "no resume among cmd.go:60-76; the plugin lifts a manual pause with promote (promote.go:165-166, with :181-194)",
		differs:    diffResume,
		summary:    "resumed: manual pause lifted",
		reason:     EventResumed, message: "resumed by alice@example.com",
	}, {
		name:       "resume at a pause step points to promote",
		mutate:     atPause,
		do:         resume,
		plugin:     []sentPatch{stPatch(`{"status":{"pauseConditions":null}}`)},
		pluginFrom: "no resume command; its promote here releases the pause (promote.go:179-180)",
		differs:    diffResume,
		summary:    "skipped: not manually paused; it waits at a pause step: release it with `roost promote checkout -n shop`",
	}, {
		name:       "restart",
		do:         restart,
		want:       []sentPatch{spPatch("{\n\t\"spec\": {\n\t\t\"restartAt\": \"2026-03-04T05:06:07Z\"\n\t}\n}")},
		plugin:     []sentPatch{spPatch("{\n\t\"spec\": {\n\t\t\"restartAt\": \"2026-03-04T05:06:07Z\"\n\t}\n}")},
		pluginFrom: "restart.go:79-80 (restartPatch :27-31, now in UTC, RFC 3339)",
		summary:    "restart requested at 2026-03-04T05:06:07Z: pods are replaced one by one",
		reason:     EventRestarted, message: "restart requested by alice@example.com",
	}}
	for _, tt := range rows {
		t.Run(tt.name, func(t *testing.T) {
			if tt.pluginFrom == "" {
				t.Fatal("row names no plugin source")
			}
			if tt.differs == "" && !equalPatches(tt.want, tt.plugin) {
				t.Fatalf("row sends %+v where the plugin sends %+v, and names no difference", tt.want, tt.plugin)
			}
			if tt.differs != "" && equalPatches(tt.want, tt.plugin) && tt.err == "" {
				t.Fatalf("row names the difference %q but sends the plugin's patches", tt.differs)
			}
			f := newFixture(t, []*unstructured.Unstructured{testRollout(tt.mutate)})
			res, err := tt.do(f.act)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
			} else if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got := f.patches(); !equalPatches(got, tt.want) {
				t.Fatalf("patches = %q\nwant      %q", got, tt.want)
			}
			if tt.err != "" {
				return
			}
			if res.String() != tt.summary {
				t.Errorf("summary = %q, want %q", res.String(), tt.summary)
			}
			if res.Skipped != (tt.want == nil) {
				t.Errorf("Skipped = %v with %d patches expected", res.Skipped, len(tt.want))
			}
			checkEvent(t, f, tt.reason, tt.message)
		})
	}
}

func equalPatches(a, b []sentPatch) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// checkEvent checks the one Event an action recorded, or that a skipped
// action recorded none.
func checkEvent(t *testing.T, f *fixture, reason, message string) {
	t.Helper()
	evs := f.events(t)
	if reason == "" {
		if len(evs) != 0 {
			t.Errorf("a skipped action recorded %d events", len(evs))
		}
		return
	}
	if len(evs) != 1 {
		t.Fatalf("recorded %d events, want 1", len(evs))
	}
	ev := evs[0]
	if ev.Reason != reason || ev.InvolvedObject.Kind != "Rollout" || ev.InvolvedObject.Name != "checkout" ||
		ev.InvolvedObject.UID != "ro-uid" || ev.Annotations[ActorAnnotation] != "alice@example.com" || ev.Type != corev1.EventTypeNormal {
		t.Errorf("event = %+v", ev)
	}
	if message != "" && ev.Message != message {
		t.Errorf("event message = %q, want %q", ev.Message, message)
	}
}

// On a cluster whose Rollout CRD has no status subresource, /status answers
// 404 and the plugin sends its unified patch to the Rollout instead.
func TestStatusSubresourceFallback(t *testing.T) {
	rows := []parityRow{{
		name:       "promote at a pause step",
		mutate:     atPause,
		do:         promote,
		want:       []sentPatch{stPatch(`{"status":{"pauseConditions":null}}`), spPatch(`{"spec":{"paused":false},"status":{"pauseConditions":null}}`)},
		plugin:     []sentPatch{stPatch(`{"status":{"pauseConditions":null}}`), spPatch(`{"spec":{"paused":false},"status":{"pauseConditions":null}}`)},
		pluginFrom: "promote.go:118-125 (unifiedPatch :164, unpauseAndClearPauseConditionsPatch :38), then :129",
	}, {
		name:       "promote at a pause step of a manually paused rollout",
		mutate:     all(atPause, manuallyPaused),
		do:         promote,
		want:       []sentPatch{stPatch(`{"status":{"pauseConditions":null}}`), spPatch(`{"spec":{"paused":false},"status":{"pauseConditions":null}}`)},
		plugin:     []sentPatch{stPatch(`{"status":{"pauseConditions":null}}`), spPatch(`{"spec":{"paused":false},"status":{"pauseConditions":null}}`)},
		pluginFrom: "promote.go:118-125: the unified patch replaces the spec patch",
	}, {
		name:   "promote in a setWeight step",
		mutate: func(o map[string]any) { status(o)["currentStepIndex"] = int64(2) },
		do:     promote,
		want: []sentPatch{
			stPatch(`{"status":{"pauseConditions":null, "controllerPause":false, "currentStepIndex":3}}`),
			spPatch(`{"spec":{"paused":false},"status":{"pauseConditions":null, "controllerPause":false, "currentStepIndex":3}}`),
		},
		plugin: []sentPatch{
			stPatch(`{"status":{"pauseConditions":null, "currentStepIndex":3}}`),
			spPatch(`{"spec":{"paused":false},"status":{"pauseConditions":null, "currentStepIndex":3}}`),
		},
		pluginFrom: "promote.go:193-194 (unpauseAndClearPauseConditionsPatchWithStep :41)",
		differs:    diffSkipStep,
	}, {
		name:   "promote of a canary held on an Inconclusive analysis step",
		mutate: heldInconclusive,
		do:     promote,
		want: []sentPatch{
			stPatch(`{"status":{"pauseConditions":null, "controllerPause":false, "currentStepIndex":2}}`),
			spPatch(`{"spec":{"paused":false},"status":{"pauseConditions":null, "controllerPause":false, "currentStepIndex":2}}`),
		},
		plugin: []sentPatch{
			stPatch(`{"status":{"pauseConditions":null, "controllerPause":false, "currentStepIndex":2}}`),
			spPatch(`{"spec":{"paused":false},"status":{"pauseConditions":null}}`),
		},
		pluginFrom: "promote.go:164 and :171-178: the unified patch keeps only the released pause",
		differs:    diffFallback,
	}, {
		name:       "promote --full",
		do:         promoteFull,
		want:       []sentPatch{stPatch(`{"status":{"promoteFull":true}}`), spPatch(`{"status":{"promoteFull":true}}`)},
		plugin:     []sentPatch{stPatch(`{"status":{"promoteFull":true}}`)},
		pluginFrom: "promote.go:159-161: no unified patch, so nothing reaches the Rollout",
		differs:    diffFallback,
	}, {
		name:       "abort",
		do:         abort(""),
		want:       []sentPatch{stPatch(`{"status":{"abort":true}}`), spPatch(`{"status":{"abort":true}}`)},
		plugin:     []sentPatch{stPatch(`{"status":{"abort":true}}`), spPatch(`{"status":{"abort":true}}`)},
		pluginFrom: "abort.go:65-67",
	}, {
		name:       "retry",
		mutate:     func(o map[string]any) { status(o)["abort"] = true },
		do:         retry,
		want:       []sentPatch{stPatch(`{"status":{"abort":false}}`), spPatch(`{"status":{"abort":false}}`)},
		plugin:     []sentPatch{stPatch(`{"status":{"abort":false}}`), spPatch(`{"status":{"abort":false}}`)},
		pluginFrom: "retry.go:89-91",
	}}
	for _, tt := range rows {
		t.Run(tt.name, func(t *testing.T) {
			if tt.differs == "" && !equalPatches(tt.want, tt.plugin) {
				t.Fatalf("row sends %+v where the plugin sends %+v, and names no difference", tt.want, tt.plugin)
			}
			f := newFixture(t, []*unstructured.Unstructured{testRollout(tt.mutate)})
			f.dyn.PrependReactor("patch", "rollouts", func(a k8stesting.Action) (bool, runtime.Object, error) {
				if a.GetSubresource() == "status" {
					return true, nil, apierrors.NewNotFound(schema.GroupResource{Group: "argoproj.io", Resource: "rollouts"}, "checkout")
				}
				return false, nil, nil
			})
			res, err := tt.do(f.act)
			if err != nil {
				t.Fatal(err)
			}
			if res.Skipped {
				t.Error("reported skipped")
			}
			if got := f.patches(); !equalPatches(got, tt.want) {
				t.Fatalf("patches = %q\nwant      %q", got, tt.want)
			}
		})
	}
}

// The fallback reaches the object: the main resource carries both fields.
func TestStatusSubresourceFallbackReachesTheRollout(t *testing.T) {
	f := newFixture(t, []*unstructured.Unstructured{testRollout(all(atPause, manuallyPaused))})
	f.dyn.PrependReactor("patch", "rollouts", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() == "status" {
			return true, nil, apierrors.NewNotFound(schema.GroupResource{Group: "argoproj.io", Resource: "rollouts"}, "checkout")
		}
		return false, nil, nil
	})
	if _, err := f.act.Promote(context.Background(), "shop", "checkout"); err != nil {
		t.Fatal(err)
	}
	u := f.rollout(t)
	if p, _, _ := unstructured.NestedBool(u.Object, "spec", "paused"); p {
		t.Error("spec.paused still true")
	}
	if _, found, _ := unstructured.NestedSlice(u.Object, "status", "pauseConditions"); found {
		t.Error("pauseConditions still set")
	}
}

// Undo sends the plugin's JSON Patch: one replace of /spec/template with the
// ReplicaSet's template less its hash label, json.Marshal of the same
// []{op, path, value: *PodTemplateSpec} (undo.go:93, :96, :178-186, sent to
// the Rollout at :109). The template's own bytes are those of the linked
// k8s.io/api; a k8s.io/api before v0.33 also writes "creationTimestamp":null.
func TestUndoParity(t *testing.T) {
	rss := []runtime.Object{
		replicaSet("checkout-aaa", "1", "checkout:1", "ro-uid"),
		withEphemeral(replicaSet("checkout-bbb", "2", "checkout:2", "ro-uid")),
		replicaSet("checkout-ccc", "3", "checkout:3", "ro-uid"),
		replicaSet("checkout-zzz", "9", "other:9", "someone-else"),
	}
	atRevision3 := func(o map[string]any) {
		spec(o)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["image"] = "checkout:3"
	}
	jsonPatch := func(body string) sentPatch { return sentPatch{types.JSONPatchType, "", body} }
	rows := []struct {
		name       string
		to         int64
		want       []sentPatch
		plugin     []sentPatch
		pluginFrom string
		differs    string
		summary    string
		err        string
	}{{
		name:       "to revision 1, a ReplicaSet without injected metadata",
		to:         1,
		want:       []sentPatch{jsonPatch(`[{"op":"replace","path":"/spec/template","value":{"metadata":{"labels":{"app":"checkout"}},"spec":{"containers":[{"name":"app","image":"checkout:1","resources":{}}]}}}]`)},
		plugin:     []sentPatch{jsonPatch(`[{"op":"replace","path":"/spec/template","value":{"metadata":{"labels":{"app":"checkout"}},"spec":{"containers":[{"name":"app","image":"checkout:1","resources":{}}]}}}]`)},
		pluginFrom: "undo.go:93-96, :109, :178-186",
		summary:    "rolled back to the template of revision 1 (ReplicaSet checkout-aaa); a new canary starts",
	}, {
		name:       "to the previous revision, whose ReplicaSet carries stableMetadata",
		want:       []sentPatch{jsonPatch(`[{"op":"replace","path":"/spec/template","value":{"metadata":{"labels":{"app":"checkout"},"annotations":{"kept":"yes"}},"spec":{"containers":[{"name":"app","image":"checkout:2","resources":{}}]}}}]`)},
		plugin:     []sentPatch{jsonPatch(`[{"op":"replace","path":"/spec/template","value":{"metadata":{"labels":{"app":"checkout","role":"stable"},"annotations":{"kept":"yes","team":"pay"}},"spec":{"containers":[{"name":"app","image":"checkout:2","resources":{}}]}}}]`)},
		pluginFrom: "undo.go:93: only the hash label is removed",
		differs:    diffUndo,
		summary:    "rolled back to the template of revision 2 (ReplicaSet checkout-bbb); a new canary starts",
	}, {
		name:       "to the revision whose template the rollout already has",
		to:         3,
		pluginFrom: "undo.go:84-89: skipped rollback (current template already matches revision 3)",
		summary:    "skipped: revision 3 is already the current template",
	}, {
		name:       "to a revision that does not exist",
		to:         9,
		pluginFrom: "undo.go:167-168: unable to find specified revision 9 in history",
		err:        "rollout shop/checkout has no revision 9; it has revisions 3, 2, 1",
	}, {
		name:       "to a negative revision",
		to:         -1,
		pluginFrom: "undo.go:171-172: no revision found",
		err:        "rollout shop/checkout: revision -1 is negative",
	}}
	for _, tt := range rows {
		t.Run(tt.name, func(t *testing.T) {
			if tt.differs == "" && !equalPatches(tt.want, tt.plugin) {
				t.Fatalf("row sends %+v where the plugin sends %+v, and names no difference", tt.want, tt.plugin)
			}
			f := newFixture(t, []*unstructured.Unstructured{testRollout(atRevision3)}, rss...)
			res, err := f.act.Undo(context.Background(), "shop", "checkout", tt.to)
			if tt.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.String() != tt.summary {
				t.Errorf("summary = %q, want %q", res, tt.summary)
			}
			if got := f.patches(); !equalPatches(got, tt.want) {
				t.Fatalf("patches = %q\nwant      %q", got, tt.want)
			}
			if tt.want == nil {
				checkEvent(t, f, "", "")
				return
			}
			checkEvent(t, f, EventUndone, "")
			if evs := f.events(t); !strings.Contains(evs[0].Message, "by alice@example.com") {
				t.Errorf("event message = %q", evs[0].Message)
			}
		})
	}
}
