package tea

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

// loop runs renderLoop, sending each flush on flushed.
func loop(t *testing.T, interval time.Duration) (frames chan struct{}, flushed chan struct{}) {
	t.Helper()
	frames, done := make(chan struct{}, 1), make(chan struct{})
	flushed = make(chan struct{}, 1000)
	exited := make(chan struct{})
	go func() {
		renderLoop(interval, frames, done, func() { flushed <- struct{}{} })
		close(exited)
	}()
	t.Cleanup(func() {
		close(done)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			t.Error("renderLoop did not return once done")
		}
	})
	return frames, flushed
}

func wake(frames chan struct{}) {
	select {
	case frames <- struct{}{}:
	default:
	}
}

func TestRenderLoopSleepsUntilWoken(t *testing.T) {
	_, flushed := loop(t, time.Millisecond)
	select {
	case <-flushed:
		t.Fatal("flushed without a wake")
	case <-time.After(200 * time.Millisecond):
	}
}

func TestRenderLoopDrawsTheFirstChangeAtOnce(t *testing.T) {
	// An interval no test waits out: a flush seen is one not delayed by it.
	frames, flushed := loop(t, time.Hour)
	wake(frames)
	select {
	case <-flushed:
	case <-time.After(5 * time.Second):
		t.Fatal("the first wake was not flushed")
	}
	// Changes within the interval of that frame wait for its end.
	wake(frames)
	select {
	case <-flushed:
		t.Fatal("a second frame within the interval")
	case <-time.After(100 * time.Millisecond):
	}
}

func TestRenderLoopCoalescesABurst(t *testing.T) {
	frames, flushed := loop(t, 50*time.Millisecond)
	next := func(what string) {
		t.Helper()
		select {
		case <-flushed:
		case <-time.After(5 * time.Second):
			t.Fatal(what)
		}
	}
	wake(frames)
	next("the first wake was not flushed")
	// A burst within the interval of that frame is drawn in one frame when
	// the interval is over.
	for range 1000 {
		wake(frames)
	}
	next("a burst of wakes was not flushed")
	select {
	case <-flushed:
		t.Fatal("more than one frame for one burst")
	case <-time.After(300 * time.Millisecond):
	}
}

// writes records the program's writes to its output.
type writes struct {
	mu sync.Mutex
	n  int
	b  bytes.Buffer
}

func (w *writes) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n++
	return w.b.Write(p)
}

func (w *writes) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

type static struct{ text string }

func (m static) Init() Cmd { return nil }
func (m static) Update(msg Msg) (Model, Cmd) {
	if s, ok := msg.(string); ok {
		return static{s}, nil
	}
	return m, nil
}
func (m static) View() View { return NewView(m.text) }

func TestProgramDrawsChangesAndNothingWhileIdle(t *testing.T) {
	out := &writes{}
	p := NewProgram(static{"first"}, WithInput(nil), WithOutput(out), WithFPS(60),
		WithEnvironment([]string{"TERM=xterm-256color"}), WithWindowSize(40, 5), WithoutSignalHandler())
	done := make(chan error, 1)
	go func() { _, err := p.Run(); done <- err }()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: output so far %q", what, out.b.String())
			}
		}
	}
	contains := func(s string) func() bool {
		return func() bool {
			out.mu.Lock()
			defer out.mu.Unlock()
			return bytes.Contains(out.b.Bytes(), []byte(s))
		}
	}
	waitFor("the first view was not drawn", contains("first"))
	// Idle: the renderer wakes for nothing, so nothing is written.
	time.Sleep(100 * time.Millisecond)
	n := out.count()
	time.Sleep(300 * time.Millisecond)
	if m := out.count(); m != n {
		t.Errorf("%d writes while the view did not change", m-n)
	}
	p.Send("second")
	waitFor("a changed view was not drawn", contains("second"))
	p.Quit()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the program did not quit")
	}
}
