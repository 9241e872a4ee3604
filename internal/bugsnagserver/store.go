package bugsnagserver

import (
	"slices"
	"strconv"
	"time"
)

// defaultReleaseStage is the stage Bugsnag files an event under when the
// notifier sent none.
const defaultReleaseStage = "production"

// project holds one project's errors. The Server's mutex guards it.
type project struct {
	Project
	// errors by grouping key.
	errors map[string]*errorGroup
}

// errorGroup is one Bugsnag error: the events that share a grouping key.
type errorGroup struct {
	id     string
	reason string
	// class, message and context are the latest event's; severity the first's
	// (Bugsnag's original_severity).
	class, message, context, severity string
	firstSeen, lastSeen               time.Time
	// stages are the release stages of every event ever seen, in the order
	// they first appeared; they outlive the events that are forgotten.
	stages []string
	// events are the newest events, oldest first; received counts every
	// event ever filed, to give each its own id.
	events   []event
	received int
}

type event struct {
	// id is the event's id, as the Data Access API names it.
	id    string
	at    time.Time
	stage string
	user  string
	// The rest is what GET /errors/{id}/latest_event shows of it.
	version    string
	context    string
	severity   string
	unhandled  bool
	exceptions []notifyException
}

// add files one validated event at now.
func (p *project) add(e notifyEvent, now time.Time, maxErrors, maxEvents int) {
	key, reason := groupingKey(e)
	g := p.errors[key]
	if g == nil {
		if len(p.errors) >= maxErrors {
			p.forgetLeastRecentlySeen()
		}
		g = &errorGroup{id: hexID(p.ID, key), reason: reason, firstSeen: now, severity: e.Severity}
		p.errors[key] = g
	}
	outer := e.Exceptions[0]
	g.class, g.message, g.context = outer.ErrorClass, outer.Message, e.Context
	if now.After(g.lastSeen) {
		g.lastSeen = now
	}
	if now.Before(g.firstSeen) {
		g.firstSeen = now
	}
	stage := e.App.ReleaseStage
	if stage == "" {
		stage = defaultReleaseStage
	}
	if !slices.Contains(g.stages, stage) {
		g.stages = append(g.stages, stage)
	}
	user := ""
	if e.User != nil {
		user = e.User.ID
	}
	if len(g.events) >= maxEvents {
		g.events = slices.Delete(g.events, 0, len(g.events)-maxEvents+1)
	}
	g.received++
	g.events = append(g.events, event{
		id: hexID(g.id, strconv.Itoa(g.received)), at: now, stage: stage, user: user,
		version: e.App.Version, context: e.Context, severity: e.Severity, unhandled: e.Unhandled,
		exceptions: slices.Clone(e.Exceptions),
	})
}

func (p *project) forgetLeastRecentlySeen() {
	var oldestKey string
	var oldest *errorGroup
	for k, g := range p.errors {
		if oldest == nil || g.lastSeen.Before(oldest.lastSeen) || (g.lastSeen.Equal(oldest.lastSeen) && g.id < oldest.id) {
			oldestKey, oldest = k, g
		}
	}
	delete(p.errors, oldestKey)
}

// errorView is an error as one filtered request sees it: the counts and
// times of its events that match.
type errorView struct {
	g           *errorGroup
	events      int
	users       int
	first, last time.Time
}

// matching returns the errors with at least one event that passes f.
func (p *project) matching(f filterSet) []errorView {
	if !f.statusMatches("open") {
		return nil
	}
	var out []errorView
	for _, g := range p.errors {
		v := errorView{g: g}
		users := map[string]bool{}
		for _, e := range g.events {
			if !f.eventMatches(e) {
				continue
			}
			v.events++
			if e.user != "" {
				users[e.user] = true
			}
			if v.first.IsZero() || e.at.Before(v.first) {
				v.first = e.at
			}
			if e.at.After(v.last) {
				v.last = e.at
			}
		}
		if v.events == 0 {
			continue
		}
		v.users = len(users)
		out = append(out, v)
	}
	return out
}
