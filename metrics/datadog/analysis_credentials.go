package datadog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	dd "github.com/DataDog/datadog-api-client-go/v2/api/datadog"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"

	"github.com/roost-dev/roost/api/v1alpha1"
	"github.com/roost-dev/roost/metrics"
)

// DefaultSecretName is the Secret that Argo Rollouts' Datadog provider reads
// in the controller's namespace when a metric names none.
const DefaultSecretName = "datadog"

// The environment Argo Rollouts' Datadog provider reads: all three must be
// set for it to use them; DD_ADDRESS may be empty.
const (
	EnvAPIKey  = "DD_API_KEY"
	EnvAppKey  = "DD_APP_KEY"
	EnvAddress = "DD_ADDRESS"
)

// secretTTL is how long a Secret read for analysis is reused: 200 runs
// measuring every few seconds cost one GET per Secret per secretTTL, and a
// changed Secret is used within it.
const secretTTL = 10 * time.Second

// addressVariable is the server variable that carries each call's address:
// one API client serves every set of credentials.
const addressVariable = "address"

// analysisSecretHelp is for a Secret named by a metric's secretRef.
var analysisSecretHelp = secretHelp{
	namedIn: "provider.datadog.secretRef.name of the metric",
	instead: "remove provider.datadog.secretRef to use roost's default credentials",
}

// keySource is one set of keys, ready for calls, and where it came from.
type keySource struct {
	creds Credentials
	// keysFrom and addressFrom say where the keys and the address were
	// read, for a person: "api-key and app-key of Secret roost/datadog".
	keysFrom    string
	addressFrom string
	keys        map[string]dd.APIKey
	vars        map[string]string
	// redact hides the keys should any text of a response carry them.
	redact *strings.Replacer
}

func newKeySource(c Credentials, keysFrom, addressFrom string) *keySource {
	return &keySource{
		creds:       c,
		keysFrom:    keysFrom,
		addressFrom: addressFrom,
		keys: map[string]dd.APIKey{
			"apiKeyAuth": {Key: c.APIKey},
			"appKeyAuth": {Key: c.AppKey},
		},
		vars:   map[string]string{addressVariable: c.Address},
		redact: strings.NewReplacer(c.APIKey, "<redacted>", c.AppKey, "<redacted>"),
	}
}

// secretCache reads credentials Secrets, each at most once per secretTTL.
type secretCache struct {
	kube           kubernetes.Interface
	clock          clock.PassiveClock
	defaultAddress string

	mu      sync.Mutex
	entries map[metrics.SecretRef]*secretEntry
}

type secretEntry struct {
	// mu is held while the Secret is read, so that the runs due at once
	// wait for one GET.
	mu     sync.Mutex
	readAt time.Time
	src    *keySource
	err    error
}

// read returns the keys of the Secret ref, or readSecret's error (a
// *CredentialError). A failure to reach the API server is not kept.
func (c *secretCache) read(ctx context.Context, ref metrics.SecretRef) (*keySource, error) {
	c.mu.Lock()
	e := c.entries[ref]
	if e == nil {
		e = &secretEntry{}
		c.entries[ref] = e
	}
	c.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	now := c.clock.Now()
	if !e.readAt.IsZero() && !now.Before(e.readAt) && now.Sub(e.readAt) < secretTTL {
		return e.src, e.err
	}
	creds, err := readSecret(ctx, c.kube, ref, analysisSecretHelp)
	if err != nil {
		var ce *CredentialError
		if !errors.As(err, &ce) || ce.Kind == ErrNoCredentials {
			return nil, err
		}
		e.readAt, e.src, e.err = now, nil, err
		return nil, err
	}
	where := "Secret " + ref.String()
	addressFrom := SecretAddress + " of " + where
	if creds.Address == "" {
		creds.Address = c.defaultAddress
		addressFrom = "the default address (" + where + " has no " + SecretAddress + ")"
	}
	e.readAt, e.err = now, nil
	e.src = newKeySource(creds, SecretAPIKey+" and "+SecretAppKey+" of "+where, addressFrom)
	return e.src, nil
}

