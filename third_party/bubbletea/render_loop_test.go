package tea

import (
	"bytes"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"
)

// These tests go through Program only, with no name of tea.go's own, so they
// also build against upstream's tea.go: there the idle test fails, as the
// ticker flushes the renderer fps times a second.

// patience bounds every wait for something that should happen; only a
// machine far more loaded than any test run reaches it.
const patience = 10 * time.Second

// counted is the program's renderer, with the render loop's flushes counted
// and the view each one drew.
type counted struct {
	renderer
	mu      sync.Mutex
	latest  string   // the content of the last view rendered
	flushes []string // the latest content at each flush by the render loop
}

func (c *counted) render(v View) {
	c.mu.Lock()
	c.latest = v.Content
	c.mu.Unlock()
	c.renderer.render(v)
}

// flush counts the render loop's flushes: it is the only caller that is not
// closing. A flush is counted once written, with the view that was latest
// when it began (it may have drawn a newer one).
func (c *counted) flush(closing bool) error {
	c.mu.Lock()
	latest := c.latest
	c.mu.Unlock()
	err := c.renderer.flush(closing)
	if !closing {
		c.mu.Lock()
		c.flushes = append(c.flushes, latest)
		c.mu.Unlock()
	}
	return err
}

// count is the number of flushes so far.
func (c *counted) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.flushes)
}

// drew reports whether a flush since the nth drew text.
func (c *counted) drew(n int, text string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.flushes[min(n, len(c.flushes)):] {
		if f == text {
			return true
		}
	}
	return false
}

// output is the terminal: what the renderer wrote.
type output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *output) contains(s string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return bytes.Contains(o.b.Bytes(), []byte(s))
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// shown is a model whose view is the last string sent to it. It reports the
// messages every program gets at start on started.
type shown struct {
	text    string
	started chan<- string
}

func (m shown) Init() Cmd { return nil }

func (m shown) Update(msg Msg) (Model, Cmd) {
	switch msg := msg.(type) {
	case string:
		m.text = msg
	case WindowSizeMsg, ColorProfileMsg, EnvMsg:
		select {
		case m.started <- fmt.Sprintf("%T", msg):
		default:
		}
	}
	return m, nil
}

func (m shown) View() View { return NewView(m.text) }

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(patience); !ok(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal(what)
		}
	}
}

// settled runs a program at fps with a real renderer writing to out, and
// returns once it has handled its start messages and drawn the view "first".
// The program quits when the test ends.
func settled(t *testing.T, fps int) (*Program, *counted, *output) {
	t.Helper()
	out := &output{}
	env := []string{"TERM=xterm-256color"}
	started := make(chan string, 16)
	p := NewProgram(shown{"starting", started}, WithInput(nil), WithOutput(out), WithFPS(fps),
		WithEnvironment(env), WithWindowSize(40, 5), WithoutSignalHandler())
	cursed := newCursedRenderer(out, env, 40, 5)
	cursed.setNoInput(true)
	r := &counted{renderer: cursed}
	p.renderer = r
	done := make(chan error, 1)
	go func() { _, err := p.Run(); done <- err }()
	t.Cleanup(func() {
		p.Quit()
		select {
		case err := <-done:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(patience):
			t.Error("the program did not quit")
		}
	})
	// The start messages come from goroutines of their own: "first" is sent
	// after them so that drawing it means they were drawn too.
	seen := map[string]bool{}
	for len(seen) < 3 {
		select {
		case m := <-started:
			seen[m] = true
		case <-time.After(patience):
			t.Fatalf("the start messages did not come: only %v", seen)
		}
	}
	p.Send("first")
	waitFor(t, "the view was not drawn", func() bool { return r.drew(0, "first") })
	if !out.contains("first") {
		t.Fatalf("the view was flushed but not written: %q", out)
	}
	return p, r, out
}

func TestProgramSleepsWhileIdle(t *testing.T) {
	t.Parallel()
	const fps = 60
	p, r, out := settled(t, fps)
	// A wake that came with the flush of "first" may be flushed once more, an
	// interval later.
	time.Sleep(100 * time.Millisecond)
	n := r.count()
	time.Sleep(time.Second)
	// Upstream's ticker flushes about fps times here, fewer only when the
	// machine starves it; this render loop sleeps.
	idle := r.count() - n
	t.Logf("%d flushes in an idle second at %d fps", idle, fps)
	if idle > 1 {
		t.Errorf("the render loop flushed %d times in an idle second at %d fps; it must sleep until a view changes", idle, fps)
	}
	n = r.count()
	p.Send("second")
	waitFor(t, "a changed view was not drawn", func() bool { return r.drew(n, "second") && out.contains("second") })
}

func TestProgramDrawsTheFirstChangeAtOnce(t *testing.T) {
	t.Parallel()
	const fps = 1
	interval := time.Second / fps
	p, r, _ := settled(t, fps)
	// Quiet for more than an interval after the last flush, even if the
	// flush of "first" was followed by one more.
	time.Sleep(2*interval + 300*time.Millisecond)
	n, sent := r.count(), time.Now()
	p.Send("second")
	waitFor(t, "a change after a quiet spell was not drawn", func() bool { return r.drew(n, "second") })
	// Upstream draws it on the next tick, anywhere within the interval.
	if took := time.Since(sent); took > interval/2 {
		t.Errorf("a change after a quiet spell took %v to draw; it must be drawn at once, not on the next tick of %v", took, interval)
	}
	// A change within an interval of that frame waits for the interval's end.
	n, sent = r.count(), time.Now()
	p.Send("third")
	waitFor(t, "a change within an interval of the last frame was not drawn", func() bool { return r.drew(n, "third") })
	if took := time.Since(sent); took < interval/2 {
		t.Errorf("a change within an interval of the last frame was drawn after %v; frames must be %v apart", took, interval)
	}
}

func TestProgramCapsFramesAtFPS(t *testing.T) {
	t.Parallel()
	const fps = 20
	interval := time.Second / fps
	p, r, _ := settled(t, fps)
	n, began := r.count(), time.Now()
	last := ""
	for i := 0; time.Since(began) < 500*time.Millisecond; i++ {
		last = strconv.Itoa(i)
		p.Send(last)
		time.Sleep(time.Millisecond)
	}
	took, frames := time.Since(began), r.count()-n
	// Frames start at least an interval apart: one at the start, then one
	// per interval; one more for a flush under way when the burst began.
	if most := int(took/interval) + 2; frames > most {
		t.Errorf("%d frames for %v of changes at %d fps; at most %d", frames, took, fps, most)
	}
	waitFor(t, "the last change of a burst was not drawn", func() bool { return r.drew(n, last) })
}
