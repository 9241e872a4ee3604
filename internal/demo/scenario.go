package demo

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Scenario is a scripted practice session: the rollouts the demo starts
// with, how each service behaves, and how the demo keeps them moving.
type Scenario struct {
	Name string
	// Summary is one line for `roost demo --help`.
	Summary  string
	Services []Service
	// RevisionEvery is how often a rollout at rest gets a new version, so
	// that the demo never runs dry.
	RevisionEvery time.Duration
	// Plan is the quality of the new versions in turn (a fix for a rollout
	// whose current version is bad is always good).
	Plan []Quality
	// PodStartMin and PodStartMax bound the time a new pod takes to be
	// Ready; PodStopMin and PodStopMax the time a deleted one takes to go.
	PodStartMin, PodStartMax time.Duration
	PodStopMin, PodStopMax   time.Duration
	// TrafficPeriod is how often each Ready pod reports its requests.
	TrafficPeriod time.Duration
	// Wave is the period of the slow swell of traffic that stable and
	// canary share (a day's curve, sped up).
	Wave time.Duration
	// Regression is how a bad version misbehaves.
	Regression Regression
}

// Service is one rollout of a scenario and the service it releases.
type Service struct {
	Namespace, Name string
	Replicas        int32
	Steps           []Step
	// Stable is the version running when the demo starts; Canary, when
	// set, is released over it as soon as the stable one is up, with
	// CanaryQuality.
	Stable        string
	Canary        string
	CanaryQuality Quality
	Baseline      Baseline
	Errors        Errors
	// Gate is the analysis over its canaries beside the steps'.
	Gate Gate
}

// Key is the rollout's namespace/name.
func (s Service) Key() string { return s.Namespace + "/" + s.Name }

// Image is the service's image at a version: shop/checkout:3.3.0.
func (s Service) Image(version string) string {
	return s.Namespace + "/" + s.Name + ":" + version
}

// Step is one canary step: a weight, a timed pause, a pause that waits
// for a promote, or an analysis of the named template.
type Step struct {
	Weight         int32
	Pause          time.Duration
	WaitForPromote bool
	Analysis       string
}

func weight(w int32) Step           { return Step{Weight: w} }
func pauseFor(d time.Duration) Step { return Step{Pause: d} }
func waitForPromote() Step          { return Step{WaitForPromote: true} }
func analyse(template string) Step  { return Step{Analysis: template} }
func steps(s ...Step) []Step        { return s }

// Quality says whether a version works.
type Quality int

const (
	Good Quality = iota
	// Bad versions regress once they have served for a while: errors and
	// latency climb and they throw an error the service never threw before.
	Bad
)

func (q Quality) String() string {
	if q == Bad {
		return "bad"
	}
	return "good"
}

// Baseline is how a service serves on a good version.
type Baseline struct {
	// RequestsPerPod is each Ready pod's share of the traffic, per second.
	RequestsPerPod float64
	// ErrorRate is the fraction of requests that fail anyway.
	ErrorRate float64
	// LatencyMedian and LatencySpread shape the log-normal request
	// durations: the median, and sigma (p95 = median × e^(1.645 sigma)).
	LatencyMedian time.Duration
	LatencySpread float64
}

// Regression is how a bad version misbehaves: after it has served for
// Onset its errors and latency climb, over Ramp, to ErrorRate and
// LatencyFactor times the baseline's median.
type Regression struct {
	Onset, Ramp   time.Duration
	ErrorRate     float64
	LatencyFactor float64
}

// Errors are what a service reports to Bugsnag: Background errors on
// every version, now and then, and the Regression a bad version throws.
type Errors struct {
	Background []AppError
	Regression AppError
}

// AppError is one kind of error a service throws.
type AppError struct {
	Class, Message, Context string
}

// Limits of --speed.
const (
	MinSpeed = 0.25
	MaxSpeed = 10.0
)

// DefaultScenario is the scenario without --scenario.
const DefaultScenario = "default"

