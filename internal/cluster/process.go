package cluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// process is one running component. Each runs in its own process group (so
// a signal reaches anything it forks) and with a parent-death signal (so it
// dies with the test binary even when that is killed with SIGKILL and no
// deferred Stop runs).
type process struct {
	name string
	path string
	args []string
	log  string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	err    error
}

func (p *process) start() error {
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("cluster: open %s log: %w", p.name, err)
	}
	cmd := exec.Command(p.path, p.args...)
	cmd.Stdout = f
	cmd.Stderr = f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := spawn(cmd); err != nil {
		f.Close()
		return fmt.Errorf("cluster: start %s (%s): %w", p.name, p.path, err)
	}
	exited := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.exited, p.err = cmd, exited, nil
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		f.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(exited)
	}()
	return nil
}

type spawnRequest struct {
	cmd  *exec.Cmd
	done chan error
}

var (
	spawnOnce     sync.Once
	spawnRequests chan spawnRequest
)

// spawn starts cmd from one goroutine locked to its OS thread for the life
// of the process. Linux sends the parent-death signal when the *thread* that
// forked a child exits, not the process; Go may end a thread (when a
// goroutine locked to it returns), which would kill a component mid-test.
// A thread that never exits makes the signal mean "the test binary died".
func spawn(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnRequests = make(chan spawnRequest)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives as long as the process
			for req := range spawnRequests {
				req.done <- req.cmd.Start()
			}
		}()
	})
	done := make(chan error, 1)
	spawnRequests <- spawnRequest{cmd: cmd, done: done}
	return <-done
}

// running reports an error when the process has exited; used while waiting
// for readiness so a crash is reported at once with its log, not as a
// timeout.
func (p *process) running() error {
	p.mu.Lock()
	exited, err := p.exited, p.err
	p.mu.Unlock()
	if exited == nil {
		return fmt.Errorf("cluster: %s was never started", p.name)
	}
	select {
	case <-exited:
		return fmt.Errorf("cluster: %s exited (%v); last lines of %s:\n%s", p.name, err, p.log, p.logTail(30))
	default:
		return nil
	}
}

func (p *process) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

func (p *process) logTail(lines int) string {
	data, err := os.ReadFile(p.log)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	return tail(string(data), lines)
}

// signal sends sig to the component's whole process group.
func (p *process) signal(sig syscall.Signal) {
	if pid := p.pid(); pid > 0 {
		_ = syscall.Kill(-pid, sig)
	}
}

func (p *process) wait(timeout time.Duration) bool {
	p.mu.Lock()
	exited := p.exited
	p.mu.Unlock()
	if exited == nil {
		return true
	}
	select {
	case <-exited:
		return true
	case <-time.After(timeout):
		return false
	}
}

// stopAll sends SIGTERM to every process at once (each takes 1.5-3 s to
// shut down, so one at a time would be slow), then SIGKILLs whatever is
// still there after grace and returns those stragglers' names. The error
// is for a process that survived even SIGKILL.
func stopAll(procs []*process, grace time.Duration) (stragglers []string, err error) {
	for _, p := range procs {
		p.signal(syscall.SIGTERM)
	}
	deadline := time.Now().Add(grace)
	for _, p := range procs {
		if !p.wait(time.Until(deadline)) {
			stragglers = append(stragglers, p.name)
			p.signal(syscall.SIGKILL)
		}
	}
	for _, p := range procs {
		if !p.wait(5 * time.Second) {
			return stragglers, fmt.Errorf("cluster: %s (pid %d) survived SIGKILL", p.name, p.pid())
		}
	}
	return stragglers, nil
}

// rssBytes reads the resident set size of pid from /proc.
func rssBytes(pid int) (int64, error) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, err
			}
			return kb * 1024, nil
		}
	}
	return 0, errors.New("no VmRSS line")
}
