package tui

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/roost-dev/roost/watch"
)

// clipboardText is what cmd puts on the clipboard: the text of the OSC 52
// message tea.SetClipboard makes, and whether it is one.
func clipboardText(t *testing.T, cmd tea.Cmd) string {
	t.Helper()
	if cmd == nil {
		t.Fatal("no command: nothing was copied")
	}
	msg := cmd()
	if fmt.Sprintf("%T", msg) != fmt.Sprintf("%T", tea.SetClipboard("")()) {
		t.Fatalf("the command sends %T, not tea.SetClipboard's OSC 52 message", msg)
	}
	return reflect.ValueOf(msg).String()
}

// C copies the summary of the rollout under the cursor through OSC 52, and
// the status line says so and what to do when it does not arrive.
func TestCopyRolloutSummary(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := selectRollout(t, fixtureModel(ctx, dark(t), 120, 40, nil), "web", "front")
	next, cmd := m.Update(keyMsg("C"))
	m = next.(Model)
	ev := fixtureEvidence()[watch.Key{Namespace: "web", Name: "front"}]
	want := "web/front rev 21 step 2/4 (50%) · judge Fail · worst error rate 4.67× stable (4.20% vs 0.90%) · 1 new error of 2 · " +
		ev.Metrics[1].Link + " · " + ev.ErrorsURL
	if got := clipboardText(t, cmd); got != want {
		t.Errorf("copied\n%s\nwant\n%s", got, want)
	}
	for _, part := range []string{"copied web/front's summary", "OSC 52", "set -g set-clipboard on"} {
		if !strings.Contains(m.status.text, part) {
			t.Errorf("status %q does not say %q", m.status.text, part)
		}
	}

	// Without evidence the summary is where the canary is.
	m = selectRollout(t, fixtureModel(ctx, dark(t), 120, 40, func(o *Options) { o.Evidence = nil }), "shop", "cart")
	_, cmd = m.Update(keyMsg("C"))
	if got := clipboardText(t, cmd); got != "shop/cart rev 12 step 1/4 (20%)" {
		t.Errorf("without evidence: copied %q", got)
	}
}

// In the errors panel up/down pick an error, enter opens it and reads its
// latest event, C copies it, backspace returns to the panel.
func TestErrorScreen(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := openFrontError(t, fixtureModel(ctx, dark(t), 120, 40, nil))
	screen := ansi.Strip(m.Render())
	for _, want := range []string{
		"the cart holds 3 items, 1 of them without a product (sku-7781)",
		"▸ app/models/line_item.rb:42 in price",
		"stage canary · version 4.2.0",
		"https://app.bugsnag.com/shop-co/front/errors/6750d1a2b3c4d5e6f7a8b9c0",
	} {
		if !strings.Contains(screen, want) {
			t.Errorf("the error screen does not show %q:\n%s", want, screen)
		}
	}
	// The event is read once: opening it again asks nothing. At 120×40
	// the overview and the detail share the screen.
	back := press(m, "backspace")
	if back.screen != screenOverview || !back.split() || back.focus != panelErrors || back.errOpen != nil {
		t.Errorf("backspace: screen %d, focus %s; want the split screen with the errors panel", back.screen, back.focus)
	}
	if _, cmd := back.Update(keyMsg("enter")); cmd != nil {
		t.Error("reopening the error reads its event again")
	}

	next, cmd := m.Update(keyMsg("C"))
	m = next.(Model)
	want := "web/front: NoMethodError: undefined method 'price' for nil · 42 events, 17 users in the canary · new in the canary · " +
		fixtureEvidence()[watch.Key{Namespace: "web", Name: "front"}].Errors[0].URL
	if got := clipboardText(t, cmd); got != want {
		t.Errorf("copied\n%s\nwant\n%s", got, want)
	}
	if !strings.Contains(m.status.text, "copied NoMethodError of web/front") {
		t.Errorf("status %q", m.status.text)
	}

	// The screen scrolls to the end of the stack, and no further.
	m = press(openFrontError(t, fixtureModel(ctx, dark(t), 80, 24, nil)), "G")
	screen = ansi.Strip(m.Render())
	if !strings.Contains(screen, "3 more frames in Bugsnag") || strings.Contains(screen, "┃ NoMethodError ") {
		t.Errorf("scrolled to the end:\n%s", screen)
	}
	if m.errOpen.scroll != press(m, "down").errOpen.scroll {
		t.Error("down scrolls past the end")
	}

	// The second error has no event to read: the screen says why and how
	// to try again.
	m = focusPanel(t, press(selectRollout(t, fixtureModel(ctx, dark(t), 80, 24, nil), "web", "front"), "enter"), panelErrors)
	if m.screen != screenDetail {
		t.Fatalf("at 80×24 enter shows screen %d, want the detail", m.screen)
	}
	m = press(m, "down", "down")
	if m.errCursor != 1 {
		t.Fatalf("cursor at %d after two downs over two errors, want 1", m.errCursor)
	}
	m = run(m, keyMsg("enter"))
	screen = ansi.Strip(m.Render())
	for _, want := range []string{"Timeout::Error", "execution expired calling inventory", "cannot read the latest event", "R tries again", "no link yet"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the second error's screen does not show %q:\n%s", want, screen)
		}
	}
	next, cmd = m.Update(keyMsg("R"))
	if cmd == nil || !next.(Model).details[m.errOpen.err.ID].loading {
		t.Error("R does not read the event again")
	}
}

// The metrics screen shows every metric's graph address whole, and says
// why when there are none.
func TestMetricsScreenLinks(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := press(selectRollout(t, fixtureModel(ctx, dark(t), 120, 60, nil), "web", "front"), "m")
	out := m.Render()
	ev := fixtureEvidence()[watch.Key{Namespace: "web", Name: "front"}]
	var joined strings.Builder
	for _, l := range strings.Split(ansi.Strip(out), "\n") {
		joined.WriteString(strings.TrimSpace(strings.Trim(l, "┃│ ")))
	}
	for _, mt := range ev.Metrics {
		if !strings.Contains(joined.String(), mt.Link) {
			t.Errorf("the address of %s's graph is not on screen whole", mt.Name)
		}
		if !strings.Contains(out, ansi.SetHyperlink(mt.Link)) {
			t.Errorf("%s's address is not a hyperlink (OSC 8)", mt.Name)
		}
	}
}