// ScenarioNames lists the scenarios, the default first.
func ScenarioNames() []string {
	names := make([]string, 0, len(catalog))
	for _, s := range catalog {
		names = append(names, s.Name)
	}
	return names
}

// Lookup returns the scenario called name; its error lists the choices.
func Lookup(name string) (Scenario, error) {
	for _, s := range catalog {
		if s.Name == name {
			return s, nil
		}
	}
	return Scenario{}, fmt.Errorf("--scenario %q: no such scenario; choose %s", name, choices())
}

func choices() string {
	var b strings.Builder
	for i, s := range catalog {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (%s)", s.Name, s.Summary)
	}
	return b.String()
}

// CheckSpeed refuses a --speed the demo cannot keep up.
func CheckSpeed(speed float64) error {
	if math.IsNaN(speed) || speed < MinSpeed || speed > MaxSpeed {
		return fmt.Errorf("--speed %g: give a factor between %g and %g (1 is real time, 2 twice as fast, 0.5 half as fast)", speed, MinSpeed, MaxSpeed)
	}
	return nil
}

// Scaled is the scenario with its durations divided by speed: pauses, pod
// start and stop, the traffic period and wave, new revisions and the
// regression's timing. The clock itself is never scaled. Pauses are
// whole seconds, at least one.
func (s Scenario) Scaled(speed float64) Scenario {
	scale := func(d time.Duration) time.Duration { return time.Duration(float64(d) / speed) }
	out := s
	out.RevisionEvery = scale(s.RevisionEvery)
	out.PodStartMin, out.PodStartMax = scale(s.PodStartMin), scale(s.PodStartMax)
	out.PodStopMin, out.PodStopMax = scale(s.PodStopMin), scale(s.PodStopMax)
	out.TrafficPeriod = scale(s.TrafficPeriod)
	out.Wave = scale(s.Wave)
	out.Regression.Onset, out.Regression.Ramp = scale(s.Regression.Onset), scale(s.Regression.Ramp)
	out.Plan = slices.Clone(s.Plan)
	out.Services = make([]Service, len(s.Services))
	for i, svc := range s.Services {
		svc.Steps = slices.Clone(svc.Steps)
		for j, st := range svc.Steps {
			if st.Pause > 0 {
				svc.Steps[j].Pause = max(scale(st.Pause).Round(time.Second), time.Second)
			}
		}
		out.Services[i] = svc
	}
	return out
}

// The regressions and pod timings every scenario shares.
var (
	regression = Regression{Onset: 20 * time.Second, Ramp: 40 * time.Second, ErrorRate: 0.08, LatencyFactor: 2.6}
	podTimings = Scenario{
		PodStartMin: 200 * time.Millisecond, PodStartMax: 900 * time.Millisecond,
		PodStopMin: 200 * time.Millisecond, PodStopMax: 600 * time.Millisecond,
		TrafficPeriod: time.Second, Wave: 6 * time.Minute,
	}
)

// withTimings gives s the shared pod timings and regression.
func withTimings(s Scenario) Scenario {
	s.PodStartMin, s.PodStartMax = podTimings.PodStartMin, podTimings.PodStartMax
	s.PodStopMin, s.PodStopMax = podTimings.PodStopMin, podTimings.PodStopMax
	s.TrafficPeriod, s.Wave = podTimings.TrafficPeriod, podTimings.Wave
	s.Regression = regression
	return s
}

