package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/roost-dev/roost/internal/cluster"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func defaultDir() string {
	base := os.Getenv("XDG_STATE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return filepath.Join(os.TempDir(), "roost-cluster")
		}
		base = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(base, "roost", "cluster")
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: roost-cluster build|up|down|serve [--dir DIR]")
	}
	fs := flag.NewFlagSet("roost-cluster "+args[0], flag.ContinueOnError)
	dir := fs.String("dir", defaultDir(), "state folder: kubeconfig, logs, pid file")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	ctx := context.Background()
	switch args[0] {
	case "build":
		b, err := cluster.EnsureBinaries(ctx, os.Stderr)
		if err != nil {
			return err
		}
		fmt.Println(b.Dir)
		return nil
	case "up":
		return up(ctx, *dir)
	case "down":
		return down(*dir)
	case "serve":
		return serve(ctx, *dir)
	default:
		return fmt.Errorf("roost-cluster: unknown command %q; use build, up or down", args[0])
	}
}

func pidFile(dir string) string   { return filepath.Join(dir, "roost-cluster.pid") }
func readyFile(dir string) string { return filepath.Join(dir, "ready") }

// runningPID returns the pid of a live cluster serving dir, or 0.
func runningPID(dir string) int {
	data, err := os.ReadFile(pidFile(dir))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0
	}
	if syscall.Kill(pid, 0) != nil {
		return 0
	}
	return pid
}

// up builds in the foreground (so progress shows in the terminal), then
// starts `serve` detached in its own session and waits for it to be ready.
func up(ctx context.Context, dir string) error {
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if pid := runningPID(dir); pid > 0 {
		fmt.Fprintf(os.Stderr, "roost-cluster: already running (pid %d); `make cluster-down` stops it\n", pid)
		fmt.Printf("export KUBECONFIG=%s\n", kubeconfig)
		return nil
	}
	if _, err := cluster.EnsureBinaries(ctx, os.Stderr); err != nil {
		return err
	}
	// A previous cluster's etcd data and certificates are stale: start clean.
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("roost-cluster: clean %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("roost-cluster: create %s: %w", dir, err)
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("roost-cluster: find own binary: %w", err)
	}
	logPath := filepath.Join(dir, "roost-cluster.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("roost-cluster: create %s: %w", logPath, err)
	}
	defer logFile.Close()
	cmd := exec.Command(self, "serve", "--dir", dir)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// Its own session: the cluster outlives this command and the terminal.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("roost-cluster: start background server: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(3 * time.Minute)
	for {
		select {
		case err := <-exited:
			data, _ := os.ReadFile(logPath)
			return fmt.Errorf("roost-cluster: the cluster failed to start (%v):\n%s", err, data)
		case <-deadline:
			_ = cmd.Process.Signal(syscall.SIGTERM)
			return fmt.Errorf("roost-cluster: the cluster was not ready after 3 minutes; see %s", logPath)
		case <-time.After(100 * time.Millisecond):
		}
		if _, err := os.Stat(readyFile(dir)); err == nil {
			fmt.Fprintf(os.Stderr, "roost-cluster: up (pid %d, logs in %s); `make cluster-down` stops it\n", cmd.Process.Pid, dir)
			fmt.Printf("export KUBECONFIG=%s\n", kubeconfig)
			return nil
		}
	}
}

// serve runs the cluster until SIGTERM or SIGINT.
func serve(ctx context.Context, dir string) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer stop()
	if err := os.WriteFile(pidFile(dir), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return fmt.Errorf("roost-cluster: write pid file: %w", err)
	}
	defer os.Remove(pidFile(dir))
	b, err := cluster.EnsureBinaries(ctx, os.Stdout)
	if err != nil {
		return err
	}
	c, err := cluster.Start(ctx, cluster.Options{Binaries: b, Dir: dir, Log: os.Stdout})
	if err != nil {
		return err
	}
	if err := os.WriteFile(readyFile(dir), nil, 0o644); err != nil {
		_ = c.Stop()
		return fmt.Errorf("roost-cluster: write ready file: %w", err)
	}
	<-ctx.Done()
	os.Remove(readyFile(dir))
	fmt.Println("roost-cluster: stopping")
	return c.Stop()
}

// down stops the background cluster and waits until it is gone.
func down(dir string) error {
	pid := runningPID(dir)
	if pid == 0 {
		fmt.Fprintln(os.Stderr, "roost-cluster: no cluster running")
		return nil
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("roost-cluster: signal pid %d: %w", pid, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if syscall.Kill(pid, 0) != nil {
			fmt.Fprintln(os.Stderr, "roost-cluster: stopped")
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Its components die with it (parent-death signal).
	_ = syscall.Kill(pid, syscall.SIGKILL)
	return fmt.Errorf("roost-cluster: pid %d did not stop within 30 s and was killed", pid)
}
