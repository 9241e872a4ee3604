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
	logFile, closeLog := setupLogging()
	defer closeLog()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	a := newApp(os.Stdout, os.Stderr)
	a.logFile = logFile
	code := execute(ctx, a, os.Args[1:])
	stop()
	klog.Flush()
	closeLog()
	os.Exit(code)
}

// klogFlags holds klog's settings; --v on the command line reaches it.
var klogFlags = flag.NewFlagSet("klog", flag.ContinueOnError)

// setupLogging sends klog (client-go's logs) to a file, never to the terminal,
// where it would tear the dashboard or a script's output apart. The file is
// $XDG_STATE_HOME/roost/roost.log (default ~/.local/state/roost/roost.log);
// when it cannot be opened the logs are dropped rather than shown.
func setupLogging() (path string, closeLog func()) {
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
	path = logPath()
	var w io.Writer = io.Discard
	var f *os.File
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err == nil {
		f, err = os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err == nil {
			w = f
		}
	}
	if f == nil {
		path = ""
	}
	klog.SetOutput(w)
	closed := false
	return path, func() {
		if f != nil && !closed {
			closed = true
			klog.Flush()
			_ = f.Close()
		}
	}
}

func logPath() string {
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