// The services of the default scenario, each in the state it starts in.
var (
	cart = Service{
		Namespace: "shop", Name: "cart", Replicas: 6, Stable: "1.8.3",
		Steps:    steps(weight(20), pauseFor(30*time.Second), weight(50), pauseFor(30*time.Second)),
		Baseline: Baseline{RequestsPerPod: 60, ErrorRate: 0.006, LatencyMedian: 35 * time.Millisecond, LatencySpread: 0.45},
		Errors: Errors{
			Background: []AppError{{"*url.Error", `Get "http://inventory.shop.svc:8080/stock": context deadline exceeded`, "GET /cart"}},
			Regression: AppError{"*json.UnmarshalTypeError", "json: cannot unmarshal string into Go struct field Item.quantity of type int", "POST /cart/items"},
		},
	}
	checkout = Service{
		Namespace: "shop", Name: "checkout", Replicas: 10, Stable: "3.2.0", Canary: "3.3.0", CanaryQuality: Good,
		Steps:    steps(weight(20), waitForPromote(), weight(50), pauseFor(time.Minute), weight(80), pauseFor(time.Minute)),
		Baseline: Baseline{RequestsPerPod: 50, ErrorRate: 0.008, LatencyMedian: 80 * time.Millisecond, LatencySpread: 0.4},
		Errors: Errors{
			Background: []AppError{
				{"*net.OpError", "dial tcp 10.96.0.42:5432: connect: connection refused", "POST /checkout"},
				{"payments.DeclinedError", "card declined: insufficient funds", "POST /checkout/pay"},
			},
			Regression: AppError{"runtime.Error", "runtime error: invalid memory address or nil pointer dereference", "POST /checkout/confirm"},
		},
	}
	ledger = Service{
		Namespace: "payments", Name: "ledger", Replicas: 10, Stable: "2.3.1", Canary: "2.4.0", CanaryQuality: Bad,
		Steps: steps(weight(20), pauseFor(time.Minute), weight(40), pauseFor(2*time.Minute),
			weight(60), pauseFor(2*time.Minute), weight(80), pauseFor(2*time.Minute)),
		Baseline: Baseline{RequestsPerPod: 55, ErrorRate: 0.01, LatencyMedian: 45 * time.Millisecond, LatencySpread: 0.5},
		Errors: Errors{
			Background: []AppError{{"*pq.Error", "pq: canceling statement due to statement timeout", "POST /entries"}},
			Regression: AppError{"ledger.UnbalancedEntryError", "entry does not balance: debits 120.00 != credits 119.99", "POST /entries"},
		},
		// Its error rate is watched from the first step: a bad version
		// is aborted by its analysis, no key pressed.
		Gate: Gate{Background: TemplateErrorRate},
	}
	frontend = Service{
		Namespace: "web", Name: "frontend", Replicas: 8, Stable: "5.0.2", Canary: "5.1.0", CanaryQuality: Good,
		Steps: steps(weight(25), pauseFor(2*time.Minute), weight(50), pauseFor(2*time.Minute),
			weight(75), pauseFor(time.Minute)),
		Baseline: Baseline{RequestsPerPod: 80, ErrorRate: 0.005, LatencyMedian: 120 * time.Millisecond, LatencySpread: 0.35},
		Errors: Errors{
			Background: []AppError{{"*url.Error", `Get "http://cart.shop.svc/api/cart": EOF`, "GET /"}},
			Regression: AppError{"*template.ExecError", `template: product.html:42:17: executing "price" at <.Price.Amount>: nil pointer evaluating *money.Price.Amount`, "GET /product/:id"},
		},
	}
	// refunds releases on its analysis alone: a step gated by the
	// canary's error rate and latency, and its error rate watched
	// throughout; a good version promotes itself within a minute.
	refunds = Service{
		Namespace: "payments", Name: "refunds", Replicas: 4, Stable: "1.2.0", Canary: "1.3.0", CanaryQuality: Good,
		Steps:    steps(weight(25), analyse(TemplateCanaryHealth), weight(50), pauseFor(20*time.Second)),
		Gate:     Gate{Background: TemplateErrorRate},
		Baseline: Baseline{RequestsPerPod: 50, ErrorRate: 0.007, LatencyMedian: 60 * time.Millisecond, LatencySpread: 0.4},
		Errors: Errors{
			Background: []AppError{{"stripe.Error", "request timed out after 10s: POST /v1/refunds", "POST /refunds"}},
			Regression: AppError{"*strconv.NumError", `strconv.ParseFloat: parsing "12,50": invalid syntax`, "POST /refunds"},
		},
	}
)

