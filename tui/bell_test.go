package tui

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/watch"
)

// rawOf runs cmd and every command of its batches, and returns what they
// would write to the terminal raw, in no particular order. The model's
// context is cancelled, so that the waits for the next delivery return at
// once.
func rawOf(cmd tea.Cmd) []string {
	if cmd == nil {
		return nil
	}
	switch msg := cmd().(type) {
	case tea.RawMsg:
		return []string{msg.Msg.(string)}
	case tea.BatchMsg:
		var mu sync.Mutex
		var wg sync.WaitGroup
		var out []string
		for _, c := range msg {
			wg.Go(func() {
				raw := rawOf(c)
				mu.Lock()
				out = append(out, raw...)
				mu.Unlock()
			})
		}
		wg.Wait()
		return out
	}
	return nil
}

// bellRollout is a rollout in a state that needs nobody ("healthy"), waits
// for a promote ("promote"), is aborted ("aborted") or runs a canary
// ("canary"); none has a clock on screen, so no tick is armed.
func bellRollout(name, state string) *watch.Rollout {
	r := &watch.Rollout{Namespace: "shop", Name: name, Phase: "Healthy", StepsTotal: 2, StepIndex: 2}
	switch state {
	case "promote":
		r.Phase, r.StepIndex, r.Paused, r.PauseUntilPromoted = "Paused", 1, true, true
		r.Canary = &watch.ReplicaSet{Name: name + "-new"}
	case "aborted":
		r.Phase, r.StepIndex, r.Aborted, r.AbortReason, r.AbortedBy = "Degraded", 0, true, "p99 3x stable", "alice"
	case "canary":
		r.Phase, r.StepIndex = "Progressing", 0
		r.Canary = &watch.ReplicaSet{Name: name + "-new"}
	}
	return r
}

// bellCockpit is a cockpit whose commands all return at once, fed
// deliveries by hand.
type bellCockpit struct {
	t *testing.T
	m Model
}

func newBellCockpit(t *testing.T, mutate func(*Options)) *bellCockpit {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	o := Options{Rollouts: &staticRollouts{}, Actor: noActor{}, Theme: dark(t), Now: func() time.Time { return fixtureNow }}
	if mutate != nil {
		mutate(&o)
	}
	return &bellCockpit{t: t, m: New(ctx, o)}
}

// deliver hands the cockpit the overview rs and returns what went to the
// terminal raw.
func (b *bellCockpit) deliver(rs ...*watch.Rollout) []string {
	next, cmd := b.m.Update(rolloutsMsg{overview: rs})
	b.m = next.(Model)
	return rawOf(cmd)
}

// evidence hands the cockpit evidence and returns what went out raw.
func (b *bellCockpit) evidence(items map[watch.Key]metrics.Evidence) []string {
	next, cmd := b.m.Update(evidenceMsg{items: inOneCluster(items)})
	b.m = next.(Model)
	return rawOf(cmd)
}

func (b *bellCockpit) expect(step string, got []string, want ...string) {
	b.t.Helper()
	if strings.Join(got, "|") != strings.Join(want, "|") {
		b.t.Errorf("%s: wrote %q to the terminal, want %q", step, got, want)
	}
}

// TestBellRingsOnEntering: one BEL when a rollout enters NEEDS YOU, none for
// what needed you when the cockpit opened, none while it stays, one more
// when it leaves and comes back, one for several entering at once.
func TestBellRingsOnEntering(t *testing.T) {
	b := newBellCockpit(t, nil)
	b.expect("first delivery, cart already waiting", b.deliver(bellRollout("cart", "promote"), bellRollout("front", "healthy")))
	b.expect("nothing changed", b.deliver(bellRollout("cart", "promote"), bellRollout("front", "healthy")))
	b.expect("front waits for a promote", b.deliver(bellRollout("cart", "promote"), bellRollout("front", "promote")), "\a")
	b.expect("front still waits", b.deliver(bellRollout("cart", "promote"), bellRollout("front", "promote")))
	b.expect("front from waiting to aborted: still NEEDS YOU", b.deliver(bellRollout("cart", "promote"), bellRollout("front", "aborted")))
	b.expect("front healthy again", b.deliver(bellRollout("cart", "promote"), bellRollout("front", "healthy")))
	b.expect("front back", b.deliver(bellRollout("cart", "promote"), bellRollout("front", "promote")), "\a")
	b.expect("two more at once: one bell", b.deliver(bellRollout("cart", "promote"), bellRollout("front", "promote"),
		bellRollout("search", "aborted"), bellRollout("ledger", "promote")), "\a")
	b.m = press(b.m, "/", "z", "z", "z", "enter")
	b.expect("hidden by the filter, new rollout enters", b.deliver(bellRollout("cart", "promote"), bellRollout("front", "promote"),
		bellRollout("search", "aborted"), bellRollout("ledger", "promote"), bellRollout("refunds", "aborted")), "\a")
}

