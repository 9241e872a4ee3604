// Package datadogserver is a Datadog metrics API that speaks Datadog's exact
// wire format: the v1 query endpoint and the v2 timeseries and scalar query
// endpoints, with Datadog's keys, rate-limit headers and error bodies, over
// points submitted to it. It holds a real evaluator of the query language
// roost and its users write, not canned answers.
//
// roost's tests and its demo run it: the demo feeds it synthetic traffic and
// roost's production Datadog client reads it back unchanged, only its base
// URL differs. Tests inject faults (error statuses, delays, bodies that are
// not JSON or not of the schema, missing data, a query's error inside a 200)
// and read the request log.
//
// It binds nothing: the caller serves Handler where it chose (httptest, or a
// loopback listener).
package datadogserver
