package bugsnagserver

import (
	"net/http"
	"strings"
	"time"
)

// Bodies of the usual faults, to use with Status 200.
const (
	// GarbageBody is what a proxy's error page looks like to a JSON reader.
	GarbageBody = "<html><body><h1>502 Bad Gateway</h1></body></html>"
	// WrongShapeBody is valid JSON where a list of errors was expected.
	WrongShapeBody = `{"data":{"errors":[]},"status":"ok"}`
)

// Fault is a misbehaviour of the next Times requests whose path starts with
// Path ("" matches every request).
type Fault struct {
	Path  string
	Times int
	// Delay holds the answer back; a request whose context ends first gets
	// none.
	Delay time.Duration
	// Status, when set, is answered with Header and Body instead of what the
	// server would have said (Body is sent as JSON unless Header says
	// otherwise). With Status 0 the request is served normally after Delay.
	Status int
	Header http.Header
	Body   string
}

// takeFault returns the first fault that applies to path, counting the use.
func (s *Server) takeFault(path string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if !strings.HasPrefix(path, f.Path) {
			continue
		}
		f.Times--
		if f.Times == 0 {
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
		}
		return f
	}
	return nil
}

// serve plays the fault; it reports whether it answered the request.
func (f *Fault) serve(w http.ResponseWriter, r *http.Request) bool {
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return true
		}
	}
	if f.Status == 0 {
		return false
	}
	for k, vs := range f.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.WriteHeader(f.Status)
	_, _ = w.Write([]byte(f.Body))
	return true
}
