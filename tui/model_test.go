package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/actions"
	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/controller"
	"github.com/roost-dev/roost/internal/rollouttest"
	"github.com/roost-dev/roost/internal/sim"
	"github.com/roost-dev/roost/watch"
)

// driver runs the cockpit as a Bubble Tea program does: it feeds the
// messages of the commands the model returns back into Update, one at a
// time, while the test sends keys. It renders with Render, as the View does.
type driver struct {
	t    *testing.T
	m    Model
	msgs chan tea.Msg
}

func newDriver(t *testing.T, m Model) *driver {
	d := &driver{t: t, m: m, msgs: make(chan tea.Msg, 256)}
	next, _ := d.m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	d.m = next.(Model)
	d.exec(d.m.Init())
	return d
}

func (d *driver) exec(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	go func() {
		switch msg := cmd().(type) {
		case nil:
		case tea.BatchMsg:
			for _, c := range msg {
				d.exec(c)
			}
		default:
			d.msgs <- msg
		}
	}()
}

func (d *driver) update(msg tea.Msg) {
	next, cmd := d.m.Update(msg)
	d.m = next.(Model)
	d.exec(cmd)
}

func (d *driver) press(keys ...string) {
	for _, k := range keys {
		d.update(keyMsg(k))
	}
}

func (d *driver) screen() string { return ansi.Strip(d.m.Render()) }

