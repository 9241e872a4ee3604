// Command roost is a terminal cockpit for live canary releases on Kubernetes.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"k8s.io/klog/v2"
)

func main() {
	logs := &logSink{}
	logs.init()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	a := newApp(os.Stdout, os.Stderr)
	a.logFile = logs.path
	a.setLogFile = logs.open
	code := execute(ctx, a, os.Args[1:])
	stop()
	logs.close()
	os.Exit(code)
}

// klogFlags holds klog's settings; --v on the command line reaches it.
var klogFlags = flag.NewFlagSet("klog", flag.ContinueOnError)

// logSink is where klog (client-go's logs) goes: a file, never the terminal,
// where it would tear the dashboard or a script's output apart. By default the
// file is $XDG_STATE_HOME/roost/roost.log (~/.local/state/roost/roost.log);
// when it cannot be opened the logs are dropped rather than shown.
type logSink struct {
	f    *os.File
	path string
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
	if err := s.open(defaultLogPath()); err != nil {
		s.path = ""
		klog.SetOutput(io.Discard)
	}
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
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
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
