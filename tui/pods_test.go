package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/roost-dev/roost/watch"
)

// focusPods tabs to the pods panel.
func focusPods(t *testing.T, m Model) Model {
	t.Helper()
	for range panels {
		if m.focus == panelPods {
			return m
		}
		m = press(m, "tab")
	}
	t.Fatalf("tab never reaches the pods panel (focus %s)", m.focus)
	return m
}

// openPodSync opens the pod under the pods panel's cursor and runs the
// screen's commands in place, as the program would, until its log shows
// lines lines; the Events' refresh tick is not run.
func openPodSync(t *testing.T, m Model, lines int) Model {
	t.Helper()
	next, cmd := m.Update(keyMsg("enter"))
	m = next.(Model)
	if m.screen != screenPod {
		t.Fatalf("enter on the pods panel left the screen at %d", m.screen)
	}
	var wait tea.Cmd
	for _, c := range batchOf(cmd) {
		msg := c()
		next, cmd := m.Update(msg)
		m = next.(Model)
		if _, ok := msg.(logOpenedMsg); ok {
			wait = cmd
		}
	}
	for deadline := time.Now().Add(5 * time.Second); wait != nil && len(m.pod.logs.lines) < lines; {
		if time.Now().After(deadline) {
			t.Fatalf("the log shows %d lines, want %d", len(m.pod.logs.lines), lines)
		}
		next, cmd := m.Update(wait())
		m, wait = next.(Model), cmd
	}
	return m
}

func batchOf(cmd tea.Cmd) []tea.Cmd {
	if cmd == nil {
		return nil
	}
	if b, ok := cmd().(tea.BatchMsg); ok {
		return b
	}
	return []tea.Cmd{func() tea.Msg { return cmd() }}
}

func TestGoldenPods(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	front := func(t *testing.T, m Model) Model {
		return focusPods(t, press(selectRollout(t, m, "web", "front"), "enter"))
	}
	screens := []struct {
		name   string
		mutate func(*Options)
		setup  func(t *testing.T, m Model) Model
		sizes  []struct{ w, h int }
	}{
		// The pods panel focused, the cursor on the second pod.
		{name: "detail-pods", setup: func(t *testing.T, m Model) Model { return press(front(t, m), "down") }, sizes: sizes},
		// The crash-looping canary pod: its Events and its log, followed.
		{name: "pod-screen", setup: func(t *testing.T, m Model) Model {
			return openPodSync(t, front(t, m), len(fixtureLogLines()))
		}, sizes: sizes},
		// No kubelet to ask: the screen says so and what to do.
		{name: "pod-no-logs", mutate: func(o *Options) { o.Logs = failingLogs{kubeletDown} },
			setup: func(t *testing.T, m Model) Model { return openPodSync(t, front(t, m), 0) }, sizes: sizes[:1]},
	}
	for _, s := range screens {
		for _, size := range s.sizes {
			name := fmt.Sprintf("%s-%dx%d", s.name, size.w, size.h)
			t.Run(name, func(t *testing.T) {
				checkScreen(t, name, s.setup(t, fixtureModel(ctx, dark(t), size.w, size.h, s.mutate)))
			})
		}
	}
}