// until handles messages until the screen shows all of want, or fails
// after timeout with the last screen.
func (d *driver) until(timeout time.Duration, want ...string) {
	d.t.Helper()
	deadline := time.After(timeout)
	for {
		s := d.screen()
		missing := ""
		for _, w := range want {
			if !strings.Contains(s, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return
		}
		select {
		case msg := <-d.msgs:
			d.update(msg)
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			d.t.Fatalf("after %s the screen does not show %q:\n%s", timeout, missing, s)
		}
	}
}

// eventually handles messages until cond holds, or fails after timeout.
func (d *driver) eventually(timeout time.Duration, what string, cond func() bool) {
	d.t.Helper()
	deadline := time.After(timeout)
	for !cond() {
		select {
		case msg := <-d.msgs:
			d.update(msg)
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			d.t.Fatalf("after %s, still not %s; the screen:\n%s", timeout, what, d.screen())
		}
	}
}

// simCockpit is the cockpit over a simulated cluster stepped by roost's own
// reconciler: every action goes through the real Actions, watch layer and
// reconciler.
type simCockpit struct {
	*driver
	c      *sim.Cluster
	ctx    context.Context
	cancel context.CancelFunc
}

func startSimCockpit(t *testing.T, opt sim.Options, mutate func(*Options), rollouts ...*v1alpha1.Rollout) *simCockpit {
	t.Helper()
	opt.PodStartMin, opt.PodStartMax = 20*time.Millisecond, 80*time.Millisecond
	opt.PodStopMin, opt.PodStopMax = 10*time.Millisecond, 30*time.Millisecond
	c, err := sim.New(opt)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 3)
	go func() { _ = c.Run(ctx); done <- struct{}{} }()
	w, err := watch.New(watch.Options{Kube: c.Kube, Dynamic: c.Dynamic, FullObjects: true})
	if err != nil {
		t.Fatal(err)
	}
	w.Start(ctx)
	ctrl, err := controller.New(controller.Config{Kube: c.Kube, Dynamic: c.Dynamic, Watcher: w})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = ctrl.Run(ctx, 2); done <- struct{}{} }()
	t.Cleanup(func() {
		cancel()
		<-done
		<-done
	})
	for _, r := range rollouts {
		if err := c.CreateRollout(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	o := Options{
		Context:  "sim",
		Rollouts: &WatchRollouts{Watcher: w, Store: watch.NewStore(w)},
		Actor:    actions.NewActions(c.Dynamic, c.Kube, actions.WhoAmI(ctx, c.Kube, "tester")),
		Access: func(ctx context.Context, ns string) (actions.Access, error) {
			return actions.CheckAccess(ctx, c.Kube, ns)
		},
		Theme:     dark(t),
		Logs:      simPods{c},
		PodEvents: simPods{c},
	}
	if mutate != nil {
		mutate(&o)
	}
	return &simCockpit{driver: newDriver(t, New(ctx, o)), c: c, ctx: ctx, cancel: cancel}
}

const testNS = "shop"

func canaryRollout(name string, replicas int32, steps ...v1alpha1.CanaryStep) *v1alpha1.Rollout {
	return rollouttest.New(testNS, name).Replicas(replicas).Image(name + ":1").Steps(steps...).Rollout()
}

var (
	weight        = rollouttest.SetWeight
	untilPromoted = rollouttest.Pause
)

// rollout reads a Rollout back from the simulated API server.
func (s *simCockpit) rollout(name string) *v1alpha1.Rollout {
	s.t.Helper()
	u, err := s.c.Dynamic.Resource(v1alpha1.RolloutGVR).Namespace(testNS).Get(s.ctx, name, metav1.GetOptions{})
	if err != nil {
		s.t.Fatal(err)
	}
	r, _ := v1alpha1.FromUnstructured(u)
	return r
}

// atFirstPause creates the canaries and starts a new revision of each, so
// that they wait at their untimed pause.
func (s *simCockpit) newRevision(names ...string) {
	s.t.Helper()
	for _, n := range names {
		s.until(20*time.Second, n, "healthy")
	}
	for _, n := range names {
		if err := s.c.SetImage(testNS, n, n+":2"); err != nil {
			s.t.Fatal(err)
		}
	}
}

// focus filters the overview down to one rollout.
func (s *simCockpit) focus(name string) {
	s.press("/", "ctrl+c", "/")
	s.press(strings.Split(name, "")...)
	s.press("enter")
}

func TestKeysPromoteAndAbortOnTheCluster(t *testing.T) {
	s := startSimCockpit(t, sim.Options{}, nil,
		canaryRollout("cart", 10, weight(20), untilPromoted(), weight(50), untilPromoted()))
	s.newRevision("cart")
	s.until(30*time.Second, "promote?", "2/2", "8/8")
	s.focus("cart")
	s.press("enter")
	s.until(5*time.Second, "shop/cart", "Step 2/4", "waiting for a promote")

	// n sends nothing.
	before := s.rollout("cart").ResourceVersion
	s.press("p")
	s.until(time.Second, "Promote 1 rollout?", "releases the pause at step 2/4; next: setWeight 50 (canary 5 of 10 pods)")
	s.press("n")
	s.until(time.Second, "promote cancelled; nothing was sent")
	if after := s.rollout("cart").ResourceVersion; after != before {
		t.Fatalf("n changed the rollout: resourceVersion %s → %s", before, after)
	}

	// p y releases the pause; the reconciler takes the canary to 50%.
	s.press("p", "y")
	s.until(10*time.Second, "shop/cart: promoted: pause at step 2/4 released")
	s.eventually(30*time.Second, "the canary at 50% and paused at step 4", func() bool {
		r := s.rollout("cart")
		return ptr.Deref(r.Status.CurrentStepIndex, 0) == 3 && len(r.Status.PauseConditions) == 1
	})
	s.until(30*time.Second, "shop/cart · Step 4/4", "5/5 stable")

	// a e <reason> enter aborts with the reason, which everyone sees.
	s.press("a")
	s.until(time.Second, "Abort 1 rollout?", "scales the canary to 0")
	s.press("e")
	s.press(strings.Split("p99 3x stable", "")...)
	s.press("enter")
	s.until(10*time.Second, "shop/cart: aborted")
	s.until(30*time.Second, "Aborted: p99 3x stable", "10/10 stable")
	r := s.rollout("cart")
	if !r.Status.Abort || r.Annotations[v1alpha1.AbortReasonAnnotation] != "p99 3x stable" {
		t.Fatalf("abort not on the cluster: abort %v, annotations %v", r.Status.Abort, r.Annotations)
	}

	// r y retries from step 1.
	s.press("r", "y")
	s.until(10*time.Second, "shop/cart: retried")
	s.until(30*time.Second, "Step 2/4", "waiting for a promote")
	if r := s.rollout("cart"); r.Status.Abort {
		t.Fatal("retry left abort set")
	}
}

func TestMarkedRolloutsPromoteFullyTogether(t *testing.T) {
	s := startSimCockpit(t, sim.Options{}, nil,
		canaryRollout("cart", 4, weight(25), untilPromoted()),
		canaryRollout("search", 4, weight(25), untilPromoted()),
		canaryRollout("front", 4, weight(25), untilPromoted()))
	s.newRevision("cart", "search", "front")
	s.until(30*time.Second, "3 need you")
	s.focus("cart")
	s.press("space")
	s.focus("search")
	s.press("space", "/", "ctrl+c")
	s.until(time.Second, "2 marked")
	s.press("P")
	s.until(time.Second, "Promote fully 2 rollouts?", "shop/cart: skips the 1 step left", "shop/search: skips the 1 step left")
	s.press("y")
	s.until(10*time.Second, "promote fully: all 2 rollouts done")
	stable := func(name string) bool {
		r := s.rollout(name)
		return r.Status.StableRS != "" && r.Status.StableRS == r.Status.CurrentPodHash
	}
	s.eventually(30*time.Second, "the marked rollouts stable", func() bool { return stable("cart") && stable("search") })
	if stable("front") || !s.rollout("front").Status.PauseConditions[0].StartTime.Before(&metav1.Time{Time: time.Now()}) {
		t.Errorf("the unmarked rollout moved: %+v", s.rollout("front").Status)
	}
	s.until(30*time.Second, "1 need you")
}

func TestReadOnlyAndForbiddenSendNothing(t *testing.T) {
	ro := startSimCockpit(t, sim.Options{}, func(o *Options) { o.ReadOnly, o.Actor = true, nil },
		canaryRollout("cart", 2, weight(50), untilPromoted()))
	ro.newRevision("cart")
	ro.until(30*time.Second, "promote?", "read-only")
	before := ro.rollout("cart").ResourceVersion
	ro.press("p")
	ro.until(time.Second, "read-only (--readonly): roost sends no actions")
	if after := ro.rollout("cart").ResourceVersion; after != before {
		t.Errorf("read-only changed the rollout")
	}

	denied := startSimCockpit(t, sim.Options{Deny: []sim.Denial{{Verb: "patch", Resource: "rollouts/status", Namespace: testNS}}}, nil,
		canaryRollout("cart", 2, weight(50), untilPromoted()))
	denied.newRevision("cart")
	denied.until(30*time.Second, "promote?", "actions off", "you may not patch rollouts/status in namespace shop")
	denied.press("p")
	denied.until(time.Second, "cannot promote shop/cart: you may not patch rollouts/status")
}