// credentialsFor finds the keys of one measurement in Argo Rollouts' order:
// the Secret the metric names (in the run's namespace when namespaced);
// else DD_API_KEY, DD_APP_KEY and DD_ADDRESS when all three are set; else the
// Secret "datadog" in roost's namespace; else roost's own credentials.
func (p *AnalysisProvider) credentialsFor(ctx context.Context, run *v1alpha1.AnalysisRun, ref *v1alpha1.DatadogSecretRef) (*keySource, error) {
	if ref != nil && ref.Namespaced && ref.Name == "" {
		return nil, errors.New("secret name is required for namespaced credentials: set provider.datadog.secretRef.name to a Secret in the run's namespace, or remove namespaced")
	}
	if ref != nil && ref.Name != "" {
		ns := p.namespace
		if ref.Namespaced {
			if run == nil || run.Namespace == "" {
				return nil, fmt.Errorf("provider.datadog.secretRef is namespaced, but the analysis run has no namespace to read the Secret %q in", ref.Name)
			}
			ns = run.Namespace
		}
		if p.secrets == nil {
			return nil, fmt.Errorf("provider.datadog.secretRef names the Secret %q, but roost runs without a cluster connection to read it; run roost in the cluster, or remove secretRef", ref.Name)
		}
		return p.secrets.read(ctx, metrics.SecretRef{Namespace: ns, Name: ref.Name})
	}

	src, err := p.fromEnv()
	if src != nil || err != nil {
		return src, err
	}

	var missing string
	if p.secrets == nil {
		missing = "roost runs without a cluster connection, so it reads no Secret"
	} else {
		src, err := p.secrets.read(ctx, metrics.SecretRef{Namespace: p.namespace, Name: DefaultSecretName})
		switch {
		case err == nil:
			return src, nil
		case errors.Is(err, ErrSecretNotFound):
			missing = fmt.Sprintf("there is no Secret %s/%s", p.namespace, DefaultSecretName)
		case errors.Is(err, ErrSecretForbidden):
			missing = fmt.Sprintf("roost may not read the Secret %s/%s (forbidden)", p.namespace, DefaultSecretName)
		default:
			return nil, err
		}
	}
	if p.fallback != nil {
		return p.fallback, nil
	}
	return nil, fmt.Errorf("failed to find the credentials for datadog metrics provider: %s, %s, %s and %s are not all set, and roost has no Datadog credentials of its own; "+
		"create the Secret: kubectl create secret generic %s -n %s --from-literal=%s=… --from-literal=%s=… (add --from-literal=%s=… for a site other than %s), or name one in provider.datadog.secretRef",
		missing, EnvAPIKey, EnvAppKey, EnvAddress, DefaultSecretName, p.namespaceOrPlaceholder(), SecretAPIKey, SecretAppKey, SecretAddress, p.defaultAddress)
}

func (p *AnalysisProvider) namespaceOrPlaceholder() string {
	if p.namespace == "" {
		return "<roost's namespace>"
	}
	return p.namespace
}

// fromEnv returns the environment's keys when DD_API_KEY, DD_APP_KEY and
// DD_ADDRESS are all set, nil when they are not.
func (p *AnalysisProvider) fromEnv() (*keySource, error) {
	apiKey, okAPI := p.lookupEnv(EnvAPIKey)
	appKey, okApp := p.lookupEnv(EnvAppKey)
	address, okAddress := p.lookupEnv(EnvAddress)
	if !okAPI || !okApp || !okAddress {
		return nil, nil
	}
	creds := Credentials{APIKey: strings.TrimSpace(apiKey), AppKey: strings.TrimSpace(appKey), Address: p.defaultAddress}
	for _, k := range []struct{ name, got string }{{EnvAPIKey, creds.APIKey}, {EnvAppKey, creds.AppKey}} {
		if k.got == "" {
			return nil, fmt.Errorf("%s, %s and %s are set, but %s is empty; put the key in it, or unset all three to use the Secret %s", EnvAPIKey, EnvAppKey, EnvAddress, k.name, DefaultSecretName)
		}
	}
	addressFrom := "the default address (" + EnvAddress + " is empty)"
	if strings.TrimSpace(address) != "" {
		addr, err := normalizeAddress(address)
		if err != nil {
			return nil, fmt.Errorf("%s %q %v; set a URL such as https://api.datadoghq.eu, or leave it empty for %s", EnvAddress, address, err, p.defaultAddress)
		}
		creds.Address, addressFrom = addr, EnvAddress
	}
	if last := p.envKeys.Load(); last != nil && last.creds == creds {
		return last, nil
	}
	src := newKeySource(creds, EnvAPIKey+" and "+EnvAppKey+" of roost's environment", addressFrom)
	p.envKeys.Store(src)
	return src, nil
}
