package tui

import (
	"context"
	"errors"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/roost-dev/roost/actions"
	"github.com/roost-dev/roost/themes"
	"github.com/roost-dev/roost/watch"
)

// cartAt is the fixture's cart, paused at step 2/4 waiting for a promote,
// or moved on to step index i without a pause.
func cartAt(i int32) *watch.Rollout {
	var cart *watch.Rollout
	for _, r := range fixtureRollouts() {
		if r.Name == "cart" {
			cart = r
		}
	}
	cart.PodHash, cart.Pausing = "7b9f6c5d8", true
	if i != cart.StepIndex {
		c := *cart
		c.StepIndex, c.Pausing, c.Paused, c.PauseUntilPromoted = i, false, false, false
		c.Steps = steps(i, "setWeight 20", "pause (until promoted)", "setWeight 50", "pause 2m0s")
		return &c
	}
	return cart
}

// A dialog held open while its rollout moves on says what y does now; the
// action it sends carries the state it was confirmed against.
func TestConfirmDialogFollowsItsRollout(t *testing.T) {
	th := themes.Default(nil)
	c, why := newConfirmDialog(verbPromote, []*watch.Rollout{cartAt(1)}, "", &th, nil)
	if c == nil {
		t.Fatal(why)
	}
	if got := c.plans[0].expect; got.Step != 1 || !got.Pausing || got.PodHash != "7b9f6c5d8" {
		t.Fatalf("expect %+v, want step 1, pausing, the canary's hash", got)
	}
	c.refresh(func(rolloutKey) *watch.Rollout { return cartAt(2) })
	p := c.plans[0]
	if !p.changed || p.expect.Step != 2 || p.expect.Pausing || !strings.Contains(p.effect, "skips step 3/4") {
		t.Fatalf("after the rollout moved on: %+v", p)
	}
	if screen := strings.Join(c.Render(&th, 100), "\n"); !strings.Contains(screen, "moved on while this was open; now: skips step 3/4") {
		t.Errorf("the dialog does not say the rollout moved on:\n%s", screen)
	}
	c.refresh(func(rolloutKey) *watch.Rollout { return nil })
	if c.plans[0].skip != "gone from the cluster" || c.sendable() != 0 {
		t.Errorf("a rollout gone from the cluster is still to be sent: %+v", c.plans[0])
	}
}

// expectActor records the state each action was confirmed against, by
// running the real check of actions against a rollout that moved on.
type expectActor struct {
	Actor
	got []error
}

func (a *expectActor) Promote(ctx context.Context, ns, name string) (actions.Result, error) {
	// The rollout is at step 3 now, whatever the dialog showed.
	err := actions.CheckExpect(ctx, ns, name, actions.Expect{PodHash: "7b9f6c5d8", Step: 2, Steps: 4})
	a.got = append(a.got, err)
	return actions.Result{}, err
}

func TestConfirmDialogSendsTheStateItShowed(t *testing.T) {
	c, _ := newConfirmDialog(verbPromote, []*watch.Rollout{cartAt(1)}, "", ptrTheme(themes.Default(nil)), nil)
	actor := &expectActor{}
	msg := c.send(context.Background(), func(string) Actor { return actor })().(actionDoneMsg)
	if len(actor.got) != 1 || !errors.Is(actor.got[0], actions.ErrMovedOn) {
		t.Fatalf("the action did not carry the state the dialog showed: %v", actor.got)
	}
	if st := resultStatus(msg); !strings.Contains(st.text, "now at step 3/4 (you confirmed step 2/4)") || !strings.Contains(st.text, "nothing was sent") {
		t.Errorf("status %q does not say the rollout moved on and nothing was sent", st.text)
	}
}

// Promoting a canary the judge scores Fail takes a second y.
func TestConfirmDialogFailNeedsASecondYes(t *testing.T) {
	th := themes.Default(nil)
	judge := func(*watch.Rollout) (string, bool) {
		return "judge: score Fail; worst error rate 8× stable (canary 8.0% vs 1.0%)", true
	}
	c, _ := newConfirmDialog(verbPromote, []*watch.Rollout{cartAt(1)}, "", &th, judge)
	k := newKeyMap(false)
	yes := tea.KeyPressMsg{Code: 'y', Text: "y"}
	if a, _ := c.onKey(yes, k); a != confirmOpen || !c.armed {
		t.Fatalf("first y on a failing canary: answer %v armed %v; want the dialog to ask again", a, c.armed)
	}
	screen := strings.Join(c.Render(&th, 100), "\n")
	for _, want := range []string{"score Fail", "8× stable", "press y once more"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the dialog lacks %q:\n%s", want, screen)
		}
	}
	if a, _ := c.onKey(yes, k); a != confirmYes {
		t.Fatalf("second y: %v, want yes", a)
	}
	// A passing canary needs one y.
	c, _ = newConfirmDialog(verbPromote, []*watch.Rollout{cartAt(1)}, "", &th, func(*watch.Rollout) (string, bool) { return "judge: score Pass", false })
	if a, _ := c.onKey(yes, k); a != confirmYes {
		t.Fatalf("y on a passing canary: %v, want yes", a)
	}
}

func ptrTheme(t themes.Theme) *themes.Theme { return &t }
