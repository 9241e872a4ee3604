package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/klog/v2"
)

func main() {
	logs := &logSink{}
	logs.init()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	a := newApp(os.Stdout, os.Stderr)
	a.logFile = logs.path
	a.setLogFile = logs.open
	prof, err := newProfiler(os.Getenv(profileEnv), os.Getenv(profileWindowEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "roost:", err)
		os.Exit(2)
	}
	a.firstFrame = prof.firstFrame
	stopProfile := prof.start()
	code := execute(ctx, a, os.Args[1:])
	stopProfile()
	stop()
	logs.close()
	os.Exit(code)
}

// klogFlags holds klog's settings; --v on the command line reaches it.
var klogFlags = flag.NewFlagSet("klog", flag.ContinueOnError)

// logSink is where klog (client-go's logs) goes: a file, never the terminal,
// where it would tear the dashboard or a script's output apart. By default the
// file is $XDG_STATE_HOME/roost/roost.log (~/.local/state/roost/roost.log),
// created when the first line is logged, so that a command that logs nothing
// or drops its logs (roost demo) leaves no file; when it cannot be opened the
// logs are dropped rather than shown.
type logSink struct {
	f    *os.File
	path string
	// lazy is the default file until --log-file replaces it.
	lazy *fileOnFirstWrite
}

func (s *logSink) init() {
	klog.InitFlags(klogFlags)
	for name, value := range map[string]string{
		"logtostderr":     "false",
		"alsologtostderr": "false",
		"stderrthreshold": "FATAL",
		"one_output":      "true",
	} {
		if err := klogFlags.Set(name, value); err != nil {
			panic(fmt.Sprintf("klog flag %s: %v", name, err))
		}
	}
	s.path = defaultLogPath()
	s.lazy = &fileOnFirstWrite{path: s.path}
	klog.SetOutput(s.lazy)
}

// open sends the logs to path; "-" is stderr, for `roost controller` in a pod,
// where stderr is collected rather than shown.
func (s *logSink) open(path string) error {
	if path == "-" {
		s.close()
		s.path = "stderr"
		klog.SetOutput(os.Stderr)
		return nil
	}
	f, err := openLog(path)
	if err != nil {
		return err
	}
	klog.SetOutput(f)
	s.close()
	s.f, s.path = f, path
	return nil
}

func (s *logSink) close() {
	klog.Flush()
	if s.f != nil {
		_ = s.f.Close()
		s.f = nil
	}
	if s.lazy != nil {
		s.lazy.close()
		s.lazy = nil
	}
}

func openLog(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	return os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
}

// fileOnFirstWrite is a log file opened by its first line; when it cannot
// be opened, what is written is dropped.
type fileOnFirstWrite struct {
	path string

	mu     sync.Mutex
	f      *os.File
	opened bool
}

func (w *fileOnFirstWrite) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.opened {
		w.opened = true
		w.f, _ = openLog(w.path)
	}
	if w.f == nil {
		return len(p), nil
	}
	return w.f.Write(p)
}

func (w *fileOnFirstWrite) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil {
		_ = w.f.Close()
		w.f = nil
	}
}

func defaultLogPath() string {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = os.TempDir()
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "roost", "roost.log")
}

// profileEnv names a file for a CPU profile of the whole run, for the
// figures of `make e2e-scale` and for a user reporting a slow cockpit:
// `ROOST_CPUPROFILE=roost.pprof roost`, then `go tool pprof -top roost.pprof`;
// the heap when the profile ends goes to roost.pprof.heap.
// Nothing is written without it, and no port is opened either way.
const profileEnv = "ROOST_CPUPROFILE"

// profileWindowEnv narrows the profile to a window after the cockpit's
// first complete frame, "DELAY+LENGTH" (e.g. "10s+30s"): what an idle
// cockpit spends, without its start-up.
const profileWindowEnv = "ROOST_CPUPROFILE_WINDOW"

// profiler writes the CPU profile profileEnv asks for, over the whole run
// or over the window profileWindowEnv gives.
type profiler struct {
	path          string
	delay, length time.Duration
	windowed      bool

	mu      sync.Mutex
	f       *os.File
	stopped bool
}

// newProfiler reads the two settings; a window that does not parse is an
// error naming the setting and its form.
func newProfiler(path, window string) (*profiler, error) {
	p := &profiler{path: path}
	if window == "" || path == "" {
		return p, nil
	}
	d, l, ok := strings.Cut(window, "+")
	delay, err1 := time.ParseDuration(d)
	length, err2 := time.ParseDuration(l)
	if !ok || err1 != nil || err2 != nil || delay < 0 || length <= 0 {
		return nil, fmt.Errorf("%s=%q: want DELAY+LENGTH after the first complete frame, e.g. 10s+30s", profileWindowEnv, window)
	}
	p.delay, p.length, p.windowed = delay, length, true
	return p, nil
}

// start begins the profile now unless it has a window, and returns what
// ends it; a profile that cannot start is logged, never fatal.
func (p *profiler) start() func() {
	if p.path != "" && !p.windowed {
		p.begin()
	}
	return p.end
}

// firstFrame opens the window, if there is one.
func (p *profiler) firstFrame() {
	if !p.windowed {
		return
	}
	time.AfterFunc(p.delay, func() {
		p.begin()
		time.AfterFunc(p.length, p.end)
	})
}

func (p *profiler) begin() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.f != nil || p.stopped {
		return
	}
	f, err := os.Create(p.path)
	if err != nil {
		klog.ErrorS(err, "no CPU profile", "env", profileEnv)
		return
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		klog.ErrorS(err, "no CPU profile", "env", profileEnv)
		f.Close()
		return
	}
	p.f = f
}

// end stops the profile (once) and writes the heap as it stands beside it.
func (p *profiler) end() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	if p.f == nil {
		return
	}
	pprof.StopCPUProfile()
	p.f.Close()
	p.f = nil
	if h, err := os.Create(p.path + ".heap"); err == nil {
		_ = pprof.Lookup("heap").WriteTo(h, 0)
		h.Close()
	}
}
