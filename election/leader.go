package election

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/utils/clock"
)

// Leader election defaults: a follower takes over at most LeaseDuration after
// the leader died without releasing the Lease.
const (
	DefaultLeaseName     = "roost-controller"
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
	// DefaultLeaseNamespace holds the Lease when roost watches every namespace.
	DefaultLeaseNamespace = "kube-system"
)

// LeaderConfig says which Lease to campaign for and how.
type LeaderConfig struct {
	Kube kubernetes.Interface
	// Namespace and Name of the coordination.k8s.io Lease.
	Namespace string
	Name      string
	// Identity of this process in the Lease; DefaultIdentity() when empty.
	Identity      string
	LeaseDuration time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration
	// OnChange, when set, is called (never concurrently) each time the leader
	// changes, e.g. to refresh the dashboard header.
	OnChange func(LeaderInfo)
	Clock    clock.PassiveClock
}

// LeaderInfo says who steps the canaries.
type LeaderInfo struct {
	// Identity is the holder of the Lease, user@host/pid; empty when nobody holds it.
	Identity string
	// IsMe is true when this process holds the Lease.
	IsMe bool
	// Observed is when this was learned (or, read from a Lease, its last renewal).
	Observed time.Time
}

func (i LeaderInfo) String() string {
	switch {
	case i.Identity == "":
		return "nobody"
	case i.IsMe:
		return "you (" + i.Identity + ")"
	}
	return i.Identity
}

// DefaultIdentity is user@host/pid: enough for a person in a war room to know
// whose terminal steps the canaries.
func DefaultIdentity() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = "unknown"
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	return fmt.Sprintf("%s@%s/%d", name, host, os.Getpid())
}

// Leader campaigns for a Lease so that of N roost processes exactly one runs
// the reconciler, and tracks who leads.
type Leader struct {
	cfg LeaderConfig

	mu   sync.Mutex
	info LeaderInfo
	// notify serialises OnChange calls.
	notify sync.Mutex
}

// NewLeader checks cfg and fills in its defaults.
func NewLeader(cfg LeaderConfig) (*Leader, error) {
	if cfg.Kube == nil {
		return nil, errors.New("leader election needs a Kubernetes client")
	}
	if cfg.Namespace == "" {
		cfg.Namespace = DefaultLeaseNamespace
	}
	if cfg.Name == "" {
		cfg.Name = DefaultLeaseName
	}
	if cfg.Identity == "" {
		cfg.Identity = DefaultIdentity()
	}
	if cfg.LeaseDuration == 0 {
		cfg.LeaseDuration = DefaultLeaseDuration
	}
	if cfg.RenewDeadline == 0 {
		cfg.RenewDeadline = DefaultRenewDeadline
	}
	if cfg.RetryPeriod == 0 {
		cfg.RetryPeriod = DefaultRetryPeriod
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.LeaseDuration < time.Second {
		// The Lease stores whole seconds; less would read as already expired.
		return nil, fmt.Errorf("leader election: lease duration %s is under 1s, which the Lease cannot hold; adjust --lease-duration", cfg.LeaseDuration)
	}
	if !(cfg.LeaseDuration > cfg.RenewDeadline && float64(cfg.RenewDeadline) > leaderelection.JitterFactor*float64(cfg.RetryPeriod)) {
		return nil, fmt.Errorf("leader election: lease duration %s must exceed renew deadline %s, which must exceed 1.2 × retry period %s; adjust --lease-duration, --renew-deadline or --retry-period",
			cfg.LeaseDuration, cfg.RenewDeadline, cfg.RetryPeriod)
	}
	return &Leader{cfg: cfg}, nil
}

// Identity is this process's name in the Lease.
func (l *Leader) Identity() string { return l.cfg.Identity }

// Current says who leads, as last observed. Safe for concurrent use.
func (l *Leader) Current() LeaderInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.info
}

