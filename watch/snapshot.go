package watch

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// ActorAnnotation is set by roost's actions on the Events they record: the
// person who promoted, aborted, paused... a rollout.
const ActorAnnotation = "rollouts.roost.dev/actor"

// abortReasonAnnotation is the annotation where `roost abort --reason` keeps the
// reason (the reconciler owns the name; the read model only shows it).
const abortReasonAnnotation = "rollouts.roost.dev/abort-reason"

// RoleLabel is the pod label canaryMetadata/stableMetadata conventionally set
// to tell canary pods from stable ones in metrics and logs.
const RoleLabel = "role"

// MaxEvents is how many of the latest Events a snapshot keeps.
const MaxEvents = 10

// StepState says where a step stands.
type StepState string

// Step states.
const (
	StepDone    StepState = "done"
	StepCurrent StepState = "current"
	StepPending StepState = "pending"
)

// Step is one canary step as shown to a person.
type Step struct {
	// Number is 1-based.
	Number int
	// Text is e.g. "setWeight 20", "pause (until promoted)", "pause 30s".
	Text  string
	State StepState
	// Weight is the canary weight a setWeight step asks for; nil for a pause.
	Weight *int32 `json:",omitempty"`
}

// ReplicaSet is the stable or canary ReplicaSet of a rollout.
type ReplicaSet struct {
	Name     string
	Revision string
	Images   []string
	// Desired is spec.replicas; Total, Ready and Available are from its status.
	Desired, Total, Ready, Available int32
	// PodsByRole counts the ReplicaSet's live pods by their `role` label
	// ("" for pods without one).
	PodsByRole map[string]int
	// Created is when the ReplicaSet was made: for the canary, when its
	// revision's canary started.
	Created time.Time
}

// PodRole says which of a rollout's ReplicaSets a pod belongs to.
type PodRole int8

// Pod roles, in the order the cockpit lists them.
const (
	PodOfCanary PodRole = iota
	PodOfStable
	// PodOfOther: an older revision's pod, still there (scaling down).
	PodOfOther
)

func (r PodRole) String() string {
	switch r {
	case PodOfCanary:
		return "canary"
	case PodOfStable:
		return "stable"
	}
	return "old"
}

// PodInfo is one pod of a rollout as the cockpit lists it. Its strings are
// shared with the informer cache.
type PodInfo struct {
	Name string
	// ReplicaSet is the name of its ReplicaSet, Role which one of the
	// rollout's that is.
	ReplicaSet string
	Role       PodRole
	Phase      corev1.PodPhase
	Ready      bool
	Severity   PodSeverity
	// ReadyContainers of Containers are ready.
	ReadyContainers, Containers uint8
	Restarts                    int32
	// Reason is the worst reason its status gives (see Pod.Reason); empty
	// when nothing is wrong.
	Reason string
	Node   string
	// Created is when the pod was made: its age.
	Created time.Time
}

// Status is what the pod's STATUS column says: its reason, else its phase.
func (p *PodInfo) Status() string {
	if p.Reason != "" {
		return p.Reason
	}
	if p.Phase == "" {
		return "Unknown"
	}
	return string(p.Phase)
}

// comparePods orders a rollout's pods for the cockpit: canary, then stable,
// then older revisions' pods; within each, the worst first: a failing or odd
// reason (the worse first), then not Ready, then the most restarts; then by
// name.
func comparePods(a, b PodInfo) int {
	if c := cmp.Compare(a.Role, b.Role); c != 0 {
		return c
	}
	sev := func(p PodInfo) PodSeverity {
		if p.Severity >= PodWarn {
			return p.Severity
		}
		return PodFine
	}
	if c := cmp.Compare(sev(b), sev(a)); c != 0 {
		return c
	}
	if a.Ready != b.Ready {
		if !a.Ready {
			return -1
		}
		return 1
	}
	if c := cmp.Compare(b.Restarts, a.Restarts); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}

