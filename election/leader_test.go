package election

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"
)

// elector is one roost process campaigning in a test.
type elector struct {
	leader  *Leader
	cancel  context.CancelFunc
	done    chan struct{}
	leading atomic.Bool
	terms   atomic.Int32
}

// Durations are short for a test, yet leave the leader seconds of slack to
// renew on a loaded machine under the race detector.
func startElector(t *testing.T, kube *kubefake.Clientset, identity string, running *atomic.Int32) *elector {
	t.Helper()
	l, err := NewLeader(LeaderConfig{
		Kube: kube, Namespace: "shop", Identity: identity,
		LeaseDuration: 4 * time.Second, RenewDeadline: 3 * time.Second, RetryPeriod: 250 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &elector{leader: l, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(e.done)
		if err := l.Run(ctx, func(term context.Context) {
			if n := running.Add(1); n != 1 {
				t.Errorf("%d reconcilers run at once", n)
			}
			e.leading.Store(true)
			e.terms.Add(1)
			<-term.Done()
			e.leading.Store(false)
			running.Add(-1)
		}); err != nil {
			t.Error(err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-e.done
	})
	return e
}

func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestExactlyOneLeaderAndTakeover(t *testing.T) {
	kube := kubefake.NewClientset()
	var running atomic.Int32
	a := startElector(t, kube, "alice@bastion/1", &running)
	eventually(t, 5*time.Second, "alice leads", a.leading.Load)
	b := startElector(t, kube, "bob@bastion/2", &running)
	eventually(t, 5*time.Second, "bob sees alice lead", func() bool { return b.leader.Current().Identity == "alice@bastion/1" })

	// While alice renews, bob never runs the reconciler.
	time.Sleep(2 * time.Second)
	if b.terms.Load() != 0 || !a.leading.Load() {
		t.Fatalf("alice leading=%v, bob terms=%d", a.leading.Load(), b.terms.Load())
	}
	if got := a.leader.Current(); !got.IsMe || got.Identity != "alice@bastion/1" {
		t.Errorf("alice's view: %+v", got)
	}
	if got := b.leader.Current(); got.IsMe || got.String() != "alice@bastion/1" {
		t.Errorf("bob's view: %+v", got)
	}
	info, err := ReadLeader(context.Background(), kube, "shop", DefaultLeaseName, "carol@x/3", time.Now())
	if err != nil || info.Identity != "alice@bastion/1" || info.IsMe {
		t.Errorf("ReadLeader = %+v, %v", info, err)
	}

	// Alice quits: she releases the Lease before Run returns, so bob need not
	// wait for it to expire.
	a.cancel()
	<-a.done
	if info, err := ReadLeader(context.Background(), kube, "shop", DefaultLeaseName, "", time.Now()); err != nil || info.Identity == "alice@bastion/1" {
		t.Errorf("after alice quit the Lease is held by %+v (%v)", info, err)
	}
	eventually(t, 10*time.Second, "bob takes over", b.leading.Load)
	if a.leading.Load() {
		t.Error("alice still leads after quitting")
	}
	eventually(t, time.Second, "bob sees himself lead", func() bool { return b.leader.Current().IsMe })
}

func TestTakeoverFromDeadLeader(t *testing.T) {
	// A leader that died without releasing left a Lease nobody renews.
	renewed := metav1.NewMicroTime(time.Now())
	holder, seconds := "ghost@gone/9", int32(1)
	kube := kubefake.NewClientset(&coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: DefaultLeaseName},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &seconds, RenewTime: &renewed, AcquireTime: &renewed},
	})
	var running atomic.Int32
	start := time.Now()
	b := startElector(t, kube, "bob@bastion/2", &running)
	eventually(t, 10*time.Second, "bob takes over from the dead leader", b.leading.Load)
	// The elector counts the lease duration from when it first saw the record.
	if took := time.Since(start); took < 700*time.Millisecond {
		t.Errorf("bob took over after %s, before the dead leader's lease ran out", took)
	}
}

func TestLeaderOnChangeAndRelease(t *testing.T) {
	kube := kubefake.NewClientset()
	var mu sync.Mutex
	var seen []string
	l, err := NewLeader(LeaderConfig{
		Kube: kube, Namespace: "shop", Identity: "alice@bastion/1",
		LeaseDuration: 2 * time.Second, RenewDeadline: 1500 * time.Millisecond, RetryPeriod: 200 * time.Millisecond,
		OnChange: func(i LeaderInfo) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, i.String())
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	elected := make(chan struct{})
	done := make(chan error)
	go func() {
		done <- l.Run(ctx, func(term context.Context) {
			close(elected)
			<-term.Done()
		})
	}()
	<-elected
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got := strings.Join(seen, ", ")
	mu.Unlock()
	if got != "you (alice@bastion/1), nobody" {
		t.Errorf("changes = %q", got)
	}
	info, err := ReadLeader(context.Background(), kube, "shop", DefaultLeaseName, "alice@bastion/1", time.Now())
	if err != nil || info.Identity != "" {
		t.Errorf("after release the Lease is held by %+v (%v)", info, err)
	}
}

func TestNewLeaderChecksDurations(t *testing.T) {
	for _, cfg := range []LeaderConfig{
		{LeaseDuration: 5 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second},
		{LeaseDuration: 800 * time.Millisecond, RenewDeadline: 500 * time.Millisecond, RetryPeriod: 100 * time.Millisecond},
	} {
		cfg.Kube = kubefake.NewClientset()
		if _, err := NewLeader(cfg); err == nil || !strings.Contains(err.Error(), "--lease-duration") {
			t.Errorf("%s/%s/%s: err = %v", cfg.LeaseDuration, cfg.RenewDeadline, cfg.RetryPeriod, err)
		}
	}
	l, err := NewLeader(LeaderConfig{Kube: kubefake.NewClientset()})
	if err != nil {
		t.Fatal(err)
	}
	if l.cfg.Namespace != "kube-system" || l.cfg.Name != "roost-controller" || l.cfg.LeaseDuration != 15*time.Second {
		t.Errorf("defaults = %+v", l.cfg)
	}
	if id := l.Identity(); !strings.Contains(id, "@") || !strings.Contains(id, "/") {
		t.Errorf("identity %q is not user@host/pid", id)
	}
}

func TestReadLeaderExpired(t *testing.T) {
	renewed := metav1.NewMicroTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	holder, seconds := "ghost@gone/9", int32(15)
	kube := kubefake.NewClientset(&coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: DefaultLeaseName},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &seconds, RenewTime: &renewed},
	})
	ctx := context.Background()
	if info, _ := ReadLeader(ctx, kube, "kube-system", DefaultLeaseName, "", renewed.Add(10*time.Second)); info.Identity != holder {
		t.Errorf("fresh lease: %+v", info)
	}
	if info, _ := ReadLeader(ctx, kube, "kube-system", DefaultLeaseName, "", renewed.Add(16*time.Second)); info.Identity != "" {
		t.Errorf("expired lease: %+v", info)
	}
	if info, err := ReadLeader(ctx, kube, "other", DefaultLeaseName, "", renewed.Time); err != nil || info.Identity != "" {
		t.Errorf("no lease: %+v %v", info, err)
	}
}
