package datadog

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/roost-dev/roost/metrics"
)

// DefaultAddress is Datadog's US1 API, the address when nothing says another.
const DefaultAddress = "https://api.datadoghq.com"

// Keys of a credentials Secret. address is optional.
const (
	SecretAPIKey  = "api-key"
	SecretAppKey  = "app-key"
	SecretAddress = "address"
)

// configHint is where a user names a Secret, for error messages.
const configHint = "datadog.secret of ~/.config/roost/config.yaml"

// Credentials are what a Client needs to reach Datadog. Printing them with
// fmt (any verb), String or GoString, or marshalling them to JSON, never
// shows a key.
type Credentials struct {
	APIKey string `json:"-"`
	AppKey string `json:"-"`
	// Address is the API's base URL: https://api.datadoghq.eu, a proxy, or
	// roost's own Datadog-wire server.
	Address string `json:"address"`
	// Source says where the keys and the address came from: "keys from
	// Secret argo-rollouts/datadog, site datadoghq.eu from DD_SITE".
	Source string `json:"source,omitempty"`
}

// String says where the credentials point and which keys are set.
func (c Credentials) String() string {
	return fmt.Sprintf("Datadog at %s (API key %s, application key %s)", c.Address, setOrNot(c.APIKey), setOrNot(c.AppKey))
}

// GoString is String's twin for %#v.
func (c Credentials) GoString() string {
	return fmt.Sprintf("datadog.Credentials{APIKey:%q, AppKey:%q, Address:%q}", redacted(c.APIKey), redacted(c.AppKey), c.Address)
}

// Format makes every fmt verb print String (GoString for %#v), so that no
// verb, %+v included, prints the fields.
func (c Credentials) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, c.GoString())
		return
	}
	fmt.Fprint(f, c.String())
}

func setOrNot(key string) string {
	if key == "" {
		return "not set"
	}
	return "set"
}

func redacted(key string) string {
	if key == "" {
		return ""
	}
	return "<redacted>"
}

// Errors a CredentialError wraps, so that a caller can tell the cases apart.
var (
	ErrNoCredentials    = errors.New("no Datadog credentials")
	ErrSecretNotFound   = errors.New("secret not found")
	ErrSecretKeyMissing = errors.New("secret key missing")
	ErrSecretForbidden  = errors.New("secret forbidden")
	ErrBadAddress       = errors.New("bad Datadog address")
)

// CredentialError says why there are no usable credentials and what to set.
// It never holds a key.
type CredentialError struct {
	// Kind is one of the Err… values above.
	Kind error
	// Msg is the sentence after "Datadog: ".
	Msg string
}

func (e *CredentialError) Error() string { return "Datadog: " + e.Msg }

func (e *CredentialError) Unwrap() error { return e.Kind }