// Event is one Kubernetes Event on a rollout.
type Event struct {
	Time    time.Time
	Type    string
	Reason  string
	Message string
	// Actor is the person who acted, when the Event was recorded by a roost action.
	Actor string
	// Source is the component that recorded it ("roost", Argo Rollouts'
	// "rollouts-controller"...).
	Source string
	Count  int32
	// created orders Events recorded within the same second: the
	// nanoseconds in its name (see createdNanos).
	created int64
}

// Rollout is everything roost shows about one rollout, derived by Snapshot.
type Rollout struct {
	// Cluster is the kube context of the cluster the rollout is in, when
	// the cockpit watches several (Store.Cluster); "" with one cluster.
	// With it, Cluster, Namespace and Name tell rollouts apart.
	Cluster         string
	Namespace, Name string
	Phase           v1alpha1.RolloutPhase
	Message         string
	// Aborted and AbortReason: why a person (or the judge) stopped the canary.
	Aborted     bool
	AbortReason string
	// AbortedBy is who asked for the abort, from the newest abort Event a
	// roost action recorded (of all of them, not only the Events kept).
	AbortedBy string
	// InvalidSpec is the InvalidSpec condition's message, when the spec was refused.
	InvalidSpec string
	// StepIndex is status.currentStepIndex: the 0-based index of the step
	// under way, which is also the number of steps done. People read steps
	// counted from 1, as roost's Events do: see CurrentStep. Steps is how
	// many steps there are.
	StepIndex  int32
	StepsTotal int
	Steps      []Step
	// DesiredWeight is the canary weight the current step asks for;
	// ActualWeight is canary available pods / all available pods, in percent
	// (without a traffic router the weight is a pod ratio).
	DesiredWeight int32
	ActualWeight  int32
	// Paused is set when the rollout waits: ManuallyPaused (spec.paused) or at a
	// pause step. PauseRemaining is set for a timed pause step; an untimed one
	// waits for a promote (PauseUntilPromoted).
	Paused             bool
	ManuallyPaused     bool
	PauseUntilPromoted bool
	// PodHash is status.currentPodHash, the revision being rolled out;
	// Pausing is set while status.pauseConditions has any. With StepIndex,
	// ManuallyPaused and Aborted they are the state an action is confirmed
	// against.
	PodHash string
	Pausing bool
	// InconclusivePause is set while status.pauseConditions holds Argo's
	// InconclusiveAnalysisRun: the canary waits for a person to promote or
	// abort after an inconclusive analysis. Once promoted, the run stays
	// Inconclusive while the rollout goes on, and may pause again at a
	// later step for its own reason.
	InconclusivePause bool
	// JudgeHeld is the evidence on which roost's judge held this canary
	// (spec.paused with its annotation), "" when it did not.
	JudgeHeld      string
	PauseRemaining time.Duration
	// PauseEnds is when a timed pause step ends, so that a reader can count
	// down without re-deriving the snapshot.
	PauseEnds   time.Time `json:",omitzero"`
	PromoteFull bool
	// Stable and Canary are nil when not found; when the rollout is fully
	// promoted there is only a Stable.
	Stable, Canary *ReplicaSet
	// Pods are the pods of the rollout's ReplicaSets, terminating and
	// finished ones included: the canary's, then stable's, then older
	// revisions', each the worst first (see comparePods).
	Pods     []PodInfo `json:"-"`
	Replicas int32
	Created  time.Time
	Age      time.Duration
	// StepSince is when the rollout reached its current step (or finished,
	// or was aborted), as far as its status and Events tell; StepAge is how
	// long ago that was. Zero when nothing tells.
	StepSince time.Time
	StepAge   time.Duration
	// SteppedBy is the controller that last reported stepping this rollout,
	// from its Events: "roost", or Argo Rollouts' "rollouts-controller".
	// Empty when no controller has recorded anything yet.
	SteppedBy string
	Events    []Event
	// HasAnalysis is set when the canary asks for analysis (an analysis
	// step or a background analysis): its AnalysisRuns decide, not roost's
	// judge. Analysis are those runs (AnalysisOf), when the watch has them.
	HasAnalysis bool
	Analysis    []AnalysisRun `json:",omitempty"`
	// App is the Argo CD Application that deploys the rollout (its
	// tracking annotation, else its instance label), nil when Argo CD does
	// not track it. Set by the Store from its source's AppTracker, or by a
	// caller with AppTracker.AppOf.
	App *App `json:",omitempty"`
	// Annotations and TemplateLabels are the Rollout's annotations and its
	// pod template's labels, which say what to query for its metrics. They
	// are shared with the informer cache: never modify them.
	Annotations    map[string]string `json:"-"`
	TemplateLabels map[string]string `json:"-"`
	// MaxSurge and MaxUnavailable are the canary strategy's, for predicting
	// how many pods a weight takes.
	MaxSurge       *intstr.IntOrString `json:"-"`
	MaxUnavailable *intstr.IntOrString `json:"-"`
}

