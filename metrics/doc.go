// Package metrics owns the evidence roost shows next to a canary and the
// polling that keeps it fresh. The Poller asks about the rollouts that are
// progressing or paused, each at most once per interval, within the call
// budget (datadog.maxCallsPerMinute) and the services' own rate limits, and
// keeps the last evidence, marked stale, when a call fails. Config, read by
// Load, says what to query and how often, and every problem with it names
// the field, the line and the fix; it also carries the cockpit's own
// settings (cockpit.bell), the one file roost reads. The Judge interface
// gives each metric its verdict and a canary its score. Each metric links to
// its graph in Datadog's metrics explorer (links.go: the web app of the API's
// site, the queries as sent, the window); ErrorDetail reads one error's
// latest event on demand, within the same bounds as the polls.
//
// The subpackages are what the poller is handed: metrics/datadog queries the
// role-tagged metrics of canary and stable side by side, metrics/bugsnag the
// errors of the canary's release stage, and metrics/judge is roost's judge.
// This package imports none of them.
package metrics
