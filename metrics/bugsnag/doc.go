// Package bugsnag is roost's client of Bugsnag's Data Access API: for the
// canary on screen it lists the errors of the canary release stage since the
// canary started, and marks those the stable stage has never seen ("new in
// canary"); it reads one error's latest event (the full message and the
// stack) when the person opens it, and links each error to Bugsnag's
// dashboard through the project's html_url, asked once. It also finds the
// personal auth token the API wants, in the environment or in a Kubernetes
// Secret.
//
// Bugsnag has no official Go client for this API; this one is plain
// net/http, and it speaks the wire format internal/bugsnagserver serves in
// tests.
package bugsnag