// TestBellModes: off sends nothing; notify adds the notification naming
// who needs what, as OSC 9 or OSC 777, wrapped for tmux's passthrough.
func TestBellModes(t *testing.T) {
	for _, c := range []struct {
		name string
		opt  func(*Options)
		want []string
	}{
		{"off", func(o *Options) { o.Bell = BellOff }, nil},
		{"bell", func(o *Options) { o.Bell = BellRing }, []string{"\a"}},
		{"notify OSC 9", func(o *Options) { o.Bell = BellNotify },
			[]string{"\a\x1b]9;roost: shop/front was aborted by alice: p99 3x stable\a"}},
		{"notify OSC 777", func(o *Options) { o.Bell, o.BellTerminal.OSC777 = BellNotify, true },
			[]string{"\a\x1b]777;notify;roost;roost: shop/front was aborted by alice: p99 3x stable\a"}},
		{"notify in tmux", func(o *Options) { o.Bell, o.BellTerminal.Tmux = BellNotify, true },
			[]string{"\a\x1bPtmux;\x1b\x1b]9;roost: shop/front was aborted by alice: p99 3x stable\a\x1b\\"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newBellCockpit(t, c.opt)
			b.expect("first delivery", b.deliver(bellRollout("front", "canary")))
			b.expect("front aborted", b.deliver(bellRollout("front", "aborted")), c.want...)
		})
	}
}

func TestBellNotificationNamesEveryRollout(t *testing.T) {
	b := newBellCockpit(t, func(o *Options) { o.Bell = BellNotify })
	b.deliver(bellRollout("cart", "healthy"))
	b.expect("two at once", b.deliver(bellRollout("cart", "promote"), bellRollout("front", "aborted")),
		"\a\x1b]9;roost: 2 rollouts need you: shop/front was aborted by alice: p99 3x stable; shop/cart waits for a promote\a")
}

// TestBellQuietForStartupEvidence: a canary already failing its metrics
// when the cockpit opens is learnt of with its first evidence, and does not
// ring; one that starts failing later, or a new rollout whose first
// evidence fails, does.
func TestBellQuietForStartupEvidence(t *testing.T) {
	b := newBellCockpit(t, func(o *Options) { o.Evidence = staticEvidence{} })
	failing := metrics.Evidence{Score: metrics.ScoreFail}
	passing := metrics.Evidence{Score: metrics.ScorePass}
	front := watch.Key{Namespace: "shop", Name: "front"}
	cart := watch.Key{Namespace: "shop", Name: "cart"}
	b.expect("evidence before the rollouts", b.evidence(map[watch.Key]metrics.Evidence{}))
	b.expect("first delivery", b.deliver(bellRollout("front", "canary")))
	b.expect("front's first evidence fails", b.evidence(map[watch.Key]metrics.Evidence{front: failing}))
	if u := b.m.urgencyOf(b.m.all[0]); u != urgencyFailing {
		t.Fatalf("front's urgency %d, want failing (%d): the test shows nothing", u, urgencyFailing)
	}
	b.expect("front passes", b.evidence(map[watch.Key]metrics.Evidence{front: passing}))
	b.expect("front fails again", b.evidence(map[watch.Key]metrics.Evidence{front: failing}), "\a")
	b.expect("cart appears", b.deliver(bellRollout("front", "canary"), bellRollout("cart", "canary")))
	b.expect("cart's first evidence fails", b.evidence(map[watch.Key]metrics.Evidence{cart: failing}), "\a")
}

func TestParseBell(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Bell
		err  string
	}{
		{"off", BellOff, ""}, {"bell", BellRing, ""}, {"notify", BellNotify, ""},
		{"loud", BellRing, `"loud" is not a bell: use off, bell (the terminal bell, the default) or notify`},
		{"", BellRing, `"" is not a bell`},
	} {
		got, err := ParseBell(c.in)
		switch {
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("ParseBell(%q) = %v, %v; want %v", c.in, got, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("ParseBell(%q) error %v; want one saying %q", c.in, err, c.err)
		case err == nil && got.String() != c.in:
			t.Errorf("Bell(%q).String() = %q", c.in, got.String())
		}
	}
}
