package v1alpha1

import (
	"encoding/json"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// API coordinates of the Rollout resource.
const (
	Group    = "argoproj.io"
	Version  = "v1alpha1"
	Kind     = "Rollout"
	Resource = "rollouts"
)

var (
	// SchemeGroupVersion is argoproj.io/v1alpha1.
	SchemeGroupVersion = schema.GroupVersion{Group: Group, Version: Version}
	// RolloutGVR is what the dynamic client and informers use.
	RolloutGVR = SchemeGroupVersion.WithResource(Resource)
	// RolloutGVK is the kind of every Rollout object.
	RolloutGVK = SchemeGroupVersion.WithKind(Kind)
)

// Labels and annotations shared with Argo Rollouts.
const (
	// DefaultRolloutUniqueLabelKey carries the pod-template hash on ReplicaSets, their
	// selectors and their pods.
	DefaultRolloutUniqueLabelKey = "rollouts-pod-template-hash"
	// RevisionAnnotation numbers the ReplicaSets of a Rollout: 1, 2, ...
	RevisionAnnotation = "rollout.argoproj.io/revision"
	// EphemeralMetadataAnnotation records, on a ReplicaSet, the labels and annotations
	// injected from canaryMetadata/stableMetadata, so that only those are removed later.
	EphemeralMetadataAnnotation = "rollout.argoproj.io/ephemeral-metadata"
	// DesiredReplicasAnnotation records spec.replicas on each ReplicaSet.
	DesiredReplicasAnnotation = "rollout.argoproj.io/desired-replicas"
)

// AbortReasonAnnotation is roost's own: set on the Rollout (a merge patch on
// the main resource) by whoever aborts it, next to the status patch
// {"status":{"abort":true}}; the abort's condition, phase message and Event
// quote it, so that everyone can see why a canary was stopped
// (argo-rollouts #3957).
const AbortReasonAnnotation = "rollouts.roost.dev/abort-reason"

// JudgeHeldAnnotation is roost's too: set, with spec.paused, on a Rollout
// whose canary roost's judge held, as "<pod-template hash>: <evidence>".
const JudgeHeldAnnotation = "rollouts.roost.dev/judge-held"

// JudgeHeld reads the judge's hold mark on a Rollout: the canary's hash and
// the evidence, and whether there is one.
func JudgeHeld(annotations map[string]string) (hash, evidence string, ok bool) {
	v, ok := annotations[JudgeHeldAnnotation]
	if !ok {
		return "", "", false
	}
	hash, evidence, _ = strings.Cut(v, ": ")
	return hash, evidence, true
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Rollout is a Deployment-like workload released by canary steps.
type Rollout struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   RolloutSpec   `json:"spec"`
	Status RolloutStatus `json:"status,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// RolloutList is a list of Rollouts.
type RolloutList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Rollout `json:"items"`
}

// RolloutSpec is the supported subset of an Argo Rollouts spec. Any field not
// modelled here is reported as unsupported by Decode rather than ignored.
type RolloutSpec struct {
	Replicas                *int32                 `json:"replicas,omitempty"`
	Selector                *metav1.LabelSelector  `json:"selector"`
	Template                corev1.PodTemplateSpec `json:"template"`
	MinReadySeconds         int32                  `json:"minReadySeconds,omitempty"`
	Strategy                RolloutStrategy        `json:"strategy"`
	RevisionHistoryLimit    *int32                 `json:"revisionHistoryLimit,omitempty"`
	Paused                  bool                   `json:"paused,omitempty"`
	ProgressDeadlineSeconds *int32                 `json:"progressDeadlineSeconds,omitempty"`
	ProgressDeadlineAbort   bool                   `json:"progressDeadlineAbort,omitempty"`
	RestartAt               *metav1.Time           `json:"restartAt,omitempty"`
	// Analysis bounds how many finished AnalysisRuns of this Rollout are kept.
	Analysis *AnalysisRunStrategy `json:"analysis,omitempty"`
}

// AnalysisRunStrategy bounds the AnalysisRuns a Rollout keeps once they are
// no longer current: the newest successful and unsuccessful ones, 5 each by
// default.
type AnalysisRunStrategy struct {
	SuccessfulRunHistoryLimit   *int32 `json:"successfulRunHistoryLimit,omitempty"`
	UnsuccessfulRunHistoryLimit *int32 `json:"unsuccessfulRunHistoryLimit,omitempty"`
}

// RolloutStrategy holds the canary strategy; blue-green is not supported.
type RolloutStrategy struct {
	Canary *CanaryStrategy `json:"canary,omitempty"`
}

// CanaryStrategy is the basic canary: steps over two ReplicaSets, no traffic router.
type CanaryStrategy struct {
	// CanaryService and StableService are accepted for compatibility; without a traffic
	// router they only name Services that a user or Argo may manage.
	CanaryService  string               `json:"canaryService,omitempty"`
	StableService  string               `json:"stableService,omitempty"`
	Steps          []CanaryStep         `json:"steps,omitempty"`
	MaxUnavailable *intstr.IntOrString  `json:"maxUnavailable,omitempty"`
	MaxSurge       *intstr.IntOrString  `json:"maxSurge,omitempty"`
	CanaryMetadata *PodTemplateMetadata `json:"canaryMetadata,omitempty"`
	StableMetadata *PodTemplateMetadata `json:"stableMetadata,omitempty"`
	// ScaleDownDelaySeconds is refused without a traffic router, as Argo
	// Rollouts refuses it; it is modelled so that the refusal can quote it.
	ScaleDownDelaySeconds *int32 `json:"scaleDownDelaySeconds,omitempty"`
	// AbortScaleDownDelaySeconds, ScaleDownDelayRevisionLimit and
	// MinPodsPerReplicaSet only act with a traffic router in Argo Rollouts;
	// a basic canary accepts and ignores them, in roost as in Argo.
	AbortScaleDownDelaySeconds  *int32 `json:"abortScaleDownDelaySeconds,omitempty"`
	ScaleDownDelayRevisionLimit *int32 `json:"scaleDownDelayRevisionLimit,omitempty"`
	MinPodsPerReplicaSet        *int32 `json:"minPodsPerReplicaSet,omitempty"`
	// DynamicStableScale needs a traffic router: true is refused, false (the
	// default, which Helm charts write out) is accepted.
	DynamicStableScale bool `json:"dynamicStableScale,omitempty"`
	// AntiAffinity keeps the canary's pods off the nodes of the stable
	// ReplicaSet's pods while the canary runs.
	AntiAffinity *AntiAffinity `json:"antiAffinity,omitempty"`
	// ReplicaProgressThreshold lets a setWeight step complete before every
	// canary pod is available.
	ReplicaProgressThreshold *ReplicaProgressThreshold `json:"replicaProgressThreshold,omitempty"`
	// Analysis runs in the background for the whole canary, from
	// StartingStep on; when it fails, the canary is aborted.
	Analysis *RolloutAnalysisBackground `json:"analysis,omitempty"`
}

// AntiAffinity says which inter-pod anti-affinity rule the canary
// ReplicaSet's pods get against the stable ReplicaSet's pods; exactly one of
// its fields is set.
type AntiAffinity struct {
	PreferredDuringSchedulingIgnoredDuringExecution *PreferredDuringSchedulingIgnoredDuringExecution `json:"preferredDuringSchedulingIgnoredDuringExecution,omitempty"`
	RequiredDuringSchedulingIgnoredDuringExecution  *RequiredDuringSchedulingIgnoredDuringExecution  `json:"requiredDuringSchedulingIgnoredDuringExecution,omitempty"`
}

// PreferredDuringSchedulingIgnoredDuringExecution is a preferred rule of
// the given weight (1-100).
type PreferredDuringSchedulingIgnoredDuringExecution struct {
	Weight int32 `json:"weight"`
}

// RequiredDuringSchedulingIgnoredDuringExecution is a required rule.
type RequiredDuringSchedulingIgnoredDuringExecution struct{}

// ReplicaProgressThreshold is how much of a step's canary must be available
// for the step to complete: a percentage of its pods, or a number of pods.
type ReplicaProgressThreshold struct {
	Type  ProgressType `json:"type"`
	Value int32        `json:"value"`
}

// ProgressType is the unit of a ReplicaProgressThreshold.
type ProgressType string

// The units of a ReplicaProgressThreshold.
const (
	ProgressTypePercentage ProgressType = "Percent"
	ProgressTypePod        ProgressType = "Pod"
)

// RolloutAnalysisBackground is the canary's background analysis.
type RolloutAnalysisBackground struct {
	RolloutAnalysis `json:",inline"`
	// StartingStep is the step index from which the background run runs
	// (0 when unset).
	StartingStep *int32 `json:"startingStep,omitempty"`
}

// RolloutAnalysis says which templates an AnalysisRun is made of, with what
// arguments. Its JSON form, like CanaryStep's, must stay Argo Rollouts'
// (AnalysisRunMetadata is a struct, so an empty one is written as {}): the
// step hash is computed over it.
type RolloutAnalysis struct {
	Templates            []AnalysisTemplateRef  `json:"templates,omitempty"`
	Args                 []AnalysisRunArgument  `json:"args,omitempty"`
	DryRun               []DryRun               `json:"dryRun,omitempty"`
	MeasurementRetention []MeasurementRetention `json:"measurementRetention,omitempty"`
	AnalysisRunMetadata  AnalysisRunMetadata    `json:"analysisRunMetadata,omitempty"`
}

// AnalysisRunArgument is a value the Rollout passes to its templates'
// arguments: literal, or read from the Rollout when the run is created.
type AnalysisRunArgument struct {
	Name      string                    `json:"name"`
	Value     string                    `json:"value,omitempty"`
	ValueFrom *RolloutArgumentValueFrom `json:"valueFrom,omitempty"`
}

// RolloutArgumentValueFrom reads an argument from the Rollout: a
// ReplicaSet's pod-template hash, or a field.
type RolloutArgumentValueFrom struct {
	PodTemplateHashValue *ValueFromPodTemplateHash `json:"podTemplateHashValue,omitempty"`
	FieldRef             *FieldRef                 `json:"fieldRef,omitempty"`
}

// ValueFromPodTemplateHash says which ReplicaSet's hash an argument takes.
type ValueFromPodTemplateHash string

// The ReplicaSets an argument may take the hash of.
const (
	PodTemplateHashStable ValueFromPodTemplateHash = "Stable"
	PodTemplateHashLatest ValueFromPodTemplateHash = "Latest"
)

// AnalysisRunMetadata is put on the AnalysisRuns a Rollout creates.
type AnalysisRunMetadata struct {
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// CanaryStep sets exactly one of its fields. Its JSON form must stay identical to
// Argo Rollouts' for the step hash to match.
type CanaryStep struct {
	SetWeight *int32        `json:"setWeight,omitempty"`
	Pause     *RolloutPause `json:"pause,omitempty"`
	// Analysis runs an AnalysisRun; the step completes when it succeeds.
	Analysis *RolloutAnalysis `json:"analysis,omitempty"`
}

// RolloutPause waits for a promote, or for Duration when set.
type RolloutPause struct {
	// Duration is seconds as an int, or a string: "90" (seconds), "30s", "10m", "1h".
	Duration *intstr.IntOrString `json:"duration,omitempty"`
}

// PodTemplateMetadata is extra metadata put on a ReplicaSet's pods while it is
// the canary or the stable one.
type PodTemplateMetadata struct {
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// PauseReason says why a rollout paused.
type PauseReason string

// Pause reasons of Argo Rollouts' basic canary.
const (
	// PauseReasonCanaryPauseStep is the reason of a pause step's condition.
	PauseReasonCanaryPauseStep PauseReason = "CanaryPauseStep"
	// PauseReasonInconclusiveAnalysis holds the canary after an
	// Inconclusive AnalysisRun, until a person promotes or aborts it.
	PauseReasonInconclusiveAnalysis PauseReason = "InconclusiveAnalysisRun"
)

// PauseCondition is one reason the controller holds the rollout.
type PauseCondition struct {
	Reason    PauseReason `json:"reason"`
	StartTime metav1.Time `json:"startTime"`
}

// RolloutPhase is the summary state shown to users.
type RolloutPhase string

// Phases, as Argo Rollouts computes them.
const (
	PhaseHealthy     RolloutPhase = "Healthy"
	PhaseDegraded    RolloutPhase = "Degraded"
	PhaseProgressing RolloutPhase = "Progressing"
	PhasePaused      RolloutPhase = "Paused"
)

// RolloutConditionType names a condition.
type RolloutConditionType string

// Condition types.
const (
	RolloutProgressing    RolloutConditionType = "Progressing"
	RolloutPaused         RolloutConditionType = "Paused"
	RolloutAvailable      RolloutConditionType = "Available"
	RolloutHealthy        RolloutConditionType = "Healthy"
	RolloutCompleted      RolloutConditionType = "Completed"
	InvalidSpec           RolloutConditionType = "InvalidSpec"
	RolloutReplicaFailure RolloutConditionType = "ReplicaFailure"
)

// Condition reasons shared with Argo Rollouts.
const (
	ReasonInvalidSpec              = "InvalidSpec"
	ReasonNewReplicaSetCreated     = "NewReplicaSetCreated"
	ReasonReplicaSetUpdated        = "ReplicaSetUpdated"
	ReasonNewRSAvailable           = "NewReplicaSetAvailable"
	ReasonRolloutAborted           = "RolloutAborted"
	ReasonProgressDeadlineExceeded = "ProgressDeadlineExceeded"
	ReasonRolloutPaused            = "RolloutPaused"
	ReasonRolloutResumed           = "RolloutResumed"
	ReasonAvailable                = "AvailableReason"
	ReasonNotAvailable             = "AvailableReason"
	ReasonHealthy                  = "RolloutHealthy"
	ReasonCompleted                = "RolloutCompleted"
	ReasonFailedRSCreate           = "ReplicaSetCreateError"
)

// RolloutCondition is one condition of a Rollout.
type RolloutCondition struct {
	Type               RolloutConditionType   `json:"type"`
	Status             corev1.ConditionStatus `json:"status"`
	LastUpdateTime     metav1.Time            `json:"lastUpdateTime"`
	LastTransitionTime metav1.Time            `json:"lastTransitionTime"`
	Reason             string                 `json:"reason"`
	Message            string                 `json:"message"`
}

// CanaryStatus mirrors Argo's status.canary.
type CanaryStatus struct {
	// CurrentStepAnalysisRunStatus is the AnalysisRun of the current
	// analysis step; CurrentBackgroundAnalysisRunStatus the background one.
	CurrentStepAnalysisRunStatus       *RolloutAnalysisRunStatus `json:"currentStepAnalysisRunStatus,omitempty"`
	CurrentBackgroundAnalysisRunStatus *RolloutAnalysisRunStatus `json:"currentBackgroundAnalysisRunStatus,omitempty"`
	// Weights is set by traffic routers only; kept so a round trip loses nothing.
	Weights json.RawMessage `json:"weights,omitempty"`
}

// RolloutAnalysisRunStatus is a current AnalysisRun: its name, phase and
// message. Argo's promote reads Status.
type RolloutAnalysisRunStatus struct {
	Name    string        `json:"name"`
	Status  AnalysisPhase `json:"status"`
	Message string        `json:"message,omitempty"`
}

// RolloutStatus is the whole progress of a canary: every client and controller
// reads and writes the same fields.
type RolloutStatus struct {
	Abort              bool               `json:"abort,omitempty"`
	PauseConditions    []PauseCondition   `json:"pauseConditions,omitempty"`
	ControllerPause    bool               `json:"controllerPause,omitempty"`
	AbortedAt          *metav1.Time       `json:"abortedAt,omitempty"`
	CurrentPodHash     string             `json:"currentPodHash,omitempty"`
	CurrentStepHash    string             `json:"currentStepHash,omitempty"`
	Replicas           int32              `json:"replicas,omitempty"`
	UpdatedReplicas    int32              `json:"updatedReplicas,omitempty"`
	ReadyReplicas      int32              `json:"readyReplicas,omitempty"`
	AvailableReplicas  int32              `json:"availableReplicas,omitempty"`
	CurrentStepIndex   *int32             `json:"currentStepIndex,omitempty"`
	CollisionCount     *int32             `json:"collisionCount,omitempty"`
	ObservedGeneration string             `json:"observedGeneration,omitempty"`
	Conditions         []RolloutCondition `json:"conditions,omitempty"`
	Canary             CanaryStatus       `json:"canary,omitempty"`
	HPAReplicas        int32              `json:"HPAReplicas,omitempty"`
	Selector           string             `json:"selector,omitempty"`
	StableRS           string             `json:"stableRS,omitempty"`
	RestartedAt        *metav1.Time       `json:"restartedAt,omitempty"`
	PromoteFull        bool               `json:"promoteFull,omitempty"`
	Phase              RolloutPhase       `json:"phase,omitempty"`
	Message            string             `json:"message,omitempty"`
}
