package v1alpha1

import (
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The analysis kinds of argoproj.io/v1alpha1, as Argo Rollouts names them
// (facts/argo-analysis-compat.md §1).
const (
	AnalysisTemplateKind        = "AnalysisTemplate"
	ClusterAnalysisTemplateKind = "ClusterAnalysisTemplate"
	AnalysisRunKind             = "AnalysisRun"

	AnalysisTemplateResource        = "analysistemplates"
	ClusterAnalysisTemplateResource = "clusteranalysistemplates"
	AnalysisRunResource             = "analysisruns"
)

var (
	// AnalysisTemplateGVR is namespaced, like the Rollouts that refer to it.
	AnalysisTemplateGVR = SchemeGroupVersion.WithResource(AnalysisTemplateResource)
	// ClusterAnalysisTemplateGVR is cluster-scoped.
	ClusterAnalysisTemplateGVR = SchemeGroupVersion.WithResource(ClusterAnalysisTemplateResource)
	// AnalysisRunGVR is namespaced, in the namespace of the Rollout that owns it.
	AnalysisRunGVR = SchemeGroupVersion.WithResource(AnalysisRunResource)
)

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// AnalysisTemplate holds metrics that a Rollout's analysis runs in its own
// namespace.
type AnalysisTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec AnalysisTemplateSpec `json:"spec"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// AnalysisTemplateList is a list of AnalysisTemplates.
type AnalysisTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AnalysisTemplate `json:"items"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// ClusterAnalysisTemplate is an AnalysisTemplate shared by every namespace; a
// Rollout refers to it with clusterScope: true.
type ClusterAnalysisTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec AnalysisTemplateSpec `json:"spec"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// ClusterAnalysisTemplateList is a list of ClusterAnalysisTemplates.
type ClusterAnalysisTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterAnalysisTemplate `json:"items"`
}

// AnalysisTemplateSpec is the spec of both template kinds.
type AnalysisTemplateSpec struct {
	Metrics              []Metric               `json:"metrics"`
	Args                 []Argument             `json:"args,omitempty"`
	DryRun               []DryRun               `json:"dryRun,omitempty"`
	MeasurementRetention []MeasurementRetention `json:"measurementRetention,omitempty"`
	// Templates nests other templates; their metrics and args join this one's.
	Templates []AnalysisTemplateRef `json:"templates,omitempty"`
}

// AnalysisTemplateRef names a template: an AnalysisTemplate in the same
// namespace, or a ClusterAnalysisTemplate when ClusterScope is set.
type AnalysisTemplateRef struct {
	TemplateName string `json:"templateName"`
	ClusterScope bool   `json:"clusterScope,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// AnalysisRun is one execution of the metrics of one or more templates, with
// their arguments resolved; its status is the whole progress of the analysis.
type AnalysisRun struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   AnalysisRunSpec   `json:"spec"`
	Status AnalysisRunStatus `json:"status,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// AnalysisRunList is a list of AnalysisRuns.
type AnalysisRunList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AnalysisRun `json:"items"`
}

// AnalysisRunSpec is what a run measures. Metric fields keep their
// {{args.NAME}} placeholders: they are substituted at each measurement.
type AnalysisRunSpec struct {
	Metrics []Metric   `json:"metrics"`
	Args    []Argument `json:"args,omitempty"`
	// Terminate stops the run: no new measurements, unfinished metrics end
	// Successful. The rollout controller sets it with a merge patch
	// {"spec":{"terminate":true}}.
	Terminate            bool                   `json:"terminate,omitempty"`
	DryRun               []DryRun               `json:"dryRun,omitempty"`
	MeasurementRetention []MeasurementRetention `json:"measurementRetention,omitempty"`
	TTLStrategy          *TTLStrategy           `json:"ttlStrategy,omitempty"`
}

// TTLStrategy deletes a completed run after a number of seconds. The rollout
// controller never sets it; a run created by hand may.
type TTLStrategy struct {
	SecondsAfterCompletion *int32 `json:"secondsAfterCompletion,omitempty"`
	SecondsAfterFailure    *int32 `json:"secondsAfterFailure,omitempty"`
	SecondsAfterSuccess    *int32 `json:"secondsAfterSuccess,omitempty"`
}

// DryRun makes the metrics whose names match MetricName (a Go regular
// expression, unanchored, so ".*" is every metric) measure without affecting
// the run's phase.
type DryRun struct {
	MetricName string `json:"metricName"`
}

// MeasurementRetention keeps the last Limit measurements of the metrics whose
// names match MetricName (unanchored regular expression) instead of 10.
type MeasurementRetention struct {
	MetricName string `json:"metricName"`
	Limit      int32  `json:"limit"`
}

// Argument is a template argument, referred to as {{args.NAME}} in metrics. A
// template may leave Value empty for the Rollout to fill.
type Argument struct {
	Name      string             `json:"name"`
	Value     *string            `json:"value,omitempty"`
	ValueFrom *ArgumentValueFrom `json:"valueFrom,omitempty"`
}

// ArgumentValueFrom reads an argument from a Secret of the run's namespace or
// from a field of the Rollout; exactly one is set.
type ArgumentValueFrom struct {
	SecretKeyRef *SecretKeyRef `json:"secretKeyRef,omitempty"`
	FieldRef     *FieldRef     `json:"fieldRef,omitempty"`
}

// SecretKeyRef is one key of one Secret.
type SecretKeyRef struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// FieldRef is a path into the Rollout: metadata.labels['k'] and the like by
// the downward API's rules, any other path by walking its JSON.
type FieldRef struct {
	FieldPath string `json:"fieldPath"`
}

// Metric is one measurement repeated over time and its assessment. The counts
// and limits are int-or-string so that they can be {{args.NAME}} placeholders,
// as in Argo Rollouts; Effective* and Get* read them once resolved.
type Metric struct {
	Name string `json:"name"`
	// Interval is the gap between a measurement's end and the next one
	// ("30s", "5m", "1h"); empty means a single measurement.
	Interval string `json:"interval,omitempty"`
	// InitialDelay holds the first measurement back from the run's start.
	InitialDelay            string              `json:"initialDelay,omitempty"`
	Count                   *intstr.IntOrString `json:"count,omitempty"`
	SuccessCondition        string              `json:"successCondition,omitempty"`
	FailureCondition        string              `json:"failureCondition,omitempty"`
	FailureLimit            *intstr.IntOrString `json:"failureLimit,omitempty"`
	InconclusiveLimit       *intstr.IntOrString `json:"inconclusiveLimit,omitempty"`
	ConsecutiveErrorLimit   *intstr.IntOrString `json:"consecutiveErrorLimit,omitempty"`
	ConsecutiveSuccessLimit *intstr.IntOrString `json:"consecutiveSuccessLimit,omitempty"`
	Provider                MetricProvider      `json:"provider"`
}

// MetricProvider says where a measurement comes from. Argo Rollouts knows
// many providers; roost measures with Datadog and web only, and refuses the
// others when it decodes a template.
type MetricProvider struct {
	Datadog *DatadogMetric `json:"datadog,omitempty"`
	Web     *WebMetric     `json:"web,omitempty"`
}

// DatadogAPIVersion selects the Datadog query API.
type DatadogAPIVersion string

// The Datadog APIs: v1 GET /api/v1/query (one query), v2 POST
// /api/v2/query/scalar (named queries and a formula).
const (
	DatadogAPIv1 DatadogAPIVersion = "v1"
	DatadogAPIv2 DatadogAPIVersion = "v2"
)

// DatadogAggregator reduces a v2 query's series to one number.
type DatadogAggregator string

// The aggregators Datadog's v2 scalar API accepts.
const (
	DatadogAggregatorAvg        DatadogAggregator = "avg"
	DatadogAggregatorMin        DatadogAggregator = "min"
	DatadogAggregatorMax        DatadogAggregator = "max"
	DatadogAggregatorSum        DatadogAggregator = "sum"
	DatadogAggregatorLast       DatadogAggregator = "last"
	DatadogAggregatorPercentile DatadogAggregator = "percentile"
	DatadogAggregatorMean       DatadogAggregator = "mean"
	DatadogAggregatorL2Norm     DatadogAggregator = "l2norm"
	DatadogAggregatorArea       DatadogAggregator = "area"
)

// DatadogMetric is a Datadog query over the window [now-Interval, now].
type DatadogMetric struct {
	// Interval is the query window ("5m" when empty), not the gap between
	// measurements (that is Metric.Interval).
	Interval   string            `json:"interval,omitempty"`
	Query      string            `json:"query,omitempty"`
	Queries    map[string]string `json:"queries,omitempty"`
	Formula    string            `json:"formula,omitempty"`
	APIVersion DatadogAPIVersion `json:"apiVersion,omitempty"`
	Aggregator DatadogAggregator `json:"aggregator,omitempty"`
	SecretRef  *DatadogSecretRef `json:"secretRef,omitempty"`
}

// DatadogSecretRef names the Secret holding the Datadog keys (api-key,
// app-key, optional address): in the controller's namespace, or in the run's
// when Namespaced is set.
type DatadogSecretRef struct {
	Name       string `json:"name,omitempty"`
	Namespaced bool   `json:"namespaced,omitempty"`
}

// WebMetricMethod is the HTTP method of a web metric.
type WebMetricMethod string

// The methods a web metric may use; GET when empty.
const (
	WebMetricMethodGet  WebMetricMethod = "GET"
	WebMetricMethodPost WebMetricMethod = "POST"
	WebMetricMethodPut  WebMetricMethod = "PUT"
)

// WebMetric is an HTTP request whose JSON answer, at JSONPath, is the result.
type WebMetric struct {
	Method  WebMetricMethod   `json:"method,omitempty"`
	URL     string            `json:"url"`
	Headers []WebMetricHeader `json:"headers,omitempty"`
	// Body and JSONBody are sent with POST or PUT only; at most one is set.
	Body           string          `json:"body,omitempty"`
	JSONBody       json.RawMessage `json:"jsonBody,omitempty"`
	TimeoutSeconds int64           `json:"timeoutSeconds,omitempty"`
	// JSONPath is a Kubernetes JSONPath ("{$.data.ok}"); "{$}" when empty.
	JSONPath string `json:"jsonPath,omitempty"`
	Insecure bool   `json:"insecure,omitempty"`
}

// WebMetricHeader is one request header.
type WebMetricHeader struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// AnalysisPhase is the phase of a run, of a metric and of a measurement.
type AnalysisPhase string

// Phases, as Argo Rollouts writes them.
const (
	AnalysisPhasePending      AnalysisPhase = "Pending"
	AnalysisPhaseRunning      AnalysisPhase = "Running"
	AnalysisPhaseSuccessful   AnalysisPhase = "Successful"
	AnalysisPhaseFailed       AnalysisPhase = "Failed"
	AnalysisPhaseError        AnalysisPhase = "Error"
	AnalysisPhaseInconclusive AnalysisPhase = "Inconclusive"
)

// Completed says whether a phase is final: Successful, Failed, Error and
// Inconclusive are (facts §1, at.go:207-223).
func (p AnalysisPhase) Completed() bool {
	switch p {
	case AnalysisPhaseSuccessful, AnalysisPhaseFailed, AnalysisPhaseError, AnalysisPhaseInconclusive:
		return true
	}
	return false
}

// AnalysisRunStatus is the whole progress of a run. Phase has no omitempty,
// as in Argo Rollouts, so a new run shows "phase": "".
type AnalysisRunStatus struct {
	Phase         AnalysisPhase  `json:"phase"`
	Message       string         `json:"message,omitempty"`
	MetricResults []MetricResult `json:"metricResults,omitempty"`
	StartedAt     *metav1.Time   `json:"startedAt,omitempty"`
	CompletedAt   *metav1.Time   `json:"completedAt,omitempty"`
	RunSummary    RunSummary     `json:"runSummary,omitempty"`
	DryRunSummary *RunSummary    `json:"dryRunSummary,omitempty"`
}

// RunSummary counts the metrics of a run by final phase.
type RunSummary struct {
	Count        int32 `json:"count,omitempty"`
	Successful   int32 `json:"successful,omitempty"`
	Failed       int32 `json:"failed,omitempty"`
	Inconclusive int32 `json:"inconclusive,omitempty"`
	Error        int32 `json:"error,omitempty"`
}

// MetricResult is the progress of one metric. Count is Successful + Failed +
// Inconclusive: measurements that errored do not use up the metric's count.
type MetricResult struct {
	Name               string            `json:"name"`
	Phase              AnalysisPhase     `json:"phase"`
	Measurements       []Measurement     `json:"measurements,omitempty"`
	Message            string            `json:"message,omitempty"`
	Count              int32             `json:"count,omitempty"`
	Successful         int32             `json:"successful,omitempty"`
	Failed             int32             `json:"failed,omitempty"`
	Inconclusive       int32             `json:"inconclusive,omitempty"`
	Error              int32             `json:"error,omitempty"`
	ConsecutiveError   int32             `json:"consecutiveError,omitempty"`
	ConsecutiveSuccess int32             `json:"consecutiveSuccess,omitempty"`
	DryRun             bool              `json:"dryRun,omitempty"`
	Metadata           map[string]string `json:"metadata,omitempty"`
}

// Measurement is one query and its assessment. Value is the provider's answer
// as text (a number, or JSON such as "[]" when there was no data).
type Measurement struct {
	Phase      AnalysisPhase     `json:"phase"`
	Message    string            `json:"message,omitempty"`
	StartedAt  *metav1.Time      `json:"startedAt,omitempty"`
	FinishedAt *metav1.Time      `json:"finishedAt,omitempty"`
	Value      string            `json:"value,omitempty"`
	Metadata   map[string]string `json:"metadata,omitempty"`
	ResumeAt   *metav1.Time      `json:"resumeAt,omitempty"`
}