func (l *Leader) observe(identity string) {
	info := LeaderInfo{Identity: identity, IsMe: identity != "" && identity == l.cfg.Identity, Observed: l.cfg.Clock.Now()}
	l.mu.Lock()
	changed := info.Identity != l.info.Identity
	l.info = info
	l.mu.Unlock()
	if changed && l.cfg.OnChange != nil {
		l.notify.Lock()
		defer l.notify.Unlock()
		l.cfg.OnChange(l.Current())
	}
}

// Run campaigns until ctx is done. Each time this process is elected it calls
// lead with a context that is cancelled when leadership is lost; lead must
// return then. After a loss it campaigns again. Two calls of lead never
// overlap. On ctx cancellation the Lease is released, so a follower takes over
// at once instead of after the lease duration.
func (l *Leader) Run(ctx context.Context, lead func(ctx context.Context)) error {
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: l.cfg.Namespace, Name: l.cfg.Name},
		Client:     l.cfg.Kube.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: l.cfg.Identity},
	}
	// client-go starts OnStartedLeading in its own goroutine; one runner here
	// keeps leads sequential, so an old term winds down before a new one starts.
	elected := make(chan context.Context)
	runnerDone := make(chan struct{})
	go func() {
		defer close(runnerDone)
		for {
			select {
			case <-ctx.Done():
				return
			case term := <-elected:
				if term.Err() == nil {
					lead(term)
				}
			}
		}
	}()
	elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		Name:            l.cfg.Name,
		LeaseDuration:   l.cfg.LeaseDuration,
		RenewDeadline:   l.cfg.RenewDeadline,
		RetryPeriod:     l.cfg.RetryPeriod,
		ReleaseOnCancel: true,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(term context.Context) {
				select {
				case elected <- term:
				case <-term.Done():
				}
			},
			OnStoppedLeading: func() {
				if l.Current().IsMe {
					l.observe("")
				}
			},
			OnNewLeader: l.observe,
		},
	})
	if err != nil {
		return fmt.Errorf("leader election on lease %s/%s: %w", l.cfg.Namespace, l.cfg.Name, err)
	}
	for ctx.Err() == nil {
		elector.Run(ctx)
	}
	<-runnerDone
	return nil
}

// ReadLeader reads who holds the Lease without campaigning, for a roost that
// only watches. A Lease not renewed within its duration has no holder: its
// leader died. me is this process's identity, to set IsMe.
func ReadLeader(ctx context.Context, kube kubernetes.Interface, namespace, name, me string, now time.Time) (LeaderInfo, error) {
	lease, err := kube.CoordinationV1().Leases(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return LeaderInfo{}, nil
	}
	if err != nil {
		return LeaderInfo{}, fmt.Errorf("read lease %s/%s: %w", namespace, name, err)
	}
	info, _ := LeaseHolder(lease, me, now)
	return info, nil
}

// LeaseHolder says who holds lease at now, and until when the holding lasts
// without a renewal (zero when nobody holds it). A Lease not renewed within
// its duration has no holder: its leader died.
func LeaseHolder(lease *coordinationv1.Lease, me string, now time.Time) (LeaderInfo, time.Time) {
	spec := lease.Spec
	if spec.HolderIdentity == nil || *spec.HolderIdentity == "" {
		return LeaderInfo{}, time.Time{}
	}
	var renewed time.Time
	switch {
	case spec.RenewTime != nil:
		renewed = spec.RenewTime.Time
	case spec.AcquireTime != nil:
		renewed = spec.AcquireTime.Time
	}
	var until time.Time
	if spec.LeaseDurationSeconds != nil {
		until = renewed.Add(time.Duration(*spec.LeaseDurationSeconds) * time.Second)
		if now.After(until) {
			return LeaderInfo{Observed: renewed}, time.Time{}
		}
	}
	return LeaderInfo{Identity: *spec.HolderIdentity, IsMe: *spec.HolderIdentity == me, Observed: renewed}, until
}
