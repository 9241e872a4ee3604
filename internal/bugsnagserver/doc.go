// Package bugsnagserver is a Bugsnag that lives in the test or the demo: it
// takes what the bugsnag-go notifier sends (POST /notify, POST /sessions),
// groups the events into errors as Bugsnag does, and answers the Data Access
// API requests roost makes (GET /projects/{id}/errors, GET /projects/{id}
// with the dashboard's html_url, GET /errors/{id}/latest_event with the
// stack) in Bugsnag's exact wire format, with its pagination, rate limiting
// and error bodies. Tests can make it misbehave on cue (Inject) and read what
// it was asked (Requests).
//
// It never listens by itself: the caller serves Handler where it chose
// (httptest, or a loopback listener of its own).
package bugsnagserver
