//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// screenTimeout is how long a test waits for text on the screen: generous,
// for a loaded 2-core machine running the whole suite.
const screenTimeout = 60 * time.Second

// tmuxSockets numbers the tmux servers of one test binary run.
var tmuxSockets atomic.Int64

// cockpitTerm is `roost` (the cockpit) running in a real terminal: a
// detached tmux session on a tmux server of its own (its own socket, so that
// tests never see each other's sessions or a person's tmux). Keys go in with
// send-keys; the screen comes out with capture-pane.
type cockpitTerm struct {
	t       testing.TB
	name    string
	socket  string
	logFile string

	mu sync.Mutex
	// last is the last screen captured, shown when the test fails.
	last string
}

// startCockpit runs the built roost with no subcommand in namespace ns in a
// 120x40 tmux pane, as an SRE would from a shell: TERM=tmux-256color,
// LANG=C.UTF-8, KUBECONFIG of the test cluster, HOME in a temporary folder
// (so no configuration of the machine's user is read) and nothing else from
// the test's environment. environ adds or overrides variables ("NO_COLOR=1",
// "LANG=C"); args are roost's flags after -n.
func startCockpit(t testing.TB, ns, name string, environ []string, args ...string) *cockpitTerm {
	t.Helper()
	bin := roostBinary(t)
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{
		"PATH":       os.Getenv("PATH"),
		"HOME":       home,
		"TERM":       "tmux-256color",
		"LANG":       "C.UTF-8",
		"KUBECONFIG": env.Kubeconfig,
	}
	order := []string{"PATH", "HOME", "TERM", "LANG", "KUBECONFIG"}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if _, ok := vars[k]; !ok {
			order = append(order, k)
		}
		vars[k] = v
	}
	cmd := []string{"env", "-i"}
	for _, k := range order {
		cmd = append(cmd, k+"="+vars[k])
	}
	logFile := filepath.Join(dir, name+".log")
	cmd = append(cmd, bin, "--log-file", logFile, "-n", ns)
	return startInTmux(t, name, logFile, 120, 40, nil, append(cmd, args...))
}

// startInTmux runs command (its arguments given apart, so that tmux runs it
// without a shell and nothing needs quoting) in a detached width x height
// session named "cockpit" on a tmux server of its own; sessionFlags go to
// new-session before the command (e.g. -c for the working folder). logFile is
// the log shown when the test fails. The tmux server is killed when the test
// ends, even when it fails; when it fails, the last screen and the tail of
// the log are logged.
func startInTmux(t testing.TB, name, logFile string, width, height int, sessionFlags, command []string) *cockpitTerm {
	t.Helper()
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		t.Fatalf("the terminal tests need tmux, and it is not on PATH (%v): install it (apt-get install tmux)", err)
	}
	dir := t.TempDir()
	c := &cockpitTerm{
		t:       t,
		name:    name,
		socket:  fmt.Sprintf("roost-e2e-%d-%d", os.Getpid(), tmuxSockets.Add(1)),
		logFile: logFile,
	}
	// The pane stays after roost exits, so that an exit code and whatever
	// roost printed on its way out can be read (the history keeps what
	// scrolled off, a panic's report and stack). The watchdog (tail --pid)
	// ends the tmux server should this test binary die before its cleanup
	// runs (a go test timeout panics without running cleanups): roost never
	// outlives it. The cleanup ends the watchdog by its pid.
	conf := filepath.Join(dir, "tmux.conf")
	watchdog := filepath.Join(dir, "watchdog.pid")
	confText := fmt.Sprintf("set -g status off\nset -g remain-on-exit on\nset -g history-limit 1000\n"+
		"run-shell -b 'tail --pid=%d -f /dev/null & echo $! > %s; wait $!; %s -L %s kill-server'\n",
		os.Getpid(), watchdog, tmux, c.socket)
	if err := os.WriteFile(conf, []byte(confText), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-f", conf, "new-session", "-d", "-s", "cockpit", "-x", strconv.Itoa(width), "-y", strconv.Itoa(height)}
	args = append(append(args, sessionFlags...), command...)
	t.Cleanup(func() {
		if t.Failed() {
			c.report()
		}
		// "no server running" is fine: roost quit and tmux went with it.
		_, _ = c.tmux("kill-server")
		if b, err := os.ReadFile(watchdog); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
				_ = syscall.Kill(pid, syscall.SIGTERM)
			}
		}
	})
	if _, err := c.tmux(args...); err != nil {
		t.Fatalf("%s: start in tmux: %v", name, err)
	}
	return c
}