func credErrorf(kind error, format string, args ...any) error {
	return &CredentialError{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// CredentialConfig is what says where the credentials are.
type CredentialConfig struct {
	// Address is an explicit API address (datadog.address, or a flag); Site
	// a Datadog site from the configuration or DD_SITE (metrics.Load folds
	// DD_SITE into both when the file names neither).
	Address string
	Site    string
	// Secret, when named, holds the keys: it wins over DD_API_KEY and
	// DD_APP_KEY.
	Secret metrics.SecretRef
	// Fallbacks are the Secrets tried, in order, when neither the
	// configuration nor the environment gives keys: the Secrets Argo
	// Rollouts' Datadog provider reads (ArgoSecret, and "datadog" in the
	// namespace of the controller that steps).
	Fallbacks []metrics.SecretRef
	// Kube reads the Secrets.
	Kube kubernetes.Interface
	// Getenv reads the environment; os.Getenv when nil.
	Getenv func(string) string
}

// ArgoSecret is the Secret Argo Rollouts' Datadog provider reads by
// default: the keys its users already have.
var ArgoSecret = metrics.SecretRef{Namespace: "argo-rollouts", Name: DefaultSecretName}

// ResolveCredentials finds the keys and the address, with one precedence:
//
//   - keys: the Secret named in the configuration (api-key and app-key
//     required, address optional), else DD_API_KEY and DD_APP_KEY when both
//     are set, else the first of cfg.Fallbacks that exists;
//   - address: datadog.address or datadog.site of the configuration, else
//     the address of the Secret the keys came from, else DD_SITE, else
//     https://api.datadoghq.com.
//
// Keys and an address from different places are said so in Source, which
// the metrics panel and `roost get -o json` show. Its error is a
// *CredentialError that says what to set.
func ResolveCredentials(ctx context.Context, cfg CredentialConfig) (Credentials, error) {
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	apiKey := strings.TrimSpace(getenv("DD_API_KEY"))
	appKey := strings.TrimSpace(getenv("DD_APP_KEY"))
	envSite := strings.TrimSpace(getenv("DD_SITE"))

	var creds Credentials
	var keysFrom string
	var notes []string
	switch {
	case !cfg.Secret.IsZero():
		c, err := readSecret(ctx, cfg.Kube, cfg.Secret, configSecretHelp)
		if err != nil {
			return Credentials{}, err
		}
		creds, keysFrom = c, "Secret "+secretName(cfg.Secret)+" (datadog.secret)"
		if apiKey != "" || appKey != "" {
			notes = append(notes, "DD_API_KEY/DD_APP_KEY not used: datadog.secret wins")
		}
	case apiKey != "" && appKey != "":
		creds, keysFrom = Credentials{APIKey: apiKey, AppKey: appKey}, "DD_API_KEY and DD_APP_KEY"
	default:
		var tried []string
		for _, ref := range cfg.Fallbacks {
			if ref.IsZero() || cfg.Kube == nil {
				continue
			}
			c, err := readSecret(ctx, cfg.Kube, ref, configSecretHelp)
			if errors.Is(err, ErrSecretNotFound) || errors.Is(err, ErrSecretForbidden) {
				tried = append(tried, secretName(ref))
				continue
			}
			if err != nil {
				return Credentials{}, err
			}
			creds, keysFrom = c, "Secret "+secretName(ref)
			break
		}
		if keysFrom == "" {
			return Credentials{}, missingEnv(apiKey, appKey, tried)
		}
	}

	secretAddress := creds.Address
	fromEnv := false
	if site, ok := metrics.ParseSite(envSite); ok && site == cfg.Site && strings.TrimRight(cfg.Address, "/") == metrics.SiteAddress(site) {
		// metrics.Load took the site from DD_SITE, not from the file.
		fromEnv = true
	}
	var addressFrom string
	switch {
	case strings.TrimSpace(cfg.Address) != "" && !fromEnv:
		addr, err := normalizeAddress(cfg.Address)
		if err != nil {
			return Credentials{}, credErrorf(ErrBadAddress, "datadog.address %q %v; set a URL such as https://api.datadoghq.eu", cfg.Address, err)
		}
		creds.Address, addressFrom = addr, "datadog.address"
		if cfg.Site != "" {
			addressFrom = "datadog.site"
		}
	case strings.TrimSpace(cfg.Site) != "" && !fromEnv:
		addr, err := siteAddress(cfg.Site, "datadog.site")
		if err != nil {
			return Credentials{}, err
		}
		creds.Address, addressFrom = addr, "datadog.site"
	case secretAddress != "":
		addressFrom = "the Secret's address"
		if envSite != "" {
			notes = append(notes, "DD_SITE not used: the Secret's address wins")
		}
	case envSite != "":
		addr, err := siteAddress(envSite, "DD_SITE")
		if err != nil {
			return Credentials{}, err
		}
		creds.Address, addressFrom = addr, "DD_SITE"
	default:
		creds.Address, addressFrom = DefaultAddress, "the default"
	}
	creds.Source = "keys from " + keysFrom + ", " + where(creds.Address) + " from " + addressFrom
	if len(notes) > 0 {
		creds.Source += "; " + strings.Join(notes, "; ")
	}
	return creds, nil
}

// where names an address for a person: "site datadoghq.eu" for one of
// Datadog's, else the URL.
func where(address string) string {
	if site, ok := metrics.SiteOfAddress(address); ok {
		return "site " + site
	}
	return "address " + address
}

func missingEnv(apiKey, appKey string, tried []string) error {
	also := ""
	if len(tried) > 0 {
		also = " (no Secret " + strings.Join(tried, " or ") + " either)"
	}
	switch {
	case apiKey == "" && appKey == "":
		return credErrorf(ErrNoCredentials, "DD_API_KEY and DD_APP_KEY are not set%s; set them, or name a Secret with %s and %s in %s", also, SecretAPIKey, SecretAppKey, configHint)
	case appKey == "":
		return credErrorf(ErrNoCredentials, "DD_APP_KEY is not set; set it (DD_API_KEY is set), or name a Secret with %s and %s in %s", SecretAPIKey, SecretAppKey, configHint)
	}
	return credErrorf(ErrNoCredentials, "DD_API_KEY is not set; set it (DD_APP_KEY is set), or name a Secret with %s and %s in %s", SecretAPIKey, SecretAppKey, configHint)
}

// secretHelp says, in readSecret's errors, where the Secret was named and
// what else would give the keys.
type secretHelp struct {
	// namedIn is where the Secret's name comes from.
	namedIn string
	// instead is another way to give the keys.
	instead string
}

// configSecretHelp is for the Secret of roost's configuration.
var configSecretHelp = secretHelp{namedIn: configHint, instead: "set DD_API_KEY and DD_APP_KEY"}

// readSecret reads the keys of a Secret: api-key and app-key required,
// address optional (Address is empty without one; the caller picks the
// default).
func readSecret(ctx context.Context, kube kubernetes.Interface, secretRef metrics.SecretRef, help secretHelp) (Credentials, error) {
	ref := secretName(secretRef)
	if secretRef.Namespace == "" || secretRef.Name == "" {
		return Credentials{}, credErrorf(ErrNoCredentials, "the secret %q in %s needs both a namespace and a name", ref, help.namedIn)
	}
	if kube == nil {
		return Credentials{}, credErrorf(ErrNoCredentials, "secret %s is configured but there is no cluster connection to read it; %s instead", ref, help.instead)
	}
	secret, err := kube.CoreV1().Secrets(secretRef.Namespace).Get(ctx, secretRef.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return Credentials{}, credErrorf(ErrSecretNotFound, "secret %s not found; create it with keys %s and %s (kubectl create secret generic %s -n %s --from-literal=%s=… --from-literal=%s=…), or fix %s",
			ref, SecretAPIKey, SecretAppKey, secretRef.Name, secretRef.Namespace, SecretAPIKey, SecretAppKey, help.namedIn)
	case apierrors.IsForbidden(err):
		return Credentials{}, credErrorf(ErrSecretForbidden, "forbidden to read secret %s: ask for get on secrets in %s, or %s", ref, secretRef.Namespace, help.instead)
	case err != nil:
		return Credentials{}, credErrorf(ErrNoCredentials, "reading secret %s: %v", ref, err)
	}
	value := func(key string) string { return strings.TrimSpace(string(secret.Data[key])) }
	creds := Credentials{APIKey: value(SecretAPIKey), AppKey: value(SecretAppKey)}
	for _, k := range []struct{ key, got string }{{SecretAPIKey, creds.APIKey}, {SecretAppKey, creds.AppKey}} {
		if k.got != "" {
			continue
		}
		if _, present := secret.Data[k.key]; present {
			return Credentials{}, credErrorf(ErrSecretKeyMissing, "secret %s has an empty %s; put the key in it", ref, k.key)
		}
		return Credentials{}, credErrorf(ErrSecretKeyMissing, "secret %s has no key %s; add it (%s and %s are required, %s is optional)", ref, k.key, SecretAPIKey, SecretAppKey, SecretAddress)
	}
	if raw := value(SecretAddress); raw != "" {
		addr, err := normalizeAddress(raw)
		if err != nil {
			return Credentials{}, credErrorf(ErrBadAddress, "secret %s: %s %q %v; set a URL such as https://api.datadoghq.eu, or remove it for the default address", ref, SecretAddress, raw, err)
		}
		creds.Address = addr
	}
	return creds, nil
}

func secretName(ref metrics.SecretRef) string { return ref.Namespace + "/" + ref.Name }

// siteAddress turns a site (DD_SITE, datadog.site) into the API's address:
// "datadoghq.eu" → https://api.datadoghq.eu. It takes every form Datadog
// documents (metrics.ParseSite) and refuses the rest.
func siteAddress(site, from string) (string, error) {
	s, ok := metrics.ParseSite(site)
	if !ok {
		return "", credErrorf(ErrBadAddress, "%s %q is not a Datadog site (%s); set one of them, or set datadog.address to the API's URL", from, site, strings.Join(metrics.DatadogSites, ", "))
	}
	return metrics.SiteAddress(s), nil
}

// normalizeAddress checks an address is an http(s) URL with a host, and
// drops a trailing slash (the library appends /api/...).
func normalizeAddress(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	switch {
	case err != nil:
		return "", errors.New("is not a URL")
	case u.Scheme != "https" && u.Scheme != "http":
		return "", errors.New("is not an http or https URL")
	case u.Host == "":
		return "", errors.New("has no host")
	case u.User != nil:
		return "", errors.New("holds a user name or password, which Datadog does not take")
	case u.RawQuery != "" || u.Fragment != "":
		return "", errors.New("has a query or a fragment")
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}
