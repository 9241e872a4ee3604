package datadogserver

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// Fault changes how the server answers, for tests of a client's failure
// paths. The fields combine: a Delay before a canned Status, or before a
// normal answer whose data is spoiled.
type Fault struct {
	// Endpoint is the endpoint it applies to; AnyEndpoint for all.
	Endpoint Endpoint
	// Count is how many requests it applies to; 0 means until ClearFaults
	// (or Until).
	Count int
	// Until, when set, ends the fault at that time of the server's clock:
	// a burst of 500s for 20 seconds is {Status: 500, Until: now+20s}.
	Until time.Time

	// Delay holds the answer back (wall time), to make it slow or to make
	// the client time out.
	Delay time.Duration

	// Status, when set, is answered instead of the query's result, whatever
	// the keys: 401, 403, 404, 429, 500, 502, 503… Body defaults to
	// Datadog's {"errors":[<status text>]}. The rate-limit headers are sent
	// (Remaining 0 for a 429); Header adds to or overrides them.
	Status int
	Body   string
	Header http.Header

	// Garbage answers 200 with a body that is not JSON (an HTML page, as a
	// proxy in the way sends).
	Garbage bool
	// WrongShape answers 200 with valid JSON of the wrong schema.
	WrongShape bool

	// Data faults answer 200 with the query's result altered: no series at
	// all, every point null, or the groups holding the DropGroup tag (e.g.
	// "kube_role:canary") left out.
	EmptySeries bool
	AllNull     bool
	DropGroup   string
	// ExtraGroup adds, beside each group, a copy under another value of
	// the same tag key ("kube_role:preview"), its values ten times over:
	// a series for a role nobody asked for.
	ExtraGroup string

	// QueryError answers 200 with an error inside the body, as Datadog does
	// for a query it accepted but could not run: v1 {"status":"error",
	// "error":QueryError,"series":[]}, v2 an empty result beside a top-level
	// "errors":QueryError. A request Datadog would refuse (400) still is.
	QueryError string
}

// InjectFault queues f. A request takes the first queued fault of its
// endpoint, which then counts one use.
func (s *Server) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every queued fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

func (s *Server) takeFault(ep Endpoint) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Clock.Now()
	s.faults = slices.DeleteFunc(s.faults, func(f *Fault) bool { return !f.Until.IsZero() && !now.Before(f.Until) })
	for i, f := range s.faults {
		if f.Endpoint != AnyEndpoint && f.Endpoint != ep {
			continue
		}
		taken := *f
		if f.Count > 0 {
			f.Count--
			if f.Count == 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
		}
		return &taken
	}
	return nil
}

// queryError is the error a fault puts inside a 200's body, if any.
func (f *Fault) queryError() string {
	if f == nil {
		return ""
	}
	return f.QueryError
}

// spoil applies a fault's data faults to a result.
func (f *Fault) spoil(rs []result) []result {
	if f == nil {
		return rs
	}
	if f.EmptySeries {
		return nil
	}
	out := rs[:0:0]
	for _, r := range rs {
		if f.DropGroup != "" && slices.Contains(r.tags, f.DropGroup) {
			continue
		}
		if f.AllNull {
			r = result{tags: r.tags, values: nullValues(len(r.values))}
		}
		out = append(out, r)
		if extra, ok := f.extra(r); ok {
			out = append(out, extra)
		}
	}
	return out
}

// extra is r's copy under ExtraGroup, when r has a tag of its key.
func (f *Fault) extra(r result) (result, bool) {
	key, _, ok := strings.Cut(f.ExtraGroup, ":")
	if !ok {
		return result{}, false
	}
	for i, tag := range r.tags {
		if strings.HasPrefix(tag, key+":") && tag != f.ExtraGroup {
			tags := slices.Clone(r.tags)
			tags[i] = f.ExtraGroup
			values := make([]float64, len(r.values))
			for j, v := range r.values {
				values[j] = v * 10
			}
			return result{tags: tags, values: values}, true
		}
	}
	return result{}, false
}

// wrongShape is, per endpoint, valid JSON whose fields have the wrong types:
// what a client decodes without an error unless it checks.
var wrongShape = map[Endpoint][]byte{
	QueryV1:      []byte(`{"status":"ok","res_type":"time_series","series":{"kube_role:canary":[1,2,3]}}`),
	TimeseriesV2: []byte(`{"data":{"type":"timeseries_response","attributes":{"series":"kube_role:canary","times":{},"values":true}}}`),
	ScalarV2:     []byte(`{"data":{"type":"scalar_response","attributes":{"columns":{"kube_role":"canary"}}}}`),
}
