package v1alpha1

// datadogTemplateYAML is the shape of Argo Rollouts' documented Datadog
// template: the v2 API, two named queries and a formula, args filled by the
// Rollout, and a condition that treats "no data" as 0.
const datadogTemplateYAML = `
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: error-rate
  namespace: shop
spec:
  args:
  - name: service-name
  - name: canary-hash
  metrics:
  - name: error-rate
    interval: 5m
    initialDelay: 1m
    count: 6
    successCondition: default(result, 0) < 0.05
    failureLimit: 2
    consecutiveErrorLimit: 3
    provider:
      datadog:
        apiVersion: v2
        interval: 5m
        aggregator: avg
        queries:
          a: sum:trace.http.request.errors{service:{{args.service-name}},version:{{args.canary-hash}}}.as_count()
          b: sum:trace.http.request.hits{service:{{args.service-name}},version:{{args.canary-hash}}}.as_count()
        formula: a / b
  - name: p99-latency
    interval: 1m
    count: "{{args.samples}}"
    successCondition: result == nil || result < 0.4
    failureLimit: "1"
    provider:
      datadog:
        query: p99:trace.http.request.duration{service:{{args.service-name}}}
  dryRun:
  - metricName: p99.*
  measurementRetention:
  - metricName: .*
    limit: 20
`

// webTemplateYAML checks a JSON health endpoint with a token from a Secret.
const webTemplateYAML = `
apiVersion: argoproj.io/v1alpha1
kind: ClusterAnalysisTemplate
metadata:
  name: health
spec:
  args:
  - name: service-name
  - name: api-token
    valueFrom:
      secretKeyRef:
        name: health-api
        key: token
  - name: image
    valueFrom:
      fieldRef:
        fieldPath: spec.template.spec.containers[0].image
  metrics:
  - name: healthy
    successCondition: result == true
    provider:
      web:
        url: "https://health.internal/api/v1/check?service={{ args.service-name }}"
        timeoutSeconds: 20
        jsonPath: "{$.results.ok}"
        headers:
        - key: Authorization
          value: "Bearer {{ args.api-token }}"
  - name: smoke
    interval: 30s
    count: 3
    failureCondition: result.errors > 0
    provider:
      web:
        method: POST
        url: https://smoke.internal/run
        jsonBody:
          image: "{{args.image}}"
          suite: checkout
        insecure: true
`

// analysisRunYAML is a run as Argo Rollouts leaves it after an abort.
const analysisRunYAML = `
apiVersion: argoproj.io/v1alpha1
kind: AnalysisRun
metadata:
  name: checkout-6f9d8c7b5-2-1
  namespace: shop
  labels:
    rollouts-pod-template-hash: 6f9d8c7b5
    rollout-type: Step
    step-index: "1"
spec:
  args:
  - name: service-name
    value: checkout
  metrics:
  - name: error-rate
    interval: 1m
    count: 3
    successCondition: default(result, 0) < 0.05
    provider:
      datadog:
        query: sum:errors{service:{{args.service-name}}}.as_count()
  terminate: true
  ttlStrategy:
    secondsAfterCompletion: 3600
status:
  phase: Failed
  message: 'Metric "error-rate" assessed Failed due to failed (1) > failureLimit (0)'
  startedAt: "2025-05-01T10:00:00Z"
  completedAt: "2025-05-01T10:02:05Z"
  runSummary:
    count: 1
    failed: 1
  metricResults:
  - name: error-rate
    phase: Failed
    message: failed (1) > failureLimit (0)
    count: 2
    successful: 1
    failed: 1
    error: 1
    consecutiveSuccess: 0
    measurements:
    - phase: Successful
      value: "0.01"
      startedAt: "2025-05-01T10:00:00Z"
      finishedAt: "2025-05-01T10:00:01Z"
    - phase: Error
      message: 'received non 2xx response code: 429 Too Many Requests'
      startedAt: "2025-05-01T10:01:01Z"
      finishedAt: "2025-05-01T10:01:02Z"
    - phase: Failed
      value: "0.2"
      startedAt: "2025-05-01T10:02:02Z"
      finishedAt: "2025-05-01T10:02:03Z"
      metadata:
        groups: '[]'
    newerStatusField: kept-out
`
