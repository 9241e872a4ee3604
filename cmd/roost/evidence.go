package main

import (
	"context"
	"errors"
	"os"
	"strings"

	"github.com/roost-dev/roost/metrics"
	"github.com/roost-dev/roost/metrics/bugsnag"
	"github.com/roost-dev/roost/metrics/datadog"
	"github.com/roost-dev/roost/metrics/judge"
	"github.com/roost-dev/roost/themes"
	"github.com/roost-dev/roost/watch"
)

// evidence is the poller of the metrics and errors, and what to say when
// they are off.
type evidence struct {
	poller *metrics.Poller
	// metricsOff and errorsOff say why there is no poller at all.
	metricsOff, errorsOff string
	headline              string
	notices               []themes.Notice
	// gate is the judge gate's default, from the configuration.
	gate metrics.GateConfig
	// bell is the configuration's cockpit.bell.
	bell string
	// dd is the Datadog client, nil without credentials; creds its
	// credentials; the analysis' provider shares its budget and falls back
	// on its keys.
	dd    *datadog.Client
	creds *datadog.Credentials
	// getenv and lookupEnv are the environment the clients were built
	// from, which the analysis' provider reads too.
	getenv    func(string) string
	lookupEnv func(string) (string, bool)
}

// evidenceSources are the configuration and the environment the clients
// are built from; the demo passes its own.
type evidenceSources struct {
	config metrics.Config
	getenv func(string) string
	// lookupEnv tells a variable set empty from one unset, as Argo's
	// DD_ADDRESS needs; nil counts only non-empty variables as set.
	lookupEnv func(string) (string, bool)
}

// buildEvidence reads the metrics configuration and builds the Datadog and
// Bugsnag clients it asks for. Nothing here fails the dashboard: a bad file
// or missing credentials turn that side off and the error says how to fix
// it.
func (a *app) buildEvidence(ctx context.Context, c *clients, o *cockpitOptions) (evidence, error) {
	cfg, err := metrics.Load(o.config, os.Getenv)
	ev := newEvidence(ctx, c, evidenceSources{config: cfg, getenv: os.Getenv, lookupEnv: os.LookupEnv})
	return ev, err
}

func newEvidence(ctx context.Context, c *clients, src evidenceSources) evidence {
	cfg := src.config
	ev := evidence{headline: cfg.Headline(), gate: cfg.Judge, bell: cfg.Cockpit.Bell, getenv: src.getenv, lookupEnv: src.lookupEnv}
	if ev.lookupEnv == nil {
		ev.lookupEnv = func(k string) (string, bool) {
			v := src.getenv(k)
			return v, v != ""
		}
	}
	opts := metrics.PollerOptions{Config: cfg, Judge: judge.Judge{}}

	creds, err := datadog.ResolveCredentials(ctx, datadog.CredentialConfig{
		Address: cfg.Datadog.Address, Site: cfg.Datadog.Site, Secret: cfg.Datadog.Secret, Kube: c.Kube, Getenv: src.getenv,
		// Where Argo Rollouts' users already keep the keys.
		Fallbacks: []metrics.SecretRef{datadog.ArgoSecret, {Namespace: controllerNamespace(src.getenv, ""), Name: datadog.DefaultSecretName}},
	})
	if err == nil {
		var dd *datadog.Client
		dd, err = datadog.New(datadog.Options{Credentials: creds, API: cfg.Datadog.API, Timeout: cfg.Datadog.Timeout, MaxCallsPerMinute: cfg.Datadog.MaxCallsPerMinute, Interval: cfg.Datadog.Interval})
		if err == nil {
			opts.Metrics, opts.MetricsFrom = dd, creds.Source
			ev.dd, ev.creds = dd, &creds
			opts.DatadogApp, opts.DatadogLinksOff = metrics.DatadogApp(creds.Address)
		}
	}
	if err != nil {
		opts.MetricsOff = offReason(err)
	}

	token, err := bugsnag.LoadToken(ctx, src.getenv, c.Kube, cfg.Bugsnag.Secret)
	if err == nil {
		var bs *bugsnag.Client
		bs, err = bugsnag.New(bugsnag.Options{Token: token, Address: cfg.Bugsnag.Address, Timeout: cfg.Datadog.Timeout})
		if err == nil {
			opts.Errors = bs
		}
	}
	if err != nil {
		opts.ErrorsOff = offReason(err)
	}

	ev.metricsOff, ev.errorsOff = opts.MetricsOff, opts.ErrorsOff
	if opts.Metrics == nil && opts.Errors == nil {
		return ev
	}
	p, err := metrics.NewPoller(opts)
	if err != nil {
		ev.metricsOff = "metrics are off: " + err.Error()
		ev.errorsOff = ev.metricsOff
		return ev
	}
	ev.poller = p
	return ev
}

// fetchEvidence polls the evidence of one rollout once, for `roost get NAME`,
// as the configuration cfg asks; the evidence says why a side is off.
func (a *app) fetchEvidence(ctx context.Context, c *clients, cfg metrics.Config, v *watch.Rollout) metrics.Evidence {
	ev := newEvidence(ctx, c, evidenceSources{config: cfg, getenv: os.Getenv, lookupEnv: os.LookupEnv})
	if ev.poller == nil {
		return metrics.Evidence{Namespace: v.Namespace, Name: v.Name, MetricsOff: ev.metricsOff, ErrorsOff: ev.errorsOff}
	}
	return ev.poller.FetchOnce(ctx, metrics.TargetOf(v))
}

// offReason is the sentence shown where a side's data would be.
func offReason(err error) string {
	var ce *datadog.CredentialError
	if errors.As(err, &ce) {
		return "Datadog is not configured: " + ce.Msg
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "Bugsnag") || strings.HasPrefix(msg, "Datadog") {
		return msg
	}
	if errors.Is(err, bugsnag.ErrNoToken) {
		return "Bugsnag is not configured: " + msg
	}
	return msg
}
