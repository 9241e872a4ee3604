//go:build e2e

package e2e

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// bellCount counts the bells in what a program wrote to its terminal: BEL
// bytes outside the OSC sequences that BEL may end (a window title).
func bellCount(out []byte) int {
	n := 0
	for i := 0; i < len(out); i++ {
		switch {
		case out[i] == 0x1b && i+1 < len(out) && out[i+1] == ']':
			// Skip to the OSC's end: BEL, or ESC \.
			j := i + 2
			for j < len(out) && out[j] != 0x07 && !(out[j] == 0x1b && j+1 < len(out) && out[j+1] == '\\') {
				j++
			}
			i = j
		case out[i] == 0x07:
			n++
		}
	}
	return n
}

// TestBellCount: the counter skips the BEL that ends an OSC.
func TestBellCount(t *testing.T) {
	for s, want := range map[string]int{
		"":                            0,
		"\a":                          1,
		"\x1b]2;roost\a":              0,
		"\x1b]2;roost\x1b\\\a":        1,
		"frame\x1b[31mred\x1b[0m\a\a": 2,
	} {
		if got := bellCount([]byte(s)); got != want {
			t.Errorf("bellCount(%q) = %d, want %d", s, got, want)
		}
	}
}

// output gathers what roost writes to its terminal, from streamOutput.
type output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func gather(chunks <-chan outputChunk) *output {
	o := &output{}
	go func() {
		for c := range chunks {
			o.mu.Lock()
			o.buf.Write(c.data)
			o.mu.Unlock()
		}
	}()
	return o
}

func (o *output) bells() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return bellCount(o.buf.Bytes())
}

// awaitBells waits until roost has rung n bells in all.
func (o *output) awaitBells(t *testing.T, ck *cockpitTerm, n int, why string) {
	t.Helper()
	ck.awaitScreen(why, func(string) bool { return o.bells() >= n })
	if got := o.bells(); got != n {
		t.Errorf("%s: %d bells, want %d", why, got, n)
	}
}

// TestCockpitBell: in a real terminal, a rollout entering NEEDS YOU rings
// the bell once; nothing rings while it stays there, while others come and
// go, or for what needed you when the cockpit opened; leaving and coming
// back rings again. The cockpit runs with TERM=xterm: it draws in the 16
// ANSI colours, not 256.
func TestCockpitBell(t *testing.T) {
	t.Parallel()
	ns := env.NewNamespace(t)
	const name = "ringing"
	// A reconciler in the test steps the canaries; the cockpit watches.
	const stepper = "sre@bastion/4242"
	startInProcessController(t, ns, stepper)
	// One already waiting for a promote when the cockpit opens.
	startCanary(t, ns, "early", cockpitSteps())

	ck := startCockpit(t, ns, "cockpit-bell", []string{"TERM=xterm"}, "--reconciler=off")
	// From before the first frame: early must not ring when it is drawn.
	out := gather(ck.streamOutput())
	ck.awaitText("another roost steps the canaries: " + stepper)
	ck.awaitLine("early", "promote?", "2/4")
	if n := out.bells(); n != 0 {
		t.Errorf("the cockpit rang %d bells at start for a rollout already waiting", n)
	}

	// It enters NEEDS YOU: one bell.
	startCanary(t, ns, name, cockpitSteps())
	ck.awaitLine(name, "promote?", "2/4")
	out.awaitBells(t, ck, 1, name+" waiting for a promote rang once")

	// It stays; another rollout comes and turns healthy; the cursor moves:
	// the screen changes, nothing rings.
	createRollout(t, roleCanary(ns, "quiet", 1))
	ck.awaitLine("quiet", "healthy")
	ck.keys("j", "k", "Enter", "h")
	ck.awaitLine("quiet", "healthy")
	if n := out.bells(); n != 1 {
		t.Errorf("while %s stays in NEEDS YOU: %d bells, want 1", name, n)
	}

	// Promoted, it leaves NEEDS YOU and comes back at the next pause: one
	// more bell.
	ck.keys("/")
	ck.typeText(name)
	ck.keys("Enter")
	ck.awaitScreen("only "+name+" in the list", func(s string) bool {
		return lineWith(s, name, "promote?") != "" && !strings.Contains(s, "early")
	})
	ck.keys("p")
	ck.awaitText("Promote 1 rollout?")
	ck.keys("y")
	awaitRollout(t, ns, name, 60*time.Second, "at the second pause (step 4)", atPause(3))
	ck.awaitLine(name, "promote?", "4/4")
	out.awaitBells(t, ck, 2, name+" back at a pause rang once more")

	// TERM=xterm: ANSI colours only, no 256-colour or 24-bit codes.
	screen, err := ck.capture(true)
	if err != nil {
		t.Fatal(err)
	}
	if len(colours(screen)) == 0 {
		t.Errorf("TERM=xterm shows no colour at all")
	}
	if strings.Contains(screen, "38;5;") || strings.Contains(screen, "38;2;") || strings.Contains(screen, "48;5;") || strings.Contains(screen, "48;2;") {
		t.Errorf("TERM=xterm gets 256-colour or 24-bit codes:\n%q", screen)
	}
}
