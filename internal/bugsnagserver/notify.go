package bugsnagserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// maxPayloadBytes bounds one notify or sessions body, and so the memory one
// request takes; a notifier's payload is a few kilobytes.
const maxPayloadBytes = 1 << 20

// The notify payload, version 4, as bugsnag-go writes it (payload.go,
// report.go); fields roost does not read are left out.
type notifyPayload struct {
	APIKey string        `json:"apiKey"`
	Events []notifyEvent `json:"events"`
}

type notifyEvent struct {
	App struct {
		ReleaseStage string `json:"releaseStage"`
		Version      string `json:"version"`
	} `json:"app"`
	Context      string            `json:"context"`
	Exceptions   []notifyException `json:"exceptions"`
	GroupingHash string            `json:"groupingHash"`
	Severity     string            `json:"severity"`
	Unhandled    bool              `json:"unhandled"`
	User         *struct {
		ID string `json:"id"`
	} `json:"user"`
}

type notifyException struct {
	ErrorClass string       `json:"errorClass"`
	Message    string       `json:"message"`
	Stacktrace []stackFrame `json:"stacktrace"`
}

type stackFrame struct {
	Method     string `json:"method"`
	File       string `json:"file"`
	LineNumber int    `json:"lineNumber"`
	InProject  bool   `json:"inProject"`
}

// The sessions payload, version 1.0, as bugsnag-go's sessions package writes it.
type sessionsPayload struct {
	App struct {
		ReleaseStage string `json:"releaseStage"`
	} `json:"app"`
	SessionCounts []struct {
		StartedAt       string `json:"startedAt"`
		SessionsStarted int    `json:"sessionsStarted"`
	} `json:"sessionCounts"`
}

// notify takes a notifier's report: 200 when accepted, 400 for a payload
// Bugsnag could not process, 401 for an API key no project has.
func (s *Server) notify(w http.ResponseWriter, r *http.Request) {
	if v := r.Header.Get("Bugsnag-Payload-Version"); v != "4" {
		writeErrors(w, http.StatusBadRequest, fmt.Sprintf("unsupported Bugsnag-Payload-Version %q: this server takes version 4", v))
		return
	}
	var p notifyPayload
	if !readPayload(w, r, &p) {
		return
	}
	pr, ok := s.projectForKey(r.Header.Get("Bugsnag-Api-Key"), p.APIKey)
	if !ok {
		writeErrors(w, http.StatusUnauthorized, "Invalid API key: no project reports with this notifier API key")
		return
	}
	if err := validateEvents(p.Events); err != nil {
		writeErrors(w, http.StatusBadRequest, err.Error())
		return
	}
	now := s.opts.Now()
	s.mu.Lock()
	for _, e := range p.Events {
		pr.add(e, now, s.opts.MaxErrors, s.opts.MaxEventsPerError)
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "OK")
}

// sessions takes session counts: 202 as Bugsnag's session server answers.
// roost reads no sessions, so they are checked and not kept.
func (s *Server) sessions(w http.ResponseWriter, r *http.Request) {
	var p sessionsPayload
	if !readPayload(w, r, &p) {
		return
	}
	if _, ok := s.projectForKey(r.Header.Get("Bugsnag-Api-Key"), ""); !ok {
		writeErrors(w, http.StatusUnauthorized, "Invalid API key: no project reports with this notifier API key")
		return
	}
	if len(p.SessionCounts) == 0 {
		writeErrors(w, http.StatusBadRequest, "sessionCounts is empty")
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// readPayload decodes a bounded JSON body into v, answering 400 itself when
// it cannot.
func readPayload(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPayloadBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeErrors(w, http.StatusBadRequest, "payload too large: the limit is "+strconv.Itoa(maxPayloadBytes)+" bytes")
		return false
	case err != nil:
		writeErrors(w, http.StatusBadRequest, "reading the payload: "+err.Error())
		return false
	case len(body) == 0:
		writeErrors(w, http.StatusBadRequest, "empty payload")
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		writeErrors(w, http.StatusBadRequest, "payload is not valid JSON: "+err.Error())
		return false
	}
	return true
}

// projectForKey finds the project of the header's API key, or of the body's
// when the header is absent, as Bugsnag accepts either.
func (s *Server) projectForKey(header, body string) (*project, bool) {
	key := header
	if key == "" {
		key = body
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.byKey[key]
	return p, ok
}

func validateEvents(events []notifyEvent) error {
	if len(events) == 0 {
		return errors.New("events is empty: a report needs at least one event")
	}
	for i, e := range events {
		if len(e.Exceptions) == 0 {
			return fmt.Errorf("events[%d].exceptions is empty", i)
		}
		for j, x := range e.Exceptions {
			if x.ErrorClass == "" {
				return fmt.Errorf("events[%d].exceptions[%d].errorClass is empty", i, j)
			}
		}
	}
	return nil
}

// groupingKey says which error an event belongs to, by Bugsnag's default
// grouping: the notifier's grouping hash when it sent one; else the error
// class of the innermost exception with the file and line number (and
// method) of the top in-project stack frame (the top frame when none is in
// the project); else, with no stack trace at all, the class and the event's
// context. The frames are the innermost exception's, or, as bugsnag-go sends
// a wrapped error's causes without stack traces, those of the innermost
// exception that has some.
func groupingKey(e notifyEvent) (key, reason string) {
	if e.GroupingHash != "" {
		return "hash\x00" + e.GroupingHash, "user_defined"
	}
	class := e.Exceptions[len(e.Exceptions)-1].ErrorClass
	var frames []stackFrame
	for i := len(e.Exceptions) - 1; i >= 0 && len(frames) == 0; i-- {
		frames = e.Exceptions[i].Stacktrace
	}
	if len(frames) == 0 {
		return strings.Join([]string{"context", class, e.Context}, "\x00"), "context-inner"
	}
	top := frames[0]
	for _, f := range frames {
		if f.InProject {
			top = f
			break
		}
	}
	return strings.Join([]string{"frame", class, top.File, strconv.Itoa(top.LineNumber), top.Method}, "\x00"), "frame-inner"
}