// tmux runs one tmux command on this cockpit's server.
func (c *cockpitTerm) tmux(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "tmux", append([]string{"-L", c.socket}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("tmux %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// keys sends tmux key names ("p", "Enter", "Space", "BSpace", "/").
func (c *cockpitTerm) keys(keys ...string) {
	c.t.Helper()
	if _, err := c.tmux(append([]string{"send-keys", "-t", "cockpit"}, keys...)...); err != nil {
		c.t.Fatalf("%s: %v", c.name, err)
	}
}

// typeText types s as it is, character by character.
func (c *cockpitTerm) typeText(s string) {
	c.t.Helper()
	if _, err := c.tmux("send-keys", "-t", "cockpit", "-l", s); err != nil {
		c.t.Fatalf("%s: %v", c.name, err)
	}
}

// capture reads the screen as text; with escapes, SGR sequences carry the
// attributes and colours of each cell.
func (c *cockpitTerm) capture(escapes bool) (string, error) {
	args := []string{"capture-pane", "-p", "-t", "cockpit"}
	if escapes {
		args = append(args, "-e")
	}
	s, err := c.tmux(args...)
	if err == nil && !escapes {
		c.mu.Lock()
		c.last = s
		c.mu.Unlock()
	}
	return s, err
}

// awaitScreen polls the screen every 100 ms until ok holds for it, and
// returns that screen. what names the expectation in the failure.
func (c *cockpitTerm) awaitScreen(what string, ok func(screen string) bool) string {
	c.t.Helper()
	deadline := time.Now().Add(screenTimeout)
	var lastErr error
	for {
		s, err := c.capture(false)
		if err == nil && ok(s) {
			return s
		}
		lastErr = err
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: timed out after %s waiting for the screen to show %s (last tmux error: %v); the last screen and roost's log follow", c.name, screenTimeout, what, lastErr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// awaitText waits until the screen shows every one of texts.
func (c *cockpitTerm) awaitText(texts ...string) string {
	c.t.Helper()
	return c.awaitScreen(fmt.Sprintf("%q", texts), func(s string) bool { return containsAll(s, texts...) })
}

// awaitLine waits until one line of the screen shows every one of texts, and
// returns that line.
func (c *cockpitTerm) awaitLine(texts ...string) string {
	c.t.Helper()
	var line string
	c.awaitScreen(fmt.Sprintf("one line with %q", texts), func(s string) bool {
		line = lineWith(s, texts...)
		return line != ""
	})
	return line
}

func containsAll(s string, texts ...string) bool {
	for _, x := range texts {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

// lineWith is the first line of screen holding every one of texts, or "".
func lineWith(screen string, texts ...string) string {
	for _, l := range strings.Split(screen, "\n") {
		if containsAll(l, texts...) {
			return l
		}
	}
	return ""
}

// resize sets the window (and so roost's terminal) to width x height.
func (c *cockpitTerm) resize(width, height int) {
	c.t.Helper()
	if _, err := c.tmux("resize-window", "-t", "cockpit", "-x", strconv.Itoa(width), "-y", strconv.Itoa(height)); err != nil {
		c.t.Fatalf("%s: %v", c.name, err)
	}
}

// pane reads one of tmux's pane formats, e.g. "#{pane_pid}".
func (c *cockpitTerm) pane(format string) (string, error) {
	out, err := c.tmux("display-message", "-p", "-t", "cockpit", format)
	return strings.TrimSpace(out), err
}

// pid is roost's process id (env execs it, so it is the pane's process).
func (c *cockpitTerm) pid() int {
	c.t.Helper()
	out, err := c.pane("#{pane_pid}")
	if err != nil {
		c.t.Fatalf("%s: %v", c.name, err)
	}
	pid, err := strconv.Atoi(out)
	if err != nil {
		c.t.Fatalf("%s: pane pid %q: %v", c.name, out, err)
	}
	return pid
}

// awaitExit waits for roost to end and returns its exit status: tmux's
// record of it, or, while tmux has not reaped the process yet (tmux 3.3 at
// times leaves it a zombie for a minute and more), the status the kernel
// keeps for the zombie.
func (c *cockpitTerm) awaitExit() int {
	c.t.Helper()
	pid := c.pid()
	var status, signal string
	c.awaitScreen("roost to exit", func(string) bool {
		out, err := c.pane("#{pane_dead_status}:#{pane_dead_signal}")
		if err != nil {
			return false
		}
		status, signal, _ = strings.Cut(out, ":")
		if status != "" || signal != "" {
			return true
		}
		code, sig, zombie := zombieExit(pid)
		if zombie {
			status, signal = strconv.Itoa(code), ""
			if sig != 0 {
				status, signal = "", strconv.Itoa(sig)
			}
		}
		return zombie
	})
	if signal != "" {
		c.t.Fatalf("%s: roost was killed by signal %s", c.name, signal)
	}
	code, err := strconv.Atoi(status)
	if err != nil {
		c.t.Fatalf("%s: exit status %q: %v", c.name, status, err)
	}
	return code
}

// zombieExit reads the exit code, or the signal that ended it, of process
// pid if it has exited and not been reaped: field 52 of /proc/<pid>/stat
// holds the status as waitpid reports it.
func zombieExit(pid int) (code, signal int, ok bool) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	s := string(raw)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 50 || fields[0] != "Z" {
		return 0, 0, false
	}
	w, err := strconv.Atoi(fields[49])
	if err != nil {
		return 0, 0, false
	}
	return (w >> 8) & 0xff, w & 0x7f, true
}

// logTail is the end of roost's log file.
func (c *cockpitTerm) logTail(lines int) string {
	b, err := os.ReadFile(c.logFile)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(all[max(len(all)-lines, 0):], "\n")
}

// report logs the last screen captured and the tail of roost's log; once
// roost has exited, what it printed on its way out with what scrolled off
// the screen (a panic's report starts there).
func (c *cockpitTerm) report() {
	c.mu.Lock()
	last := c.last
	c.mu.Unlock()
	if s, err := c.capture(false); err == nil {
		last = s
	}
	if dead, _ := c.pane("#{pane_dead}"); dead == "1" {
		if s, err := c.tmux("capture-pane", "-p", "-t", "cockpit", "-S", "-"); err == nil {
			last = strings.TrimRight(s, "\n")
		}
	}
	c.t.Logf("%s: last screen:\n%s\n%s: tail of roost's log %s:\n%s", c.name, last, c.name, c.logFile, c.logTail(40))
}

// outputChunk is what roost wrote to its terminal, as tmux read it.
type outputChunk struct {
	at   time.Time
	data []byte
}

// streamOutput copies everything roost writes to its terminal from now on,
// stamped with the time it arrives: tmux's pipe-pane writes the pane's output
// into a FIFO the test reads. It stops when the test ends.
func (c *cockpitTerm) streamOutput() <-chan outputChunk {
	c.t.Helper()
	fifo := filepath.Join(c.t.TempDir(), "output")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		c.t.Fatalf("%s: mkfifo %s: %v", c.name, fifo, err)
	}
	type opened struct {
		f   *os.File
		err error
	}
	// Opening a FIFO to read waits for its writer, tmux's cat.
	open := make(chan opened, 1)
	go func() {
		f, err := os.OpenFile(fifo, os.O_RDONLY, 0)
		open <- opened{f, err}
	}()
	if _, err := c.tmux("pipe-pane", "-O", "-t", "cockpit", "exec cat > "+fifo); err != nil {
		c.t.Fatalf("%s: %v", c.name, err)
	}
	var f *os.File
	select {
	case o := <-open:
		if o.err != nil {
			c.t.Fatalf("%s: open %s: %v", c.name, fifo, o.err)
		}
		f = o.f
	case <-time.After(15 * time.Second):
		c.t.Fatalf("%s: tmux's pipe-pane never opened %s", c.name, fifo)
	}
	out := make(chan outputChunk, 4096)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(out)
		buf := make([]byte, 64<<10)
		for {
			n, err := f.Read(buf)
			if n > 0 {
				out <- outputChunk{at: time.Now(), data: append([]byte(nil), buf[:n]...)}
			}
			if err != nil {
				return
			}
		}
	}()
	c.t.Cleanup(func() {
		// pipe-pane without a command stops the copy; cat then ends.
		_, _ = c.tmux("pipe-pane", "-t", "cockpit")
		_ = f.Close()
		for range out {
		}
		<-done
	})
	return out
}

// escapes matches terminal control sequences: CSI, OSC and two-byte escapes.
var escapes = regexp.MustCompile("\x1b(\\[[0-?]*[ -/]*[@-~]|\\][^\x07\x1b]*(\x07|\x1b\\\\)|[ -/]*[0-~])")

// printed is the text of terminal output without its control sequences.
func printed(b []byte) string { return escapes.ReplaceAllString(string(b), "") }
