//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// roostProc is a roost subprocess in its own process group, killed with the
// whole group when the test ends.
type roostProc struct {
	// name is argv[0]. client-go derives the User-Agent from it, and the API
	// server records that as the field manager in managedFields: the server's
	// own evidence of which process wrote an object.
	name string
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
	err  error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startRoost runs the built roost as argv[0] name with the cluster's
// kubeconfig, its logs in a file of its own, and args.
func startRoost(t *testing.T, name string, args ...string) *roostProc {
	t.Helper()
	return startRoostEnv(t, name, nil, args...)
}

// startRoostEnv is startRoost with extra environment variables.
func startRoostEnv(t *testing.T, name string, extraEnv []string, args ...string) *roostProc {
	t.Helper()
	bin := roostBinary(t)
	full := append([]string{name, "--kubeconfig", env.Kubeconfig, "--log-file", filepath.Join(t.TempDir(), name+".log")}, args...)
	cmd := &exec.Cmd{Path: bin, Args: full, Env: append(os.Environ(), extraEnv...)}
	p := &roostProc{name: name, cmd: cmd, out: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	// A group of its own, so that cleanup reaches anything it forks; the
	// parent-death signal covers a test binary that is itself killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", strings.Join(full, " "), err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("output of %s (pid %d):\n%s", name, p.pid(), p.out.String())
		}
	})
	return p
}

func (p *roostProc) pid() int { return p.cmd.Process.Pid }

// kill SIGKILLs the process group and waits for the process.
func (p *roostProc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
	<-p.done
}

// exited says whether the process ended, and how.
func (p *roostProc) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// wait waits up to timeout for the process to end and returns its exit code.
func (p *roostProc) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("%s still running after %s; output:\n%s", p.name, timeout, p.out.String())
	}
	var exit *exec.ExitError
	if errors.As(p.err, &exit) {
		return exit.ExitCode()
	}
	if p.err != nil {
		t.Fatalf("%s: %v", p.name, p.err)
	}
	return 0
}

// runRoost runs a short roost command to completion and returns its exit code
// and output.
func runRoost(t *testing.T, timeout time.Duration, args ...string) (int, string) {
	t.Helper()
	p := startRoost(t, "roost", args...)
	code := p.wait(t, timeout)
	return code, p.out.String()
}

// leaseHolder reads the Lease's holderIdentity ("" when none or no Lease).
func leaseHolder(ctx context.Context, ns, name string) (string, int32, error) {
	l, err := env.Client().CoordinationV1().Leases(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", 0, err
	}
	return ptr.Deref(l.Spec.HolderIdentity, ""), ptr.Deref(l.Spec.LeaseTransitions, 0), nil
}

// managers lists the field managers recorded in an object's managedFields.
func managers(fields []metav1.ManagedFieldsEntry) []string {
	var out []string
	for _, f := range fields {
		out = append(out, f.Manager)
	}
	return out
}

// rolloutRecord is one state of a Rollout as a watch delivered it.
type rolloutRecord struct {
	at       time.Time
	rv       string
	podHash  string
	step     int32
	phase    v1alpha1.RolloutPhase
	pauses   []v1alpha1.PauseCondition
	stableRS string
	managers []string
	// stamps are the managedFields times, by "manager" or "manager/status".
	stamps map[string]time.Time
}

// objectLog records, from a watch started before the objects exist, every
// state of one Rollout and every ReplicaSet event of a namespace, with the
// field managers the API server stored for each write.
type objectLog struct {
	mu       sync.Mutex
	rollouts []rolloutRecord
	// rsAdded counts ADDED events per ReplicaSet name.
	rsAdded   map[string]int
	rsDeleted []string
	// rsManagers is every field manager seen on any ReplicaSet.
	rsManagers map[string]bool
	watchErrs  []string
}