// CurrentStep is the step the rollout is at, counted from 1 ("step 2 of
// 4" while the second step runs), as its Events count them; done is set
// once every step is done (then step is the last one, or 0 without steps).
func (r *Rollout) CurrentStep() (step int, done bool) {
	if int(r.StepIndex) >= r.StepsTotal {
		return r.StepsTotal, true
	}
	return int(r.StepIndex) + 1, false
}

// CanaryUnderWay says whether the rollout's canary is progressing or paused:
// not healthy, aborted or refused. Only such a canary's evidence is worth
// calls to Datadog and Bugsnag.
func (r *Rollout) CanaryUnderWay() bool {
	if r.Canary == nil || r.Aborted || r.InvalidSpec != "" {
		return false
	}
	return r.Phase == v1alpha1.PhaseProgressing || r.Phase == v1alpha1.PhasePaused
}

// Snapshot derives what to show about ro from its ReplicaSets, pods and Events
// at now. Items of other rollouts in the slices are ignored, so callers may pass
// whole namespaces.
func Snapshot(ro *v1alpha1.Rollout, rss []*appsv1.ReplicaSet, pods []*Pod, events []*corev1.Event, now time.Time) Rollout {
	st := &ro.Status
	steps := ro.Steps()
	v := Rollout{
		Namespace:   ro.Namespace,
		Name:        ro.Name,
		Phase:       st.Phase,
		Message:     st.Message,
		Aborted:     st.Abort,
		PromoteFull: st.PromoteFull,
		StepsTotal:  len(steps),
		Replicas:    ro.GetReplicas(),
		Created:     ro.CreationTimestamp.Time,

		Annotations:    ro.Annotations,
		TemplateLabels: ro.Spec.Template.Labels,
		HasAnalysis:    ro.HasAnalysis(),
	}
	if c := ro.Spec.Strategy.Canary; c != nil {
		v.MaxSurge, v.MaxUnavailable = c.MaxSurge, c.MaxUnavailable
	}
	if !v.Created.IsZero() {
		v.Age = now.Sub(v.Created)
	}
	if v.Phase == "" {
		v.Phase = "Unknown"
		v.Message = "no controller has reported on this rollout yet"
	}
	if st.ObservedGeneration != "" && st.ObservedGeneration != fmt.Sprint(ro.Generation) && v.Phase != v1alpha1.PhaseDegraded {
		v.Phase = v1alpha1.PhaseProgressing
		v.Message = "waiting for the controller to observe the new spec"
	}
	if st.Abort {
		v.AbortReason = ro.Annotations[abortReasonAnnotation]
	}
	// Any InvalidSpec condition counts, whatever its status, as in Argo
	// Rollouts' phase rules.
	for _, c := range st.Conditions {
		if c.Type == v1alpha1.InvalidSpec {
			v.InvalidSpec = c.Message
		}
	}
	index := int32(0)
	if st.CurrentStepIndex != nil {
		index = *st.CurrentStepIndex
	}
	v.StepIndex = index
	for i, s := range steps {
		state := StepPending
		switch {
		case int32(i) < index:
			state = StepDone
		case int32(i) == index:
			state = StepCurrent
		}
		v.Steps = append(v.Steps, Step{Number: i + 1, Text: stepText(s), State: state, Weight: s.SetWeight})
	}
	v.DesiredWeight = desiredWeight(ro, index)

	v.ManuallyPaused = ro.Spec.Paused
	v.PodHash, v.Pausing = st.CurrentPodHash, len(st.PauseConditions) > 0
	for _, c := range st.PauseConditions {
		v.InconclusivePause = v.InconclusivePause || c.Reason == v1alpha1.PauseReasonInconclusiveAnalysis
	}
	if hash, evidence, ok := v1alpha1.JudgeHeld(ro.Annotations); ok && ro.Spec.Paused && hash == st.CurrentPodHash {
		v.JudgeHeld = evidence
	}
	v.Paused = ro.Spec.Paused || len(st.PauseConditions) > 0
	if len(st.PauseConditions) > 0 && int(index) < len(steps) && steps[index].Pause != nil {
		d, timed, err := steps[index].Pause.PauseDuration()
		switch {
		case err != nil || !timed:
			v.PauseUntilPromoted = true
		default:
			v.PauseEnds = st.PauseConditions[0].StartTime.Add(d)
			v.PauseRemaining = max(v.PauseEnds.Sub(now), 0)
		}
	} else if len(st.PauseConditions) > 0 {
		v.PauseUntilPromoted = true
	}

	owned := ownedReplicaSets(ro, rss)
	byRS := podsByReplicaSet(pods)
	var totalAvailable, canaryAvailable int32
	for _, rs := range owned {
		totalAvailable += rs.Status.AvailableReplicas
	}
	for _, rs := range owned {
		hash := rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
		role := PodOfOther
		switch {
		case hash == "":
		case hash == st.StableRS:
			v.Stable = replicaSetView(rs, byRS[rs.UID])
			role = PodOfStable
		case hash == st.CurrentPodHash:
			v.Canary = replicaSetView(rs, byRS[rs.UID])
			canaryAvailable = rs.Status.AvailableReplicas
			role = PodOfCanary
		}
		for _, p := range byRS[rs.UID] {
			if p.Namespace == rs.Namespace {
				v.Pods = append(v.Pods, podInfo(p, rs.Name, role))
			}
		}
	}
	slices.SortFunc(v.Pods, comparePods)
	if totalAvailable > 0 {
		v.ActualWeight = int32((int64(canaryAvailable)*100 + int64(totalAvailable)/2) / int64(totalAvailable))
	}
	if st.StableRS != "" && st.StableRS == st.CurrentPodHash {
		v.ActualWeight = 100
		if totalAvailable == 0 {
			v.ActualWeight = 0
		}
	}
	var stepEvent time.Time
	var abortedBy string
	v.Events, stepEvent, v.SteppedBy, abortedBy = rolloutEvents(ro, events)
	if v.Aborted {
		v.AbortedBy = abortedBy
	}
	v.StepSince = stepSince(ro, stepEvent)
	if !v.StepSince.IsZero() {
		v.StepAge = max(now.Sub(v.StepSince), 0)
	}
	return v
}

