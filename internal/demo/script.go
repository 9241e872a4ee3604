package demo

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/internal/sim"
)

// versionBook knows which images are bad: the script writes it as it
// releases versions, the traffic reads it.
type versionBook struct {
	mu  sync.Mutex
	bad map[string]bool
}

func (b *versionBook) set(image string, q Quality) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.bad[image] = q == Bad
}

// quality of an image the script never released (a rollout undone by hand
// to an old template, say) is good.
func (b *versionBook) quality(image string) Quality {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bad[image] {
		return Bad
	}
	return Good
}

// rolloutState is what the script needs to know of a rollout to decide.
type rolloutState struct {
	Key string
	// AtRest is set when nothing is under way: healthy, or aborted.
	AtRest, Aborted bool
	// Version is what the pod template runs; Bad when that version is.
	Version string
	Bad     bool
	// Released is when the script last gave it a version.
	Released time.Time
}

// release is one new version for one rollout.
type release struct {
	Key, Version string
	Quality      Quality
	// Fix is set for a fix of a failed version, which the plan does not
	// count.
	Fix bool
}

// nextRelease picks who gets the next version: a rollout at rest whose
// version failed (aborted, or bad and promoted anyway) gets a fix first;
// else the one at rest that was released longest ago gets the next minor
// version, of the plan's n-th quality (n counts the releases that were
// not fixes). ok is false when every rollout is
// busy.
func nextRelease(states []rolloutState, plan []Quality, n int) (release, bool) {
	var fix, next *rolloutState
	for i := range states {
		s := &states[i]
		if !s.AtRest {
			continue
		}
		if s.Aborted || s.Bad {
			if fix == nil || s.Released.Before(fix.Released) {
				fix = s
			}
			continue
		}
		if next == nil || s.Released.Before(next.Released) {
			next = s
		}
	}
	switch {
	case fix != nil:
		return release{Key: fix.Key, Version: bump(fix.Version, true), Quality: Good, Fix: true}, true
	case next != nil:
		q := Good
		if len(plan) > 0 {
			q = plan[n%len(plan)]
		}
		return release{Key: next.Key, Version: bump(next.Version, false), Quality: q}, true
	}
	return release{}, false
}

// bump is the version after v: the next patch for a fix (2.4.0 → 2.4.1),
// else the next minor (2.4.1 → 2.5.0). A version that is not
// major.minor.patch gets ".1".
func bump(v string, fix bool) string {
	parts := strings.Split(v, ".")
	nums := make([]int, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || len(parts) != 3 {
			return v + ".1"
		}
		nums[i] = n
	}
	if fix {
		return fmt.Sprintf("%d.%d.%d", nums[0], nums[1], nums[2]+1)
	}
	return fmt.Sprintf("%d.%d.0", nums[0], nums[1]+1)
}

// script plays the scenario on the cluster the way a team's CI would: it
// starts the first canaries once their stable versions are up, then
// releases a new version every so often to a rollout at rest.
type script struct {
	cluster  *sim.Cluster
	scenario Scenario
	services map[string]*runningService
	book     *versionBook
	// git is the demo's Argo CD: a release is a commit it syncs.
	git *gitops
	// released is when each rollout last got a version.
	released map[string]time.Time
	// releases counts the new versions, for the plan.
	releases int
	// started is closed once the scenario's first canaries are released.
	started chan struct{}
}

// startPoll is how often the script looks for stable versions that are up
// while it waits to start the first canaries; after startPatience, should
// one be slow, only slowPoll.
const (
	startPoll     = 50 * time.Millisecond
	startPatience = 10 * time.Second
	slowPoll      = time.Second
)

func (s *script) run(ctx context.Context) {
	s.startCanaries(ctx)
	close(s.started)
	tick := time.NewTicker(s.scenario.RevisionEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			if err := s.releaseNext(ctx, now); err != nil {
				klog.ErrorS(err, "demo: releasing a new version")
			}
		}
	}
}

// startCanaries releases each scenario canary as soon as its rollout's
// stable version is Healthy (released earlier, the new template would
// simply become the first stable one).
func (s *script) startCanaries(ctx context.Context) {
	waiting := map[string]bool{}
	for _, svc := range s.scenario.Services {
		if svc.Canary != "" {
			waiting[svc.Key()] = true
		}
	}
	tick := time.NewTicker(startPoll)
	defer tick.Stop()
	slowAfter := time.Now().Add(startPatience)
	for len(waiting) > 0 {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			if now.After(slowAfter) {
				tick.Reset(slowPoll)
			}
			states, err := s.states(ctx)
			if err != nil {
				klog.ErrorS(err, "demo: reading the rollouts")
				continue
			}
			for _, st := range states {
				if !waiting[st.Key] || !st.AtRest {
					continue
				}
				svc := s.services[st.Key]
				if err := s.setVersion(svc, svc.Canary, svc.CanaryQuality, now); err != nil {
					klog.ErrorS(err, "demo: starting a canary")
					continue
				}
				delete(waiting, st.Key)
			}
		}
	}
}

func (s *script) releaseNext(ctx context.Context, now time.Time) error {
	states, err := s.states(ctx)
	if err != nil {
		return err
	}
	r, ok := nextRelease(states, s.scenario.Plan, s.releases)
	if !ok {
		return nil
	}
	if !r.Fix {
		s.releases++
	}
	return s.setVersion(s.services[r.Key], r.Version, r.Quality, now)
}

func (s *script) setVersion(svc *runningService, version string, q Quality, now time.Time) error {
	image := svc.Image(version)
	s.book.set(image, q)
	if err := s.git.released(svc.Key(), image); err != nil {
		return err
	}
	if err := s.cluster.SetImage(svc.Namespace, svc.Name, image); err != nil {
		return err
	}
	s.released[svc.Key()] = now
	klog.InfoS("demo: released", "rollout", svc.Key(), "image", image, "quality", q)
	return nil
}

// states reads every scenario rollout from the cluster.
func (s *script) states(ctx context.Context) ([]rolloutState, error) {
	list, err := s.cluster.Dynamic.Resource(v1alpha1.RolloutGVR).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing the demo's rollouts: %w", err)
	}
	var out []rolloutState
	for i := range list.Items {
		r, errs := v1alpha1.FromUnstructured(&list.Items[i])
		if len(errs) > 0 {
			continue
		}
		key := r.Namespace + "/" + r.Name
		if s.services[key] == nil {
			continue
		}
		st := rolloutState{Key: key, Released: s.released[key], Aborted: r.Status.Abort}
		if cs := r.Spec.Template.Spec.Containers; len(cs) > 0 {
			st.Version = imageTag(cs[0].Image)
			st.Bad = s.book.quality(cs[0].Image) == Bad
		}
		st.AtRest = st.Aborted || r.Status.Phase == v1alpha1.PhaseHealthy && r.Status.ObservedGeneration == strconv.FormatInt(r.Generation, 10)
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b rolloutState) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}
