//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/roost-dev/roost/actions"
	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/election"
	"github.com/roost-dev/roost/internal/rollouttest"
)

// cockpitSteps are the steps of the cockpit scenarios: 20%, a pause until
// promoted, 50%, another such pause. Neither pause ends by itself, so every
// move of the canary is one the test made.
func cockpitSteps() []v1alpha1.CanaryStep {
	return []v1alpha1.CanaryStep{rollouttest.SetWeight(20), rollouttest.Pause(), rollouttest.SetWeight(50), rollouttest.Pause()}
}

// whoAmI is the user the API server says the test's kubeconfig is: the name
// roost's actions must record on their Events.
func whoAmI(t *testing.T) string {
	t.Helper()
	r, err := env.Client().AuthenticationV1().SelfSubjectReviews().Create(context.Background(), &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("SelfSubjectReview: %v", err)
	}
	return r.Status.UserInfo.Username
}

// actionEvents lists the Events of reason recorded on rollout ns/name.
func actionEvents(ctx context.Context, ns, name, reason string) ([]corev1.Event, error) {
	list, err := env.Client().CoreV1().Events(ns).List(ctx, metav1.ListOptions{
		FieldSelector: "involvedObject.kind=" + v1alpha1.Kind + ",involvedObject.name=" + name + ",reason=" + reason,
	})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

// awaitActionEvent waits for the Event of reason on ns/name and checks that
// it names who acted, in its annotation and its message.
func awaitActionEvent(t *testing.T, ns, name, reason, who string) corev1.Event {
	t.Helper()
	var got corev1.Event
	poll(t, 30*time.Second, fmt.Sprintf("Event %s on rollout %s/%s", reason, ns, name), func(ctx context.Context) (bool, string, error) {
		evs, err := actionEvents(ctx, ns, name, reason)
		if err != nil || len(evs) == 0 {
			return false, fmt.Sprintf("%d events", len(evs)), err
		}
		got = evs[len(evs)-1]
		return true, got.Message, nil
	})
	if a := got.Annotations[actions.ActorAnnotation]; a != who {
		t.Errorf("Event %s on %s/%s: annotation %s=%q, want %q", reason, ns, name, actions.ActorAnnotation, a, who)
	}
	if !strings.Contains(got.Message, who) {
		t.Errorf("Event %s on %s/%s: message %q does not name %q", reason, ns, name, got.Message, who)
	}
	return got
}

// countEvents fails unless rollout ns/name has exactly want Events of reason.
func countEvents(t *testing.T, ns, name, reason string, want int) {
	t.Helper()
	evs, err := actionEvents(context.Background(), ns, name, reason)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != want {
		var msgs []string
		for _, e := range evs {
			msgs = append(msgs, e.Message)
		}
		t.Errorf("rollout %s/%s has %d %s Events, want %d: %q", ns, name, len(evs), reason, want, msgs)
	}
}

// unmoved fails unless the rollout still waits at the pause of step idx that
// began at since, with the canary ReplicaSet at canaryReplicas.
func unmoved(t *testing.T, ns, name string, idx int32, since metav1.Time, canary string, canaryReplicas int32) {
	t.Helper()
	r, err := getRollout(context.Background(), t, ns, name)
	if err != nil {
		t.Fatal(err)
	}
	if !atPause(idx)(r) || r.Status.Abort || !r.Status.PauseConditions[0].StartTime.Equal(&since) {
		t.Errorf("rollout %s/%s moved though nothing was to be sent: %s (pause began %v, want %v)", ns, name, rolloutSummary(r), r.Status.PauseConditions, since)
	}
	sets, err := rolloutReplicaSets(context.Background(), ns, name)
	if err != nil {
		t.Fatal(err)
	}
	if got := sets[canary].replicas; got != canaryReplicas {
		t.Errorf("canary ReplicaSet %s: spec.replicas %d, want %d: something was sent", sets[canary].name, got, canaryReplicas)
	}
}

// TestCockpitPromoteAbortRetry drives one canary through the cockpit's keys
// in a real terminal, the cockpit itself stepping the canaries: it shows the
// rollout waiting for a promote, filters to it, shows its detail, cancels a
// promote (nothing sent), promotes, aborts with a reason and retries, each
// action checked on the Rollout, its ReplicaSets, its pods and its Events.
func TestCockpitPromoteAbortRetry(t *testing.T) {
	t.Parallel()
	ns := env.NewNamespace(t)
	log := recordObjects(t, ns)
	who := whoAmI(t)
	const name = "checkout"

	ck := startCockpit(t, ns, "cockpit", nil)
	ck.awaitText("you step the canaries (this roost leads as ")
	// Another rollout, for the filter to hide.
	createRollout(t, roleCanary(ns, "search", 1))
	stable, canary, _ := startCanary(t, ns, name, cockpitSteps())
	paused, err := getRollout(context.Background(), t, ns, name)
	if err != nil {
		t.Fatal(err)
	}
	pauseBegan := paused.Status.PauseConditions[0].StartTime

	ck.awaitText("NEEDS YOU: waiting for a promote")
	ck.awaitLine(name, "promote?", "2/4")
	ck.awaitLine("search", "healthy")

	// Filter to it; Enter keeps the filter, Enter again opens the detail.
	ck.keys("/")
	ck.typeText(name)
	ck.keys("Enter")
	ck.awaitScreen("only "+name+" in the list", func(s string) bool {
		return lineWith(s, name, "promote?") != "" && !strings.Contains(s, "search")
	})
	ck.keys("Enter")
	ck.awaitLine(ns+"/"+name, "Step 2/4")
	ck.awaitLine("Pods", "canary 1/1", "4/4 stable")
	ck.awaitLine(name+"-"+stable, "4/4 ready", "role=stable:4")
	ck.awaitLine(name+"-"+canary, "1/1 ready", "role=canary:1")

	// p asks first, saying what will happen; n sends nothing.
	ck.keys("p")
	ck.awaitText("Promote 1 rollout?", "releases the pause at step 2/4", "n no, send nothing")
	ck.keys("n")
	ck.awaitText("promote cancelled; nothing was sent")
	unmoved(t, ns, name, 1, pauseBegan, canary, 1)

	// p y releases the pause: the canary grows to 50%.
	ck.keys("p")
	ck.awaitText("Promote 1 rollout?")
	ck.keys("y")
	ck.awaitText(name + ": promoted: pause at step 2/4 released")
	awaitRollout(t, ns, name, 60*time.Second, "at the second pause (step 3) after the promote", atPause(3))
	awaitPods(t, ns, name, "50%: 3 canary + 3 stable pods",
		map[string]int{stable + "/stable": 3, canary + "/canary": 3}, map[string]int32{stable: 3, canary: 3})
	released := false
	seenPause := false
	records, _, _, _, _ := log.snapshot()
	for _, r := range records {
		switch {
		case r.podHash == canary && r.step == 1 && len(r.pauses) > 0:
			seenPause = true
		case seenPause && r.podHash == canary && len(r.pauses) == 0:
			released = true
		}
	}
	if !released {
		t.Errorf("the Rollout's watch never showed status.pauseConditions empty after the pause at step 1 (%d states recorded)", len(records))
	}
	awaitActionEvent(t, ns, name, actions.EventPromoted, who)
	ck.awaitLine(ns+"/"+name, "Step 4/4")
	ck.awaitLine("Pods", "canary 3/3", "3/3 stable")

	// a, e, a reason, Enter aborts with that reason.
	const reason = "p99 latency 3x stable"
	ck.keys("a")
	ck.awaitText("Abort 1 rollout?", "scales the canary to 0 (now 3 pods)", "press e to write one")
	ck.keys("e")
	ck.awaitText("abort with this reason")
	ck.typeText(reason)
	ck.awaitLine("Reason: ", reason)
	ck.keys("Enter")
	ck.awaitText(name + ": aborted: canary scaling to 0")
	r := awaitRollout(t, ns, name, 60*time.Second, "aborted and Degraded", func(r *v1alpha1.Rollout) bool {
		return r.Status.Abort && r.Status.Phase == v1alpha1.PhaseDegraded
	})
	if got := r.Annotations[v1alpha1.AbortReasonAnnotation]; got != reason {
		t.Errorf("annotation %s = %q, want %q", v1alpha1.AbortReasonAnnotation, got, reason)
	}
	awaitPods(t, ns, name, "canary scaled to 0, stable back to 5",
		map[string]int{stable + "/stable": 5}, map[string]int32{stable: 5, canary: 0})
	awaitActionEvent(t, ns, name, actions.EventAborted, who)
	ck.awaitText("Aborted: " + reason + " (by " + who + ")")

	// r y retries: back to step 1 and its pause.
	ck.keys("r")
	ck.awaitText("Retry 1 rollout?", "restarts the canary from step 1")
	ck.keys("y")
	ck.awaitText(name + ": retried: restarting from step 1")
	r = awaitRollout(t, ns, name, 60*time.Second, "back at the first pause after the retry", func(r *v1alpha1.Rollout) bool {
		return atPause(1)(r) && !r.Status.Abort
	})
	if got, ok := r.Annotations[v1alpha1.AbortReasonAnnotation]; ok {
		t.Errorf("annotation %s = %q still there after the retry", v1alpha1.AbortReasonAnnotation, got)
	}
	awaitPods(t, ns, name, "20% again: 1 canary + 4 stable pods",
		map[string]int{stable + "/stable": 4, canary + "/canary": 1}, map[string]int32{stable: 4, canary: 1})
	awaitActionEvent(t, ns, name, actions.EventRetried, who)
	ck.awaitLine(name, "promote?", "2/4")

	// The n at the start sent nothing: one promote in all.
	countEvents(t, ns, name, actions.EventPromoted, 1)
}

// TestCockpitBatchPromoteFull marks two rollouts waiting for a promote with
// space and promotes both fully with P y; a third rollout is left alone.
func TestCockpitBatchPromoteFull(t *testing.T) {
	t.Parallel()
	ns := env.NewNamespace(t)
	who := whoAmI(t)
	ck := startCockpit(t, ns, "cockpit", nil)
	ck.awaitText("you step the canaries (this roost leads as ")

	names := []string{"cart-eu", "cart-us"}
	for _, n := range append(names, "other") {
		createRollout(t, roleCanary(ns, n, 4, cockpitSteps()...))
	}
	stable := map[string]string{}
	for _, n := range append(names, "other") {
		stable[n] = awaitRollout(t, ns, n, 60*time.Second, "first revision Healthy", healthy).Status.StableRS
	}
	for _, n := range names {
		setImage(t, ns, n, "registry.example/"+n+":v2")
	}
	canary := map[string]string{}
	for _, n := range names {
		canary[n] = awaitRollout(t, ns, n, 60*time.Second, "paused at step 1 with the v2 canary", atPause(1)).Status.CurrentPodHash
	}
	ck.awaitText("2 need you")

	// The filter matches namespace/name: the namespace, named after this
	// test, holds no "cart".
	ck.keys("/")
	ck.typeText("cart")
	ck.keys("Enter")
	ck.awaitScreen("only the cart rollouts in the list", func(s string) bool {
		return lineWith(s, "cart-eu", "promote?") != "" && lineWith(s, "cart-us", "promote?") != "" && lineWith(s, "other", "healthy") == ""
	})
	ck.keys("g", "Space", "Space")
	ck.awaitText("2 marked")
	ck.keys("P")
	ck.awaitText("Promote fully 2 rollouts?")
	for _, n := range names {
		ck.awaitLine("/" + n + ": skips the 3 steps left")
	}
	ck.keys("y")
	ck.awaitText("promote fully: all 2 rollouts done")

	for _, n := range names {
		r := awaitRollout(t, ns, n, 60*time.Second, "Healthy on v2 after promote fully", healthy)
		if r.Status.StableRS != canary[n] {
			t.Errorf("rollout %s: stableRS %s, want the canary %s", n, r.Status.StableRS, canary[n])
		}
		awaitPods(t, ns, n, "4 v2 pods labelled stable, v1 drained",
			map[string]int{canary[n] + "/stable": 4}, map[string]int32{stable[n]: 0, canary[n]: 4})
		awaitActionEvent(t, ns, n, actions.EventPromotedFull, who)
	}
	r, err := getRollout(context.Background(), t, ns, "other")
	if err != nil {
		t.Fatal(err)
	}
	if !healthy(r) || r.Status.StableRS != stable["other"] {
		t.Errorf("rollout other, not marked, changed: %s", rolloutSummary(r))
	}
	countEvents(t, ns, "other", actions.EventPromotedFull, 0)
	ck.awaitScreen("the marks gone after the batch", func(s string) bool { return !strings.Contains(s, "marked") })
}

// sgr matches one Select Graphic Rendition sequence of a captured screen.
var sgr = regexp.MustCompile("\x1b\\[([0-9;:]*)m")

// colours lists the SGR sequences of screen that set a foreground,
// background or underline colour (resetting to the default is no colour).
func colours(screen string) []string {
	var out []string
	for _, m := range sgr.FindAllStringSubmatch(screen, -1) {
		for _, p := range strings.Split(m[1], ";") {
			p, _, _ = strings.Cut(p, ":")
			n, err := strconv.Atoi(p)
			if err != nil {
				continue
			}
			if (n >= 30 && n <= 38) || (n >= 40 && n <= 48) || (n >= 90 && n <= 97) || (n >= 100 && n <= 107) || n == 58 {
				out = append(out, strconv.Quote(m[0]))
				break
			}
		}
	}
	return out
}

// nonASCII lists the lines of screen holding a byte above 127.
func nonASCII(screen string) []string {
	var out []string
	for i, l := range strings.Split(screen, "\n") {
		for j := 0; j < len(l); j++ {
			if l[j] > 127 {
				out = append(out, fmt.Sprintf("line %d: %q", i+1, l))
				break
			}
		}
	}
	return out
}

// screenLines is how many rows a captured screen has.
func screenLines(screen string) int { return strings.Count(screen, "\n") }

// TestCockpitReadOnlyAndTerminals runs three cockpits that do not step, on
// one canary stepped by a leader-elected reconciler in the test process:
// --readonly (p sends nothing and says why, then the terminal is resized
// below the minimum and back), NO_COLOR=1 (no colour on the screen) and
// LANG=C (ASCII only).
func TestCockpitReadOnlyAndTerminals(t *testing.T) {
	t.Parallel()
	ns := env.NewNamespace(t)
	const stepper = "sre@bastion/4242"
	startInProcessController(t, ns, stepper)
	const name = "cart"
	ro := startCockpit(t, ns, "readonly", nil, "--readonly")
	mono := startCockpit(t, ns, "no-color", []string{"NO_COLOR=1"}, "--reconciler=off")
	ascii := startCockpit(t, ns, "ascii", []string{"LANG=C"}, "--reconciler=off")
	_, canary, _ := startCanary(t, ns, name, cockpitSteps())
	paused, err := getRollout(context.Background(), t, ns, name)
	if err != nil {
		t.Fatal(err)
	}
	pauseBegan := paused.Status.PauseConditions[0].StartTime

	ro.awaitLine("roost", "namespace "+ns, "read-only")
	for _, c := range []*cockpitTerm{ro, mono, ascii} {
		c.awaitText("another roost steps the canaries: " + stepper)
	}
	ro.awaitLine(name, "promote?", "2/4")
	// Read-only, the footer lists no action key at all, not even as off.
	screen := ro.awaitText("read-only (--readonly): actions are off")
	for _, k := range []string{"p promote", "a abort", "r retry", "space mark", "p P a r off"} {
		if strings.Contains(screen, k) {
			t.Errorf("the read-only cockpit lists %q:\n%s", k, screen)
		}
	}
	ro.keys("p")
	ro.awaitText("read-only (--readonly): roost sends no actions")
	// Nor do the other action keys open a confirmation: one would swallow
	// the ? that follows them, and the help would not show.
	ro.keys("P", "a", "r", "?")
	ro.awaitText("any key: back")
	ro.keys("j")
	ro.awaitLine(name, "promote?", "2/4")

	// The coloured cockpit shows colour, so that its absence below means
	// something.
	colourful, err := ro.capture(true)
	if err != nil {
		t.Fatal(err)
	}
	if len(colours(colourful)) == 0 {
		t.Errorf("the default theme on tmux-256color shows no colour at all; the NO_COLOR check below would prove nothing")
	}
	if len(nonASCII(colourful)) == 0 {
		t.Errorf("the UTF-8 cockpit draws no symbol beyond ASCII; the LANG=C check below would prove nothing")
	}

	mono.awaitText("NEEDS YOU: waiting for a promote")
	mono.awaitLine(name, "promote?", "2/4")
	plain, err := mono.capture(true)
	if err != nil {
		t.Fatal(err)
	}
	if c := colours(plain); len(c) > 0 {
		t.Errorf("with NO_COLOR=1 the screen still sets colours: %d sequences, e.g. %s", len(c), c[0])
	}

	shown := ascii.awaitScreen("the overview in ASCII", func(s string) bool {
		return strings.Contains(s, "NEEDS YOU: waiting for a promote") && lineWith(s, name, "promote?", "2/4") != ""
	})
	if bad := nonASCII(shown); len(bad) > 0 {
		t.Errorf("with LANG=C the screen has bytes above 127 in %d lines:\n%s", len(bad), strings.Join(bad, "\n"))
	}

	// Resize: a narrow pane still shows the overview; below the minimum it
	// says so; back at 120x40 the overview returns.
	ro.resize(60, 16)
	ro.awaitScreen("the overview at 60x16", func(s string) bool {
		return screenLines(s) == 16 && lineWith(s, name, "promote?") != "" && !strings.Contains(s, "Terminal too small")
	})
	ro.resize(38, 10)
	ro.awaitText("Terminal too small")
	ro.resize(120, 40)
	ro.awaitScreen("the overview and detail at 120x40", func(s string) bool {
		return screenLines(s) == 40 && lineWith(s, name, "promote?") != "" && lineWith(s, ns+"/"+name, "Step 2/4") != "" && !strings.Contains(s, "Terminal too small")
	})

	unmoved(t, ns, name, 1, pauseBegan, canary, 1)
	for _, reason := range []string{actions.EventPromoted, actions.EventPromotedFull, actions.EventAborted, actions.EventRetried} {
		countEvents(t, ns, name, reason, 0)
	}
}

// TestCockpitLeaderHandOver runs two cockpits with --reconciler=on: the first
// leads and says so, the second names it as the roost that steps; when the
// first quits with q, the second takes over at once and steps a new canary.
func TestCockpitLeaderHandOver(t *testing.T) {
	t.Parallel()
	ns := env.NewNamespace(t)
	const name = "relay"
	first := startCockpit(t, ns, "first", nil, "--reconciler=on")
	first.awaitText("you step the canaries (this roost leads as ")
	holder, _, err := leaseHolder(context.Background(), ns, election.DefaultLeaseName)
	if err != nil {
		t.Fatalf("lease %s/%s: %v", ns, election.DefaultLeaseName, err)
	}
	if want := "/" + strconv.Itoa(first.pid()); !strings.HasSuffix(holder, want) {
		t.Fatalf("lease holder %q is not the first cockpit (pid %d)", holder, first.pid())
	}
	first.awaitText("you step the canaries (this roost leads as " + holder + ")")

	second := startCockpit(t, ns, "second", nil, "--reconciler=on")
	second.awaitText("another roost steps the canaries: " + holder)

	createRollout(t, roleCanary(ns, name, 5, cockpitSteps()...))
	r := awaitRollout(t, ns, name, 60*time.Second, "first revision Healthy, stepped by the first cockpit", healthy)
	stable := r.Status.StableRS
	second.awaitLine(name, "healthy")

	first.keys("q")
	if code := first.awaitExit(); code != 0 {
		t.Errorf("the first cockpit exited with status %d after q, want 0", code)
	}
	secondID := waitHolder(t, 30*time.Second, ns, holder)
	if want := "/" + strconv.Itoa(second.pid()); !strings.HasSuffix(secondID, want) {
		t.Fatalf("lease holder %q after the first quit is not the second cockpit (pid %d)", secondID, second.pid())
	}
	second.awaitText("you step the canaries (this roost leads as " + secondID + ")")

	setImage(t, ns, name, "registry.example/"+name+":v2")
	r = awaitRollout(t, ns, name, 60*time.Second, "paused at step 1, stepped by the second cockpit", atPause(1))
	canary := r.Status.CurrentPodHash
	awaitPods(t, ns, name, "20%: 1 canary + 4 stable pods",
		map[string]int{stable + "/stable": 4, canary + "/canary": 1}, map[string]int32{stable: 4, canary: 1})
	second.awaitLine(name, "promote?", "2/4")
}

// TestCockpitDialogFollowsTheRollout: a promote dialog held open while the
// rollout's timed pause runs out does not keep its old words: it says the
// rollout moved on and what y does now, and y does exactly that.
func TestCockpitDialogFollowsTheRollout(t *testing.T) {
	t.Parallel()
	ns := env.NewNamespace(t)
	const name = "moving"
	ck := startCockpit(t, ns, "cockpit-moving", nil)
	ck.awaitText("you step the canaries (this roost leads as ")
	startCanary(t, ns, name, []v1alpha1.CanaryStep{
		rollouttest.SetWeight(20), rollouttest.PauseFor("20s"), rollouttest.SetWeight(40), rollouttest.Pause(),
	})
	ck.awaitLine(name, "2/4")

	ck.keys("p")
	ck.awaitText("Promote 1 rollout?", "releases the pause at step 2/4")
	// The timed pause ends while the dialog is open: the canary goes to 40 %
	// and waits for a promote at step 4.
	awaitRollout(t, ns, name, 60*time.Second, "at the untimed pause (step 4) while the dialog is open", atPause(3))
	ck.awaitText("moved on while this was open; now:", "releases the pause at step 4/4")
	ck.keys("y")
	ck.awaitText(name + ": promoted: pause at step 4/4 released")
	awaitRollout(t, ns, name, 60*time.Second, "completed", healthy)
}

// TestCockpitHoldContinueUndo: from the keyboard, s holds a canary where it
// is (spec.paused) so that its timed pause no longer carries it on, c lets
// it continue, and U puts the stable revision's template back; each is
// confirmed first and checked on the cluster's objects.
func TestCockpitHoldContinueUndo(t *testing.T) {
	t.Parallel()
	ns := env.NewNamespace(t)
	const name = "holding"
	ck := startCockpit(t, ns, "cockpit-hold", nil)
	ck.awaitText("you step the canaries (this roost leads as ")
	stable, canary, _ := startCanary(t, ns, name, []v1alpha1.CanaryStep{
		rollouttest.SetWeight(20), rollouttest.PauseFor("5s"), rollouttest.SetWeight(40), rollouttest.Pause(), rollouttest.SetWeight(60),
	})
	ck.awaitLine(name, "2/5")

	ck.keys("s")
	ck.awaitText("Hold 1 rollout?", "holds the canary where it is")
	ck.keys("y")
	ck.awaitText(name + ": paused: holding at the current step")
	held := awaitRollout(t, ns, name, 30*time.Second, "held (spec.paused)", func(r *v1alpha1.Rollout) bool { return r.Spec.Paused })
	step := stepIndex(held)
	// The 5 s pause would have ended: the hold keeps the canary where it was.
	time.Sleep(8 * time.Second)
	if r, err := getRollout(context.Background(), t, ns, name); err != nil || stepIndex(r) != step || !r.Spec.Paused {
		t.Fatalf("the held canary moved on: %v", rolloutSummary(r))
	}

	ck.keys("c")
	ck.awaitText("Continue 1 rollout?", "lifts the hold")
	ck.keys("y")
	ck.awaitText(name + ": resumed: manual pause lifted")
	awaitRollout(t, ns, name, 30*time.Second, "no longer held, at the untimed pause of step 4", func(r *v1alpha1.Rollout) bool { return !r.Spec.Paused && stepIndex(r) == 3 })
	// As a person would, undo what the screen shows: a dialog opened on
	// the step before would say the rollout moved on while it was open.
	ck.awaitLine(name, "4/5")

	ck.keys("U")
	ck.awaitText("Undo 1 rollout?", "puts back the template of the stable", "registry.example/"+name+":v1")
	ck.keys("y")
	ck.awaitText(name + ": ")
	awaitRollout(t, ns, name, 60*time.Second, "back on the stable revision", func(r *v1alpha1.Rollout) bool {
		return healthy(r) && r.Status.StableRS == stable && r.Status.CurrentPodHash == stable
	})
	if sets, err := replicaSetsByHash(context.Background(), ns, name); err != nil || sets[canary].Spec.Replicas == nil || *sets[canary].Spec.Replicas != 0 {
		t.Errorf("the canary ReplicaSet %s still has pods after the undo (err %v)", canary, err)
	}
}