func TestPodsPanelKeys(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := fixtureModel(ctx, dark(t), 80, 24, nil)
	m = focusPods(t, press(selectRollout(t, m, "web", "front"), "enter"))
	screen := ansi.Strip(m.Render())
	if !strings.Contains(screen, "▸ Pods 10") || !strings.Contains(screen, "enter pod log") {
		t.Fatalf("the focused pods panel is not marked, or the footer does not say enter opens a pod:\n%s", screen)
	}
	// Down moves the cursor past the rows shown; the panel follows it.
	for range 9 {
		m = press(m, "down")
	}
	if got := m.podCursor(); got != 9 {
		t.Fatalf("cursor at %d after 9 downs, want the last pod (9)", got)
	}
	screen = ansi.Strip(m.Render())
	last := m.current().Pods[9].Name
	if !strings.Contains(screen, "▌ ● "+last) || !strings.Contains(screen, "above") {
		t.Errorf("the cursor's pod %s is not shown with the cursor, or the panel does not say pods are above:\n%s", last, screen)
	}
	m = press(m, "down")
	if got := m.podCursor(); got != 9 {
		t.Errorf("cursor went past the last pod: %d", got)
	}
	// Enter opens that pod; backspace comes back to the panel, the stream
	// ended.
	m = openPodSync(t, m, len(fixtureLogLines()))
	if m.pod.pod.Name != last {
		t.Fatalf("opened %s, want %s", m.pod.pod.Name, last)
	}
	cancelled := m.pod.cancel
	streamCtx := m.pod
	m = press(m, "backspace")
	if m.screen != screenDetail || m.focus != panelPods || m.pod != nil {
		t.Errorf("backspace: screen %d focus %s pod %v; want the detail with the pods panel focused", m.screen, m.focus, m.pod)
	}
	if cancelled == nil || streamCtx.cancel != nil || streamCtx.streaming {
		t.Error("leaving the pod screen did not end its stream")
	}
}

func TestLogBufferCaps(t *testing.T) {
	b := logBuffer{maxLines: 3, maxBytes: 20}
	b.add("one", "two")
	b.add("three", "four")
	if got := strings.Join(b.lines, ","); got != "two,three,four" || b.dropped != 1 || b.bytes != 12 {
		t.Errorf("by count: %q, dropped %d, bytes %d", got, b.dropped, b.bytes)
	}
	// By size: the newest line always stays, even alone over the cap.
	b.add("a-line-of-twenty-one!")
	if got := strings.Join(b.lines, ","); got != "a-line-of-twenty-one!" || b.bytes != 21 || b.dropped != 4 {
		t.Errorf("by size: %q, bytes %d, dropped %d", got, b.bytes, b.dropped)
	}
	// A line is cut at logMaxLineBytes and cleaned of escapes and
	// control characters.
	b = newLogBuffer()
	b.add(strings.Repeat("x", logMaxLineBytes+100), "\x1b[31mred\x1b[0m\tand\x07 bell\r", "bad \xff utf8")
	if n := len(b.lines[0]); n != logMaxLineBytes {
		t.Errorf("long line kept at %d bytes, want %d", n, logMaxLineBytes)
	}
	if b.lines[1] != "red    and bell" || b.lines[2] != "bad ? utf8" {
		t.Errorf("cleaned lines %q, %q", b.lines[1], b.lines[2])
	}
	// The default caps: 200 lines, 256 KiB.
	b = newLogBuffer()
	for i := range 1000 {
		b.add(fmt.Sprintf("line %d %s", i, strings.Repeat("y", 2000)))
	}
	if len(b.lines) > logTailLines || b.bytes > logMaxBytes || !strings.HasPrefix(b.lines[len(b.lines)-1], "line 999 ") {
		t.Errorf("after 1000 lines of 2 KB: %d lines, %d bytes, last %.12q", len(b.lines), b.bytes, b.lines[len(b.lines)-1])
	}
}

func TestReadLinesCutsLongLines(t *testing.T) {
	body := strings.Repeat("z", 100_000) + "\nshort\nlast without newline"
	ch := readLines(context.Background(), io.NopCloser(strings.NewReader(body)))
	var got []string
	var end error
	for c := range ch {
		if c.err != nil {
			end = c.err
			continue
		}
		got = append(got, c.line)
	}
	if len(got) != 3 || len(got[0]) != logMaxLineBytes || got[1] != "short" || got[2] != "last without newline" || !errors.Is(end, io.EOF) {
		t.Errorf("lines %d (first %d bytes), %q, end %v", len(got), len(got[0]), got[1:], end)
	}
}

// recordingLogs is a log source that records each request and serves lines
// sent on its channel until the request's context ends.
type recordingLogs struct {
	mu       sync.Mutex
	requests []LogOptions
	ctxs     []context.Context
	lines    chan string
}