// frontendSLO is frontend gated on a latency objective that its good
// version's p95 (about 210 ms) misses without reaching the hard limit:
// its analysis is Inconclusive, and the canary waits for a person.
var frontendSLO = func() Service {
	s := frontend
	s.Steps = steps(weight(25), analyse(TemplateLatencySLO), weight(50), pauseFor(time.Minute), weight(75), pauseFor(time.Minute))
	return s
}()

// calmed is s with every canary good.
func calmed(s []Service) []Service {
	out := slices.Clone(s)
	for i := range out {
		out[i].CanaryQuality = Good
	}
	return out
}

var catalog = []Scenario{
	withTimings(Scenario{
		Name:          DefaultScenario,
		Summary:       "five rollouts: one healthy, one waiting at 20% for a promote, one counting down a pause, one its analysis promotes, one its analysis aborts",
		Services:      []Service{checkout, ledger, frontend, cart, refunds},
		RevisionEvery: 3 * time.Minute,
		Plan:          []Quality{Good, Bad, Good},
	}),
	withTimings(Scenario{
		Name:          "calm",
		Summary:       "the default's rollouts, every version good",
		Services:      calmed([]Service{checkout, ledger, frontend, cart, refunds}),
		RevisionEvery: 3 * time.Minute,
		Plan:          []Quality{Good},
	}),
	withTimings(Scenario{
		Name:          "analysis",
		Summary:       "canaries gated by Argo analysis on Datadog: one passes and promotes itself, one is aborted, one is inconclusive and waits for you",
		Services:      []Service{refunds, ledger, frontendSLO, cart},
		RevisionEvery: 3 * time.Minute,
		Plan:          []Quality{Good, Bad},
	}),
	withTimings(Scenario{
		Name:          "busy",
		Summary:       "24 rollouts in 6 namespaces, for the overview",
		Services:      busyServices(),
		RevisionEvery: time.Minute,
		Plan:          []Quality{Good, Good, Bad},
	}),
}

// busyServices are 24 small services in every starting state.
func busyServices() []Service {
	namespaces := []string{"shop", "payments", "web", "search", "identity", "data"}
	names := [][]string{
		{"cart", "checkout", "catalog", "pricing"},
		{"ledger", "refunds", "invoices", "fraud"},
		{"frontend", "gateway", "assets", "sessions"},
		{"indexer", "query", "suggest", "ranker"},
		{"login", "tokens", "profiles", "mfa"},
		{"ingest", "etl", "exporter", "warehouse"},
	}
	templates := []Service{cart, checkout, ledger, frontend, refunds}
	var out []Service
	for i, ns := range namespaces {
		for j, name := range names[i] {
			k := i*len(names[i]) + j
			t := templates[k%len(templates)]
			s := Service{
				Namespace: ns, Name: name, Replicas: int32(3 + k%4),
				Stable: fmt.Sprintf("%d.%d.%d", 1+k%3, k%7, k%4), Baseline: t.Baseline, Errors: t.Errors,
				Steps: steps(weight(25), pauseFor(time.Duration(1+k%4)*time.Minute), weight(50), waitForPromote(), weight(75), pauseFor(time.Minute)),
			}
			// A third start healthy, a third with a canary waiting at
			// 25% for a promote, a third with one in a timed pause, half
			// of those bad.
			switch k % 3 {
			case 1:
				s.Steps = steps(weight(25), waitForPromote(), weight(50), pauseFor(time.Minute), weight(75), pauseFor(time.Minute))
				fallthrough
			case 2:
				s.Canary = fmt.Sprintf("%d.%d.0", 1+k%3, k%7+1)
			}
			if k%6 == 5 {
				s.CanaryQuality = Bad
			}
			out = append(out, s)
		}
	}
	return out
}