// stepEventReasons are the reasons of the Events a controller records when a
// rollout moves from one step to another (roost's and Argo Rollouts' names
// agree on these).
var stepEventReasons = map[string]bool{
	"RolloutStepReached":   true,
	"RolloutStepCompleted": true,
	"RolloutAborted":       true,
	"RolloutRetrying":      true,
	"RolloutPromotingFull": true,
	"RolloutCompleted":     true,
	"RollbackToStable":     true,
	"NewReplicaSetCreated": true,
}

// stepSince is when the current step began: a pause's start when paused at a
// step, else the latest step Event, else the last transition of the
// Progressing condition.
func stepSince(ro *v1alpha1.Rollout, stepEvent time.Time) time.Time {
	st := &ro.Status
	if len(st.PauseConditions) > 0 && !st.PauseConditions[0].StartTime.IsZero() {
		return st.PauseConditions[0].StartTime.Time
	}
	if !stepEvent.IsZero() {
		return stepEvent
	}
	for _, c := range st.Conditions {
		if c.Type == v1alpha1.RolloutProgressing && !c.LastTransitionTime.IsZero() {
			return c.LastTransitionTime.Time
		}
	}
	return time.Time{}
}

// desiredWeight is the canary weight the controller aims for, by the rules of
// Argo Rollouts' basic canary.
func desiredWeight(ro *v1alpha1.Rollout, index int32) int32 {
	st := &ro.Status
	steps := ro.Steps()
	switch {
	case st.Abort:
		return 0
	case st.PromoteFull, st.StableRS == "", st.StableRS == st.CurrentPodHash, int(index) >= len(steps):
		return 100
	}
	var w int32
	for i := int32(0); i <= index && int(i) < len(steps); i++ {
		if steps[i].SetWeight != nil {
			w = *steps[i].SetWeight
		}
	}
	return w
}