func (r *recordingLogs) PodLogs(ctx context.Context, _, _ string, o LogOptions) (LogStream, error) {
	r.mu.Lock()
	r.requests = append(r.requests, o)
	r.ctxs = append(r.ctxs, ctx)
	r.mu.Unlock()
	pr, pw := io.Pipe()
	go func() {
		for {
			select {
			case l := <-r.lines:
				if ctx.Err() != nil {
					// An ended stream that took a line hands it on to the
					// stream that follows it.
					go func() { r.lines <- l }()
					_ = pw.CloseWithError(ctx.Err())
					return
				}
				if _, err := io.WriteString(pw, l+"\n"); err != nil {
					return
				}
			case <-ctx.Done():
				_ = pw.CloseWithError(ctx.Err())
				return
			}
		}
	}()
	return LogStream{Container: "app", ReadCloser: pr}, nil
}

// TestLogFollow: the log is read only while the pod screen shows it; f
// stops and starts following, new lines come while following, and a
// scrolled view stays where it is as they come.
func TestLogFollow(t *testing.T) {
	src := &recordingLogs{lines: make(chan string)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := fixtureModel(ctx, dark(t), 80, 24, func(o *Options) { o.Logs = src })
	m = focusPods(t, press(selectRollout(t, m, "web", "front"), "enter"))
	d := newDriver(t, m)
	d.press("enter")
	d.until(5*time.Second, "following (f stops)")
	src.lines <- "first line"
	src.lines <- "second line"
	d.until(5*time.Second, "first line", "second line")
	if len(src.requests) != 1 || !src.requests[0].Follow || src.requests[0].TailLines != logTailLines || src.requests[0].LimitBytes != 0 {
		t.Fatalf("requests %+v, want one follow of the last %d lines", src.requests, logTailLines)
	}
	// Scrolled up, new lines do not move the view.
	d.press("up")
	d.until(time.Second, "1 line up")
	src.lines <- "third line"
	d.eventually(5*time.Second, "the third line read", func() bool { return len(d.m.pod.logs.lines) == 3 })
	if d.m.pod.scroll != 2 || !strings.Contains(d.screen(), "2 lines up") {
		t.Errorf("scroll %d after a new line; want the view kept (2 lines up):\n%s", d.m.pod.scroll, d.screen())
	}
	d.press("G")
	d.until(time.Second, "third line")

	// f stops following: the stream's context ends, the lines stay.
	d.press("f")
	d.until(time.Second, "not following (f follows)", "third line")
	if err := src.ctxs[0].Err(); err == nil {
		t.Error("f left the stream open")
	}
	// f again opens a new stream from the last lines.
	d.press("f")
	d.until(5*time.Second, "following (f stops)")
	src.lines <- "fourth line"
	d.until(5*time.Second, "fourth line")
	if len(src.requests) != 2 || !src.requests[1].Follow {
		t.Errorf("requests %+v, want a second follow", src.requests)
	}
	// Leaving ends it.
	d.press("h")
	d.until(time.Second, "▸ Pods 10")
	if err := src.ctxs[1].Err(); err == nil {
		t.Error("leaving the pod screen left its stream open")
	}
}

func TestLogsProblemSaysWhatToDo(t *testing.T) {
	pod := watch.PodInfo{Name: "front-9d8c7b6a5-7xk2p", Restarts: 7}
	for _, c := range []struct {
		err  error
		want []string
	}{
		{kubeletDown, []string{"logs: the node's kubelet did not answer (no preferred addresses found; known addresses: [])", "try `kubectl logs -n web front-9d8c7b6a5-7xk2p`", "--previous"}},
		{forbiddenLogs, []string{"you may not read pods/log in namespace web", "roost-dashboard ClusterRole"}},
	} {
		got := logsProblem(c.err, "web", pod)
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("logsProblem(%v) = %q, want it to say %q", c.err, got, w)
			}
		}
	}
}