// recordObjects watches the namespace's Rollouts and ReplicaSets until the
// test ends. Start it before creating anything, so that every creation is
// seen as ADDED.
func recordObjects(t *testing.T, ns string) *objectLog {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	l := &objectLog{rsAdded: map[string]int{}, rsManagers: map[string]bool{}}
	rw, err := dynamicClient(t).Resource(v1alpha1.RolloutGVR).Namespace(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		cancel()
		t.Fatalf("watch rollouts in %s: %v", ns, err)
	}
	sw, err := env.Client().AppsV1().ReplicaSets(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		cancel()
		t.Fatalf("watch ReplicaSets in %s: %v", ns, err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for ev := range rw.ResultChan() {
			l.rollout(ctx, ev)
		}
	}()
	go func() {
		defer wg.Done()
		for ev := range sw.ResultChan() {
			l.replicaSet(ctx, ev)
		}
	}()
	t.Cleanup(func() {
		cancel()
		rw.Stop()
		sw.Stop()
		wg.Wait()
	})
	return l
}

func (l *objectLog) watchError(ctx context.Context, what string, ev watch.Event) {
	if ctx.Err() != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.watchErrs = append(l.watchErrs, fmt.Sprintf("%s watch: %s %v", what, ev.Type, ev.Object))
}

func (l *objectLog) rollout(ctx context.Context, ev watch.Event) {
	if ev.Type == watch.Error {
		l.watchError(ctx, "rollout", ev)
		return
	}
	if ev.Type == watch.Bookmark {
		return
	}
	u, ok := ev.Object.(*unstructured.Unstructured)
	if !ok {
		return
	}
	obj, errs := v1alpha1.FromUnstructured(u)
	if len(errs) > 0 {
		l.watchError(ctx, "rollout decode: "+errs.ToAggregate().Error(), ev)
		return
	}
	rec := rolloutRecord{
		at: time.Now(), rv: obj.ResourceVersion, podHash: obj.Status.CurrentPodHash,
		step: ptr.Deref(obj.Status.CurrentStepIndex, -1), phase: obj.Status.Phase,
		pauses: obj.Status.PauseConditions, stableRS: obj.Status.StableRS,
		managers: managers(obj.ManagedFields),
		stamps:   map[string]time.Time{},
	}
	for _, f := range obj.ManagedFields {
		if f.Time == nil {
			continue
		}
		key := f.Manager
		if f.Subresource != "" {
			key += "/" + f.Subresource
		}
		rec.stamps[key] = f.Time.Time
	}
	l.mu.Lock()
	l.rollouts = append(l.rollouts, rec)
	l.mu.Unlock()
}

func (l *objectLog) replicaSet(ctx context.Context, ev watch.Event) {
	if ev.Type == watch.Error {
		l.watchError(ctx, "ReplicaSet", ev)
		return
	}
	rs, ok := ev.Object.(*appsv1.ReplicaSet)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch ev.Type {
	case watch.Added:
		l.rsAdded[rs.Name]++
	case watch.Deleted:
		l.rsDeleted = append(l.rsDeleted, rs.Name)
	}
	for _, m := range managers(rs.ManagedFields) {
		l.rsManagers[m] = true
	}
}

// snapshot copies what was recorded so far.
func (l *objectLog) snapshot() (rollouts []rolloutRecord, rsAdded map[string]int, rsDeleted []string, rsManagers map[string]bool, errs []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	rsAdded = map[string]int{}
	for k, v := range l.rsAdded {
		rsAdded[k] = v
	}
	rsManagers = map[string]bool{}
	for k, v := range l.rsManagers {
		rsManagers[k] = v
	}
	return append([]rolloutRecord(nil), l.rollouts...), rsAdded, append([]string(nil), l.rsDeleted...), rsManagers, append([]string(nil), l.watchErrs...)
}

// roostManagers keeps the managers named like our subprocesses (prefix),
// sorted: other writers (kube-controller-manager, the test itself) are not
// in question.
func roostManagers(all map[string]bool, prefix string) []string {
	var out []string
	for m := range all {
		if strings.HasPrefix(m, prefix) {
			out = append(out, m)
		}
	}
	sort.Strings(out)
	return out
}

// checkReplicaSetsCreatedOnce fails unless every ReplicaSet of the namespace
// was ADDED exactly once, none was deleted, and every name is
// <rollout>-<hash of its pod template> with no hash-collision retry.
func checkReplicaSetsCreatedOnce(t *testing.T, log *objectLog, ns, app string) {
	t.Helper()
	_, added, deleted, _, errs := log.snapshot()
	for _, e := range errs {
		t.Errorf("%s", e)
	}
	for name, n := range added {
		if n != 1 {
			t.Errorf("ReplicaSet %s/%s was created %d times; want once", ns, name, n)
		}
	}
	if len(deleted) > 0 {
		t.Errorf("ReplicaSets deleted during the canary: %v", deleted)
	}
	sets, err := replicaSetsByHash(context.Background(), ns, app)
	if err != nil {
		t.Fatal(err)
	}
	for hash, rs := range sets {
		if want := app + "-" + hash; rs.Name != want {
			t.Errorf("ReplicaSet %s carries hash %s; want the name %s (a different name means a collision retry or a duplicate)", rs.Name, hash, want)
		}
		if added[rs.Name] != 1 {
			t.Errorf("ReplicaSet %s exists but the watch saw it ADDED %d times", rs.Name, added[rs.Name])
		}
	}
	r, err := getRollout(context.Background(), t, ns, app)
	if err != nil {
		t.Fatal(err)
	}
	if c := ptr.Deref(r.Status.CollisionCount, 0); c != 0 {
		t.Errorf("status.collisionCount = %d; want 0: a ReplicaSet name was taken", c)
	}
}
