package tui

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/roost-dev/roost/actions"
)

// countingActor counts what would have been sent.
type countingActor struct{ calls atomic.Int32 }

func (a *countingActor) Promote(context.Context, string, string) (actions.Result, error) {
	a.calls.Add(1)
	return actions.Result{}, nil
}
func (a *countingActor) PromoteFull(context.Context, string, string) (actions.Result, error) {
	a.calls.Add(1)
	return actions.Result{}, nil
}
func (a *countingActor) Abort(context.Context, string, string, string) (actions.Result, error) {
	a.calls.Add(1)
	return actions.Result{}, nil
}
func (a *countingActor) Retry(context.Context, string, string) (actions.Result, error) {
	a.calls.Add(1)
	return actions.Result{}, nil
}
func (a *countingActor) Pause(context.Context, string, string) (actions.Result, error) {
	a.calls.Add(1)
	return actions.Result{}, nil
}
func (a *countingActor) Resume(context.Context, string, string) (actions.Result, error) {
	a.calls.Add(1)
	return actions.Result{}, nil
}
func (a *countingActor) Restart(context.Context, string, string) (actions.Result, error) {
	a.calls.Add(1)
	return actions.Result{}, nil
}
func (a *countingActor) Undo(context.Context, string, string, int64) (actions.Result, error) {
	a.calls.Add(1)
	return actions.Result{}, nil
}
func (a *countingActor) TerminateAnalysis(context.Context, string, string, string) (actions.Result, error) {
	a.calls.Add(1)
	return actions.Result{}, nil
}

// TestReadOnlyListsNoActionAndSendsNothing: with --readonly (or no one to
// send actions) the footer and the ? screen list no action key, and p P a r
// space u open no confirmation and send nothing, on the overview and in the
// detail.
func TestReadOnlyListsNoActionAndSendsNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	actionWords := []string{"promote", "abort", "retry", "mark", "p P a r"}
	for _, c := range []struct {
		name string
		opt  func(o *Options, a *countingActor)
	}{
		{"--readonly", func(o *Options, a *countingActor) { o.ReadOnly, o.Actor = true, a }},
		{"no actor", func(o *Options, _ *countingActor) { o.Actor = nil }},
	} {
		t.Run(c.name, func(t *testing.T) {
			actor := &countingActor{}
			m := fixtureModel(ctx, dark(t), 120, 40, func(o *Options) { c.opt(o, actor) })
			for _, screen := range []string{"overview", "detail"} {
				if screen == "detail" {
					next, _ := m.Update(keyMsg("enter"))
					m = next.(Model)
				}
				lines := strings.Split(ansi.Strip(m.Render()), "\n")
				footer := strings.Join(lines[len(lines)-2:], "\n")
				if !strings.Contains(footer, "read-only") {
					t.Errorf("%s: the footer does not say the cockpit is read-only:\n%s", screen, footer)
				}
				keys := lines[len(lines)-1]
				for _, w := range actionWords {
					if strings.Contains(keys, w) {
						t.Errorf("%s: the footer's keys list %q in a read-only cockpit:\n%s", screen, w, keys)
					}
				}
				for _, k := range []string{"p", "P", "a", "r", "s", "c", "X", "U", "T", "space", "u"} {
					next, cmd := m.Update(keyMsg(k))
					m = next.(Model)
					if m.confirm != nil {
						t.Fatalf("%s: %s opened a confirmation in a read-only cockpit", screen, k)
					}
					if cmd != nil {
						if msg := cmd(); msg != nil {
							t.Errorf("%s: %s ran a command that returned %T", screen, k, msg)
						}
					}
					if len(m.marked) != 0 {
						t.Errorf("%s: %s marked a rollout in a read-only cockpit", screen, k)
					}
				}
				if got := m.status.text; !strings.Contains(got, "read-only (--readonly): roost sends no actions") {
					t.Errorf("%s: after p P a r the status says %q; want why nothing happens", screen, got)
				}
			}
			next, _ := m.Update(keyMsg("?"))
			m = next.(Model)
			help := ansi.Strip(m.Render())
			// The legend may say what promote? means; no key may promote.
			for _, w := range []string{"p promote", "P promote", "a abort", "r retry", "space mark", "(p)"} {
				if strings.Contains(help, w) {
					t.Errorf("the ? screen lists %q in a read-only cockpit:\n%s", w, help)
				}
			}
			if n := actor.calls.Load(); n != 0 {
				t.Errorf("a read-only cockpit sent %d actions", n)
			}
		})
	}
}