func stepText(s v1alpha1.CanaryStep) string {
	switch {
	case s.SetWeight != nil:
		return fmt.Sprintf("setWeight %d", *s.SetWeight)
	case s.Pause != nil:
		d, timed, err := s.Pause.PauseDuration()
		switch {
		case err != nil:
			return "pause (invalid duration)"
		case !timed:
			return "pause (until promoted)"
		}
		return "pause " + d.String()
	case s.Analysis != nil:
		names := make([]string, len(s.Analysis.Templates))
		for i, t := range s.Analysis.Templates {
			names[i] = t.TemplateName
		}
		return "analysis " + strings.Join(names, ", ")
	}
	return "(unsupported step)"
}

// ownedReplicaSets keeps the ReplicaSets controlled by ro, newest revision first.
func ownedReplicaSets(ro *v1alpha1.Rollout, rss []*appsv1.ReplicaSet) []*appsv1.ReplicaSet {
	var out []*appsv1.ReplicaSet
	for _, rs := range rss {
		if rs.Namespace == ro.Namespace && controlledBy(rs.OwnerReferences, ro.UID, ro.Name) {
			out = append(out, rs)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return revision(out[i]) > revision(out[j]) })
	return out
}

func controlledBy(refs []metav1.OwnerReference, uid types.UID, name string) bool {
	for _, r := range refs {
		if r.Controller == nil || !*r.Controller || r.Kind != v1alpha1.Kind {
			continue
		}
		if r.UID == uid || (uid == "" && r.Name == name) {
			return true
		}
	}
	return false
}

func revision(rs *appsv1.ReplicaSet) int64 {
	n, _ := strconv.ParseInt(rs.Annotations[v1alpha1.RevisionAnnotation], 10, 64)
	return n
}

// podsByReplicaSet groups pods by the uid of their controller, in one pass
// over them: each ReplicaSet's count and list then read only its own.
func podsByReplicaSet(pods []*Pod) map[types.UID][]*Pod {
	out := map[types.UID][]*Pod{}
	for _, p := range pods {
		for _, r := range p.OwnerReferences {
			if r.Controller != nil && *r.Controller {
				out[r.UID] = append(out[r.UID], p)
				break
			}
		}
	}
	return out
}

func podInfo(p *Pod, rs string, role PodRole) PodInfo {
	return PodInfo{
		Name: p.Name, ReplicaSet: rs, Role: role,
		Phase: p.Phase, Ready: p.Ready, Severity: p.Severity,
		ReadyContainers: p.ReadyContainers, Containers: p.Containers, Restarts: p.Restarts,
		Reason: p.Reason, Node: p.NodeName, Created: p.CreationTimestamp.Time,
	}
}

// replicaSetView is rs as shown, its pods those it controls (see
// podsByReplicaSet).
func replicaSetView(rs *appsv1.ReplicaSet, pods []*Pod) *ReplicaSet {
	v := &ReplicaSet{
		Name:       rs.Name,
		Revision:   rs.Annotations[v1alpha1.RevisionAnnotation],
		Total:      rs.Status.Replicas,
		Ready:      rs.Status.ReadyReplicas,
		Available:  rs.Status.AvailableReplicas,
		PodsByRole: map[string]int{},
		Created:    rs.CreationTimestamp.Time,
	}
	if rs.Spec.Replicas != nil {
		v.Desired = *rs.Spec.Replicas
	}
	for _, c := range rs.Spec.Template.Spec.Containers {
		v.Images = append(v.Images, c.Image)
	}
	for _, p := range pods {
		if p.Namespace != rs.Namespace || p.DeletionTimestamp != nil || p.Phase == corev1.PodSucceeded || p.Phase == corev1.PodFailed {
			continue
		}
		v.PodsByRole[p.Labels[RoleLabel]]++
	}
	return v
}

// rolloutEvents keeps ro's Events, newest first, at most MaxEvents. It also
// returns, from all of them, the time of the newest step Event, the
// component of the newest Event a controller (not a person's action)
// recorded, and the actor of the newest abort a person asked for.
func rolloutEvents(ro *v1alpha1.Rollout, events []*corev1.Event) (out []Event, stepEvent time.Time, steppedBy, abortedBy string) {
	var steppedAt time.Time
	for _, e := range events {
		io := e.InvolvedObject
		if io.Kind != v1alpha1.Kind || io.Namespace != ro.Namespace || io.Name != ro.Name || (io.UID != "" && ro.UID != "" && io.UID != ro.UID) {
			continue
		}
		ev := Event{
			Time:    eventTime(e),
			Type:    e.Type,
			Reason:  e.Reason,
			Message: strings.TrimSpace(e.Message),
			Actor:   e.Annotations[ActorAnnotation],
			Source:  eventSource(e),
			Count:   e.Count,
			created: createdNanos(e.Name),
		}
		out = append(out, ev)
		if stepEventReasons[ev.Reason] && ev.Time.After(stepEvent) {
			stepEvent = ev.Time
		}
		if ev.Actor == "" && ev.Source != "" && !ev.Time.Before(steppedAt) {
			steppedAt, steppedBy = ev.Time, ev.Source
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return newer(out[i], out[j]) })
	if i := slices.IndexFunc(out, func(e Event) bool { return e.Actor != "" && strings.HasPrefix(e.Reason, "RolloutAbort") }); i >= 0 {
		abortedBy = out[i].Actor
	}
	if len(out) > MaxEvents {
		out = out[:MaxEvents]
	}
	return out, stepEvent, steppedBy, abortedBy
}

// newer orders Events by time, then, within a second (the API's timestamps
// have no finer grain), by when they were created.
func newer(a, b Event) bool {
	if !a.Time.Equal(b.Time) {
		return a.Time.After(b.Time)
	}
	return a.created > b.created
}

// createdNanos reads the creation time, in nanoseconds, that client-go's
// recorder and roost's actions put in an Event's name ("checkout.18a2…",
// the hexadecimal Unix nanoseconds); 0 for other names.
func createdNanos(name string) int64 {
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return 0
	}
	n, err := strconv.ParseInt(name[i+1:], 16, 64)
	if err != nil {
		return 0
	}
	return n
}

// eventSource is the component that recorded e: core/v1's source, or the
// events/v1 reporting controller.
func eventSource(e *corev1.Event) string {
	if e.Source.Component != "" {
		return e.Source.Component
	}
	return e.ReportingController
}

func eventTime(e *corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	case !e.FirstTimestamp.IsZero():
		return e.FirstTimestamp.Time
	}
	return e.CreationTimestamp.Time
}

// MaxPodEvents is how many of a pod's latest Events PodEventsOf keeps.
const MaxPodEvents = 50

// PodEventsOf keeps the Events about the pod named pod (uid, when given,
// tells it from an earlier pod of that name), newest first, at most
// MaxPodEvents: what the cockpit's pod screen lists.
func PodEventsOf(events []corev1.Event, pod string, uid types.UID) []Event {
	var out []Event
	for i := range events {
		e := &events[i]
		io := e.InvolvedObject
		if io.Kind != "Pod" || io.Name != pod || (uid != "" && io.UID != "" && io.UID != uid) {
			continue
		}
		out = append(out, Event{
			Time: eventTime(e), Type: e.Type, Reason: e.Reason, Message: strings.TrimSpace(e.Message),
			Source: eventSource(e), Count: e.Count, created: createdNanos(e.Name),
		})
	}
	sort.SliceStable(out, func(i, j int) bool { return newer(out[i], out[j]) })
	if len(out) > MaxPodEvents {
		out = out[:MaxPodEvents]
	}
	return out
}
